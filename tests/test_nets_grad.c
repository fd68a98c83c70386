/* test_nets_grad.c — gradients of every layer kind and both losses against central finite
 * differences, and the semantics of nn_mlp_backward (accumulation, input-gradient-only mode,
 * the batch-of-one path).
 *
 * The check: L = Σ R ⊙ Y for a fixed random R, so dL/dY = R. Each parameter and input is moved
 * by ±h in float, the float forward is summed in double, and the slope uses the step actually
 * applied after rounding. With h = 5e-3 on values of order 0.3, float noise in the slope is
 * ~1e-6 / 1e-2 ≈ 1e-4 at worst and the truncation error h²·f'''/6 is of the same order (largest
 * for layer norm), so a tolerance of 2e-4 + 2e-3·|g| passes a right gradient (worst entries use
 * ~10 % of it) and fails one that is 5 % off (checked below). A coordinate whose move takes a
 * pre-activation of a ReLU / leaky ReLU / ELU across 0 (a kink) is skipped; the tests assert
 * that few are.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>

#include "test_util.h"

#include "core/alloc.h"
#include "core/rng.h"
#include "nets/loss.h"
#include "nets/mlp.h"

#define FD_H 5e-3
#define FD_ATOL 2e-4
#define FD_RTOL 2e-3

typedef struct {
  int checked, skipped, failed;
  double worst;            /* largest |num − ana| / (atol + rtol·|ana|) */
} FdStats;

static double weighted_sum(const float *y, const float *r, size_t n) {
  double s = 0.0;
  for (size_t i = 0; i < n; i++) s += (double)y[i] * r[i];
  return s;
}

/* Signs of the pre-activations of every kinked layer, concatenated into out (or compared). */
static int kink_signs(const NnMlp *net, int B, unsigned char *out, int compare) {
  size_t at = 0;
  for (int l = 0; l < net->n_layers; l++) {
    int k = net->layers[l].kind;
    if (k != NN_RELU && k != NN_LEAKY_RELU && k != NN_ELU) continue;
    size_t n = (size_t)B * net->layers[l].in;
    for (size_t i = 0; i < n; i++, at++) {
      unsigned char s = net->act[l][i] > 0.0f;
      if (compare && out[at] != s) return 1;
      if (!compare) out[at] = s;
    }
  }
  return 0;
}

/* L(value) with *slot temporarily set to value; sets *crossed if a kink was crossed. */
static double loss_at(NnMlp *net, const float *x, int B, const float *r, float *slot, float value,
                      const unsigned char *signs, int *crossed) {
  float keep = *slot;
  *slot = value;
  const float *y = nn_mlp_forward(net, x, B);
  double L = weighted_sum(y, r, (size_t)B * net->out_dim);
  if (kink_signs(net, B, (unsigned char *)signs, 1)) *crossed = 1;
  *slot = keep;
  return L;
}

/* Compare analytic gradient ana[i] of every slot[i] with central differences. scale multiplies
 * the analytic value (1 for a real check; 1.05 to show the check can fail). */
static FdStats fd_compare(NnMlp *net, float *x, int B, const float *r, float *slots, size_t n,
                          const float *ana, double scale, const unsigned char *signs) {
  FdStats st = {0, 0, 0, 0.0};
  for (size_t i = 0; i < n; i++) {
    float v = slots[i];
    float vp = (float)(v + FD_H), vm = (float)(v - FD_H);
    int crossed = 0;
    double lp = loss_at(net, x, B, r, &slots[i], vp, signs, &crossed);
    double lm = loss_at(net, x, B, r, &slots[i], vm, signs, &crossed);
    if (crossed) {
      st.skipped++;
      continue;
    }
    double num = (lp - lm) / ((double)vp - (double)vm);
    double a = scale * ana[i];
    double bound = FD_ATOL + FD_RTOL * fabs(a);
    double ratio = fabs(num - a) / bound;
    if (ratio > st.worst) st.worst = ratio;
    if (ratio > 1.0) {
      if (st.failed < 5 && scale == 1.0)
        print_message("  slot %zu: numeric %.6g analytic %.6g\n", i, num, a);
      st.failed++;
    }
    st.checked++;
  }
  return st;
}

/* Build, randomise (LN gains and biases too, so they are not the trivial 1 and 0), check all
 * parameters and inputs. */
