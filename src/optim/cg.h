/* cg.h — linear conjugate gradient on a matrix-free operator, as Hessian-free optimisation uses it.
 *
 * Minimises the quadratic q(x) = bᵀx + ½·xᵀ(A + λI)x, i.e. solves (A + λI)x = −b, for a symmetric
 * operator A given only through products A·v (curvature products of a network, or a test
 * matrix). Options follow Martens (2010): a start point (warm start), a diagonal preconditioner,
 * his relative-progress stop, and saved iterates at geometrically spaced iterations for "CG
 * backtracking" (the caller picks the best saved iterate by its own criterion).
 *
 * Vectors are float (the parameter precision); dot products and q are accumulated in double. The
 * value of q after each iteration is recorded (q_hist) so callers and tests can check that every
 * solve lowers its quadratic monotonically. Nothing is allocated after opt_cg_create.
 *
 * Nullable: every CoreErr *err; precond in OptCgSettings.
 */
#ifndef CEMRL_OPTIM_CG_H
#define CEMRL_OPTIM_CG_H

#include <stddef.h>

#include "core/err.h"

/* A symmetric linear operator: out = A·v (v and out of length n, never overlapping). */
typedef struct {
  void (*apply)(void *user, const float *v, float *out);
  void *user;
} OptLinOp;

/* Settings of one solve. */
typedef struct {
  int max_iter;            /* iterations at most (each one product), in [1, the create max] */
  int min_iter;            /* no progress stop before this many iterations */
  double damping;          /* λ >= 0 added to A */
  double progress_eps;     /* Martens' stop: after iteration i, with k = max(10, ⌈0.1·i⌉), stop when
                              q_i < 0 and (q_i − q_{i−k})/q_i < k·eps; 0 runs max_iter (5e-4) */
  const float *precond;    /* diagonal M (n, all > 0): CG on M^(-1/2)(A+λI)M^(-1/2); NULL none */
  double save_gamma;       /* save iterates at iterations ⌈γ^j⌉ (and the last); 0 saves only the
                              last (Martens uses 1.3). The workspace holds the γ = 1.3 schedule; a
                              denser one keeps its newest iterate in the last slot */
} OptCgSettings;

/* Why a solve stopped. */
typedef enum {
  OPT_CG_MAX_ITER = 0,     /* ran max_iter iterations */
  OPT_CG_PROGRESS,         /* Martens' relative-progress test */
  OPT_CG_CONVERGED,        /* residual below 1e-6·‖b‖ (float resolution) */
  OPT_CG_NEG_CURVATURE     /* pᵀ(A+λI)p <= 0: the operator is not positive definite there */
} OptCgStop;

extern const char *const opt_cg_stop_names[];

/* Relative rises of q up to this size are float rounding (vectors are float: q carries about
 * 1e-7 of relative error), not a failure of monotone descent. */
#define OPT_CG_Q_ROUNDING 1e-7   /* "max_iter", "progress", ... */

/* Result of one solve. */
typedef struct {
  int iters;               /* iterations done (= products taken) */
  int stop;                /* OptCgStop */
  double q0;               /* q at the start point */
  double q;                /* q at the returned x */
  int q_increases;         /* iterations where q rose by more than OPT_CG_Q_ROUNDING·|q| (0 for an
                              SPD solve: CG lowers q monotonically in exact arithmetic) */
  double worst_increase;   /* largest relative rise (q_i − q_{i−1})/|q_{i−1}| seen, counted or not
                              (0 if none) */
} OptCgResult;

typedef struct OptCg OptCg;

/* Workspace for vectors of length n and at most max_iter iterations; NULL with err on bad sizes
 * or no memory. */
OptCg *opt_cg_create(size_t n, int max_iter, CoreErr *err);

/* Free a workspace (NULL no-op). */
void opt_cg_free(OptCg *cg);

/* Settings with Martens' defaults for max_iter iterations: min_iter 1, λ 0, eps 5e-4, γ 1.3. */
OptCgSettings opt_cg_settings_default(int max_iter);

/* Minimise q(x) = bᵀx + ½xᵀ(A + λI)x starting from x (in: start, e.g. zero or a decayed previous
 * solution; out: the last iterate). */
OptCgResult opt_cg_solve(OptCg *cg, const OptLinOp *A, const float *b, float *x,
                         const OptCgSettings *s);

/* q after iteration i of the last solve (i = 0 is the start point), i in [0, iters]. */
double opt_cg_q(const OptCg *cg, int i);

/* Number of iterates saved by the last solve (the last iterate is always the final one). */
int opt_cg_n_saved(const OptCg *cg);

/* The k-th saved iterate (k in [0, n_saved), increasing iteration) and its iteration number and q
 * (both nullable). The pointer is valid until the next solve. */
const float *opt_cg_saved(const OptCg *cg, int k, int *iter, double *q);

#endif
