/* test_nets_rop.c — curvature products of src/nets/rop.c against independent computations.
 *
 * Hessian: H·v against central differences of the gradient, (∇ℓ(θ+εv) − ∇ℓ(θ−εv))/(2ε), for
 * smooth nets (tanh, ELU) under the three losses, and for a ReLU net with the kink pattern
 * checked unchanged. The gradient is float, so with ‖v‖ = 1 and ε = 3e-3 the difference carries
 * ~1e-7/6e-3 ≈ 2e-5 of float noise per entry and ~ε² ≈ 1e-5 of truncation: the tolerance
 * ‖FD − Hv‖ ≤ 3e-3·‖Hv‖ + 1e-4 passes the right product and fails the Gauss-Newton product
 * (the Hessian without its second-order terms), which the tests assert is far away.
 * Gauss-Newton / Fisher: against Jᵀ·M_z·(J·v) with the Jacobian J built column by column from
 * central differences of the outputs and M_z written out in the test. The expected-error G_z
 * (the PSD part of an indefinite matrix) is read back through the bias block of a one-example
 * batch and checked by the properties that define a positive part: PSD, H − G_z NSD, and
 * G_z·G_z = H·G_z.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>

#include "test_util.h"

#include "core/alloc.h"
#include "core/rng.h"
#include "nets/loss.h"
#include "nets/mlp.h"
#include "nets/rop.h"

#define B_TEST 6
#define IN_DIM 5
#define K_OUT 4

typedef struct {
  NnMlp *net;
  NnCurv *curv;
  int loss;
  float x[B_TEST * IN_DIM];
  float t[B_TEST * K_OUT];
  int labels[B_TEST];
} Fix;

static Fix fix_make(const NnLayerDesc *d, int nl, int loss, uint64_t seed) {
  Fix f;
  memset(&f, 0, sizeof f);
  CoreErr err;
  f.net = nn_mlp_create(IN_DIM, d, nl, B_TEST, &err);
  assert_non_null(f.net);
  CoreRng rng;
  core_rng_stream(&rng, seed, CORE_RNG_TEST, 0);
  nn_mlp_init(f.net, NN_INIT_XAVIER, 0.0, &rng);
  /* non-zero biases so every bias path is exercised */
  for (int l = 0; l < f.net->n_layers; l++) {
    const NnLayer *L = &f.net->layers[l];
    if (L->kind == NN_LINEAR)
      core_rng_uniform_fill(&rng, f.net->params + L->b_off, L->out, -0.3, 0.3);
  }
  core_rng_normal_fill(&rng, f.x, B_TEST * IN_DIM, 0.0, 1.0);
  core_rng_normal_fill(&rng, f.t, B_TEST * K_OUT, 0.0, 1.0);
  for (int r = 0; r < B_TEST; r++) f.labels[r] = (int)core_rng_below(&rng, K_OUT);
  f.loss = loss;
  f.curv = nn_curv_create(f.net, loss, &err);
  assert_non_null(f.curv);
  return f;
}

static void fix_free(Fix *f) {
  nn_curv_free(f->curv);
  nn_mlp_free(f->net);
}

static double set(Fix *f) { return nn_curv_set_batch(f->curv, f->x, f->t, f->labels, B_TEST); }

static double norm(const float *a, size_t n) {
  double s = 0.0;
  for (size_t i = 0; i < n; i++) s += (double)a[i] * a[i];
  return sqrt(s);
}

static double dist(const float *a, const double *b, size_t n) {
  double s = 0.0;
  for (size_t i = 0; i < n; i++) s += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
  return sqrt(s);
}

static double dot(const float *a, const float *b, size_t n) {
  double s = 0.0;
  for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
  return s;
}