static void check_net(int in_dim, const NnLayerDesc *descs, int n_layers, int B, uint64_t seed) {
  NnMlp *net = nn_mlp_create(in_dim, descs, n_layers, B, NULL);
  assert_non_null(net);
  CoreRng rng;
  core_rng_stream(&rng, seed, CORE_RNG_TEST, 0);
  nn_mlp_init(net, NN_INIT_TORCH, 0.0, &rng);
  for (int l = 0; l < net->n_layers; l++)
    if (net->layers[l].kind == NN_LAYER_NORM)
      core_rng_uniform_fill(&rng, net->params + net->layers[l].w_off,
                            (long)net->layers[l].n_params, -1.5, 1.5);
  size_t nx = (size_t)B * in_dim, ny = (size_t)B * net->out_dim;
  float *x = core_malloc(nx * sizeof(float)), *r = core_malloc(ny * sizeof(float));
  float *dx = core_malloc(nx * sizeof(float));
  float *g = core_malloc(net->n_params * sizeof(float));
  core_rng_uniform_fill(&rng, x, (long)nx, -1.0, 1.0);
  core_rng_uniform_fill(&rng, r, (long)ny, -1.0, 1.0);

  nn_mlp_zero_grad(net);
  nn_mlp_forward(net, x, B);
  size_t nk = 0;
  for (int l = 0; l < net->n_layers; l++) nk += (size_t)B * net->layers[l].in;
  unsigned char *signs = core_malloc(nk + 1);
  kink_signs(net, B, signs, 0);
  nn_mlp_backward(net, r, dx, 0);
  memcpy(g, net->grads, net->n_params * sizeof(float));

  FdStats sp = fd_compare(net, x, B, r, net->params, net->n_params, g, 1.0, signs);
  FdStats sx = fd_compare(net, x, B, r, x, nx, dx, 1.0, signs);
  char desc[256];
  nn_mlp_describe(net, desc, sizeof desc);
  print_message("  %s: params %d checked, %d skipped, worst %.2f; inputs %d checked, %d skipped, "
                "worst %.2f\n", desc, sp.checked, sp.skipped, sp.worst, sx.checked, sx.skipped,
                sx.worst);
  assert_int_equal(sp.failed, 0);
  assert_int_equal(sx.failed, 0);
  assert_true(sp.checked >= (int)(0.8 * net->n_params));
  assert_true(sx.checked >= (int)(0.8 * nx));
  /* the same comparison flags a gradient that is 5 % off (on the larger entries) */
  FdStats bad = fd_compare(net, x, B, r, net->params, net->n_params, g, 1.05, signs);
  assert_true(bad.failed > 0);

  core_free(signs);
  core_free(g);
  core_free(dx);
  core_free(r);
  core_free(x);
  nn_mlp_free(net);
}

static void test_grad_linear_relu(void **state) {
  (void)state;
  NnLayerDesc d[] = {{NN_LINEAR, 7, 0, NULL}, {NN_RELU, 0, 0, NULL}, {NN_LINEAR, 3, 0, NULL}};
  check_net(5, d, 3, 4, 1);
}

static void test_grad_leaky_relu(void **state) {
  (void)state;
  NnLayerDesc d[] = {{NN_LINEAR, 6, 0, NULL},
                     {NN_LEAKY_RELU, 0, NN_LEAKY_RELU_SLOPE, NULL},
                     {NN_LINEAR, 5, 0, NULL},
                     {NN_LEAKY_RELU, 0, 0.2f, NULL},
                     {NN_LINEAR, 2, 0, NULL}};
  check_net(4, d, 5, 3, 2);
}

static void test_grad_tanh_scale(void **state) {
  (void)state;
  float s[] = {2.0f, -0.5f, 3.0f};
  NnLayerDesc d[] = {{NN_LINEAR, 6, 0, NULL}, {NN_TANH, 0, 0, NULL},  {NN_LINEAR, 3, 0, NULL},
                     {NN_TANH, 0, 0, NULL},   {NN_SCALE, 0, 0, s},    {NN_SCALE, 0, 1.5f, NULL}};
  check_net(4, d, 6, 3, 3);
}

static void test_grad_elu(void **state) {
  (void)state;
  NnLayerDesc d[] = {{NN_LINEAR, 6, 0, NULL}, {NN_ELU, 0, 1.0f, NULL}, {NN_LINEAR, 5, 0, NULL},
                     {NN_ELU, 0, 0.5f, NULL}, {NN_LINEAR, 2, 0, NULL}};
  check_net(3, d, 5, 4, 4);
}

