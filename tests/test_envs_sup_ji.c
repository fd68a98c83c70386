/* test_envs_sup_ji.c — Ji & Telgarsky: the separable data and its known max-margin direction, the
 * deep linear net's rank-one gradients, the norm invariants of gradient descent, the alignment
 * metrics, and a short GD run that aligns the layers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>

#include "test_util.h"

#include "core/alloc.h"
#include "envs/sup.h"
#include "envs/sup_ji.h"
#include "envs/sup_la.h"

static SupTask *make_task(int d, int n, uint64_t seed) {
  SupTaskSpec spec = sup_task_spec_default(SUP_TASK_JI_TELGARSKY);
  spec.dim = d;
  spec.n_train = n;
  spec.n_test = 50;
  spec.seed = seed;
  CoreErr err;
  SupTask *t = sup_task_create(&spec, &err);
  if (!t) fail_msg("%s", err.msg);
  return t;
}

/* z_i = y_i x_i in double. */
static double *z_of(const SupTask *t, int split) {
  const int d = t->in_dim;
  const int64_t n = t->n[split];
  double *z = core_malloc(sizeof(double) * (size_t)n * d);
  for (int64_t i = 0; i < n; i++)
    for (int j = 0; j < d; j++) z[i * d + j] = (double)t->y[split][i] * t->x[split][i * d + j];
  return z;
}

static void test_data_max_margin(void **state) {
  (void)state;
  const int d = 10, n = 100;
  SupTask *t = make_task(d, n, 0);
  double *z = z_of(t, SUP_TRAIN);
  const double *u = t->u_bar;
  double uu = 0;
  for (int j = 0; j < d; j++) uu += u[j] * u[j];
  assert_near(uu, 1.0, 1e-12);
  /* every margin >= γ; the d support vectors sit exactly on it, the rest clearly above */
  double maxnorm = 0, sv_sum[10] = {0};
  for (int i = 0; i < n; i++) {
    double m = 0, nn = 0;
    for (int j = 0; j < d; j++) m += u[j] * z[i * d + j], nn += z[i * d + j] * z[i * d + j];
    maxnorm = fmax(maxnorm, sqrt(nn));
    assert_true(m >= t->gamma - 1e-12);
    if (i < d) {
      assert_near(m, t->gamma, 1e-6);
      for (int j = 0; j < d; j++) sv_sum[j] += z[i * d + j];
    } else {
      assert_true(m > t->gamma * 1.2);
    }
  }
  assert_near(maxnorm, 1.0, 1e-6);
  assert_true(t->gamma > 0.01 && t->gamma < 0.1);
  /* ū is in the cone of the support vectors: their sum points along ū (KKT of the SVM) */
  double dot = 0, ns = 0;
  for (int j = 0; j < d; j++) dot += sv_sum[j] * u[j], ns += sv_sum[j] * sv_sum[j];
  assert_near(dot / sqrt(ns), 1.0, 1e-6);
  /* the support vectors span R^d: Σ s sᵀ is positive definite */
  double g[100], w[10];
  for (int a = 0; a < d; a++)
    for (int b = 0; b < d; b++) {
      g[a * d + b] = 0;
      for (int i = 0; i < d; i++) g[a * d + b] += z[i * d + a] * z[i * d + b];
    }
  CoreErr err;
  assert_int_equal(sup_eigh(g, d, w, 0, &err), 0);
  assert_true(w[0] > 1e-4);
  /* test points are separable by ū too, with labels of both signs */
  double *zt = z_of(t, SUP_TEST);
  int pos = 0;
  for (int i = 0; i < 50; i++) {
    double m = 0;
    for (int j = 0; j < d; j++) m += u[j] * zt[i * d + j];
    assert_true(m > t->gamma);
    pos += t->y[SUP_TEST][i] > 0;
  }
  assert_true(pos > 5 && pos < 45);
  core_free(zt);
  core_free(z);
  sup_task_free(t);
  /* too few points for the support vectors */
  SupTaskSpec bad = sup_task_spec_default(SUP_TASK_JI_TELGARSKY);
  bad.n_train = 5;
  assert_null(sup_task_create(&bad, &err));
  assert_contains(err.msg, "n_train >= dim");
}