/* Signs of every ReLU pre-activation (B_TEST rows) into s (or compare; returns 1 if any differ). */
static int relu_signs(const NnMlp *net, unsigned char *s, int compare) {
  size_t at = 0;
  int diff = 0;
  for (int l = 0; l < net->n_layers; l++) {
    if (net->layers[l].kind != NN_RELU && net->layers[l].kind != NN_LEAKY_RELU) continue;
    for (size_t i = 0; i < (size_t)B_TEST * net->layers[l].in; i++, at++) {
      unsigned char v = net->act[l][i] > 0.0f;
      if (compare && s[at] != v) diff = 1;
      if (!compare) s[at] = v;
    }
  }
  return diff;
}

/* FD of the gradient along unit v; *crossed set if a ReLU kink was crossed. */
static void fd_hessian(Fix *f, const float *v, double eps, double *out, int *crossed) {
  size_t n = f->net->n_params;
  float *p0 = malloc(n * sizeof(float)), *g = malloc(n * sizeof(float));
  unsigned char signs[4096];
  memcpy(p0, f->net->params, n * sizeof(float));
  set(f);
  relu_signs(f->net, signs, 0);
  for (int s = 0; s < 2; s++) {
    double h = s == 0 ? eps : -eps;
    for (size_t i = 0; i < n; i++) f->net->params[i] = (float)(p0[i] + h * v[i]);
    set(f);
    if (relu_signs(f->net, signs, 1)) *crossed = 1;
    nn_curv_grad(f->curv, g);
    for (size_t i = 0; i < n; i++) out[i] = s == 0 ? g[i] : (out[i] - g[i]) / (2.0 * eps);
  }
  memcpy(f->net->params, p0, n * sizeof(float));
  set(f);
  free(p0);
  free(g);
}

static void random_unit(float *v, size_t n, uint64_t seed) {
  CoreRng rng;
  core_rng_stream(&rng, seed, CORE_RNG_TEST, 7);
  core_rng_normal_fill(&rng, v, (long)n, 0.0, 1.0);
  double s = norm(v, n);
  for (size_t i = 0; i < n; i++) v[i] = (float)(v[i] / s);
}

/* Hv vs FD for one net and loss, over a few directions; also asserts that the Gauss-Newton
 * product would fail the same check when the net has second-order terms (discriminating). */
static void check_hessian(const NnLayerDesc *d, int nl, int loss, int expect_gn_differs,
                          uint64_t seed) {
  Fix f = fix_make(d, nl, loss, seed);
  size_t n = f.net->n_params;
  float *v = malloc(n * sizeof(float)), *hv = malloc(n * sizeof(float));
  float *gv = malloc(n * sizeof(float));
  double *fd = malloc(n * sizeof(double));
  int gn_far = 0;
  for (int k = 0; k < 3; k++) {
    random_unit(v, n, seed * 10 + (uint64_t)k);
    int crossed = 0;
    fd_hessian(&f, v, 3e-3, fd, &crossed);
    assert_false(crossed);
    set(&f);
    nn_curv_product(f.curv, NN_CURV_HESSIAN, v, hv);
    double e = dist(hv, fd, n), nh = norm(hv, n);
    if (!(e <= 3e-3 * nh + 1e-4))
      fail_msg("%s: |Hv - FD| = %.3g, |Hv| = %.3g (direction %d)", nn_curv_loss_names[loss], e,
               nh, k);
    assert_true(nh > 1e-3);
    nn_curv_product(f.curv, NN_CURV_GAUSS_NEWTON, v, gv);
    if (dist(gv, fd, n) > 10.0 * (3e-3 * nh + 1e-4)) gn_far = 1;
  }
  if (expect_gn_differs) assert_true(gn_far);
  free(v);
  free(hv);
  free(gv);
  free(fd);
  fix_free(&f);
}

static const NnLayerDesc SMOOTH[] = {
    {NN_LINEAR, 7, 0, NULL}, {NN_TANH, 0, 0, NULL},  {NN_LINEAR, 6, 0, NULL},
    {NN_ELU, 0, 1.0f, NULL}, {NN_LINEAR, K_OUT, 0, NULL}};

static void test_hessian_mse(void **state) {
  (void)state;
  check_hessian(SMOOTH, 5, NN_CURV_MSE, 1, 11);
}