static void test_grad_layer_norm_identity(void **state) {
  (void)state;
  NnLayerDesc d[] = {{NN_LINEAR, 6, 0, NULL},   {NN_LAYER_NORM, 0, 0, NULL},
                     {NN_TANH, 0, 0, NULL},     {NN_LINEAR, 5, 0, NULL},
                     {NN_LAYER_NORM, 0, 0, NULL}, {NN_IDENTITY, 0, 0, NULL},
                     {NN_LINEAR, 3, 0, NULL}};
  check_net(4, d, 7, 3, 5);
}

/* A net starting with a parameter-free layer: the input gradient passes through it. */
static void test_grad_leading_activation(void **state) {
  (void)state;
  NnLayerDesc d[] = {{NN_TANH, 0, 0, NULL}, {NN_LINEAR, 4, 0, NULL}, {NN_LAYER_NORM, 0, 0, NULL},
                     {NN_LINEAR, 2, 0, NULL}};
  check_net(3, d, 4, 2, 6);
}

/* ---------------------------------------------------------------- losses */

static void test_grad_mse(void **state) {
  (void)state;
  enum { B = 4, D = 3 };
  CoreRng rng;
  core_rng_stream(&rng, 7, CORE_RNG_TEST, 0);
  float y[B * D], t[B * D], dy[B * D];
  core_rng_uniform_fill(&rng, y, B * D, -2, 2);
  core_rng_uniform_fill(&rng, t, B * D, -2, 2);
  double L = nn_loss_mse(y, t, B, D, dy);
  double ref = 0.0;
  for (int i = 0; i < B * D; i++) ref += ((double)y[i] - t[i]) * ((double)y[i] - t[i]);
  assert_near(L, ref / (B * D), 1e-9);
  for (int i = 0; i < B * D; i++) {
    float v = y[i], vp = v + 1e-2f, vm = v - 1e-2f;
    y[i] = vp;
    double lp = nn_loss_mse(y, t, B, D, NULL);
    y[i] = vm;
    double lm = nn_loss_mse(y, t, B, D, NULL);
    y[i] = v;
    assert_near(dy[i], (lp - lm) / ((double)vp - vm), 1e-6);
  }
  /* dy may alias y */
  nn_loss_mse(y, t, B, D, y);
  for (int i = 0; i < B * D; i++) assert_near(y[i], dy[i], 0);
}

static void test_grad_softmax_xent(void **state) {
  (void)state;
  enum { B = 5, C = 4 };
  CoreRng rng;
  core_rng_stream(&rng, 8, CORE_RNG_TEST, 0);
  float z[B * C], dz[B * C];
  int lab[B] = {0, 3, 1, 2, 3};
  core_rng_uniform_fill(&rng, z, B * C, -3, 3);
  double L = nn_loss_softmax_xent(z, lab, B, C, dz);
  double ref = 0.0;
  for (int r = 0; r < B; r++) {
    double s = 0.0;
    for (int j = 0; j < C; j++) s += exp(z[r * C + j]);
    ref += log(s) - z[r * C + lab[r]];
  }
  assert_near(L, ref / B, 1e-9);
  for (int i = 0; i < B * C; i++) {
    float v = z[i], vp = v + 1e-2f, vm = v - 1e-2f;
    z[i] = vp;
    double lp = nn_loss_softmax_xent(z, lab, B, C, NULL);
    z[i] = vm;
    double lm = nn_loss_softmax_xent(z, lab, B, C, NULL);
    z[i] = v;
    assert_near(dz[i], (lp - lm) / ((double)vp - vm), 1e-5);
  }
  /* each row's gradient sums to zero */
  for (int r = 0; r < B; r++) {
    double s = 0.0;
    for (int j = 0; j < C; j++) s += dz[r * C + j];
    assert_near(s, 0.0, 1e-7);
  }
}

static void test_softmax_xent_stable(void **state) {
  (void)state;
  /* uniform logits: log C; huge logits: finite and shift-invariant */
  float z0[3] = {0, 0, 0}, zbig[3] = {1000.0f, 1001.0f, 999.0f}, zs[3] = {1.0f, 2.0f, 0.0f};
  float dbig[3], ds[3];
  int lab = 1;
  assert_near(nn_loss_softmax_xent(z0, &lab, 1, 3, NULL), log(3.0), 1e-12);
  double lb = nn_loss_softmax_xent(zbig, &lab, 1, 3, dbig);
  double ls = nn_loss_softmax_xent(zs, &lab, 1, 3, ds);
  assert_true(isfinite(lb));
  assert_near(lb, ls, 1e-9);
  for (int j = 0; j < 3; j++) assert_near(dbig[j], ds[j], 1e-7);
  float zneg[2] = {-1e30f, 0.0f};
  int lab0 = 0;
  assert_true(isfinite(nn_loss_softmax_xent(zneg, &lab0, 1, 2, dbig)));
}

