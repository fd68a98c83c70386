/* test_nets_mlp.c — network construction, forward values, parameter binding, initialisation
 * statistics, FLOP counts and workspace limits. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>

#include "test_util.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/rng.h"
#include "nets/blas.h"
#include "nets/mlp.h"

/* The CEM-RL actor for HalfCheetah: 17-400-300-6, tanh everywhere, × max_action. */
static const NnLayerDesc actor_desc[] = {
    {NN_LINEAR, 400, 0, NULL}, {NN_TANH, 0, 0, NULL}, {NN_LINEAR, 300, 0, NULL},
    {NN_TANH, 0, 0, NULL},     {NN_LINEAR, 6, 0, NULL}, {NN_TANH, 0, 0, NULL},
    {NN_SCALE, 0, 1.0f, NULL}};

/* One CEM-RL critic head: 23-400-300-1 with leaky ReLU (slope 0.01). */
static const NnLayerDesc critic_desc[] = {{NN_LINEAR, 400, 0, NULL},
                                          {NN_LEAKY_RELU, 0, NN_LEAKY_RELU_SLOPE, NULL},
                                          {NN_LINEAR, 300, 0, NULL},
                                          {NN_LEAKY_RELU, 0, NN_LEAKY_RELU_SLOPE, NULL},
                                          {NN_LINEAR, 1, 0, NULL}};

static void test_counts_and_describe(void **state) {
  (void)state;
  /* spec/cemrl-td3.md §3: the HalfCheetah actor has n = 129 306; the twin critic 260 402 */
  assert_int_equal(nn_mlp_count_params(17, actor_desc, 7), 129306);
  assert_int_equal(nn_mlp_count_params(23, critic_desc, 5), 260402 / 2);
  NnMlp *net = nn_mlp_create(17, actor_desc, 7, 100, NULL);
  assert_non_null(net);
  assert_int_equal(net->n_params, 129306);
  assert_int_equal(net->in_dim, 17);
  assert_int_equal(net->out_dim, 6);
  /* layout in PyTorch order: l1.W, l1.b, l2.W, l2.b, l3.W, l3.b */
  assert_int_equal(net->layers[0].w_off, 0);
  assert_int_equal(net->layers[0].b_off, 400 * 17);
  assert_int_equal(net->layers[2].w_off, 400 * 17 + 400);
  assert_int_equal(net->layers[4].b_off, 129306 - 6);
  char buf[128];
  int len = nn_mlp_describe(net, buf, sizeof buf);
  assert_string_equal(buf, "17-400-300-6 tanh,tanh,tanh,scale(1); 129306 params");
  assert_int_equal(len, (int)strlen(buf));
  /* a short buffer is truncated, the length still counts everything */
  char small[8];
  assert_int_equal(nn_mlp_describe(net, small, sizeof small), len);
  assert_string_equal(small, "17-400-");
  NnFlops f = nn_mlp_flops(net, 100);
  double macs = 17.0 * 400 + 400.0 * 300 + 300.0 * 6;
  assert_near(f.fwd, 2 * 100 * macs, 0);
  assert_near(f.dw, 2 * 100 * macs, 0);
  assert_near(f.dx_input, 2 * 100 * 17.0 * 400, 0);
  assert_near(f.dx_hidden, 2 * 100 * (400.0 * 300 + 300.0 * 6), 0);
  nn_mlp_free(net);

  NnLayerDesc hop[] = {{NN_LINEAR, 400, 0, NULL}, {NN_TANH, 0, 0, NULL},
                       {NN_LINEAR, 300, 0, NULL}, {NN_TANH, 0, 0, NULL},
                       {NN_LINEAR, 3, 0, NULL}};
  assert_int_equal(nn_mlp_count_params(11, hop, 5), 126003);
  NnLayerDesc ln[] = {{NN_LINEAR, 400, 0, NULL}, {NN_LAYER_NORM, 0, 0, NULL},
                      {NN_LEAKY_RELU, 0, 0.01f, NULL}, {NN_LINEAR, 1, 0, NULL}};
  assert_int_equal(nn_mlp_count_params(23, ln, 4), 23 * 400 + 400 + 800 + 401);
  net = nn_mlp_create(23, ln, 4, 4, NULL);
  nn_mlp_describe(net, buf, sizeof buf);
  assert_string_equal(buf, "23-400-1 layer_norm,leaky_relu(0.01); 10801 params");
  nn_mlp_free(net);
}

