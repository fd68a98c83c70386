/* test_optim_abs.c — power iteration on a known quadratic, and the ABS / ABSA schedule's
 * decisions (eigen rule, duration rule, clamping at r_max, lr scaling with cap and decay, the
 * adversarial ratio) on scripted eigenvalue sequences.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>

#include "test_util.h"

#include "core/alloc.h"
#include "core/rng.h"
#include "optim/abs.h"
#include "optim/eig.h"

#define N 30

/* The Hessian of the quadratic ½θᵀAθ, A = Q diag(eig) Qᵀ (Q a product of Householder
 * reflections, so its eigenvalues are exactly eig). */
typedef struct {
  double a[N * N];
  long calls;
} Quad;

static void quad_apply(void *u, const float *v, float *out) {
  Quad *q = u;
  for (int i = 0; i < N; i++) {
    double s = 0.0;
    for (int j = 0; j < N; j++) s += q->a[i * N + j] * v[j];
    out[i] = (float)s;
  }
  q->calls++;
}

static void quad_make(Quad *q, const double *eig, uint64_t seed) {
  double Q[N * N];
  for (int i = 0; i < N; i++)
    for (int j = 0; j < N; j++) Q[i * N + j] = i == j;
  CoreRng rng;
  core_rng_stream(&rng, seed, CORE_RNG_TEST, 0);
  for (int h = 0; h < 3; h++) {   /* Q ← Q (I − 2uuᵀ) */
    double u[N], nn = 0.0;
    for (int i = 0; i < N; i++) {
      u[i] = core_rng_normal(&rng);
      nn += u[i] * u[i];
    }
    for (int i = 0; i < N; i++) u[i] /= sqrt(nn);
    for (int i = 0; i < N; i++) {
      double d = 0.0;
      for (int k = 0; k < N; k++) d += Q[i * N + k] * u[k];
      for (int k = 0; k < N; k++) Q[i * N + k] -= 2.0 * d * u[k];
    }
  }
  for (int i = 0; i < N; i++)
    for (int j = 0; j < N; j++) {
      double s = 0.0;
      for (int k = 0; k < N; k++) s += Q[i * N + k] * eig[k] * Q[j * N + k];
      q->a[i * N + j] = s;
    }
  q->calls = 0;
}

static Quad Qd;

static void test_power_iteration_known_quadratic(void **state) {
  (void)state;
  double eig[N];
  for (int i = 0; i < N; i++) eig[i] = 0.1 * i;   /* top 2.9, next 2.8 */
  eig[7] = 12.5;                                  /* the top eigenvalue, well separated */
  eig[3] = -4.0;                                  /* a negative one, smaller in magnitude */
  quad_make(&Qd, eig, 1);
  OptLinOp A = {quad_apply, &Qd};
  float v[N], w[N];
  CoreRng rng;
  core_rng_stream(&rng, 2, CORE_RNG_TEST, 0);
  /* the spec's unit test: the top eigenvalue to 1e-3 */
  OptEigResult r = opt_eig_power(&A, N, 100, 1e-6, &rng, v, w);
  assert_near(r.lambda, 12.5, 1e-3);
  assert_int_equal(r.iters, Qd.calls);
  assert_true(r.converged);
  /* v is the unit top eigenvector: A v = 12.5 v */
  float av[N];
  quad_apply(&Qd, v, av);
  for (int i = 0; i < N; i++) assert_near(av[i], 12.5 * v[i], 1e-3);
  /* HessianFlow's budget (10 iterations, tol 1e-2) stops early, within about 1 % */
  core_rng_stream(&rng, 3, CORE_RNG_TEST, 0);
  r = opt_eig_power(&A, N, 10, 1e-2, &rng, v, w);
  assert_true(r.iters <= 10);
  assert_near(r.lambda, 12.5, 0.02 * 12.5);
  /* the zero operator: λ = 0 without NaN */
  memset(Qd.a, 0, sizeof Qd.a);
  r = opt_eig_power(&A, N, 10, 1e-2, &rng, v, w);
  assert_near(r.lambda, 0.0, 0.0);
}

static OptAbsSettings small_settings(double gamma0) {
  OptAbsSettings s = opt_abs_settings_default();
  s.b0 = 128;
  s.r_max = 32;
  s.duration = 3;
  s.gamma0 = gamma0;
  s.lr0 = 0.05;
  s.lr_cap = 8 * 0.05;
  s.epochs = 30;
  s.n_decay = 2;
  s.decay_epochs[0] = 15;
  s.decay_epochs[1] = 25;
  return s;
}

