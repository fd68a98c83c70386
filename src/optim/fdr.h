/* fdr.h — Yaida's fluctuation-dissipation relations for SGD (ICLR 2019; papers.md §3): the
 * observables, their half-running averages, and the learning-rate schedule built on them.
 *
 * SGD with momentum μ, dampening ν and L2 weight decay λ, in Yaida's convention
 *   v_{t+1} = μ v_t − (1 − ν) g_t,   θ_{t+1} = θ_t + η v_{t+1},   g_t = ∇f_B(θ_t) + λ θ_t,
 * which is torch.optim.SGD (and opt sgd.c) with v = −b, b the momentum buffer. If a stationary
 * state exists, FDR1' holds exactly: ⟨θ·g⟩ = η (1 + μ)/(2 (1 − ν)) ⟨v·v⟩. Each step gives
 *   O_L = θ_t·g_t,   O_R = η (1+μ)/(2(1−ν)) ||v_t||²   (μ = 0: O_R = (η/2) ||g_t||²),
 *   O_FB step part = −μ v_t·g_t  (+ (1 − ν)||∇f||² from full-batch gradients at epoch ends),
 * all at the pre-update pair (θ_t, v_t). Ō(t) is the half-running average over records
 * ⌊t/2⌋+1..t since the last reset (the first half is discarded as transient), and
 * Ō_L/Ō_R → 1 is the (necessary) test of equilibrium.
 *
 * The schedule ("FDR quencher"): at a check, if at least min_records records have been taken
 * since the last reset and |Ō_L/Ō_R − 1| < X, the learning rate is multiplied by (1 − Y) and
 * the records are discarded. Checks come from the caller (e.g. at each epoch end, as the paper
 * does) or every check_every records (as the reference code does).
 *
 * As with torch's SGD, dampening does nothing without momentum (no buffer is kept), so with
 * μ = 0 the dampening passed here is ignored. Nesterov momentum is not covered by FDR1'.
 *
 * Memory: the averages keep cumulative sums at bin boundaries, exact (one bin per step) up to
 * `capacity` steps since a reset; beyond it bins merge pairwise (2, 4, ... steps), so the
 * window start is rounded up to a bin boundary (relative shift < 4/capacity). No allocation
 * after fdr_create.
 *
 * Nullable: every CoreErr *err.
 */
#ifndef CEMRL_OPTIM_FDR_H
#define CEMRL_OPTIM_FDR_H

#include <stddef.h>
#include <stdint.h>

#include "core/ckpt.h"
#include "core/err.h"
#include "optim/opt.h"

/* Settings of the observables and the schedule. */
typedef struct {
  double x;               /* X: cut when |Ō_L/Ō_R − 1| < x (paper 0.01) */
  double y;               /* Y: a cut multiplies the learning rate by 1 − y, in (0, 1) (paper
                             0.1; reference code 0.9) */
  int64_t check_every;    /* > 0: fdr_observe_sgd checks every this many records since the last
                             reset; 0: only explicit fdr_check calls (e.g. at epoch ends) */
  int64_t min_records;    /* guard: no cut before this many records since the last reset
                             (ours: max(2 epochs, 500 steps)) */
  int capacity;           /* bins of the half-running averages, >= 8 (exact up to this many
                             steps) */
} FdrSettings;

/* The paper's X = 0.01, Y = 0.1; checks by the caller; guard 500 records; 65536 bins. */
FdrSettings fdr_settings_default(void);

/* 0, or CORE_ERR_INVALID naming the field ("fdr.y: 1.5 is outside (0, 1)"). */
int fdr_settings_check(const FdrSettings *s, CoreErr *err);

/* One step's observables. */
typedef struct {
  double o_l;             /* θ_t·g_t (g with weight decay) */
  double o_r;             /* η (1+μ)/(2(1−ν)) ||v_t||², or (η/2)||g_t||² when μ = 0 */
  double o_fb;            /* −μ v_t·g_t: the every-step part of O_FB */
  double v2;              /* ||v_t||² (μ > 0) or ||g_t||² (μ = 0): O_R without its factor */
} FdrRecord;

/* The observables of one step of torch-style SGD, before the update: theta (n), grad (n) the
 * minibatch gradient WITHOUT weight decay (added here as wd·θ, as the SGD rule adds it), buf (n)
 * the momentum buffer b = −v before this step (NULL or all zeros on the first step; ignored
 * when momentum is 0). Sums are taken in double. dampening must be < 1 when momentum > 0. */
FdrRecord fdr_observables(const float *theta, const float *grad, const float *buf, size_t n,
                          double lr, double momentum, double dampening, double weight_decay);

/* Half-running averages over the records since the last reset. */
typedef struct {
  int64_t records;        /* records since the last reset (t) */
  int64_t window;         /* records averaged (about t/2; 0 when t = 0) */
  double o_l, o_r, o_fb;  /* Ō_L, Ō_R, Ō of the every-step O_FB part */
  double v2;              /* Ō of FdrRecord.v2 */
  double ratio;           /* Ō_L/Ō_R (NaN when there is no record or Ō_R = 0) */
  int64_t full_records;   /* full-batch records since the last reset */
  double full_g2;         /* half-running average of the full-batch ||∇f||² (NaN if none) */
} FdrAverages;

/* What a check decided. */
typedef struct {
  int checked;            /* 1 if the guard allowed a decision */
  int cut;                /* 1 if the learning rate was cut (records then discarded) */
  double ratio;           /* Ō_L/Ō_R at the check */
  double lr_before, lr_after;
  int64_t records;        /* records since the last reset at the check */
} FdrDecision;

typedef struct Fdr Fdr;

/* Create the accumulator and schedule; NULL with err on bad settings or no memory. */
Fdr *fdr_create(const FdrSettings *s, CoreErr *err);

/* Free (NULL is a no-op). */
void fdr_free(Fdr *f);

/* Discard every record (as a cut does); the number of cuts is kept. */
void fdr_reset(Fdr *f);

/* Add one step's observables. */
void fdr_record(Fdr *f, const FdrRecord *r);

/* Add a full-batch squared gradient norm ||∇f||² (epoch ends; weight decay included). */
void fdr_record_full(Fdr *f, double grad2);

/* The half-running averages now. */
FdrAverages fdr_averages(const Fdr *f);

/* Decide at the current learning rate lr: when at least min_records records were taken since
 * the last reset and |Ō_L/Ō_R − 1| < X, cut (lr_after = (1 − Y) lr) and reset the records. */
FdrDecision fdr_check(Fdr *f, double lr);

/* The step-by-step use with opt sgd.c: call before opt_step(sgd, params, grads) with the same
 * params and minibatch grads. Records the observables (lr, momentum, dampening, weight decay
 * and momentum buffer read from the optimizer), then, when check_every > 0 and a check is due,
 * checks and applies a cut with opt_set_lr. Returns the decision (checked = 0 if no check). */
FdrDecision fdr_observe_sgd(Fdr *f, Opt *sgd, const float *params, const float *grads);

/* Number of cuts since create. */
int fdr_cuts(const Fdr *f);

/* Save the records, averages and cut count as sections "<prefix>.*" (a resumed run continues
 * the same half-running averages). */
int fdr_save(const Fdr *f, CoreCkptWriter *w, const char *prefix, CoreErr *err);

/* Restore what fdr_save wrote; the bin capacity must match (CORE_ERR_INVALID), inconsistent
 * counters are CORE_ERR_CORRUPT; on error the accumulator is unchanged. */
int fdr_load(Fdr *f, const CoreCkpt *c, const char *prefix, CoreErr *err);

#endif