static void test_invalid_descriptions(void **state) {
  (void)state;
  CoreErr err;
  NnLayerDesc zero_out[] = {{NN_LINEAR, 0, 0, NULL}};
  core_err_clear(&err);
  assert_null(nn_mlp_create(3, zero_out, 1, 4, &err));
  assert_int_equal(err.code, CORE_ERR_INVALID);
  assert_contains(err.msg, "layer 0 (linear): output width 0");
  NnLayerDesc bad_kind[] = {{NN_LINEAR, 2, 0, NULL}, {99, 0, 0, NULL}};
  assert_null(nn_mlp_create(3, bad_kind, 2, 4, &err));
  assert_contains(err.msg, "layer 1: unknown kind 99");
  assert_int_equal(nn_mlp_count_params(3, bad_kind, 2), -1);
  NnLayerDesc ok[] = {{NN_LINEAR, 2, 0, NULL}};
  assert_null(nn_mlp_create(0, ok, 1, 4, &err));
  assert_contains(err.msg, "input width 0");
  assert_null(nn_mlp_create(3, ok, 1, 0, &err));
  assert_contains(err.msg, "max_batch 0");
  NnLayerDesc nan_alpha[] = {{NN_LEAKY_RELU, 0, NAN, NULL}};
  assert_null(nn_mlp_create(3, nan_alpha, 1, 4, &err));
  assert_contains(err.msg, "alpha is not finite");
  /* every allocation failure is a clean NULL and frees what it got */
  long live = core_alloc_live();
  for (int k = 1; k <= 6; k++) {
    core_alloc_fail_after(k);
    NnMlp *net = nn_mlp_create(3, ok, 1, 4, &err);
    core_alloc_fail_after(0);
    if (net) {
      nn_mlp_free(net);
    } else {
      assert_int_equal(err.code, CORE_ERR_NOMEM);
    }
    assert_int_equal(core_alloc_live(), live);
  }
}

