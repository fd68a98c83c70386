/* test_optim_cg.c — linear CG on known SPD systems: the solution against a Cholesky solve in
 * double, monotone decrease of the quadratic, damping, the diagonal preconditioner, Martens'
 * progress stop, saved iterates, warm start, negative curvature, and no allocation in a solve.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>

#include "test_util.h"

#include "core/alloc.h"
#include "core/rng.h"
#include "optim/cg.h"

#define NMAX 64

/* A dense symmetric matrix as an operator (float product, double accumulation). */
typedef struct {
  int n;
  double a[NMAX * NMAX];
  long calls;
} Dense;

static void dense_apply(void *u, const float *v, float *out) {
  Dense *d = u;
  for (int i = 0; i < d->n; i++) {
    double s = 0.0;
    for (int j = 0; j < d->n; j++) s += d->a[i * d->n + j] * v[j];
    out[i] = (float)s;
  }
  d->calls++;
}

/* A = Q·diag(eig)·Qᵀ with Q from Gram-Schmidt on random vectors. */
static void make_spd(Dense *d, int n, const double *eig, uint64_t seed) {
  double q[NMAX * NMAX];
  CoreRng rng;
  core_rng_stream(&rng, seed, CORE_RNG_TEST, 0);
  for (int k = 0; k < n; k++) {
    double *col = q + k * n;
    for (int i = 0; i < n; i++) col[i] = core_rng_normal(&rng);
    for (int j = 0; j < k; j++) {
      double dp = 0.0;
      for (int i = 0; i < n; i++) dp += col[i] * q[j * n + i];
      for (int i = 0; i < n; i++) col[i] -= dp * q[j * n + i];
    }
    double nn = 0.0;
    for (int i = 0; i < n; i++) nn += col[i] * col[i];
    for (int i = 0; i < n; i++) col[i] /= sqrt(nn);
  }
  d->n = n;
  d->calls = 0;
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) {
      double s = 0.0;
      for (int k = 0; k < n; k++) s += q[k * n + i] * eig[k] * q[k * n + j];
      d->a[i * n + j] = s;
    }
}

/* Solve (A + λI)x = −b by Cholesky in double. */
static void cholesky_solve(const Dense *d, double lambda, const float *b, double *x) {
  int n = d->n;
  double L[NMAX * NMAX] = {0}, y[NMAX];
  for (int i = 0; i < n; i++)
    for (int j = 0; j <= i; j++) {
      double s = d->a[i * n + j] + (i == j ? lambda : 0.0);
      for (int k = 0; k < j; k++) s -= L[i * n + k] * L[j * n + k];
      L[i * n + j] = i == j ? sqrt(s) : s / L[j * n + j];
    }
  for (int i = 0; i < n; i++) {
    double s = -(double)b[i];
    for (int k = 0; k < i; k++) s -= L[i * n + k] * y[k];
    y[i] = s / L[i * n + i];
  }
  for (int i = n - 1; i >= 0; i--) {
    double s = y[i];
    for (int k = i + 1; k < n; k++) s -= L[k * n + i] * x[k];
    x[i] = s / L[i * n + i];
  }
}

static void random_vec(float *b, int n, uint64_t seed) {
  CoreRng rng;
  core_rng_stream(&rng, seed, CORE_RNG_TEST, 1);
  core_rng_normal_fill(&rng, b, n, 0.0, 1.0);
}

static double rel_err(const float *x, const double *want, int n) {
  double e = 0.0, w = 0.0;
  for (int i = 0; i < n; i++) {
    e += ((double)x[i] - want[i]) * ((double)x[i] - want[i]);
    w += want[i] * want[i];
  }
  return sqrt(e / w);
}

static Dense D;  /* large: keep it off the stack */