static void test_hessian_xent(void **state) {
  (void)state;
  check_hessian(SMOOTH, 5, NN_CURV_XENT, 1, 12);
}

static void test_hessian_expected_error(void **state) {
  (void)state;
  check_hessian(SMOOTH, 5, NN_CURV_EXPECTED_ERROR, 1, 13);
}

static void test_hessian_relu_scale(void **state) {
  (void)state;
  /* a leading activation and a scale layer: both sit outside the second-order terms */
  static const NnLayerDesc d[] = {{NN_SCALE, 0, 0.5f, NULL},   {NN_LINEAR, 8, 0, NULL},
                                  {NN_RELU, 0, 0, NULL},       {NN_LINEAR, 6, 0, NULL},
                                  {NN_LEAKY_RELU, 0, 0.1f, NULL}, {NN_LINEAR, K_OUT, 0, NULL},
                                  {NN_IDENTITY, 0, 0, NULL}};
  check_hessian(d, 7, NN_CURV_XENT, 1, 14);
  check_hessian(d, 7, NN_CURV_MSE, 1, 15);
}

static void test_hessian_symmetric(void **state) {
  (void)state;
  Fix f = fix_make(SMOOTH, 5, NN_CURV_EXPECTED_ERROR, 21);
  size_t n = f.net->n_params;
  float *u = malloc(n * sizeof(float)), *v = malloc(n * sizeof(float));
  float *hu = malloc(n * sizeof(float)), *hv = malloc(n * sizeof(float));
  random_unit(u, n, 1);
  random_unit(v, n, 2);
  set(&f);
  nn_curv_product(f.curv, NN_CURV_HESSIAN, u, hu);
  nn_curv_product(f.curv, NN_CURV_HESSIAN, v, hv);
  double a = dot(v, hu, n), b = dot(u, hv, n);
  assert_near(a, b, 1e-5 + 1e-4 * fabs(a));
  assert_int_equal(nn_curv_products(f.curv), 2);
  free(u);
  free(v);
  free(hu);
  free(hv);
  fix_free(&f);
}

/* Jacobian (B·K, n) of the outputs by central differences in the parameters. */
static double *fd_jacobian(Fix *f) {
  size_t n = f->net->n_params, m = (size_t)B_TEST * K_OUT;
  double *J = calloc(m * n, sizeof(double));
  const double h = 2e-3;
  for (size_t i = 0; i < n; i++) {
    float keep = f->net->params[i];
    f->net->params[i] = (float)(keep + h);
    double hp = (double)f->net->params[i] - keep;
    const float *z = nn_mlp_forward(f->net, f->x, B_TEST);
    for (size_t r = 0; r < m; r++) J[r * n + i] = z[r];
    f->net->params[i] = (float)(keep - h);
    double hm = keep - (double)f->net->params[i];
    z = nn_mlp_forward(f->net, f->x, B_TEST);
    for (size_t r = 0; r < m; r++) J[r * n + i] = (J[r * n + i] - z[r]) / (hp + hm);
    f->net->params[i] = keep;
  }
  return J;
}

/* Jᵀ·M·J·v with the per-example output matrix M written out: kind 0 = 2/(BK)·I (MSE),
 * kind 1 = (diag p − ppᵀ)/B (softmax). */
static void explicit_gn(Fix *f, const double *J, int kind, const float *v, double *out) {
  size_t n = f->net->n_params;
  int m = B_TEST * K_OUT;
  const float *z = nn_mlp_forward(f->net, f->x, B_TEST);
  double jv[B_TEST * K_OUT], u[B_TEST * K_OUT];
  for (int r = 0; r < m; r++) {
    jv[r] = 0.0;
    for (size_t i = 0; i < n; i++) jv[r] += J[r * n + i] * v[i];
  }
  for (int b = 0; b < B_TEST; b++) {
    double p[K_OUT], s = 0.0, mx = z[b * K_OUT];
    for (int j = 1; j < K_OUT; j++) mx = fmax(mx, z[b * K_OUT + j]);
    for (int j = 0; j < K_OUT; j++) s += p[j] = exp(z[b * K_OUT + j] - mx);
    double pjv = 0.0;
    for (int j = 0; j < K_OUT; j++) {
      p[j] /= s;
      pjv += p[j] * jv[b * K_OUT + j];
    }
    for (int j = 0; j < K_OUT; j++) {
      int r = b * K_OUT + j;
      u[r] = kind == 0 ? 2.0 / m * jv[r] : p[j] * (jv[r] - pjv) / B_TEST;
    }
  }
  for (size_t i = 0; i < n; i++) {
    out[i] = 0.0;
    for (int r = 0; r < m; r++) out[i] += J[r * n + i] * u[r];
  }
}

