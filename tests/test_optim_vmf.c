/* test_optim_vmf.c — the vMF concentration estimate on directions drawn from a vMF of known κ
 * (Wood's sampler) and on uniform directions (the p/√n floor), the Bessel ratio, the
 * gradient-stochasticity measures against direct two-pass formulas, and Spearman's ρ.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>

#include "test_util.h"
#include "core/alloc.h"
#include "core/rng.h"
#include "optim/vmf.h"

static void test_bessel_ratio(void **state) {
  (void)state;
  /* p = 3: A_3(κ) = coth κ − 1/κ */
  const double ks[] = {1e-3, 0.1, 1.0, 7.5, 100.0, 5000.0};
  for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++) {
    double k = ks[i], want = k < 1e-2 ? k / 3.0 - k * k * k / 45.0 : 1.0 / tanh(k) - 1.0 / k;
    assert_near(vmf_bessel_ratio(3.0, k), want, 1e-12);
  }
  assert_near(vmf_bessel_ratio(3.0, 0.0), 0.0, 0);
  /* large p: Amos (1974) bounds on I_ν/I_{ν−1}, ν = p/2, for ν−1 >= 0:
   * κ/(ν − ½ + √((ν + ½)² + κ²)) <= ratio <= κ/(ν − ½ + √((ν − ½)² + κ²)) */
  const double ps[] = {10.0, 1000.0, 89610.0};
  const double kk[] = {3.0, 500.0, 2.3e5};
  for (size_t i = 0; i < 3; i++) {
    for (size_t j = 0; j < 3; j++) {
      double nu = 0.5 * ps[i], k = kk[j], r = vmf_bessel_ratio(ps[i], k);
      double lo = k / (nu - 0.5 + sqrt((nu + 0.5) * (nu + 0.5) + k * k));
      double hi = k / (nu - 0.5 + sqrt((nu - 0.5) * (nu - 0.5) + k * k));
      if (!(r >= lo * (1 - 1e-12) && r <= hi * (1 + 1e-12))) {
        fail_msg("p %g kappa %g: ratio %.15g outside [%.15g, %.15g]", ps[i], k, r, lo, hi);
      }
    }
  }
}

/* Banerjee's formula is exact in its limits and the MLE inverts A_p. */
static void test_kappa_formulas(void **state) {
  (void)state;
  assert_near(vmf_kappa_banerjee(0.0, 10), 0.0, 0);
  assert_near(vmf_kappa_banerjee(0.5, 10), 0.5 * 9.75 / 0.75, 1e-12);
  assert_true(isinf(vmf_kappa_banerjee(1.0, 10)));
  assert_near(vmf_kappa_uniform(89610, 100), 0.1 * (89610 - 0.01) / 0.99, 1e-9);
  /* κ → A_p(κ) → MLE recovers κ */
  const double ps[] = {3, 5, 50};
  const double ks[] = {0.5, 4, 30, 200};
  for (int i = 0; i < 3; i++) {
    for (int j = 0; j < 4; j++) {
      double r = vmf_bessel_ratio(ps[i], ks[j]);
      double k = vmf_kappa_mle(r, ps[i], 20);
      assert_near(k / ks[j], 1.0, 1e-9);
      /* Banerjee alone is within a few percent here */
      assert_near(vmf_kappa_mle(r, ps[i], 0) / ks[j], 1.0, 0.1);
    }
  }
}

/* Fill mu with a fixed unit vector of length p. */
static void unit_mu(double *mu, size_t p) {
  double s = 0;
  for (size_t i = 0; i < p; i++) {
    mu[i] = cos(0.3 * i + 1.0);
    s += mu[i] * mu[i];
  }
  for (size_t i = 0; i < p; i++) mu[i] /= sqrt(s);
}

/* Draw n vMF(μ, κ) directions into an accumulator (as float "gradients" of random norms), and
 * return the sample mean of μᵀx. */
static double draw_into(VmfAcc *acc, CoreRng *rng, size_t p, double kappa, int n) {
  double *mu = core_malloc(p * sizeof(double)), *x = core_malloc(p * sizeof(double));
  float *g = core_malloc(p * sizeof(float));
  unit_mu(mu, p);
  double w = 0;
  for (int s = 0; s < n; s++) {
    vmf_sample(rng, mu, p, kappa, x);
    double dot = 0, nrm = 0, scale = 0.5 + 3.0 * core_rng_uniform(rng);  /* norms don't matter */
    for (size_t i = 0; i < p; i++) {
      dot += x[i] * mu[i];
      nrm += x[i] * x[i];
      g[i] = (float)(scale * x[i]);
    }
    assert_near(nrm, 1.0, 1e-12);
    w += dot;
    vmf_acc_add(acc, g);
  }
  core_free(mu);
  core_free(x);
  core_free(g);
  return w / n;
}