static void test_solves_spd(void **state) {
  (void)state;
  int n = 40;
  double eig[NMAX];
  for (int i = 0; i < n; i++) eig[i] = 1.0 + 99.0 * i / (n - 1);   /* condition number 100 */
  make_spd(&D, n, eig, 1);
  float b[NMAX], x[NMAX] = {0};
  double want[NMAX];
  random_vec(b, n, 2);
  cholesky_solve(&D, 0.0, b, want);
  OptCg *cg = opt_cg_create((size_t)n, 200, NULL);
  assert_non_null(cg);
  OptLinOp A = {dense_apply, &D};
  OptCgSettings s = opt_cg_settings_default(200);
  s.progress_eps = 0.0;
  OptCgResult r = opt_cg_solve(cg, &A, b, x, &s);
  assert_true(rel_err(x, want, n) < 1e-4);
  assert_int_equal(r.iters, D.calls);   /* a zero start costs no product */
  assert_true(r.stop == OPT_CG_CONVERGED || r.stop == OPT_CG_MAX_ITER);
  /* q at the solution is −½ bᵀ(A)⁻¹b = ½ bᵀx* */
  double qstar = 0.0;
  for (int i = 0; i < n; i++) qstar += 0.5 * b[i] * want[i];
  assert_near(r.q, qstar, 1e-5 * fabs(qstar));
  /* the quadratic never rises */
  assert_int_equal(r.q_increases, 0);
  for (int i = 1; i <= r.iters; i++)
    assert_true(opt_cg_q(cg, i) <= opt_cg_q(cg, i - 1) + OPT_CG_Q_ROUNDING * fabs(opt_cg_q(cg, i - 1)));
  assert_true(r.iters <= n + 10);   /* converged to float resolution soon after n */
  assert_near(opt_cg_q(cg, 0), 0.0, 0.0);
  opt_cg_free(cg);
}

static void test_damping(void **state) {
  (void)state;
  int n = 30;
  double eig[NMAX];
  for (int i = 0; i < n; i++) eig[i] = (i % 3 == 0) ? 0.0 : 0.5 * i;  /* singular: PSD only */
  make_spd(&D, n, eig, 3);
  float b[NMAX], x[NMAX] = {0};
  double want[NMAX];
  random_vec(b, n, 4);
  cholesky_solve(&D, 0.7, b, want);
  OptCg *cg = opt_cg_create((size_t)n, 100, NULL);
  OptLinOp A = {dense_apply, &D};
  OptCgSettings s = opt_cg_settings_default(100);
  s.damping = 0.7;
  s.progress_eps = 0.0;
  OptCgResult r = opt_cg_solve(cg, &A, b, x, &s);
  assert_true(rel_err(x, want, n) < 1e-4);
  assert_int_equal(r.q_increases, 0);
  opt_cg_free(cg);
}

/* Badly scaled diagonal-dominant system: the Jacobi preconditioner converges in far fewer
 * iterations to the same solution. */
static void test_preconditioner(void **state) {
  (void)state;
  int n = 50;
  double eig[NMAX];
  for (int i = 0; i < n; i++) eig[i] = 1.0 + 0.2 * (i % 5);
  make_spd(&D, n, eig, 5);
  /* D·A·D with D = diag(10^(k/10)): condition ~ 1e10/..., diagonal carries the scale */
  float M[NMAX];
  for (int i = 0; i < n; i++) {
    double si = pow(10.0, (i % 10) / 3.0);
    for (int j = 0; j < n; j++) {
      double sj = pow(10.0, (j % 10) / 3.0);
      D.a[i * n + j] *= si * sj;
    }
  }
  for (int i = 0; i < n; i++) M[i] = (float)D.a[i * n + i];
  float b[NMAX], x[NMAX] = {0}, xp[NMAX] = {0};
  double want[NMAX];
  random_vec(b, n, 6);
  cholesky_solve(&D, 0.0, b, want);
  OptCg *cg = opt_cg_create((size_t)n, 400, NULL);
  OptLinOp A = {dense_apply, &D};
  OptCgSettings s = opt_cg_settings_default(400);
  s.progress_eps = 0.0;
  /* iterations to converge (residual below 1e-6·‖b‖), plain and preconditioned */
  OptCgResult plain = opt_cg_solve(cg, &A, b, x, &s);
  s.precond = M;
  OptCgResult pre = opt_cg_solve(cg, &A, b, xp, &s);
  assert_int_equal(pre.stop, OPT_CG_CONVERGED);
  assert_int_equal(pre.q_increases, 0);
  assert_true(rel_err(xp, want, n) < 1e-3);
  assert_true(plain.stop != OPT_CG_CONVERGED || pre.iters * 2 < plain.iters);
  opt_cg_free(cg);
}