/* Scripted eigenvalues: halving triggers the eigen rule; a flat spell triggers the duration rule
 * after `duration` epochs; r clamps at r_max, γ goes to 0 and eigenvalues stop being used. */
static void test_schedule_decisions(void **state) {
  (void)state;
  OptAbsSettings s = small_settings(0.2);
  OptAbs *a = opt_abs_create(&s, NULL);
  assert_non_null(a);
  assert_int_equal(opt_abs_batch(a), 128);
  assert_true(opt_abs_wants_eigen(a));
  /* epoch 0: first λ = 10 sets the reference */
  OptAbsDecision d = opt_abs_epoch_end(a, 0, 10.0);
  assert_int_equal(d.cause, OPT_ABS_KEEP);
  assert_near(d.lambda_ref, 10.0, 0.0);
  /* epoch 1: 6 > 10/2 keeps; epoch 2: 4.9 <= 5 is an eigen increase */
  d = opt_abs_epoch_end(a, 1, 6.0);
  assert_int_equal(d.cause, OPT_ABS_KEEP);
  d = opt_abs_epoch_end(a, 2, 4.9);
  assert_int_equal(d.cause, OPT_ABS_EIGEN);
  assert_int_equal(d.r_before, 1);
  assert_int_equal(d.r_after, 2);
  assert_near(d.lambda_ref, 4.9, 0.0);
  assert_near(d.gamma, 0.1, 1e-15);
  assert_near(opt_abs_lr(a, 3), 0.1, 1e-15);
  assert_int_equal(opt_abs_n_adv(a, 3), 12);    /* ⌊128·0.1⌋ */
  /* flat λ: epochs 3, 4 keep, epoch 5 (3 since the increase) is a duration increase */
  assert_int_equal(opt_abs_epoch_end(a, 3, 4.8).cause, OPT_ABS_KEEP);
  assert_int_equal(opt_abs_epoch_end(a, 4, 4.8).cause, OPT_ABS_KEEP);
  d = opt_abs_epoch_end(a, 5, 4.8);
  assert_int_equal(d.cause, OPT_ABS_DURATION);
  assert_int_equal(d.r_after, 4);
  assert_near(d.lambda_ref, 4.9, 0.0);          /* the duration rule keeps the reference */
  assert_near(opt_abs_lr(a, 6), 0.2, 1e-15);
  /* eigen again at 2.0 <= 2.45: r 8, lr 0.4 (= the cap) */
  d = opt_abs_epoch_end(a, 6, 2.0);
  assert_int_equal(d.cause, OPT_ABS_EIGEN);
  assert_int_equal(opt_abs_ratio(a), 8);
  assert_near(opt_abs_lr(a, 7), 0.4, 1e-15);
  assert_near(opt_abs_gamma(a, 7), 0.025, 1e-15);
  assert_int_equal(opt_abs_n_adv(a, 7), 3);
  /* eigen at 0.5: r 16; the scaled lr 0.8 is capped at 0.4 */
  opt_abs_epoch_end(a, 7, 0.5);
  assert_int_equal(opt_abs_ratio(a), 16);
  assert_near(opt_abs_lr(a, 8), 0.4, 1e-15);
  assert_near(opt_abs_gamma(a, 8), 0.0125, 1e-15);
  assert_int_equal(opt_abs_n_adv(a, 8), 1);     /* γ > 1/128: at least one */
  /* eigen at 0.2: r 32 = r_max: frozen, γ = 0, no more eigenvalues */
  d = opt_abs_epoch_end(a, 8, 0.2);
  assert_int_equal(d.cause, OPT_ABS_EIGEN);
  assert_int_equal(opt_abs_batch(a), 4096);
  assert_false(opt_abs_wants_eigen(a));
  assert_int_equal(opt_abs_n_adv(a, 9), 0);
  d = opt_abs_epoch_end(a, 9, NAN);
  assert_int_equal(d.cause, OPT_ABS_FROZEN);
  assert_int_equal(d.r_after, 32);
  /* step decay on top of the capped lr */
  assert_near(opt_abs_lr(a, 14), 0.4, 1e-15);
  assert_near(opt_abs_lr(a, 15), 0.08, 1e-15);
  assert_near(opt_abs_lr(a, 25), 0.016, 1e-15);
  /* the log has one entry per epoch, in order */
  int n;
  const OptAbsDecision *log = opt_abs_log(a, &n);
  assert_int_equal(n, 10);
  for (int e = 0; e < n; e++) assert_int_equal(log[e].epoch, e);
  assert_int_equal(log[2].cause, OPT_ABS_EIGEN);
  assert_int_equal(log[5].cause, OPT_ABS_DURATION);
  opt_abs_free(a);
}