/* ---------------------------------------------------------------- backward semantics */

typedef struct {
  NnMlp *net;
  float *x, *dy;
  int B;
} Fixture;

static Fixture fixture_make(int B) {
  static const NnLayerDesc d[] = {{NN_LINEAR, 16, 0, NULL}, {NN_LAYER_NORM, 0, 0, NULL},
                                  {NN_LEAKY_RELU, 0, 0.01f, NULL}, {NN_LINEAR, 12, 0, NULL},
                                  {NN_TANH, 0, 0, NULL}, {NN_LINEAR, 3, 0, NULL}};
  Fixture f;
  f.B = B;
  f.net = nn_mlp_create(9, d, 6, 8, NULL);
  assert_non_null(f.net);
  CoreRng rng;
  core_rng_stream(&rng, 11, CORE_RNG_TEST, 0);
  nn_mlp_init(f.net, NN_INIT_TORCH, 0.0, &rng);
  f.x = core_malloc(8 * 9 * sizeof(float));
  f.dy = core_malloc(8 * 3 * sizeof(float));
  core_rng_uniform_fill(&rng, f.x, 8 * 9, -1, 1);
  core_rng_uniform_fill(&rng, f.dy, 8 * 3, -1, 1);
  return f;
}

static void fixture_free(Fixture *f) {
  core_free(f->x);
  core_free(f->dy);
  nn_mlp_free(f->net);
}

static void test_backward_accumulates(void **state) {
  (void)state;
  Fixture f = fixture_make(5);
  size_t n = f.net->n_params;
  float *g1 = core_malloc(n * sizeof(float));
  nn_mlp_zero_grad(f.net);
  nn_mlp_forward(f.net, f.x, f.B);
  nn_mlp_backward(f.net, f.dy, NULL, 0);
  memcpy(g1, f.net->grads, n * sizeof(float));
  double norm = 0.0;
  for (size_t i = 0; i < n; i++) norm += fabs(g1[i]);
  assert_true(norm > 0.1);
  nn_mlp_backward(f.net, f.dy, NULL, 0);
  for (size_t i = 0; i < n; i++)
    assert_near(f.net->grads[i], 2.0 * g1[i], 1e-6 * (1 + fabs(g1[i])));
  nn_mlp_zero_grad(f.net);
  for (size_t i = 0; i < n; i++) assert_true(f.net->grads[i] == 0.0f);
  core_free(g1);
  fixture_free(&f);
}

/* NN_BACKWARD_OVERWRITE gives the bits of zero_grad + backward, whatever the buffer held, for a
 * batch (sgemm with beta 0) and a single row (sger); layer norm's gain and bias included. */
static void test_backward_overwrite(void **state) {
  (void)state;
  for (int B = 1; B <= 5; B += 4) {
    Fixture f = fixture_make(B);
    size_t n = f.net->n_params, nx = (size_t)B * 9;
    float *g = core_malloc(n * sizeof(float));
    float dx_ref[8 * 9], dx[8 * 9];
    nn_mlp_zero_grad(f.net);
    nn_mlp_forward(f.net, f.x, B);
    nn_mlp_backward(f.net, f.dy, dx_ref, 0);
    memcpy(g, f.net->grads, n * sizeof(float));
    for (size_t i = 0; i < n; i++) f.net->grads[i] = (i % 2) ? 123.0f : NAN;
    nn_mlp_backward(f.net, f.dy, dx, NN_BACKWARD_OVERWRITE);
    for (size_t i = 0; i < n; i++) assert_true(f.net->grads[i] == g[i]);
    for (size_t i = 0; i < nx; i++) assert_true(dx[i] == dx_ref[i]);
    /* and the next plain call adds on top (row-wise sums round differently: near, not equal) */
    nn_mlp_backward(f.net, f.dy, NULL, 0);
    for (size_t i = 0; i < n; i++) assert_near(f.net->grads[i], 2.0 * g[i], 1e-6 * (1 + fabs(g[i])));
    core_free(g);
    fixture_free(&f);
  }
}