/* Iterates saved at ⌈1.3^j⌉ and the last; each equals a fresh solve stopped there. */
static void test_saved_iterates(void **state) {
  (void)state;
  int n = 60;
  double eig[NMAX];
  for (int i = 0; i < n; i++) eig[i] = 0.01 + i * i;
  make_spd(&D, n, eig, 7);
  float b[NMAX], x[NMAX] = {0}, y[NMAX];
  random_vec(b, n, 8);
  OptCg *cg = opt_cg_create((size_t)n, 50, NULL);
  OptLinOp A = {dense_apply, &D};
  OptCgSettings s = opt_cg_settings_default(50);
  s.progress_eps = 0.0;
  opt_cg_solve(cg, &A, b, x, &s);
  static const int want[] = {1, 2, 3, 4, 5, 7, 9, 11, 14, 18, 24, 31, 40, 50};
  int ns = opt_cg_n_saved(cg);
  assert_int_equal(ns, 14);
  for (int k = 0; k < ns; k++) {
    int it;
    double q;
    const float *xs = opt_cg_saved(cg, k, &it, &q);
    assert_int_equal(it, want[k]);
    assert_near(q, opt_cg_q(cg, it), 0.0);
    /* the same iterate from a solve of exactly `it` iterations (deterministic arithmetic) */
    OptCg *cg2 = opt_cg_create((size_t)n, 50, NULL);
    OptCgSettings s2 = s;
    s2.max_iter = it;
    memset(y, 0, sizeof y);
    opt_cg_solve(cg2, &A, b, y, &s2);
    assert_memory_equal(xs, y, (size_t)n * sizeof(float));
    opt_cg_free(cg2);
  }
  assert_memory_equal(opt_cg_saved(cg, ns - 1, NULL, NULL), x, (size_t)n * sizeof(float));
  /* γ = 0: only the final iterate */
  s.save_gamma = 0.0;
  memset(x, 0, sizeof x);
  opt_cg_solve(cg, &A, b, x, &s);
  assert_int_equal(opt_cg_n_saved(cg), 1);
  opt_cg_free(cg);
}

/* Martens' relative-progress test stops a well-conditioned solve long before max_iter. */
static void test_progress_stop(void **state) {
  (void)state;
  int n = 64;
  double eig[NMAX];
  for (int i = 0; i < n; i++) eig[i] = 1.0 + 1e4 * pow((double)i / (n - 1), 4.0);
  make_spd(&D, n, eig, 9);
  float b[NMAX], x[NMAX] = {0};
  random_vec(b, n, 10);
  OptCg *cg = opt_cg_create((size_t)n, 500, NULL);
  OptLinOp A = {dense_apply, &D};
  OptCgSettings s = opt_cg_settings_default(500);
  s.progress_eps = 5e-4;
  OptCgResult r = opt_cg_solve(cg, &A, b, x, &s);
  assert_int_equal(r.stop, OPT_CG_PROGRESS);
  assert_true(r.iters > 10 && r.iters < 500);
  int i = r.iters, k = (int)fmax(10.0, ceil(0.1 * i));
  double rel = (opt_cg_q(cg, i) - opt_cg_q(cg, i - k)) / opt_cg_q(cg, i);
  assert_true(rel < k * 5e-4);
  /* and the iteration before did not yet satisfy it */
  int j = i - 1, kj = (int)fmax(10.0, ceil(0.1 * j));
  if (j > kj) {
    double relj = (opt_cg_q(cg, j) - opt_cg_q(cg, j - kj)) / opt_cg_q(cg, j);
    assert_true(relj >= kj * 5e-4);
  }
  opt_cg_free(cg);
}

