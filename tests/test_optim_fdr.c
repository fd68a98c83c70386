/* test_optim_fdr.c — Yaida's FDR observables on a noisy quadratic whose stationary state is known
 * in closed form, the half-running averages against brute force, and the schedule's decisions
 * on constructed sequences.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>

#include "test_util.h"
#include "core/alloc.h"
#include "core/rng.h"
#include "optim/fdr.h"

/* ---------------------------------------------------------------- half-running averages */

static void test_half_running_average_exact(void **state) {
  (void)state;
  FdrSettings s = fdr_settings_default();
  s.capacity = 4096;
  Fdr *f = fdr_create(&s, NULL);
  assert_non_null(f);
  FdrAverages a = fdr_averages(f);
  assert_int_equal(a.records, 0);
  assert_int_equal(a.window, 0);
  assert_true(isnan(a.o_l) && isnan(a.ratio) && isnan(a.full_g2));
  enum { T = 3000 };
  static double ol[T + 1], orr[T + 1];
  CoreRng rng;
  core_rng_stream(&rng, 7, CORE_RNG_TEST, 0);
  for (int t = 1; t <= T; t++) {
    ol[t] = core_rng_uniform(&rng) + 1e-3 * t;
    orr[t] = 1.0 + core_rng_normal(&rng);
    FdrRecord r = {.o_l = ol[t], .o_r = orr[t], .o_fb = -ol[t], .v2 = 2 * orr[t]};
    fdr_record(f, &r);
    if (t % 97 == 0 || t < 5) {
      /* brute force: records floor(t/2)+1 .. t */
      double sl = 0, sr = 0;
      int s0 = t / 2;
      for (int u = s0 + 1; u <= t; u++) {
        sl += ol[u];
        sr += orr[u];
      }
      a = fdr_averages(f);
      assert_int_equal(a.records, t);
      assert_int_equal(a.window, t - s0);
      assert_near(a.o_l, sl / (t - s0), 1e-12);
      assert_near(a.o_r, sr / (t - s0), 1e-12);
      assert_near(a.o_fb, -sl / (t - s0), 1e-12);
      assert_near(a.v2, 2 * sr / (t - s0), 1e-12);
      assert_near(a.ratio, sl / sr, 1e-9);
    }
  }
  /* full-batch records have their own clock */
  for (int e = 1; e <= 5; e++) fdr_record_full(f, (double)e);
  a = fdr_averages(f);
  assert_int_equal(a.full_records, 5);
  assert_near(a.full_g2, (3 + 4 + 5) / 3.0, 1e-12);
  fdr_reset(f);
  a = fdr_averages(f);
  assert_int_equal(a.records, 0);
  assert_int_equal(a.full_records, 0);
  fdr_free(f);
  fdr_free(NULL);
}

/* Past `capacity` steps the bins merge: the window start is rounded to a bin boundary, so on
 * O(s) = s the average stays within a bin width (< 4t/capacity) of the exact one. */
static void test_half_running_average_binned(void **state) {
  (void)state;
  FdrSettings s = fdr_settings_default();
  s.capacity = 16;
  Fdr *f = fdr_create(&s, NULL);
  for (int64_t t = 1; t <= 100000; t++) {
    FdrRecord r = {.o_l = (double)t, .o_r = 1.0};
    fdr_record(f, &r);
    if (t % 1013 == 0 || t <= 16) {
      FdrAverages a = fdr_averages(f);
      double exact = (double)(t / 2 + 1 + t) / 2.0;
      double wmax = t <= 16 ? 0.0 : 4.0 * (double)t / 16.0;
      if (!(fabs(a.o_l - exact) <= wmax / 2 + 1e-9)) {
        fail_msg("t %lld: average %g, exact %g, allowed %g", (long long)t, a.o_l, exact,
                 wmax / 2);
      }
      assert_true(a.window >= t / 2 - (int64_t)wmax && a.window <= t - t / 2);
      assert_near(a.o_r, 1.0, 1e-12);
    }
  }
  fdr_free(f);
}

/* ---------------------------------------------------------------- observables */