/* Each layer's gradient against central differences of the risk, both losses. */
static void test_gradients(void **state) {
  (void)state;
  SupTask *t = make_task(5, 20, 1);
  double *z = z_of(t, SUP_TRAIN);
  int dims[4] = {5, 4, 3, 1};
  CoreRng rng;
  core_rng_stream(&rng, 2, CORE_RNG_TEST, 0);
  CoreErr err;
  SupJiNet *net = sup_ji_net_create(3, dims, 1.0, &rng, &err);
  assert_non_null(net);
  for (int loss = SUP_JI_LOGISTIC; loss <= SUP_JI_EXP; loss++) {
    sup_ji_risk_grad(net, z, 20, loss, 1);
    for (int k = 0; k < 3; k++) {
      for (int i = 0; i < dims[k + 1] * dims[k]; i++) {
        double keep = net->w[k][i], h = 1e-6, g = net->g[k][i];
        net->w[k][i] = keep + h;
        double rp = sup_ji_risk_grad(net, z, 20, loss, 0);
        net->w[k][i] = keep - h;
        double rm = sup_ji_risk_grad(net, z, 20, loss, 0);
        net->w[k][i] = keep;
        assert_near(g, (rp - rm) / (2 * h), 1e-8);
      }
    }
    sup_ji_risk_grad(net, z, 20, loss, 1);  /* restore g for the next loss */
  }
  /* w_prod = (W3 W2 W1)ᵀ */
  double wp[5] = {0};
  for (int j = 0; j < 5; j++)
    for (int a = 0; a < 4; a++)
      for (int b = 0; b < 3; b++)
        wp[j] += net->w[2][b] * net->w[1][b * 4 + a] * net->w[0][a * 5 + j];
  for (int j = 0; j < 5; j++) assert_near(net->wprod[j], wp[j], 1e-12);
  sup_ji_net_free(net);
  core_free(z);
  sup_task_free(t);
}

/* GD keeps W_{k+1}ᵀW_{k+1} − W_k W_kᵀ constant up to exactly η²(G_{k+1}ᵀG_{k+1} − G_k G_kᵀ) per
 * step (the first-order terms cancel), so its drift is bounded by Σ η² (|G_k|² + |G_{k+1}|²). */
static void test_norm_invariants(void **state) {
  (void)state;
  SupTask *t = make_task(6, 40, 2);
  double *z = z_of(t, SUP_TRAIN);
  int dims[5] = {6, 5, 4, 3, 1};
  CoreRng rng;
  core_rng_stream(&rng, 3, CORE_RNG_TEST, 0);
  CoreErr err;
  SupJiNet *net = sup_ji_net_create(4, dims, 0.8, &rng, &err);
  assert_non_null(net);
  /* M_k = W_{k+1}ᵀ W_{k+1} − W_k W_kᵀ on R^{d_k}, for k = 1..3 (layers w[k-1], w[k]) */
  double m0[3][36], bound[3] = {0};
  for (int k = 0; k < 3; k++) {
    const int p = dims[k + 1], in = dims[k], out = dims[k + 2];
    for (int i = 0; i < p; i++)
      for (int j = 0; j < p; j++) {
        double s = 0;
        for (int r = 0; r < out; r++) s += net->w[k + 1][r * p + i] * net->w[k + 1][r * p + j];
        for (int c = 0; c < in; c++) s -= net->w[k][i * in + c] * net->w[k][j * in + c];
        m0[k][i * p + j] = s;
      }
  }
  const double eta = 0.3;
  double r0 = sup_ji_risk_grad(net, z, 40, SUP_JI_LOGISTIC, 1), r = r0;
  for (int step = 0; step < 500; step++) {
    for (int k = 0; k < 3; k++) {
      double gk = 0, gk1 = 0;
      for (int i = 0; i < dims[k + 1] * dims[k]; i++) gk += net->g[k][i] * net->g[k][i];
      for (int i = 0; i < dims[k + 2] * dims[k + 1]; i++)
        gk1 += net->g[k + 1][i] * net->g[k + 1][i];
      bound[k] += eta * eta * (gk + gk1);
    }
    sup_ji_step(net, eta);
    double rn = sup_ji_risk_grad(net, z, 40, SUP_JI_LOGISTIC, 1);
    assert_true(rn <= r + 1e-15);  /* descent at this step size */
    r = rn;
  }
  assert_true(r < r0);
  for (int k = 0; k < 3; k++) {
    const int p = dims[k + 1], in = dims[k], out = dims[k + 2];
    double drift = 0;
    for (int i = 0; i < p; i++)
      for (int j = 0; j < p; j++) {
        double s = 0;
        for (int rr = 0; rr < out; rr++) s += net->w[k + 1][rr * p + i] * net->w[k + 1][rr * p + j];
        for (int c = 0; c < in; c++) s -= net->w[k][i * in + c] * net->w[k][j * in + c];
        drift += (s - m0[k][i * p + j]) * (s - m0[k][i * p + j]);
      }
    assert_true(sqrt(drift) <= bound[k] + 1e-12);
    /* and the bound the spec allows: 2ηR(W(0)) */
    assert_true(sqrt(drift) <= 2 * eta * r0);
  }
  sup_ji_net_free(net);
  core_free(z);
  sup_task_free(t);
}

