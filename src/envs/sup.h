/* sup.h — supervised tasks: a data set with a train and a test split, a loss and an accuracy.
 *
 * A SupTask is immutable after sup_task_create: inputs and targets of both splits live in memory
 * and any number of threads may read them at once. Everything that trains on a task sees only
 *   - sizes: n[SUP_TRAIN], n[SUP_TEST], in_dim (input width), out_dim (prediction width) and
 *     y_dim (target width: out_dim for regression, 1 for a class label or a ±1 sign);
 *   - sup_task_batch / sup_task_range: copy examples into caller buffers X (n, in_dim) and
 *     Y (n, y_dim), as floats (bytes of images are standardised on the way);
 *   - sup_task_loss: the mean loss of predictions (n, out_dim) against Y and its gradient, ready
 *     for nn_mlp_backward (the batch mean, like PyTorch's default reduction);
 *   - sup_task_correct: how many predictions are right (classification), for accuracies.
 * Class labels travel as floats holding the exact class index (0.0f, 1.0f, ...), so one Y buffer
 * type serves every task.
 *
 * Tasks (SupTaskKind):
 *   fashion-mnist  Fashion-MNIST (Debian's dataset-fashion-mnist, gzip IDX files): 784 inputs,
 *                  10 classes, softmax cross-entropy. Standardised with the global pixel mean/std
 *                  of the training subset in use (spec papers.md §0), or pixels/255.
 *   du             Du et al.: n points uniform on the unit sphere in R^d, labels y ~ N(0, 1),
 *                  squared error (sup_du.h has the model, H∞ and λ0).
 *   ji-telgarsky   Ji & Telgarsky: linearly separable points z_i = y_i x_i with a known
 *                  max-margin direction ū and margin γ (u_bar, gamma), logistic loss on ±1 labels.
 *   regress        a smooth regression in R^4 for the RL adapters: x ~ U(−1, 1)^4,
 *                  y = 0.6 sin(π x1) + 0.4 x2 x3 − 0.3 x4² + 0.1, mean squared error.
 * Synthetic tasks draw their data from core_rng_stream(seed, CORE_RNG_DATA, split): the same
 * spec gives the same numbers.
 *
 * Environments (sup_env.h) pose every task to the RL methods; the supervised learner
 * (method "supervised") runs minibatch training on it directly.
 *
 * Nullable: every CoreErr *err.
 */
#ifndef CEMRL_ENVS_SUP_H
#define CEMRL_ENVS_SUP_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/rng.h"
#include "nets/mlp.h"

typedef enum { SUP_TRAIN = 0, SUP_TEST, SUP_NSPLIT } SupSplit;

extern const char *const sup_split_names[];   /* "train", "test" */

/* Per-example losses; the batch loss is their mean. */
typedef enum {
  SUP_LOSS_MSE = 0,      /* (1/out_dim) Σ_j (u_j − y_j)²   (F.mse_loss); y_dim = out_dim */
  SUP_LOSS_XENT,         /* logsumexp(u) − u[y] (F.cross_entropy); y = class index; y_dim = 1 */
  SUP_LOSS_LOGISTIC,     /* ln(1 + exp(−y u)), y ∈ {−1, +1}; out_dim = y_dim = 1 */
  SUP_NLOSS
} SupLossKind;

extern const char *const sup_loss_names[];    /* "mse", "xent", "logistic" */

typedef enum {
  SUP_TASK_FASHION_MNIST = 0,
  SUP_TASK_DU,
  SUP_TASK_JI_TELGARSKY,
  SUP_TASK_REGRESS,
  SUP_NTASK
} SupTaskKind;

extern const char *const sup_task_names[];    /* "fashion-mnist", "du", "ji-telgarsky", "regress" */

/* The SupTaskKind named name, or -1. */
int sup_task_kind_from_name(const char *name);

/* Environment variable that overrides the Fashion-MNIST folder when spec.data_dir is empty. */
#define SUP_FASHION_MNIST_ENV "CEMRL_FASHION_MNIST_DIR"
/* Where Debian's dataset-fashion-mnist puts the four .gz files. */
#define SUP_FASHION_MNIST_DEFAULT_DIR "/usr/share/datasets/fashion-mnist"

/* What to build. Start from sup_task_spec_default(kind) and change fields. */
typedef struct {
  int kind;                 /* SupTaskKind */
  uint64_t seed;            /* synthetic tasks: data seed (0) */
  int64_t n_train, n_test;  /* examples per split. fashion-mnist: the first n of each file, 0 =
                               all (60000 / 10000); du: (200, 0); ji-telgarsky: (100, 0);
                               regress: (10000, 2000) */
  int dim;                  /* synthetic input width: du 200, ji-telgarsky 10; regress is 4 */
  double margin;            /* ji-telgarsky: γ0 of the support vectors before rescaling (0.1) */
  int standardize;          /* fashion-mnist: 1 global mean/std of the train subset (default), 0
                               pixels/255 */
  char data_dir[512];       /* fashion-mnist folder; "" = $CEMRL_FASHION_MNIST_DIR, else the
                               package's SUP_FASHION_MNIST_DEFAULT_DIR */
} SupTaskSpec;