static void test_kappa_of_vmf_samples(void **state) {
  (void)state;
  const struct {
    size_t p;
    double kappa;
    int n;
    int newton;
  } cases[] = {
    {3, 2.0, 20000, 5},      /* low concentration: Banerjee is off, the MLE is not */
    {5, 20.0, 5000, 5},
    {10, 100.0, 3000, 5},
    {2, 8.0, 5000, 5},       /* the circle: Beta(1/2, 1/2) in Wood's step */
    {1000, 3000.0, 400, 0},  /* high dimension: Banerjee's formula alone */
  };
  CoreRng rng;
  core_rng_stream(&rng, 11, CORE_RNG_TEST, 0);
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    VmfAcc *acc = vmf_acc_create(cases[c].p, NULL);
    double mean_w = draw_into(acc, &rng, cases[c].p, cases[c].kappa, cases[c].n);
    VmfStats s = vmf_acc_stats(acc);
    double a = vmf_bessel_ratio((double)cases[c].p, cases[c].kappa);
    /* the sampler: E[μᵀx] = A_p(κ) */
    if (fabs(mean_w - a) > 0.02 * a) {
      fail_msg("case %zu: mean mu.x %g, A_p(kappa) %g", c, mean_w, a);
    }
    double k = cases[c].newton ? vmf_kappa_mle(s.rbar, (double)cases[c].p, cases[c].newton)
                               : s.kappa;
    if (fabs(k / cases[c].kappa - 1.0) > 0.05) {
      fail_msg("case %zu: p %zu kappa %g estimated %g (rbar %g)", c, cases[c].p, cases[c].kappa,
               k, s.rbar);
    }
    assert_true(k > s.kappa_uniform);
    assert_int_equal(s.n, cases[c].n);
    vmf_acc_free(acc);
  }
}

/* Uniform directions (Gaussian vectors, or vMF with κ = 0): κ̂ ≈ p/√n, the floor. */
static void test_kappa_uniform_floor(void **state) {
  (void)state;
  const size_t p = 20000;
  const int n = 100;
  CoreRng rng;
  core_rng_stream(&rng, 12, CORE_RNG_TEST, 0);
  VmfAcc *acc = vmf_acc_create(p, NULL);
  float *g = core_malloc(p * sizeof(float));
  for (int s = 0; s < n; s++) {
    core_rng_normal_fill(&rng, g, (long)p, 0.0, 1.0 + s);
    vmf_acc_add(acc, g);
  }
  VmfStats st = vmf_acc_stats(acc);
  double floor_ = (double)p / sqrt((double)n);
  assert_near(st.kappa / floor_, 1.0, 0.10);
  assert_near(st.kappa_uniform, 0.1 * (p - 0.01) / 0.99, 1e-9);   /* R̄ = 1/√n exactly */
  assert_near(st.rbar * sqrt((double)n), 1.0, 0.05);
  vmf_acc_free(acc);
  core_free(g);

  /* κ = 0 in Wood's sampler is uniform too */
  const size_t q = 2000;
  acc = vmf_acc_create(q, NULL);
  draw_into(acc, &rng, q, 0.0, n);
  st = vmf_acc_stats(acc);
  assert_near(st.kappa / ((double)q / sqrt((double)n)), 1.0, 0.10);
  vmf_acc_free(acc);
}

