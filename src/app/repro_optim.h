/* repro_optim.h — pieces shared by the optimizer reproductions (repro_fdr.c, repro_vmf.c,
 * repro_a2grad.c): arguments, the Fashion-MNIST subsets, MLPs, minibatch gradients, and the
 * PASS/FAIL tally. */
#ifndef CEMRL_APP_REPRO_OPTIM_H
#define CEMRL_APP_REPRO_OPTIM_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "envs/sup.h"
#include "nets/mlp.h"

/* Options every optimizer reproduction takes. */
typedef struct {
  int quick;               /* --quick: the seconds-long version */
  uint64_t seed;           /* --seed N (0) */
  int extra;               /* the reproduction's own flag (e.g. --fdr2), if it has one */
} ReproOptArgs;

/* Parse argv (argv[0] = NAME): --quick, --seed N, extra_flag (NULL: none), -h/--help (prints
 * usage to stdout). Returns 0 to run, 1 after printing help (exit 0), 2 after a usage error. */
int repro_opt_args(int argc, char **argv, const char *usage, const char *extra_flag,
                   ReproOptArgs *a);

/* The first n_train training and n_test test images of Fashion-MNIST, standardised with the
 * global pixel mean/std of the training subset (papers.md §0). NULL with err. */
SupTask *repro_opt_fmnist(int64_t n_train, int64_t n_test, CoreErr *err);

/* Examples i0 .. i0+n-1 of a classification task's split as dense inputs x (n, in_dim) and int
 * labels y (n); -1 when out of memory (repro_abs.c and repro_nghf.c keep whole splits dense). */
int repro_task_dense(const SupTask *t, int split, int64_t i0, int n, float *x, int *y);

/* A network in -> hidden[0] -> ... -> out with ReLU between linears (n_hidden may be 0: a linear
 * model), Xavier-uniform weights and zero biases drawn from (seed, CORE_RNG_INIT); zero_init
 * leaves every parameter 0. NULL with err. */
NnMlp *repro_opt_mlp(int in, const int *hidden, int n_hidden, int out, int max_batch, int zero_init,
                     uint64_t seed, CoreErr *err);

/* Scratch for batches of up to max_batch rows of a task. */
typedef struct {
  float *x;                /* (max_batch, in_dim) */
  float *y;                /* (max_batch, y_dim) */
  float *dy;               /* (max_batch, out_dim) */
} ReproOptBuf;

/* Allocate / free the scratch (0 or CORE_ERR_NOMEM). */
int repro_opt_buf_init(ReproOptBuf *b, const SupTask *t, int max_batch, CoreErr *err);
void repro_opt_buf_release(ReproOptBuf *b);

/* The mean loss of training examples idx[0..b) and its gradient (no weight decay) written into
 * net->grads; returns the loss. */
double repro_opt_minibatch(const SupTask *t, NnMlp *net, ReproOptBuf *buf, const int64_t *idx,
                           int b);

/* Full-batch figures of the first n training examples (0 = all): mean loss, accuracy and, when
 * want_grad, the mean gradient in net->grads. */
void repro_opt_full(const SupTask *t, NnMlp *net, ReproOptBuf *buf, int64_t n, int want_grad,
                    double *loss, double *acc);

/* Σ x_i² in double. */
double repro_opt_norm2(const float *x, size_t n);

/* The pass/fail tally of one reproduction. */
typedef struct {
  int total, failed;
} ReproTally;

/* Print "  [PASS] what" or "  [FAIL] what" and count it. */
void repro_opt_check(ReproTally *t, int pass, const char *fmt, ...) CORE_PRINTF(3, 4);

/* Print the closing line ("<name>: all N criteria passed" / "K of N criteria failed") and return
 * the exit status (0 or 1). */
int repro_opt_finish(const ReproTally *t, const char *name);

#endif