/* Hand-computed forward: 2 → linear(2) → relu → linear(1), and the elementwise kinds. */
static void test_forward_hand_example(void **state) {
  (void)state;
  NnLayerDesc d[] = {{NN_LINEAR, 2, 0, NULL}, {NN_RELU, 0, 0, NULL}, {NN_LINEAR, 1, 0, NULL}};
  NnMlp *net = nn_mlp_create(2, d, 3, 4, NULL);
  assert_non_null(net);
  /* W1 = [[1, 2], [3, -4]], b1 = [0.5, -1], W2 = [[2, -1]], b2 = [0.25] */
  const float p[] = {1, 2, 3, -4, 0.5f, -1, 2, -1, 0.25f};
  assert_int_equal(net->n_params, 9);
  memcpy(net->params, p, sizeof p);
  /* x1 = [1, 1]: h = [3.5, -2] → relu [3.5, 0] → 7.25; x2 = [-1, 0.5]: h = [0.5, -6] → 1.25;
   * x3 = [0, 0]: h = [0.5, -1] → [0.5, 0] → 1.25 */
  const float x[] = {1, 1, -1, 0.5f, 0, 0};
  const float *y = nn_mlp_forward(net, x, 3);
  assert_near(y[0], 7.25, 1e-6);
  assert_near(y[1], 1.25, 1e-6);
  assert_near(y[2], 1.25, 1e-6);
  /* the batch-of-one path gives the same */
  y = nn_mlp_forward(net, x, 1);
  assert_near(y[0], 7.25, 1e-6);
  nn_mlp_free(net);

  /* elementwise kinds on a fixed row */
  const float v[] = {-2.0f, -0.5f, 0.0f, 1.5f};
  const float s[] = {1, 2, 3, 4};
  const NnLayerDesc cases[] = {
      {NN_RELU, 0, 0, NULL},     {NN_LEAKY_RELU, 0, 0.1f, NULL}, {NN_TANH, 0, 0, NULL},
      {NN_ELU, 0, 0.7f, NULL},   {NN_IDENTITY, 0, 0, NULL},      {NN_SCALE, 0, -3.0f, NULL},
      {NN_SCALE, 0, 0, s},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    net = nn_mlp_create(4, &cases[c], 1, 1, NULL);
    assert_non_null(net);
    assert_int_equal(net->n_params, 0);
    y = nn_mlp_forward(net, v, 1);
    for (int j = 0; j < 4; j++) {
      double xv = v[j], want;
      switch (cases[c].kind) {
      case NN_RELU: want = xv > 0 ? xv : 0; break;
      case NN_LEAKY_RELU: want = xv > 0 ? xv : 0.1 * xv; break;
      case NN_TANH: want = tanh(xv); break;
      case NN_ELU: want = xv > 0 ? xv : 0.7 * (exp(xv) - 1); break;
      case NN_IDENTITY: want = xv; break;
      default: want = cases[c].scale ? xv * s[j] : -3.0 * xv; break;
      }
      assert_near(y[j], want, 1e-6);
    }
    nn_mlp_free(net);
  }

  /* layer norm of [1, 2, 3] with gain [1, 2, 0.5] and bias [0, 1, -1] */
  NnLayerDesc lnd = {NN_LAYER_NORM, 0, 0, NULL};
  net = nn_mlp_create(3, &lnd, 1, 2, NULL);
  const float lp[] = {1, 2, 0.5f, 0, 1, -1};
  memcpy(net->params, lp, sizeof lp);
  const float lx[] = {1, 2, 3, 5, 5, 5};
  y = nn_mlp_forward(net, lx, 2);
  double rs = 1.0 / sqrt(2.0 / 3.0 + 1e-5);
  assert_near(y[0], -1 * rs * 1 + 0, 1e-6);
  assert_near(y[1], 0 * rs * 2 + 1, 1e-6);
  assert_near(y[2], 1 * rs * 0.5 - 1, 1e-6);
  /* a constant row normalises to the bias (var 0: eps keeps it finite) */
  assert_near(y[3], 0, 1e-6);
  assert_near(y[4], 1, 1e-6);
  assert_near(y[5], -1, 1e-6);
  nn_mlp_free(net);
}

/* Binding an external row: outputs follow the row, nothing is copied. */
static void test_bind_params(void **state) {
  (void)state;
  NnMlp *net = nn_mlp_create(23, critic_desc, 5, 4, NULL);
  assert_non_null(net);
  size_t n = net->n_params;
  CoreRng rng;
  core_rng_stream(&rng, 3, CORE_RNG_INIT, 0);
  nn_mlp_init(net, NN_INIT_TORCH, 0.0, &rng);
  float x[23];
  core_rng_uniform_fill(&rng, x, 23, -1, 1);
  float y_own = nn_mlp_forward(net, x, 1)[0];

  /* a population of 3 rows; init row 1 through the bound network */
  float *pop = core_calloc(3 * n, sizeof(float));
  nn_mlp_bind_params(net, pop + n);
  assert_ptr_equal(net->params, pop + n);
  core_rng_stream(&rng, 4, CORE_RNG_INIT, 0);
  nn_mlp_init(net, NN_INIT_TORCH, 0.0, &rng);
  for (size_t i = 0; i < n; i++) assert_true(pop[i] == 0.0f && pop[2 * n + i] == 0.0f);
  float y_row = nn_mlp_forward(net, x, 1)[0];
  assert_true(y_row != y_own);
  /* changing the row's output bias changes the output by exactly that much: no copy */
  pop[n + n - 1] += 1.0f;
  assert_near(nn_mlp_forward(net, x, 1)[0], y_row + 1.0f, 1e-5);
  /* the own buffer was never touched */
  nn_mlp_bind_params(net, NULL);
  assert_ptr_equal(net->params, net->own_params);
  assert_true(nn_mlp_forward(net, x, 1)[0] == y_own);

  /* external gradients: backward writes there, the own gradients stay zero */
  float *gext = core_calloc(n, sizeof(float));
  float dy = 1.0f;
  nn_mlp_bind_grads(net, gext);
  nn_mlp_forward(net, x, 1);
  nn_mlp_backward(net, &dy, NULL, 0);
  assert_near(gext[n - 1], 1.0, 0);  /* d out / d b3 = 1 */
  for (size_t i = 0; i < n; i++) assert_true(net->own_grads[i] == 0.0f);
  nn_mlp_bind_grads(net, NULL);
  assert_ptr_equal(net->grads, net->own_grads);
  core_free(gext);
  core_free(pop);
  nn_mlp_free(net);
}