static void check_gn(int loss, int matrix, int kind, uint64_t seed) {
  Fix f = fix_make(SMOOTH, 5, loss, seed);
  size_t n = f.net->n_params;
  double *J = fd_jacobian(&f);
  float *v = malloc(n * sizeof(float)), *gv = malloc(n * sizeof(float));
  double *want = malloc(n * sizeof(double));
  for (int k = 0; k < 3; k++) {
    random_unit(v, n, seed + (uint64_t)k);
    explicit_gn(&f, J, kind, v, want);
    set(&f);
    nn_curv_product(f.curv, matrix, v, gv);
    double e = dist(gv, want, n), ng = norm(gv, n);
    if (!(e <= 2e-3 * ng + 1e-5))
      fail_msg("%s %s: |Mv - JᵀMJv| = %.3g, |Mv| = %.3g", nn_curv_loss_names[loss],
               nn_curv_matrix_names[matrix], e, ng);
    assert_true(ng > 1e-3);
  }
  free(J);
  free(v);
  free(gv);
  free(want);
  fix_free(&f);
}

static void test_gn_mse(void **state) {
  (void)state;
  check_gn(NN_CURV_MSE, NN_CURV_GAUSS_NEWTON, 0, 31);
  check_gn(NN_CURV_MSE, NN_CURV_FISHER, 0, 32);
}

static void test_gn_fisher_xent(void **state) {
  (void)state;
  check_gn(NN_CURV_XENT, NN_CURV_GAUSS_NEWTON, 1, 33);
  check_gn(NN_CURV_XENT, NN_CURV_FISHER, 1, 34);
  /* the expected error's Fisher is the softmax model's, the same matrix as CE's */
  check_gn(NN_CURV_EXPECTED_ERROR, NN_CURV_FISHER, 1, 35);
}

/* For softmax CE the Gauss-Newton and Fisher products are one and the same. */
static void test_xent_gn_equals_fisher(void **state) {
  (void)state;
  Fix f = fix_make(SMOOTH, 5, NN_CURV_XENT, 41);
  size_t n = f.net->n_params;
  float *v = malloc(n * sizeof(float)), *a = malloc(n * sizeof(float));
  float *b = malloc(n * sizeof(float));
  random_unit(v, n, 3);
  set(&f);
  nn_curv_product(f.curv, NN_CURV_GAUSS_NEWTON, v, a);
  nn_curv_product(f.curv, NN_CURV_FISHER, v, b);
  assert_memory_equal(a, b, n * sizeof(float));
  free(v);
  free(a);
  free(b);
  fix_free(&f);
}

/* Expected error, one example, single linear layer: the bias block of H·e_j and G·e_j is the
 * output matrix itself. Checks G_z = positive part of H_z. */