/* γ is 0 from ⌊E/2⌋ on even when the schedule still holds a positive ratio; ABS (γ0 = 0) never
 * asks for adversarial examples; an unmeasured epoch only counts towards the duration rule. */
static void test_gamma_and_unmeasured(void **state) {
  (void)state;
  OptAbsSettings s = small_settings(0.2);
  OptAbs *a = opt_abs_create(&s, NULL);
  assert_int_equal(opt_abs_n_adv(a, 0), 25);    /* ⌊128·0.2⌋ */
  assert_int_equal(opt_abs_n_adv(a, 14), 25);
  assert_int_equal(opt_abs_n_adv(a, 15), 0);
  assert_near(opt_abs_gamma(a, 15), 0.0, 0.0);
  assert_int_equal(opt_abs_epoch_end(a, 0, NAN).cause, OPT_ABS_KEEP);
  assert_int_equal(opt_abs_epoch_end(a, 1, NAN).cause, OPT_ABS_KEEP);
  assert_int_equal(opt_abs_epoch_end(a, 2, NAN).cause, OPT_ABS_DURATION);
  opt_abs_free(a);
  s = small_settings(0.0);
  a = opt_abs_create(&s, NULL);
  for (int e = 0; e < 30; e++) assert_int_equal(opt_abs_n_adv(a, e), 0);
  /* growing eigenvalues never trigger the eigen rule: every increase is duration-driven */
  int eig = 0, dur = 0;
  for (int e = 0; e < 30; e++) {
    OptAbsDecision d = opt_abs_epoch_end(a, e, 1.0 + e);
    eig += d.cause == OPT_ABS_EIGEN;
    dur += d.cause == OPT_ABS_DURATION;
  }
  assert_int_equal(eig, 0);
  assert_int_equal(dur, 5);                     /* 1 → 2 → 4 → 8 → 16 → 32 */
  assert_int_equal(opt_abs_ratio(a), 32);
  opt_abs_free(a);
}

/* A batch factor that overshoots r_max is clamped, and the lr scales by the actual factor. */
static void test_clamp_factor(void **state) {
  (void)state;
  OptAbsSettings s = small_settings(0.0);
  s.r_max = 6;
  s.batch_factor = 4;
  s.lr_cap = 0.0;
  OptAbs *a = opt_abs_create(&s, NULL);
  opt_abs_epoch_end(a, 0, 8.0);
  opt_abs_epoch_end(a, 1, 1.0);
  assert_int_equal(opt_abs_ratio(a), 4);
  opt_abs_epoch_end(a, 2, 0.1);
  assert_int_equal(opt_abs_ratio(a), 6);
  assert_near(opt_abs_lr(a, 3), 0.05 * 6, 1e-15);
  assert_false(opt_abs_wants_eigen(a));
  opt_abs_free(a);
}

static void test_settings_errors(void **state) {
  (void)state;
  CoreErr err;
  OptAbsSettings s = small_settings(0.2);
  s.eigen_ratio = 1.0;
  assert_null(opt_abs_create(&s, &err));
  assert_contains(err.msg, "abs.eigen_ratio");
  s = small_settings(1.5);
  assert_null(opt_abs_create(&s, &err));
  assert_contains(err.msg, "abs.gamma0");
  s = small_settings(0.2);
  s.n_decay = 9;
  assert_null(opt_abs_create(&s, &err));
  assert_contains(err.msg, "abs.n_decay");
  s = small_settings(0.2);
  s.duration = 0;
  assert_null(opt_abs_create(&s, &err));
  opt_abs_free(NULL);
  s = small_settings(0.2);
  for (long k = 1; k <= 3; k++) {
    long live = core_alloc_live();
    core_alloc_fail_after(k);
    OptAbs *a = opt_abs_create(&s, &err);
    core_alloc_fail_after(0);
    if (!a) assert_int_equal(err.code, CORE_ERR_NOMEM);
    opt_abs_free(a);
    assert_int_equal(core_alloc_live(), live);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_power_iteration_known_quadratic),
      cmocka_unit_test(test_schedule_decisions),
      cmocka_unit_test(test_gamma_and_unmeasured),
      cmocka_unit_test(test_clamp_factor),
      cmocka_unit_test(test_settings_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