static void moments(const float *v, size_t n, double *mean, double *var, double *absmax) {
  double s = 0, ss = 0, m = 0;
  for (size_t i = 0; i < n; i++) {
    s += v[i];
    ss += (double)v[i] * v[i];
    if (fabs(v[i]) > m) m = fabs(v[i]);
  }
  *mean = s / n;
  *var = ss / n - *mean * *mean;
  *absmax = m;
}

static void test_init_distributions(void **state) {
  (void)state;
  NnLayerDesc d[] = {{NN_LINEAR, 300, 0, NULL}, {NN_LAYER_NORM, 0, 0, NULL},
                     {NN_RELU, 0, 0, NULL}, {NN_LINEAR, 200, 0, NULL}};
  NnMlp *net = nn_mlp_create(400, d, 4, 1, NULL);
  assert_non_null(net);
  const NnLayer *L1 = &net->layers[0], *LN = &net->layers[1], *L2 = &net->layers[3];
  size_t n1 = 300 * 400, n2 = 200 * 300;
  CoreRng rng;
  double mean, var, amax;
  for (int kind = 0; kind < NN_NINIT; kind++) {
    core_rng_stream(&rng, 5, CORE_RNG_INIT, 0);
    nn_mlp_init(net, kind, 0.1, &rng);
    const float *w1 = net->params + L1->w_off, *b1 = net->params + L1->b_off;
    const float *w2 = net->params + L2->w_off;
    moments(w1, n1, &mean, &var, &amax);
    double bound = 0, sd = 0;
    switch (kind) {
    case NN_INIT_TORCH: bound = 1.0 / sqrt(400.0); break;
    case NN_INIT_XAVIER: bound = sqrt(6.0 / 700.0); break;
    case NN_INIT_HE: sd = sqrt(2.0 / 400.0); break;
    default: sd = 0.1; break;
    }
    if (bound > 0) {
      /* U(±bound): inside the bound, reaching near it, variance bound²/3 */
      assert_true(amax <= bound);
      assert_true(amax > 0.999 * bound);
      assert_near(var, bound * bound / 3, 0.02 * bound * bound / 3);
    } else {
      assert_near(sqrt(var), sd, 0.01 * sd);
      assert_true(amax > 3.5 * sd);  /* a normal, not a uniform, tail */
    }
    assert_near(mean, 0.0, 0.01 * (bound > 0 ? bound : sd));
    /* biases: U(±1/sqrt(fan_in)) for the PyTorch default, zero otherwise */
    moments(b1, 300, &mean, &var, &amax);
    if (kind == NN_INIT_TORCH) {
      assert_true(amax <= 1.0 / sqrt(400.0) && amax > 0.9 / sqrt(400.0));
    } else {
      assert_true(amax == 0.0);
    }
    /* the second layer uses its own fan-in */
    moments(w2, n2, &mean, &var, &amax);
    if (kind == NN_INIT_TORCH) assert_true(amax <= 1.0 / sqrt(300.0) && amax > 0.99 / sqrt(300.0));
    /* layer norm starts as gain 1, bias 0 */
    for (int j = 0; j < 300; j++) {
      assert_true(net->params[LN->w_off + j] == 1.0f);
      assert_true(net->params[LN->b_off + j] == 0.0f);
    }
  }
  /* same stream, same parameters; another stream, other parameters */
  float *a = core_malloc(net->n_params * sizeof(float));
  core_rng_stream(&rng, 9, CORE_RNG_INIT, 1);
  nn_mlp_init(net, NN_INIT_TORCH, 0, &rng);
  memcpy(a, net->params, net->n_params * sizeof(float));
  core_rng_stream(&rng, 9, CORE_RNG_INIT, 1);
  nn_mlp_init(net, NN_INIT_TORCH, 0, &rng);
  assert_memory_equal(a, net->params, net->n_params * sizeof(float));
  core_rng_stream(&rng, 9, CORE_RNG_INIT, 2);
  nn_mlp_init(net, NN_INIT_TORCH, 0, &rng);
  assert_true(memcmp(a, net->params, net->n_params * sizeof(float)) != 0);
  core_free(a);
  nn_mlp_free(net);
}