static void test_expected_error_psd_part(void **state) {
  (void)state;
  static const NnLayerDesc d[] = {{NN_LINEAR, K_OUT, 0, NULL}};
  int indefinite = 0;
  for (uint64_t seed = 50; seed < 56; seed++) {
    Fix f = fix_make(d, 1, NN_CURV_EXPECTED_ERROR, seed);
    /* spread the logits so p is far from uniform and H_z has both signs */
    for (int j = 0; j < K_OUT; j++) f.net->params[f.net->layers[0].b_off + j] = (float)(j - 1.5);
    size_t n = f.net->n_params, boff = f.net->layers[0].b_off;
    nn_curv_set_batch(f.curv, f.x, NULL, f.labels, 1);
    double H[K_OUT][K_OUT], G[K_OUT][K_OUT];
    float *v = calloc(n, sizeof(float)), *o = malloc(n * sizeof(float));
    for (int j = 0; j < K_OUT; j++) {
      memset(v, 0, n * sizeof(float));
      v[boff + j] = 1.0f;
      nn_curv_product(f.curv, NN_CURV_HESSIAN, v, o);
      for (int i = 0; i < K_OUT; i++) H[i][j] = o[boff + i];
      nn_curv_product(f.curv, NN_CURV_GAUSS_NEWTON, v, o);
      for (int i = 0; i < K_OUT; i++) G[i][j] = o[boff + i];
    }
    double scale = 0.0, neg = 0.0;
    for (int i = 0; i < K_OUT; i++)
      for (int j = 0; j < K_OUT; j++) {
        scale = fmax(scale, fabs(H[i][j]));
        assert_near(G[i][j], G[j][i], 1e-7);
        assert_near(H[i][j], H[j][i], 1e-7);
      }
    assert_true(scale > 1e-3);
    CoreRng rng;
    core_rng_stream(&rng, seed, CORE_RNG_TEST, 99);
    for (int k = 0; k < 200; k++) {
      double w[K_OUT], wg = 0.0, wh = 0.0;
      for (int i = 0; i < K_OUT; i++) w[i] = core_rng_normal(&rng);
      for (int i = 0; i < K_OUT; i++)
        for (int j = 0; j < K_OUT; j++) {
          wg += w[i] * G[i][j] * w[j];
          wh += w[i] * H[i][j] * w[j];
        }
      assert_true(wg >= -2e-5 * scale);          /* G PSD (float entries) */
      if (!(wh - wg <= 2e-5 * scale))            /* H − G NSD */
        fail_msg("seed %d: w'Hw %.6g > w'Gw %.6g (scale %.3g)", (int)seed, wh, wg, scale);
      if (wh < neg) neg = wh;
    }
    if (neg < -1e-3 * scale) indefinite++;       /* H itself indefinite: the clip mattered */
    for (int i = 0; i < K_OUT; i++)
      for (int j = 0; j < K_OUT; j++) {
        double gg = 0.0, hg = 0.0;
        for (int k = 0; k < K_OUT; k++) {
          gg += G[i][k] * G[k][j];
          hg += H[i][k] * G[k][j];
        }
        assert_near(gg, hg, 1e-5 * scale * scale + 1e-9);
      }
    free(v);
    free(o);
    fix_free(&f);
  }
  assert_true(indefinite >= 2);
}

/* nn_curv_grad equals the network's own backward of the loss gradient. */
static void test_grad_matches_backward(void **state) {
  (void)state;
  Fix f = fix_make(SMOOTH, 5, NN_CURV_XENT, 61);
  size_t n = f.net->n_params;
  float *g = malloc(n * sizeof(float));
  float dz[B_TEST * K_OUT];
  double l1 = set(&f);
  nn_curv_grad(f.curv, g);
  const float *z = nn_mlp_forward(f.net, f.x, B_TEST);
  double l2 = nn_loss_softmax_xent(z, f.labels, B_TEST, K_OUT, dz);
  nn_mlp_zero_grad(f.net);
  nn_mlp_backward(f.net, dz, NULL, 0);
  assert_near(l1, l2, 1e-12);
  for (size_t i = 0; i < n; i++) assert_near(g[i], f.net->grads[i], 1e-6 + 1e-5 * fabs(g[i]));
  free(g);
  fix_free(&f);
}

