/* test_envs_sup_du.c — Du et al.: the arc-cosine Gram matrix H∞ and λ0 against the closed form,
 * the finite-width Gram matrix against H∞, the model's gradient, and a small GD run showing the
 * paper's phenomenon (linear convergence at 2 ln(1 − ηλ0), movement shrinking like m^{-1/2}). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>

#include "test_util.h"

#include "core/alloc.h"
#include "envs/sup.h"
#include "envs/sup_du.h"
#include "envs/sup_la.h"

/* Random unit rows x (n, d). */
static void unit_rows(double *x, int n, int d, uint64_t seed) {
  CoreRng rng;
  core_rng_stream(&rng, seed, CORE_RNG_TEST, 0);
  for (int i = 0; i < n; i++) {
    double s = 0;
    for (int j = 0; j < d; j++) {
      x[i * d + j] = core_rng_normal(&rng);
      s += x[i * d + j] * x[i * d + j];
    }
    for (int j = 0; j < d; j++) x[i * d + j] /= sqrt(s);
  }
}

static void test_hinf_closed_form(void **state) {
  (void)state;
  /* inputs with known angles to e1: 90°, 45°, 180°, 60° */
  const double r2 = sqrt(0.5), c60 = 0.5, s60 = sqrt(0.75);
  double x[5 * 2] = {1, 0, 0, 1, r2, r2, -1, 0, c60, s60};
  double h[25];
  sup_du_hinf(x, 5, 2, h);
  for (int i = 0; i < 5; i++) assert_near(h[i * 5 + i], 0.5, 1e-15);     /* ρ = 1 */
  assert_near(h[0 * 5 + 1], 0.0, 1e-15);                                  /* ρ = 0 */
  assert_near(h[0 * 5 + 2], r2 * (M_PI - M_PI / 4) / (2 * M_PI), 1e-15);  /* 3/(8√2) */
  assert_near(h[0 * 5 + 3], 0.0, 1e-15);                                  /* ρ = −1: never both */
  assert_near(h[0 * 5 + 4], 1.0 / 6.0, 1e-15);                            /* ρ = 1/2 */
  for (int i = 0; i < 5; i++)
    for (int j = 0; j < 5; j++) assert_near(h[i * 5 + j], h[j * 5 + i], 0);
  /* λ0 of two inputs: the 2x2 [[1/2, h], [h, 1/2]] has λ_min = 1/2 − |h| */
  double two[4], w[2];
  sup_du_hinf(x + 8, 1, 2, two);  /* sanity: one input */
  assert_near(two[0], 0.5, 1e-15);
  double pair[4] = {1, 0, c60, s60};
  sup_du_hinf(pair, 2, 2, two);
  CoreErr err;
  assert_int_equal(sup_eigh(two, 2, w, 0, &err), 0);
  assert_near(w[0], 0.5 - 1.0 / 6.0, 1e-14);
  assert_near(w[1], 0.5 + 1.0 / 6.0, 1e-14);
}

/* H(0) at a large width matches H∞ entrywise (spec: m = 10⁵ to ~1e-2), and λ_min(H(0)) ≈ λ0. */
static void test_gram_converges_to_hinf(void **state) {
  (void)state;
  enum { N = 20, D = 10, M = 100000 };
  double *x = core_malloc(sizeof(double) * (N * D + 3 * N * N + 2 * N));
  double *hinf = x + N * D, *h = hinf + N * N, *tmp = h + N * N, *w0 = tmp + N * N, *w = w0 + N;
  unit_rows(x, N, D, 3);
  sup_du_hinf(x, N, D, hinf);
  CoreRng rng;
  core_rng_stream(&rng, 4, CORE_RNG_TEST, 1);
  CoreErr err;
  SupDuNet *net = sup_du_net_create(N, D, M, x, &rng, &err);
  assert_non_null(net);
  sup_du_gram(net, x, h);
  double worst = 0;
  for (int k = 0; k < N * N; k++) worst = fmax(worst, fabs(h[k] - hinf[k]));
  assert_true(worst < 1e-2);
  assert_true(worst > 0);  /* finite width: not exactly equal */
  memcpy(tmp, hinf, sizeof(double) * N * N);
  assert_int_equal(sup_eigh(tmp, N, w0, 0, &err), 0);
  assert_true(w0[0] > 0);  /* no two inputs parallel: positive definite (Thm 3.1) */
  memcpy(tmp, h, sizeof(double) * N * N);
  assert_int_equal(sup_eigh(tmp, N, w, 0, &err), 0);
  assert_near(w[0], w0[0], 0.05 * w0[0]);
  /* λ0 is the minimum of the Rayleigh quotient: no random vector goes below it */
  for (int t = 0; t < 20; t++) {
    double v[N], vv = 0, vhv = 0;
    for (int i = 0; i < N; i++) {
      v[i] = core_rng_normal(&rng);
      vv += v[i] * v[i];
    }
    for (int i = 0; i < N; i++)
      for (int j = 0; j < N; j++) vhv += v[i] * hinf[i * N + j] * v[j];
    assert_true(vhv / vv >= w0[0] - 1e-12);
  }
  sup_du_net_free(net);
  core_free(x);
}