/* GNS and GS against the direct two-pass formulas; zero gradients; reset. */
static void test_stochasticity(void **state) {
  (void)state;
  enum { P = 50, N = 40 };
  static float g[N][P];
  CoreRng rng;
  core_rng_stream(&rng, 13, CORE_RNG_TEST, 0);
  for (int s = 0; s < N; s++)
    for (int i = 0; i < P; i++)
      g[s][i] = (float)(0.3 * sin(i) + core_rng_normal(&rng) * (0.5 + 0.05 * s));
  VmfAcc *acc = vmf_acc_create(P, NULL);
  for (int s = 0; s < N; s++) vmf_acc_add(acc, g[s]);
  VmfStats st = vmf_acc_stats(acc);

  double norms[N], mean = 0, gbar[P] = {0}, dsum[P] = {0};
  for (int s = 0; s < N; s++) {
    double q = 0;
    for (int i = 0; i < P; i++) q += (double)g[s][i] * g[s][i];
    norms[s] = sqrt(q);
    mean += norms[s] / N;
    for (int i = 0; i < P; i++) {
      gbar[i] += (double)g[s][i] / N;
      dsum[i] += g[s][i] / norms[s];
    }
  }
  double var = 0, spread = 0, m2 = 0, r = 0;
  for (int s = 0; s < N; s++) {
    var += (norms[s] - mean) * (norms[s] - mean) / N;
    for (int i = 0; i < P; i++) spread += (g[s][i] - gbar[i]) * (g[s][i] - gbar[i]) / N;
  }
  for (int i = 0; i < P; i++) {
    m2 += gbar[i] * gbar[i];
    r += dsum[i] * dsum[i];
  }
  r = sqrt(r) / N;
  assert_near(st.mean_norm, mean, 1e-10 * mean);
  assert_near(st.gns, sqrt(var) / mean, 1e-8);
  assert_near(st.gs, spread / m2, 1e-8 * (spread / m2));
  assert_near(st.rbar, r, 1e-12);
  assert_near(st.kappa, r * (P - r * r) / (1 - r * r), 1e-9);

  /* a zero gradient counts in the norms, not in the directions */
  float zero[P] = {0};
  vmf_acc_add(acc, zero);
  st = vmf_acc_stats(acc);
  assert_int_equal(st.n, N + 1);
  assert_int_equal(st.n_dir, N);
  assert_near(st.rbar, r, 1e-12);
  vmf_acc_reset(acc);
  st = vmf_acc_stats(acc);
  assert_int_equal(st.n, 0);
  assert_true(isnan(st.kappa) && isnan(st.gs) && isnan(st.gns));
  /* identical gradients: R̄ = 1, κ̂ = inf, no stochasticity */
  for (int s = 0; s < 3; s++) vmf_acc_add(acc, g[0]);
  st = vmf_acc_stats(acc);
  assert_near(st.rbar, 1.0, 1e-12);
  assert_near(st.gns, 0.0, 1e-7);
  assert_near(st.gs, 0.0, 1e-7);
  vmf_acc_free(acc);
  vmf_acc_free(NULL);

  long live = core_alloc_live();
  CoreErr err;
  core_alloc_fail_after(2);
  assert_null(vmf_acc_create(10, &err));
  core_alloc_fail_after(0);
  assert_int_equal(err.code, CORE_ERR_NOMEM);
  assert_int_equal(core_alloc_live(), live);
}

static void test_spearman(void **state) {
  (void)state;
  const double a[5] = {1, 2, 3, 4, 5}, up[5] = {0.1, 0.5, 0.7, 10, 11};
  const double down[5] = {9, 8, 3, 2, -1};
  assert_near(vmf_spearman(a, up, 5), 1.0, 1e-15);
  assert_near(vmf_spearman(a, down, 5), -1.0, 1e-15);
  /* ties: ranks (1, 2.5, 2.5, 4) and (1, 3, 2, 4): ρ = 4.5/√(4.5·5) */
  const double t1[4] = {1, 2, 2, 3}, t2[4] = {1, 3, 2, 4};
  assert_near(vmf_spearman(t1, t2, 4), 4.5 / sqrt(22.5), 1e-15);
  /* rank-based: a monotone transform changes nothing */
  const double x[6] = {3, 1, 4, 1.5, 5, 9}, y[6] = {2, 7, 1, 8, 2.5, 0.5};
  double ex[6];
  for (int i = 0; i < 6; i++) ex[i] = exp(x[i]);
  assert_near(vmf_spearman(x, y, 6), vmf_spearman(ex, y, 6), 1e-15);
  /* 1 − 6Σd²/(n(n²−1)) without ties: ranks x (3,1,4,2,5,6), y (3,5,2,6,4,1) */
  double d2 = 0 + 16 + 4 + 16 + 1 + 25;
  assert_near(vmf_spearman(x, y, 6), 1 - 6 * d2 / (6 * 35.0), 1e-12);
  const double c[3] = {2, 2, 2};
  assert_true(isnan(vmf_spearman(a, c, 3)));
  assert_true(isnan(vmf_spearman(a, a, 1)));
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_bessel_ratio),
    cmocka_unit_test(test_kappa_formulas),
    cmocka_unit_test(test_kappa_of_vmf_samples),
    cmocka_unit_test(test_kappa_uniform_floor),
    cmocka_unit_test(test_stochasticity),
    cmocka_unit_test(test_spearman),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
