/* poincare_train.h — training Poincaré embeddings (Nickel & Kiela 2017, Bécigneul & Ganea 2019;
 * spec papers.md part 2 §4a, §4e).
 *
 * An epoch runs over the shuffled closure edges in minibatches. Each edge gets K negatives
 * (poincare_task.h); the gradient of the batch's loss (summed, or averaged) goes to the Riemannian optimizer
 * (ropt.h) as a sparse step over the rows the batch touched, so untouched rows keep their state
 * (lazy per-row step counts, as a sparse embedding optimizer keeps them). Burn-in: the first
 * burnin_epochs run at lr·burnin_mult, with negatives ∝ degree^0.75 if burnin_by_degree.
 *
 * Nullable: every CoreErr *err.
 */
#ifndef CEMRL_AGENTS_POINCARE_TRAIN_H
#define CEMRL_AGENTS_POINCARE_TRAIN_H

#include <stdint.h>

#include "core/err.h"
#include "core/rng.h"
#include "envs/poincare_task.h"
#include "optim/ropt.h"

typedef struct {
  int dim;                 /* ball dimension (5) */
  RoptSettings opt;        /* optimizer: kind, lr, manifold (and so the distance), update rule */
  int negatives;           /* K per positive edge (10, the paper) */
  int batch;               /* positive edges per step (10) */
  int batch_mean;          /* 0: the step follows the batch's summed loss (the spec's ℒ is a sum
                            * over edges; its harness numbers of §4e match this); 1: the batch
                            * mean (N&K's repo, cross_entropy's default), i.e. lr/batch */
  int burnin_epochs;       /* epochs at lr·burnin_mult (10, the paper); 0 = none */
  double burnin_mult;      /* 0.1 (the paper: lr/10) */
  int burnin_by_degree;    /* burn-in negatives ∝ degree^0.75 (N&K repo) instead of uniform */
  double init_range;       /* rows start U(−r, r) (1e-3) */
  uint64_t seed;           /* init, shuffling and negatives */
} PoincareTrainSettings;

/* Defaults of §4e: dim 5, RSGD lr 0.3 with the exp map, 10 negatives, batch 10 summed, burn-in
 * 10 epochs at lr/10 with uniform negatives, init U(−1e-3, 1e-3), seed 0. */
PoincareTrainSettings poincare_train_settings_default(void);

/* Check settings: 0 or CORE_ERR_INVALID naming the field ("poincare.batch: ..."). */
int poincare_train_settings_check(const PoincareTrainSettings *s, CoreErr *err);

typedef struct {
  PoincareTrainSettings set;
  const PoincareTask *task;   /* borrowed; must outlive the trainer */
  float *emb;                 /* (n, dim) the embedding */
  float *grad;                /* (n, dim) batch gradient; zero between steps */
  Ropt *opt;
  int epoch;                  /* epochs completed */
  CoreRng rng;                /* shuffling and negatives */
  int *order;                 /* (m) edge order of the current epoch */
  int *touched;               /* (batch·(K + 2)) rows the current batch touched */
  int64_t *stamp;             /* (n) last step that touched each row */
  int *cand;                  /* (K + 1) candidates of one edge */
  int64_t steps;              /* optimizer steps taken */
} PoincareTrainer;

/* Create a trainer, the embedding drawn from the seed. NULL with err on bad settings. */
PoincareTrainer *poincare_trainer_create(const PoincareTask *t, const PoincareTrainSettings *s,
                                         CoreErr *err);

/* Free (NULL is a no-op). */
void poincare_trainer_free(PoincareTrainer *tr);

/* One epoch over all edges; returns the mean loss per positive edge during the epoch. Allocates
 * nothing. */
double poincare_trainer_epoch(PoincareTrainer *tr);

#endif