/* A batch above max_batch is a programming error: CORE_ASSERT aborts (checked in a child). */
static void test_batch_over_capacity_aborts(void **state) {
  (void)state;
  NnMlp *net = nn_mlp_create(17, actor_desc, 7, 4, NULL);
  assert_non_null(net);
  float x[5 * 17] = {0};
  nn_mlp_forward(net, x, 4);  /* at capacity: fine */
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    freopen("/dev/null", "w", stderr);
    nn_mlp_forward(net, x, 5);
    _exit(0);
  }
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) != 0));
  nn_mlp_free(net);
}

static void test_blas_info(void **state) {
  (void)state;
  assert_non_null(nn_blas_corename());
  assert_contains(nn_blas_config(), "OpenBLAS");
  nn_blas_set_threads(1);
  assert_int_equal(nn_blas_threads(), 1);
  const char *s = nn_blas_suggest_coretype();
  print_message("  OpenBLAS kernel %s; suggestion %s\n", nn_blas_corename(), s ? s : "(none)");
  if (getenv("OPENBLAS_CORETYPE") && getenv("OPENBLAS_CORETYPE")[0]) assert_null(s);
}

/* Parameter tensors: weight then bias per linear, gain then bias per layer norm; they tile the
 * flat vector exactly. */
static void test_param_segments(void **state) {
  (void)state;
  const NnLayerDesc d[] = {{.kind = NN_LINEAR, .out = 5}, {.kind = NN_LAYER_NORM},
                           {.kind = NN_TANH}, {.kind = NN_LINEAR, .out = 2}};
  NnMlp *net = nn_mlp_create(3, d, 4, 1, NULL);
  assert_non_null(net);
  size_t seg[8];
  int n = nn_mlp_param_segments(net, seg, 8);
  assert_int_equal(n, 6);
  const size_t want[6] = {15, 5, 5, 5, 10, 2};
  size_t total = 0;
  for (int i = 0; i < n; i++) {
    assert_int_equal(seg[i], want[i]);
    total += seg[i];
  }
  assert_int_equal(total, net->n_params);
  assert_int_equal(nn_mlp_param_segments(net, seg, 2), 6); /* count even when cap is short */
  nn_mlp_free(net);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_counts_and_describe),
      cmocka_unit_test(test_invalid_descriptions),
      cmocka_unit_test(test_forward_hand_example),
      cmocka_unit_test(test_bind_params),
      cmocka_unit_test(test_init_distributions),
      cmocka_unit_test(test_batch_over_capacity_aborts),
      cmocka_unit_test(test_blas_info),
      cmocka_unit_test(test_param_segments),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