/* Metrics on hand-made aligned layers: rank one and chained singular vectors. */
static void test_metrics_aligned(void **state) {
  (void)state;
  int dims[4] = {3, 2, 2, 1};
  CoreRng rng;
  core_rng_stream(&rng, 4, CORE_RNG_TEST, 0);
  CoreErr err;
  SupJiNet *net = sup_ji_net_create(3, dims, 0.0, &rng, &err);
  assert_non_null(net);
  /* W1 = 2 u1 v1ᵀ, W2 = 3 u2 u1ᵀ, W3 = 4 u2ᵀ with v1 = (1,2,2)/3, u1 = (0.6, 0.8), u2 = (1, 0) */
  const double v1[3] = {1 / 3.0, 2 / 3.0, 2 / 3.0}, u1[2] = {0.6, 0.8}, u2[2] = {1, 0};
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 3; j++) net->w[0][i * 3 + j] = 2 * u1[i] * v1[j];
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 2; j++) net->w[1][i * 2 + j] = 3 * u2[i] * u1[j];
  for (int j = 0; j < 2; j++) net->w[2][j] = 4 * u2[j];
  SupJiMetrics m;
  assert_int_equal(sup_ji_metrics(net, v1, &m, &err), 0);
  assert_near(m.spec[0], 2, 1e-12);
  assert_near(m.fro[1], 3, 1e-12);
  assert_near(m.min_ratio, 1.0, 1e-12);
  assert_near(m.min_align, 1.0, 1e-12);
  assert_near(m.cos_u_bar, 1.0, 1e-12);  /* w_prod = 24 v1 */
  double D;
  assert_int_equal(sup_ji_lemma2_d(net, &D, &err), 0);
  /* balanced layers: W1W1ᵀ = 4 u1u1ᵀ vs W2ᵀW2 = 9 u1u1ᵀ → 5; W2W2ᵀ = 9 u2u2ᵀ vs W3ᵀW3 = 16 → 7;
   * max |W|_F² − |W3|_F² = 16 − 16 = 0 */
  assert_near(D, 12.0, 1e-10);
  /* a misaligned middle layer lowers the alignment */
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 2; j++) net->w[1][i * 2 + j] = 3 * u2[i] * (j == 0 ? 0.8 : -0.6);
  assert_int_equal(sup_ji_metrics(net, NULL, &m, &err), 0);
  assert_near(m.align[0], 0.0, 1e-12);
  assert_true(isnan(m.cos_u_bar));
  sup_ji_net_free(net);
}

/* A shortened version of the reproduction: the layers align and w_prod turns to ū. */
static void test_small_reproduction(void **state) {
  (void)state;
  SupTask *t = make_task(10, 100, 0);
  double *z = z_of(t, SUP_TRAIN);
  int dims[5] = {10, 10, 10, 10, 1};
  CoreRng rng;
  core_rng_stream(&rng, 0, CORE_RNG_INIT, 0);
  CoreErr err;
  SupJiNet *net = sup_ji_net_create(4, dims, 0.1, &rng, &err);
  assert_non_null(net);
  SupJiMetrics m;
  assert_int_equal(sup_ji_metrics(net, t->u_bar, &m, &err), 0);
  assert_true(m.min_ratio < 0.8 && m.min_align < 0.5);  /* not aligned at init */
  double r = sup_ji_risk_grad(net, z, 100, SUP_JI_LOGISTIC, 1);
  for (int step = 0; step < 4000; step++) {
    sup_ji_step(net, 0.5);
    double rn = sup_ji_risk_grad(net, z, 100, SUP_JI_LOGISTIC, 1);
    assert_true(rn <= r);
    r = rn;
  }
  assert_int_equal(sup_ji_metrics(net, t->u_bar, &m, &err), 0);
  assert_true(r < 1e-3);
  assert_true(m.min_ratio > 0.99);
  assert_true(m.min_align > 0.999);
  assert_true(m.cos_u_bar > 0.998);
  sup_ji_net_free(net);
  core_free(z);
  sup_task_free(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_data_max_margin),
      cmocka_unit_test(test_gradients),
      cmocka_unit_test(test_norm_invariants),
      cmocka_unit_test(test_metrics_aligned),
      cmocka_unit_test(test_small_reproduction),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