/* Warm start at the solution: q0 is the optimum and nothing is left to do. */
static void test_warm_start(void **state) {
  (void)state;
  int n = 20;
  double eig[NMAX];
  for (int i = 0; i < n; i++) eig[i] = 1.0 + i;
  make_spd(&D, n, eig, 11);
  float b[NMAX], x[NMAX] = {0};
  double want[NMAX];
  random_vec(b, n, 12);
  cholesky_solve(&D, 0.0, b, want);
  OptCg *cg = opt_cg_create((size_t)n, 100, NULL);
  OptLinOp A = {dense_apply, &D};
  OptCgSettings s = opt_cg_settings_default(100);
  s.progress_eps = 0.0;
  opt_cg_solve(cg, &A, b, x, &s);
  float x0[NMAX];
  memcpy(x0, x, sizeof x);
  D.calls = 0;
  OptCgResult r = opt_cg_solve(cg, &A, b, x, &s);
  assert_true(r.iters <= 2);
  assert_near(r.q0, r.q, 1e-5 * fabs(r.q));
  assert_true(D.calls >= 1);  /* the start residual needs a product */
  for (int i = 0; i < n; i++) assert_near(x[i], want[i], 1e-3 * fabs(want[i]) + 1e-5);
  opt_cg_free(cg);
}

static void test_negative_curvature(void **state) {
  (void)state;
  int n = 10;
  double eig[NMAX];
  for (int i = 0; i < n; i++) eig[i] = i < 5 ? -1.0 - i : 1.0 + i;
  make_spd(&D, n, eig, 13);
  float b[NMAX], x[NMAX] = {0};
  random_vec(b, n, 14);
  OptCg *cg = opt_cg_create((size_t)n, 50, NULL);
  OptLinOp A = {dense_apply, &D};
  OptCgSettings s = opt_cg_settings_default(50);
  OptCgResult r = opt_cg_solve(cg, &A, b, x, &s);
  assert_int_equal(r.stop, OPT_CG_NEG_CURVATURE);
  for (int i = 0; i < n; i++) assert_true(isfinite(x[i]));
  opt_cg_free(cg);
}

static void test_errors_and_allocation(void **state) {
  (void)state;
  CoreErr err;
  assert_null(opt_cg_create(0, 10, &err));
  assert_int_equal(err.code, CORE_ERR_INVALID);
  assert_null(opt_cg_create(5, 0, &err));
  opt_cg_free(NULL);
  for (long k = 1; k <= 6; k++) {
    long live = core_alloc_live();
    core_alloc_fail_after(k);
    OptCg *cg = opt_cg_create(100, 50, &err);
    core_alloc_fail_after(0);
    if (!cg) assert_int_equal(err.code, CORE_ERR_NOMEM);
    opt_cg_free(cg);
    assert_int_equal(core_alloc_live(), live);
  }
  int n = 16;
  double eig[NMAX];
  for (int i = 0; i < n; i++) eig[i] = 1.0 + i;
  make_spd(&D, n, eig, 15);
  float b[NMAX], x[NMAX] = {0};
  random_vec(b, n, 16);
  OptCg *cg = opt_cg_create((size_t)n, 30, NULL);
  OptLinOp A = {dense_apply, &D};
  OptCgSettings s = opt_cg_settings_default(30);
  long live = core_alloc_live();
  core_alloc_fail_after(1);
  opt_cg_solve(cg, &A, b, x, &s);
  core_alloc_fail_after(0);
  assert_int_equal(core_alloc_live(), live);
  opt_cg_free(cg);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_solves_spd),
      cmocka_unit_test(test_damping),
      cmocka_unit_test(test_preconditioner),
      cmocka_unit_test(test_saved_iterates),
      cmocka_unit_test(test_progress_stop),
      cmocka_unit_test(test_warm_start),
      cmocka_unit_test(test_negative_curvature),
      cmocka_unit_test(test_errors_and_allocation),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