static void test_observables_formulas(void **state) {
  (void)state;
  const float th[3] = {1, -2, 0.5f}, g[3] = {0.5f, 1, -2}, b[3] = {0.25f, -1, 2};
  /* g with wd = 0.1: (0.6, 0.8, -1.95); θ·g = 0.6 − 1.6 − 0.975 = −1.975 */
  FdrRecord r = fdr_observables(th, g, b, 3, 0.2, 0.0, 0.7, 0.1);
  assert_near(r.o_l, -1.975, 1e-6);
  double g2 = 0.36 + 0.64 + 1.95 * 1.95;
  assert_near(r.o_r, 0.1 * g2, 1e-6);   /* μ = 0: (η/2)||g||², dampening ignored, buf ignored */
  assert_near(r.v2, g2, 1e-6);
  assert_near(r.o_fb, 0.0, 0);
  /* μ = 0.5, ν = 0.2: O_R = η(1+μ)/(2(1−ν))||b||², O_FB = μ b·g */
  r = fdr_observables(th, g, b, 3, 0.2, 0.5, 0.2, 0.1);
  double b2 = 0.0625 + 1 + 4, bg = 0.25 * 0.6 - 0.8 - 2 * 1.95;
  assert_near(r.o_r, 0.2 * 1.5 / 1.6 * b2, 1e-6);
  assert_near(r.v2, b2, 1e-6);
  assert_near(r.o_fb, 0.5 * bg, 1e-6);
  assert_near(r.o_l, -1.975, 1e-6);
}

#define NQ 16

/* Curvatures and noise levels of the quadratic test problem. */
static double quad_h(int i) { return 0.2 + 0.15 * i; }
static double quad_sigma(int i) { return 0.5 + 0.1 * (i % 5); }

/* Stationary E[θ²] of θ' = θ + η v', v' = μ v − (1 − ν)(h θ + σ ξ) (torch's first step aside),
 * from the 2×2 Lyapunov equation Σ = AΣAᵀ + σ² B Bᵀ iterated to its fixed point. */
static double stationary_theta2(double h, double sigma, double lr, double mu, double nu) {
  double c = 1.0 - nu;
  /* z = (θ, v): v' = −c h θ + μ v − c σ ξ; θ' = θ + η v' */
  double A[2][2] = {{1 - lr * c * h, lr * mu}, {-c * h, mu}};
  double B[2] = {-lr * c * sigma, -c * sigma};
  double S[2][2] = {{0, 0}, {0, 0}};
  for (int it = 0; it < 200000; it++) {
    double T[2][2], N[2][2];
    for (int i = 0; i < 2; i++)
      for (int j = 0; j < 2; j++) T[i][j] = A[i][0] * S[0][j] + A[i][1] * S[1][j];
    for (int i = 0; i < 2; i++)
      for (int j = 0; j < 2; j++) N[i][j] = T[i][0] * A[j][0] + T[i][1] * A[j][1] + B[i] * B[j];
    double d = fabs(N[0][0] - S[0][0]);
    memcpy(S, N, sizeof S);
    if (d < 1e-15 * S[0][0]) break;
  }
  return S[0][0];
}

/* SGD (opt sgd.c) on f = Σ ½ h_i θ_i² with gradient noise σ_i ξ and weight decay λ; the FDR
 * observables recorded before each step by fdr_observe_sgd. */
static FdrAverages run_quadratic(double lr, double mu, double nu, double wd, int steps,
                                 double *want_ol) {
  OptSettings s = opt_settings_default(OPT_SGD);
  s.lr = lr;
  s.momentum = mu;
  s.dampening = nu;
  s.weight_decay = wd;
  Opt *o = opt_create(&s, NQ, NULL);
  FdrSettings fs = fdr_settings_default();
  fs.capacity = 1 << 18;
  Fdr *f = fdr_create(&fs, NULL);
  CoreRng rng;
  core_rng_stream(&rng, 3, CORE_RNG_TEST, 1);
  float p[NQ], g[NQ];
  for (int i = 0; i < NQ; i++) p[i] = 1.0f;
  for (int t = 0; t < steps; t++) {
    for (int i = 0; i < NQ; i++)
      g[i] = (float)(quad_h(i) * p[i] + quad_sigma(i) * core_rng_normal(&rng));
    FdrDecision d = fdr_observe_sgd(f, o, p, g);
    assert_int_equal(d.checked, 0);    /* check_every = 0: never checks by itself */
    opt_step(o, p, g);
  }
  /* ⟨θ·g⟩ = Σ (h + λ) E[θ²]: the noise has mean 0 and is independent of θ */
  *want_ol = 0;
  for (int i = 0; i < NQ; i++) {
    double h = quad_h(i) + wd;
    *want_ol += h * stationary_theta2(h, quad_sigma(i), lr, mu, mu == 0 ? 0 : nu);
  }
  FdrAverages a = fdr_averages(f);
  assert_int_equal(fdr_cuts(f), 0);
  fdr_free(f);
  opt_free(o);
  return a;
}