/* ∂L/∂W against central differences (the ReLU kinks are hit with probability 0). */
static void test_model_gradient(void **state) {
  (void)state;
  enum { N = 6, D = 4, M = 7 };
  double x[N * D], y[N];
  unit_rows(x, N, D, 8);
  CoreRng rng;
  core_rng_stream(&rng, 9, CORE_RNG_TEST, 0);
  for (int i = 0; i < N; i++) y[i] = core_rng_normal(&rng);
  CoreErr err;
  SupDuNet *net = sup_du_net_create(N, D, M, x, &rng, &err);
  assert_non_null(net);
  double l = sup_du_loss_grad(net, x, y, 1);
  /* the loss by hand: Σ ½ (u − y)², u = Σ_r a_r relu(w_r·x)/√m */
  double want = 0;
  for (int i = 0; i < N; i++) {
    double u = 0;
    for (int r = 0; r < M; r++) {
      double z = 0;
      for (int j = 0; j < D; j++) z += net->w[r * D + j] * x[i * D + j];
      u += net->a[r] * (z > 0 ? z : 0);
    }
    u /= sqrt((double)M);
    want += 0.5 * (u - y[i]) * (u - y[i]);
  }
  assert_near(l, want, 1e-12);
  double g[M * D];
  memcpy(g, net->g, sizeof g);
  for (int k = 0; k < M * D; k++) {
    double keep = net->w[k], h = 1e-6;
    net->w[k] = keep + h;
    double lp = sup_du_loss_grad(net, x, y, 0);
    net->w[k] = keep - h;
    double lm = sup_du_loss_grad(net, x, y, 0);
    net->w[k] = keep;
    assert_near(g[k], (lp - lm) / (2 * h), 1e-7);
  }
  /* at initialisation nothing moved */
  sup_du_loss_grad(net, x, y, 0);
  assert_near(sup_du_pattern_change(net), 0.0, 0);
  assert_near(sup_du_max_distance(net), 0.0, 0);
  sup_du_net_free(net);
}

/* A small GD run: linear rate close to 2 ln(1 − ηλ0) and movement that shrinks ~ m^{-1/2}. */
static void test_small_reproduction(void **state) {
  (void)state;
  enum { N = 40, D = 40, T = 150 };
  SupTaskSpec spec = sup_task_spec_default(SUP_TASK_DU);
  spec.n_train = N;
  spec.dim = D;
  spec.seed = 11;
  CoreErr err;
  SupTask *t = sup_task_create(&spec, &err);
  assert_non_null(t);
  double *x = core_malloc(sizeof(double) * (N * D + N + N * N + N));
  double *y = x + N * D, *h = y + N, *w = h + N * N;
  for (int i = 0; i < N * D; i++) x[i] = t->x[SUP_TRAIN][i];
  for (int i = 0; i < N; i++) y[i] = t->y[SUP_TRAIN][i];
  sup_task_free(t);
  sup_du_hinf(x, N, D, h);
  assert_int_equal(sup_eigh(h, N, w, 0, &err), 0);
  const double lam0 = w[0], eta = 0.5 / w[N - 1], pred = 2 * log(1 - eta * lam0);
  const int widths[2] = {256, 4096};
  double pattern[2], dist[2];
  for (int c = 0; c < 2; c++) {
    CoreRng rng;
    core_rng_stream(&rng, 12, CORE_RNG_INIT, (uint64_t)widths[c]);
    SupDuNet *net = sup_du_net_create(N, D, widths[c], x, &rng, &err);
    assert_non_null(net);
    double l0 = 0, l = 0, l_lo = 0, l_hi = 0;
    for (int k = 0; k <= T; k++) {
      l = sup_du_loss_grad(net, x, y, k < T);
      if (k == 0) l0 = l;
      if (k == 40) l_lo = l;
      if (k == 80) l_hi = l;
      if (k < T)
        for (size_t i = 0; i < (size_t)widths[c] * D; i++) net->w[i] -= eta * net->g[i];
    }
    assert_true(l / l0 < 1e-10);  /* linear convergence to zero training loss */
    double slope = (log(l_hi) - log(l_lo)) / 40.0;
    if (widths[c] >= 4096) assert_near(slope / pred, 1.0, 0.15);
    pattern[c] = sup_du_pattern_change(net);
    dist[c] = sup_du_max_distance(net);
    sup_du_net_free(net);
  }
  /* 16x the width: movement falls by about 4 (theory m^{-1/2}) */
  assert_true(pattern[0] / pattern[1] > 2.5 && pattern[0] / pattern[1] < 7.0);
  assert_true(dist[0] / dist[1] > 2.5 && dist[0] / dist[1] < 7.0);
  core_free(x);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hinf_closed_form),
      cmocka_unit_test(test_gram_converges_to_hinf),
      cmocka_unit_test(test_model_gradient),
      cmocka_unit_test(test_small_reproduction),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