/* (1/B)Σ g_n² against per-example gradients from one-row batches. */
static void test_grad_sq_diag(void **state) {
  (void)state;
  for (int loss = 0; loss < NN_CURV_NLOSS; loss++) {
    Fix f = fix_make(SMOOTH, 5, loss, 70 + (uint64_t)loss);
    size_t n = f.net->n_params;
    float *d = malloc(n * sizeof(float)), *g = malloc(n * sizeof(float));
    double *want = calloc(n, sizeof(double));
    for (int r = 0; r < B_TEST; r++) {
      nn_curv_set_batch(f.curv, f.x + r * IN_DIM, f.t + r * K_OUT, f.labels + r, 1);
      nn_curv_grad(f.curv, g);
      for (size_t i = 0; i < n; i++) want[i] += (double)g[i] * g[i] / B_TEST;
    }
    set(&f);
    nn_curv_grad_sq_diag(f.curv, d);
    for (size_t i = 0; i < n; i++) assert_near(d[i], want[i], 1e-7 + 1e-4 * want[i]);
    free(d);
    free(g);
    free(want);
    fix_free(&f);
  }
}

static void test_create_errors(void **state) {
  (void)state;
  CoreErr err;
  static const NnLayerDesc ln[] = {{NN_LINEAR, 4, 0, NULL}, {NN_LAYER_NORM, 0, 0, NULL}};
  NnMlp *net = nn_mlp_create(3, ln, 2, 4, NULL);
  assert_non_null(net);
  assert_null(nn_curv_create(net, NN_CURV_MSE, &err));
  assert_int_equal(err.code, CORE_ERR_INVALID);
  assert_contains(err.msg, "layer_norm");
  nn_mlp_free(net);
  static const NnLayerDesc one[] = {{NN_LINEAR, 1, 0, NULL}};
  net = nn_mlp_create(3, one, 1, 4, NULL);
  assert_null(nn_curv_create(net, NN_CURV_XENT, &err));
  assert_contains(err.msg, "at least 2 and at most 256 outputs");
  assert_null(nn_curv_create(net, 7, &err));
  NnCurv *c = nn_curv_create(net, NN_CURV_MSE, &err);
  assert_non_null(c);
  nn_curv_free(c);
  nn_curv_free(NULL);
  /* every allocation failure is a clean NULL */
  for (long k = 1; k <= 6; k++) {
    long live = core_alloc_live();
    core_alloc_fail_after(k);
    c = nn_curv_create(net, NN_CURV_MSE, &err);
    core_alloc_fail_after(0);
    if (c) {
      nn_curv_free(c);
    } else {
      assert_int_equal(err.code, CORE_ERR_NOMEM);
    }
    assert_int_equal(core_alloc_live(), live);
  }
  nn_mlp_free(net);
}

static void test_no_allocation_in_products(void **state) {
  (void)state;
  Fix f = fix_make(SMOOTH, 5, NN_CURV_EXPECTED_ERROR, 81);
  size_t n = f.net->n_params;
  float *v = malloc(n * sizeof(float)), *o = malloc(n * sizeof(float));
  random_unit(v, n, 4);
  long live = core_alloc_live();
  core_alloc_fail_after(1);  /* any core allocation from here would fail */
  set(&f);
  for (int m = 0; m < NN_CURV_NMAT; m++) nn_curv_product(f.curv, m, v, o);
  nn_curv_grad(f.curv, o);
  nn_curv_grad_sq_diag(f.curv, o);
  core_alloc_fail_after(0);
  assert_int_equal(core_alloc_live(), live);
  free(v);
  free(o);
  fix_free(&f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hessian_mse),
      cmocka_unit_test(test_hessian_xent),
      cmocka_unit_test(test_hessian_expected_error),
      cmocka_unit_test(test_hessian_relu_scale),
      cmocka_unit_test(test_hessian_symmetric),
      cmocka_unit_test(test_gn_mse),
      cmocka_unit_test(test_gn_fisher_xent),
      cmocka_unit_test(test_xent_gn_equals_fisher),
      cmocka_unit_test(test_expected_error_psd_part),
      cmocka_unit_test(test_grad_matches_backward),
      cmocka_unit_test(test_grad_sq_diag),
      cmocka_unit_test(test_create_errors),
      cmocka_unit_test(test_no_allocation_in_products),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