/* The defaults of a kind (listed above). */
SupTaskSpec sup_task_spec_default(int kind);

/* A loaded task. Every field is read-only after create. */
typedef struct {
  int kind;                 /* SupTaskKind */
  const char *name;         /* sup_task_names[kind] */
  int loss;                 /* SupLossKind */
  int in_dim;               /* input width */
  int out_dim;              /* prediction width (classes for xent) */
  int y_dim;                /* target width (1 for xent and logistic) */
  int n_classes;            /* classes (xent 10, logistic 2); 0 for regression */
  int64_t n[SUP_NSPLIT];    /* examples per split (a synthetic test split may be empty) */
  float pred_bound;         /* a prediction range that loses nothing: |u| <= pred_bound holds
                               every target (regression) or gives near-zero loss (logits); the
                               env adapter's action bounds */
  /* storage: use sup_task_batch / sup_task_range rather than these */
  const float *x[SUP_NSPLIT];     /* (n, in_dim) float inputs, or NULL when stored as bytes */
  const uint8_t *xb[SUP_NSPLIT];  /* (n, in_dim) byte inputs: input = (byte − x_shift)·x_scale */
  float x_shift, x_scale;
  const float *y[SUP_NSPLIT];     /* (n, y_dim) targets */
  /* task facts */
  const double *u_bar;      /* ji-telgarsky: the unit max-margin direction (in_dim); else NULL */
  double gamma;             /* ji-telgarsky: the max margin min_i <ū, z_i> after rescaling */
  SupTaskSpec spec;         /* what built it (data_dir resolved) */
  void *mem_;               /* the one allocation everything above points into */
} SupTask;

/* Build a task: generate synthetic data or load files. NULL with err on a bad spec, missing or
 * corrupt files (message names the path and what is wrong) or no memory. */
SupTask *sup_task_create(const SupTaskSpec *spec, CoreErr *err);

/* Free a task (NULL is a no-op). */
void sup_task_free(SupTask *t);

/* Copy examples idx[0..n) of split into x (n, in_dim) and y (n, y_dim); y may be NULL. */
void sup_task_batch(const SupTask *t, int split, const int64_t *idx, int n, float *x, float *y);

/* Copy the consecutive examples i0..i0+n of split into x (n, in_dim) and y (n, y_dim). */
void sup_task_range(const SupTask *t, int split, int64_t i0, int n, float *x, float *y);

/* Mean loss of predictions pred (n, out_dim) against targets y (n, y_dim), accumulated in double;
 * when dpred is not NULL writes dLoss/dpred (n, out_dim) (per-example gradient / n). dpred may
 * alias pred. */
double sup_task_loss(const SupTask *t, const float *pred, const float *y, int n, float *dpred);

/* Number of correct predictions among n (argmax for xent, sign for logistic), or -1 for a
 * regression task (no accuracy). */
int sup_task_correct(const SupTask *t, const float *pred, const float *y, int n);

/* 1 if the task has an accuracy (classification). */
int sup_task_has_accuracy(const SupTask *t);

/* A network's figures on a split. */
typedef struct {
  int64_t n;                /* examples evaluated */
  double loss;              /* mean loss */
  double acc;               /* fraction correct (NAN for regression) */
} SupEval;

/* Evaluate net (in_dim -> out_dim) on the first max_n examples of split (0 = all) in chunks of
 * net->max_batch rows. x (net->max_batch, in_dim) and y (net->max_batch, y_dim) are caller scratch.
 * Allocates nothing. */
void sup_task_evaluate(const SupTask *t, NnMlp *net, int split, int64_t max_n, float *x, float *y,
                       SupEval *out);

/* Fitness of a parameter vector (the CEM fitness mode): bind params (borrowed) to net, forward the
 * n <= net->max_batch examples x (n, in_dim), return −(mean loss) against y (n, y_dim). The net's
 * own parameter buffer is bound back before returning. */
double sup_task_fitness(const SupTask *t, NnMlp *net, float *params, const float *x,
                        const float *y, int n);

/* A uniformly random permutation of 0..n-1 into perm (n) (Fisher–Yates with rng). */
void sup_perm_shuffle(int64_t *perm, int64_t n, CoreRng *rng);

#endif