/* FDR1 (μ = 0): Ō_L = Ō_R, and both equal the closed-form ⟨θ·∇f⟩ = Σ ησ²/(2 − η(h+λ)). */
static void test_fdr1_plain_sgd(void **state) {
  (void)state;
  double want;
  FdrAverages a = run_quadratic(0.5, 0.0, 0.0, 0.05, 200000, &want);
  double closed = 0;
  for (int i = 0; i < NQ; i++) {
    double h = quad_h(i) + 0.05, sg = quad_sigma(i);
    closed += 0.5 * sg * sg / (2.0 - 0.5 * h);
  }
  assert_near(want, closed, 1e-9 * closed);       /* the Lyapunov solver agrees with algebra */
  assert_near(a.o_l / want, 1.0, 0.02);
  assert_near(a.o_r / want, 1.0, 0.02);
  /* on a quadratic Σ(θ·g − (η/2)||g||²) telescopes to a boundary term: the ratio is sharp */
  assert_near(a.ratio, 1.0, 0.002);
  assert_int_equal(a.window, 100000);
}

/* FDR1' (μ = 0.5, ν = 0.2): Ō_L/Ō_R → 1 with the (1+μ)/(1−ν) factor; without (1+μ) the ratio
 * is 1 + μ (the spec's negative control). */
static void test_fdr1_momentum(void **state) {
  (void)state;
  const double mu = 0.5, nu = 0.2, lr = 0.3;
  double want;
  FdrAverages a = run_quadratic(lr, mu, nu, 0.02, 200000, &want);
  assert_near(a.o_l / want, 1.0, 0.03);
  assert_near(a.ratio, 1.0, 0.002);
  /* O_R without the (1 + μ): η/(2(1 − ν))||v||² */
  double ratio_no_mu = a.o_l / (lr / (2 * (1 - nu)) * a.v2);
  assert_near(ratio_no_mu, 1.0 + mu, 0.005);
  /* the every-step FB part −μ⟨v·g⟩ is nonzero with momentum */
  assert_true(a.o_fb != 0.0);
}

/* ---------------------------------------------------------------- the schedule */

static void feed(Fdr *f, int count, double ol, double orr) {
  FdrRecord r = {.o_l = ol, .o_r = orr, .v2 = orr};
  for (int i = 0; i < count; i++) fdr_record(f, &r);
}

static void test_schedule_constructed(void **state) {
  (void)state;
  FdrSettings s = fdr_settings_default();   /* X 0.01, Y 0.1, guard 500 */
  Fdr *f = fdr_create(&s, NULL);
  double lr = 0.1;

  /* 400 records already at ratio 1: the guard holds */
  feed(f, 400, 1.0, 1.0);
  FdrDecision d = fdr_check(f, lr);
  assert_int_equal(d.checked, 0);
  assert_int_equal(d.cut, 0);
  assert_true(d.lr_after == lr);
  assert_near(d.ratio, 1.0, 1e-12);
  fdr_reset(f);

  /* 600 records at ratio 2: checked, no cut */
  feed(f, 600, 2.0, 1.0);
  d = fdr_check(f, lr);
  assert_true(d.checked && !d.cut);
  assert_near(d.ratio, 2.0, 1e-12);
  /* 500 more at ratio 1: the window 551..1100 still holds 50 of the ratio-2 records */
  feed(f, 500, 1.0, 1.0);
  d = fdr_check(f, lr);
  assert_true(d.checked && !d.cut);
  assert_near(d.ratio, (50 * 2.0 + 500) / 550.0, 1e-12);
  assert_int_equal(d.records, 1100);
  /* 100 more: the window 601..1200 is all at ratio 1: cut by 10% and forget the records */
  feed(f, 100, 1.0, 1.0);
  d = fdr_check(f, lr);
  assert_true(d.checked && d.cut);
  assert_near(d.lr_after, 0.09, 1e-15);
  assert_int_equal(fdr_cuts(f), 1);
  lr = d.lr_after;
  assert_int_equal(fdr_averages(f).records, 0);
  /* right after a cut the guard applies again, even at ratio 1 */
  feed(f, 10, 1.0, 1.0);
  d = fdr_check(f, lr);
  assert_true(!d.checked && !d.cut);
  /* just outside X (ratio 1.0101) is no cut; just inside (0.9901) is */
  fdr_reset(f);
  feed(f, 1000, 1.0101, 1.0);
  d = fdr_check(f, lr);
  assert_true(d.checked && !d.cut);
  fdr_reset(f);
  feed(f, 1000, 0.9901, 1.0);
  d = fdr_check(f, lr);
  assert_true(d.checked && d.cut);
  assert_near(d.lr_after, 0.081, 1e-15);
  assert_int_equal(fdr_cuts(f), 2);
  /* a NaN ratio (Ō_R = 0) is never a cut */
  feed(f, 1000, 0.0, 0.0);
  d = fdr_check(f, d.lr_after);
  assert_true(!d.checked && !d.cut);
  fdr_free(f);
}