static void test_backward_input_only(void **state) {
  (void)state;
  Fixture f = fixture_make(6);
  size_t n = f.net->n_params, nx = (size_t)f.B * 9;
  float dx_full[8 * 9], dx_only[8 * 9];
  float *g = core_malloc(n * sizeof(float)), *g_nodx = core_malloc(n * sizeof(float));
  nn_mlp_zero_grad(f.net);
  nn_mlp_forward(f.net, f.x, f.B);
  nn_mlp_backward(f.net, f.dy, dx_full, 0);
  memcpy(g, f.net->grads, n * sizeof(float));
  /* input-only: the same dX, gradients untouched (filled with a sentinel first) */
  for (size_t i = 0; i < n; i++) f.net->grads[i] = 7.0f;
  nn_mlp_backward(f.net, f.dy, dx_only, NN_BACKWARD_INPUT_ONLY);
  for (size_t i = 0; i < nx; i++) assert_true(dx_only[i] == dx_full[i]);
  for (size_t i = 0; i < n; i++) assert_true(f.net->grads[i] == 7.0f);
  /* parameters only (dx NULL): the same parameter gradients as the full backward */
  nn_mlp_zero_grad(f.net);
  nn_mlp_backward(f.net, f.dy, NULL, 0);
  memcpy(g_nodx, f.net->grads, n * sizeof(float));
  for (size_t i = 0; i < n; i++) assert_true(g_nodx[i] == g[i]);
  core_free(g);
  core_free(g_nodx);
  fixture_free(&f);
}

/* A batch of one goes through sgemv/sger; it must agree with the same row inside a batch. */
static void test_batch_one_matches_batch(void **state) {
  (void)state;
  Fixture f = fixture_make(4);
  size_t n = f.net->n_params;
  float *gsum = core_calloc(n, sizeof(float)), *gb = core_malloc(n * sizeof(float));
  float y_batch[8 * 3], dx_batch[8 * 9], dx1[9];
  nn_mlp_zero_grad(f.net);
  memcpy(y_batch, nn_mlp_forward(f.net, f.x, f.B), sizeof(float) * f.B * 3);
  nn_mlp_backward(f.net, f.dy, dx_batch, 0);
  memcpy(gb, f.net->grads, n * sizeof(float));
  for (int r = 0; r < f.B; r++) {
    nn_mlp_zero_grad(f.net);
    const float *y = nn_mlp_forward(f.net, f.x + r * 9, 1);
    for (int j = 0; j < 3; j++) assert_near(y[j], y_batch[r * 3 + j], 1e-5);
    nn_mlp_backward(f.net, f.dy + r * 3, dx1, 0);
    for (int j = 0; j < 9; j++) assert_near(dx1[j], dx_batch[r * 9 + j], 1e-5);
    for (size_t i = 0; i < n; i++) gsum[i] += f.net->grads[i];
  }
  for (size_t i = 0; i < n; i++) assert_near(gsum[i], gb[i], 1e-5 * (1 + fabs(gb[i])));
  core_free(gsum);
  core_free(gb);
  fixture_free(&f);
}

/* Forward and backward allocate nothing (through core_malloc). */
static void test_no_allocation_in_passes(void **state) {
  (void)state;
  Fixture f = fixture_make(8);
  float dx[8 * 9];
  long live = core_alloc_live();
  for (int it = 0; it < 3; it++) {
    nn_mlp_forward(f.net, f.x, 8);
    nn_mlp_backward(f.net, f.dy, dx, 0);
    nn_mlp_backward(f.net, f.dy, dx, NN_BACKWARD_INPUT_ONLY);
  }
  assert_int_equal(core_alloc_live(), live);
  fixture_free(&f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_grad_linear_relu),
      cmocka_unit_test(test_grad_leaky_relu),
      cmocka_unit_test(test_grad_tanh_scale),
      cmocka_unit_test(test_grad_elu),
      cmocka_unit_test(test_grad_layer_norm_identity),
      cmocka_unit_test(test_grad_leading_activation),
      cmocka_unit_test(test_grad_mse),
      cmocka_unit_test(test_grad_softmax_xent),
      cmocka_unit_test(test_softmax_xent_stable),
      cmocka_unit_test(test_backward_accumulates),
      cmocka_unit_test(test_backward_overwrite),
      cmocka_unit_test(test_backward_input_only),
      cmocka_unit_test(test_batch_one_matches_batch),
      cmocka_unit_test(test_no_allocation_in_passes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