/* check_every with SGD: checks only at multiples of check_every records since the last reset,
 * every cut at |ratio − 1| < X, the optimizer's lr cut by (1 − Y) each time and never raised. */
static void test_schedule_with_sgd(void **state) {
  (void)state;
  OptSettings s = opt_settings_default(OPT_SGD);
  s.lr = 0.4;
  Opt *o = opt_create(&s, NQ, NULL);
  FdrSettings fs = fdr_settings_default();
  fs.x = 0.03;
  fs.y = 0.3;
  fs.check_every = 1000;
  fs.min_records = 2000;
  Fdr *f = fdr_create(&fs, NULL);
  CoreRng rng;
  core_rng_stream(&rng, 5, CORE_RNG_TEST, 2);
  float p[NQ], g[NQ];
  for (int i = 0; i < NQ; i++) p[i] = 3.0f;
  int checks = 0, cuts = 0;
  int64_t since = 0;
  double lr = s.lr;
  for (int t = 0; t < 60000; t++) {
    for (int i = 0; i < NQ; i++)
      g[i] = (float)(quad_h(i) * p[i] + quad_sigma(i) * core_rng_normal(&rng));
    FdrDecision d = fdr_observe_sgd(f, o, p, g);
    since++;
    if (d.checked) {
      checks++;
      assert_int_equal(since % 1000, 0);
      assert_true(since >= 2000);
    }
    if (d.cut) {
      cuts++;
      assert_true(fabs(d.ratio - 1.0) < 0.03);
      assert_near(d.lr_after, 0.7 * lr, 1e-12);
      since = 0;
    }
    assert_true(o->set.lr <= lr);
    lr = o->set.lr;
    opt_step(o, p, g);
  }
  /* the noisy quadratic equilibrates within a few thousand steps at each rate */
  assert_true(cuts >= 3);
  assert_int_equal(cuts, fdr_cuts(f));
  assert_true(checks > cuts);
  assert_near(o->set.lr, 0.4 * pow(0.7, cuts), 1e-12);
  fdr_free(f);
  opt_free(o);
}

static void test_settings(void **state) {
  (void)state;
  struct {
    FdrSettings s;
    const char *expect;
  } bad[] = {
    {{.x = 0, .y = 0.1, .min_records = 1, .capacity = 8}, "fdr.x: 0 must be"},
    {{.x = NAN, .y = 0.1, .min_records = 1, .capacity = 8}, "fdr.x: nan"},
    {{.x = 0.01, .y = 1.0, .min_records = 1, .capacity = 8}, "fdr.y: 1 is outside (0, 1)"},
    {{.x = 0.01, .y = 0.0, .min_records = 1, .capacity = 8}, "fdr.y: 0 is outside"},
    {{.x = 0.01, .y = 0.1, .check_every = -1, .min_records = 1, .capacity = 8},
     "fdr.check_every: -1"},
    {{.x = 0.01, .y = 0.1, .min_records = 0, .capacity = 8}, "fdr.min_records: 0"},
    {{.x = 0.01, .y = 0.1, .min_records = 1, .capacity = 4}, "fdr.capacity: 4 is outside"},
  };
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    CoreErr err;
    core_err_clear(&err);
    assert_null(fdr_create(&bad[k].s, &err));
    assert_int_equal(err.code, CORE_ERR_INVALID);
    assert_contains(err.msg, bad[k].expect);
  }
  long live = core_alloc_live();
  for (long k = 1; k <= 2; k++) {
    FdrSettings s = fdr_settings_default();
    CoreErr err;
    core_alloc_fail_after(k);
    assert_null(fdr_create(&s, &err));
    core_alloc_fail_after(0);
    assert_int_equal(err.code, CORE_ERR_NOMEM);
    assert_int_equal(core_alloc_live(), live);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_half_running_average_exact),
    cmocka_unit_test(test_half_running_average_binned),
    cmocka_unit_test(test_observables_formulas),
    cmocka_unit_test(test_fdr1_plain_sgd),
    cmocka_unit_test(test_fdr1_momentum),
    cmocka_unit_test(test_schedule_constructed),
    cmocka_unit_test(test_schedule_with_sgd),
    cmocka_unit_test(test_settings),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
