/* test_optim_rules.c — SGD, Adam and AMSGrad against their recurrences written out in double,
 * convergence on a quadratic, settings validation, reset, and allocation failures.
 *
 * The reference recurrences below are written from torch.optim's documented algorithms, in
 * double, independently of src/optim: first three steps on a vector of N_VEC elements (two
 * whole blocks plus a remainder, so both code paths of the implementation are covered).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>

#include "test_util.h"
#include "core/alloc.h"
#include "optim/opt.h"

#define N_VEC 37
#define N_STEPS 3

/* Starting parameters, exactly representable as float and used as such by both sides. */
static void init_params(float *p, int n) {
  for (int i = 0; i < n; i++) p[i] = (float)(1.5 * sin(1.0 + i));
}

/* The gradient fed at step t (0-based), independent of the parameters. */
static float fixed_grad(int t, int i) {
  return (float)(cos(0.7 * i + t) * (1.0 + 0.1 * t));
}

/* |got - want| <= 1e-6 + 2e-6·|want|: float arithmetic against the double recurrence. */
static void expect_close_vec(const float *got, const double *want, int n) {
  for (int i = 0; i < n; i++) assert_near(got[i], want[i], 1e-6 + 2e-6 * fabs(want[i]));
}

/* Run N_STEPS steps of an optimizer with the fixed gradients; params in p. */
static void run_impl(const OptSettings *s, float *p, float grads[N_STEPS][N_VEC]) {
  CoreErr err;
  Opt *o = opt_create(s, N_VEC, &err);
  assert_non_null(o);
  for (int t = 0; t < N_STEPS; t++) opt_step(o, p, grads[t]);
  assert_int_equal(o->t, N_STEPS);
  opt_free(o);
}

static void make_grads(float grads[N_STEPS][N_VEC], const double *scale) {
  for (int t = 0; t < N_STEPS; t++) {
    for (int i = 0; i < N_VEC; i++) grads[t][i] = (float)(fixed_grad(t, i) * scale[t]);
  }
}

/* ---------------------------------------------------------------- SGD */

/* torch.optim.SGD written out: d = g + wd p; b = d (first step) else mu b + (1 - damp) d;
 * d = d + mu b (nesterov) or b; p -= lr d. */
static void sgd_reference(double lr, double wd, double mu, double damp, int nesterov, double *p,
                          float grads[N_STEPS][N_VEC]) {
  double b[N_VEC] = {0};
  for (int t = 0; t < N_STEPS; t++) {
    for (int i = 0; i < N_VEC; i++) {
      double d = (double)grads[t][i];
      if (wd != 0.0) d = d + wd * p[i];
      if (mu != 0.0) {
        if (t == 0) {
          b[i] = d;
        } else {
          b[i] = mu * b[i] + (1.0 - damp) * d;
        }
        d = nesterov ? d + mu * b[i] : b[i];
      }
      p[i] = p[i] - lr * d;
    }
  }
}

static void check_sgd(double lr, double wd, double mu, double damp, int nesterov) {
  float grads[N_STEPS][N_VEC], p[N_VEC];
  double ref[N_VEC];
  const double scale[N_STEPS] = {1.0, 1.0, 1.0};
  make_grads(grads, scale);
  init_params(p, N_VEC);
  for (int i = 0; i < N_VEC; i++) ref[i] = p[i];
  OptSettings s = opt_settings_default(OPT_SGD);
  s.lr = lr;
  s.weight_decay = wd;
  s.momentum = mu;
  s.dampening = damp;
  s.nesterov = nesterov;
  run_impl(&s, p, grads);
  sgd_reference(lr, wd, mu, damp, nesterov, ref, grads);
  expect_close_vec(p, ref, N_VEC);
}

static void test_sgd_plain_weight_decay(void **state) {
  (void)state;
  check_sgd(0.1, 0.05, 0.0, 0.0, 0);
}

static void test_sgd_momentum_dampening(void **state) {
  (void)state;
  check_sgd(0.1, 0.01, 0.9, 0.3, 0);
}

static void test_sgd_nesterov(void **state) {
  (void)state;
  check_sgd(0.05, 0.02, 0.9, 0.0, 1);
}

/* The first step copies the gradient into the buffer (no (1 - dampening) factor): one step of
 * SGD with dampening 0.5 moves p by exactly lr·g, as plain SGD does. */
static void test_sgd_first_step_undamped(void **state) {
  (void)state;
  float p[N_VEC], q[N_VEC], g[N_VEC];
  init_params(p, N_VEC);
  init_params(q, N_VEC);
  for (int i = 0; i < N_VEC; i++) g[i] = fixed_grad(0, i);
  OptSettings s = opt_settings_default(OPT_SGD);
  s.lr = 0.1;
  Opt *plain = opt_create(&s, N_VEC, NULL);
  s.momentum = 0.9;
  s.dampening = 0.5;
  Opt *damped = opt_create(&s, N_VEC, NULL);
  opt_step(plain, p, g);
  opt_step(damped, q, g);
  assert_memory_equal(p, q, sizeof p);
  opt_free(plain);
  opt_free(damped);
}

/* ---------------------------------------------------------------- Adam / AMSGrad */

/* torch.optim.Adam (1.13) written out: g = g + wd p; m = b1 m + (1-b1) g;
 * v = b2 v + (1-b2) g^2; u = max(u, v) for AMSGrad (else u = v);
 * p -= lr/(1-b1^t) · m / (sqrt(u)/sqrt(1-b2^t) + eps). Returns how many (step, element) pairs
 * had u > v, i.e. where the AMSGrad max mattered. */
static int adam_reference(double lr, double b1, double b2, double eps, double wd, int amsgrad,
                          double *p, float grads[N_STEPS][N_VEC]) {
  double m[N_VEC] = {0}, v[N_VEC] = {0}, u[N_VEC] = {0};
  int max_used = 0;
  for (int t = 1; t <= N_STEPS; t++) {
    double bc1 = 1.0 - pow(b1, t), bc2 = 1.0 - pow(b2, t);
    for (int i = 0; i < N_VEC; i++) {
      double g = (double)grads[t - 1][i];
      if (wd != 0.0) g = g + wd * p[i];
      m[i] = b1 * m[i] + (1.0 - b1) * g;
      v[i] = b2 * v[i] + (1.0 - b2) * g * g;
      double den2 = v[i];
      if (amsgrad) {
        if (u[i] > v[i]) max_used++;
        u[i] = u[i] > v[i] ? u[i] : v[i];
        den2 = u[i];
      }
      double mhat = m[i] / bc1, vhat = den2 / bc2;
      p[i] = p[i] - lr * mhat / (sqrt(vhat) + eps);
    }
  }
  return max_used;
}

static void check_adam(int kind, double lr, double b1, double b2, double eps, double wd,
                       const double scale[N_STEPS], int expect_max_used) {
  float grads[N_STEPS][N_VEC], p[N_VEC];
  double ref[N_VEC];
  make_grads(grads, scale);
  init_params(p, N_VEC);
  for (int i = 0; i < N_VEC; i++) ref[i] = p[i];
  OptSettings s = opt_settings_default(kind);
  s.lr = lr;
  s.beta1 = b1;
  s.beta2 = b2;
  s.eps = eps;
  s.weight_decay = wd;
  run_impl(&s, p, grads);
  int used = adam_reference(lr, b1, b2, eps, wd, kind == OPT_AMSGRAD, ref, grads);
  expect_close_vec(p, ref, N_VEC);
  if (expect_max_used) assert_true(used > N_VEC);   /* the case really exercises the max */
}

static void test_adam_defaults(void **state) {
  (void)state;
  const double scale[N_STEPS] = {1.0, 1.0, 1.0};
  check_adam(OPT_ADAM, 0.01, 0.9, 0.999, 1e-8, 0.0, scale, 0);
}

/* Small gradients and a large eps: eps is comparable to sqrt(v̂), so adding it before or after
 * the bias correction would differ by far more than the tolerance. */
static void test_adam_weight_decay_eps(void **state) {
  (void)state;
  const double scale[N_STEPS] = {2e-3, 1e-3, 3e-3};
  check_adam(OPT_ADAM, 0.02, 0.8, 0.95, 1e-3, 1e-3, scale, 0);
  /* the alternative placement of eps (inside the bias correction) is measurably different */
  float grads[N_STEPS][N_VEC], p[N_VEC];
  make_grads(grads, scale);
  init_params(p, N_VEC);
  OptSettings s = opt_settings_default(OPT_ADAM);
  s.lr = 0.02;
  s.beta1 = 0.8;
  s.beta2 = 0.95;
  s.eps = 1e-3;
  s.weight_decay = 1e-3;
  Opt *o = opt_create(&s, N_VEC, NULL);
  opt_step(o, p, grads[0]);
  opt_free(o);
  float p0[N_VEC];
  init_params(p0, N_VEC);
  double g0 = (double)grads[0][0] + 1e-3 * p0[0];
  double m = 0.2 * g0, v = 0.05 * g0 * g0;
  double other = p0[0] - 0.02 * (m / 0.2) / ((sqrt(v) + 1e-3) / sqrt(0.05));
  assert_true(fabs(p[0] - other) > 1e-4);
}

/* Shrinking gradients with β2 = 0.5: v falls below its running maximum, so AMSGrad's max is
 * used, and the result differs from Adam's. */
static void test_amsgrad_max_matters(void **state) {
  (void)state;
  const double scale[N_STEPS] = {2.0, 0.5, 0.1};
  check_adam(OPT_AMSGRAD, 0.05, 0.9, 0.5, 1e-8, 0.0, scale, 1);
  check_adam(OPT_AMSGRAD, 0.05, 0.9, 0.5, 1e-8, 0.03, scale, 1);
  float grads[N_STEPS][N_VEC], pa[N_VEC], pm[N_VEC];
  make_grads(grads, scale);
  init_params(pa, N_VEC);
  init_params(pm, N_VEC);
  OptSettings s = opt_settings_default(OPT_ADAM);
  s.lr = 0.05;
  s.beta2 = 0.5;
  run_impl(&s, pa, grads);
  s.kind = OPT_AMSGRAD;
  run_impl(&s, pm, grads);
  double diff = 0.0;
  for (int i = 0; i < N_VEC; i++) diff = fmax(diff, fabs(pa[i] - pm[i]));
  assert_true(diff > 1e-3);
}

/* Lengths 0..40 cover empty vectors, remainder-only vectors and exact blocks: each element's
 * update must not depend on the length of the vector it sits in. */
static void test_lengths_agree(void **state) {
  (void)state;
  for (int kind = 0; kind < OPT_NKIND; kind++) {
    OptSettings s = opt_settings_default(kind);
    s.momentum = 0.5;
    s.weight_decay = 0.01;
    float pfull[40], gfull[40];
    init_params(pfull, 40);
    for (int i = 0; i < 40; i++) gfull[i] = fixed_grad(0, i);
    Opt *full = opt_create(&s, 40, NULL);
    for (int t = 0; t < 3; t++) opt_step(full, pfull, gfull);
    opt_free(full);
    for (int n = 0; n <= 40; n++) {
      float p[40], g[40];
      init_params(p, n);
      for (int i = 0; i < n; i++) g[i] = fixed_grad(0, i);
      Opt *o = opt_create(&s, (size_t)n, NULL);
      assert_non_null(o);
      for (int t = 0; t < 3; t++) opt_step(o, p, g);
      opt_free(o);
      assert_memory_equal(p, pfull, (size_t)n * sizeof(float));
    }
  }
}

/* ---------------------------------------------------------------- convergence */

/* f(p) = ½ Σ a_i (p_i − c_i)², a_i in [0.5, 2]. */
static double quad_loss(const float *p, float *grad, int n) {
  double f = 0.0;
  for (int i = 0; i < n; i++) {
    double a = 0.5 + 1.5 * (i % 7) / 6.0, c = cos(0.3 * i), d = p[i] - c;
    f += 0.5 * a * d * d;
    if (grad) grad[i] = (float)(a * d);
  }
  return f;
}

static void test_quadratic_converges(void **state) {
  (void)state;
  struct { int kind; double lr, mu; int nesterov; } cases[] = {
    {OPT_SGD, 0.2, 0.0, 0}, {OPT_SGD, 0.05, 0.9, 0}, {OPT_SGD, 0.05, 0.9, 1},
    {OPT_ADAM, 0.05, 0.0, 0}, {OPT_AMSGRAD, 0.05, 0.0, 0},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    OptSettings s = opt_settings_default(cases[k].kind);
    s.lr = cases[k].lr;
    s.momentum = cases[k].mu;
    s.nesterov = cases[k].nesterov;
    float p[N_VEC], g[N_VEC];
    for (int i = 0; i < N_VEC; i++) p[i] = 3.0f;
    Opt *o = opt_create(&s, N_VEC, NULL);
    assert_non_null(o);
    double f0 = quad_loss(p, NULL, N_VEC);
    for (int t = 0; t < 500; t++) {
      quad_loss(p, g, N_VEC);
      opt_step(o, p, g);
    }
    double f1 = quad_loss(p, NULL, N_VEC);
    opt_free(o);
    if (!(f1 < 1e-4 * f0)) fail_msg("case %zu: loss %g -> %g", k, f0, f1);
  }
}

/* ---------------------------------------------------------------- settings */

static void test_defaults_and_names(void **state) {
  (void)state;
  OptSettings a = opt_settings_default(OPT_ADAM);
  assert_true(a.kind == OPT_ADAM && a.lr == 1e-3 && a.beta1 == 0.9 && a.beta2 == 0.999);
  assert_true(a.eps == 1e-8 && a.weight_decay == 0.0);
  OptSettings g = opt_settings_default(OPT_SGD);
  assert_true(g.momentum == 0.0 && g.dampening == 0.0 && !g.nesterov && g.lr == 1e-3);
  for (int k = 0; k < OPT_NKIND; k++) {
    assert_int_equal(opt_kind_from_name(opt_kind_names[k]), k);
    OptSettings s = opt_settings_default(k);
    assert_int_equal(opt_settings_check(&s, NULL), 0);
  }
  assert_string_equal(opt_kind_names[OPT_AMSGRAD], "amsgrad");
  assert_int_equal(opt_kind_from_name("adamw"), -1);
  assert_int_equal(opt_kind_from_name(NULL), -1);
}

typedef struct {
  int kind;
  const char *field;     /* which setting to spoil */
  double value;
  const char *expect;    /* substring of the message */
} BadCase;

static void test_bad_settings(void **state) {
  (void)state;
  const BadCase cases[] = {
    {OPT_ADAM, "lr", 0.0, "optimizer.lr: 0 must be a finite number > 0"},
    {OPT_SGD, "lr", -0.1, "optimizer.lr: -0.1"},
    {OPT_ADAM, "lr", NAN, "optimizer.lr: nan"},
    {OPT_ADAM, "lr", INFINITY, "optimizer.lr: inf"},
    {OPT_ADAM, "weight_decay", -1e-4, "optimizer.weight_decay: -0.0001"},
    {OPT_SGD, "weight_decay", INFINITY, "optimizer.weight_decay: inf"},
    {OPT_ADAM, "beta1", 1.0, "optimizer.beta1: 1 is outside [0, 1)"},
    {OPT_AMSGRAD, "beta1", -0.1, "optimizer.beta1: -0.1 is outside [0, 1)"},
    {OPT_ADAM, "beta2", 1.5, "optimizer.beta2: 1.5 is outside [0, 1)"},
    {OPT_AMSGRAD, "beta2", NAN, "optimizer.beta2: nan is outside [0, 1)"},
    {OPT_ADAM, "eps", 0.0, "optimizer.eps: 0 must be a finite number > 0"},
    {OPT_ADAM, "eps", -1e-8, "optimizer.eps: -1e-08"},
    {OPT_SGD, "momentum", -0.5, "optimizer.momentum: -0.5 must be a finite number >= 0"},
    {OPT_SGD, "dampening", 1.5, "optimizer.dampening: 1.5 is outside [0, 1]"},
    {OPT_SGD, "dampening", -0.1, "optimizer.dampening: -0.1 is outside [0, 1]"},
    {OPT_SGD, "nesterov_no_momentum", 0.0, "optimizer.nesterov: Nesterov momentum needs"},
    {OPT_SGD, "nesterov_dampening", 0.1, "dampening 0.1"},
    {99, "kind", 0.0, "optimizer.kind: 99 is not a known optimizer (sgd, adam, amsgrad, a2grad)"},
    {-1, "kind", 0.0, "optimizer.kind: -1"},
  };
  long live = core_alloc_live();
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    const BadCase *c = &cases[k];
    OptSettings s = opt_settings_default(c->kind < 0 || c->kind >= OPT_NKIND ? 0 : c->kind);
    s.kind = c->kind;
    if (!strcmp(c->field, "lr")) s.lr = c->value;
    if (!strcmp(c->field, "weight_decay")) s.weight_decay = c->value;
    if (!strcmp(c->field, "beta1")) s.beta1 = c->value;
    if (!strcmp(c->field, "beta2")) s.beta2 = c->value;
    if (!strcmp(c->field, "eps")) s.eps = c->value;
    if (!strcmp(c->field, "momentum")) s.momentum = c->value;
    if (!strcmp(c->field, "dampening")) s.dampening = c->value;
    if (!strcmp(c->field, "nesterov_no_momentum")) s.nesterov = 1;
    if (!strcmp(c->field, "nesterov_dampening")) {
      s.nesterov = 1;
      s.momentum = 0.9;
      s.dampening = c->value;
    }
    CoreErr err;
    core_err_clear(&err);
    Opt *o = opt_create(&s, 8, &err);
    if (o) fail_msg("case %zu (%s) was accepted", k, c->field);
    assert_int_equal(err.code, CORE_ERR_INVALID);
    assert_contains(err.msg, c->expect);
    assert_int_equal(opt_create(&s, 8, NULL) == NULL, 1);   /* err may be NULL */
  }
  assert_int_equal(core_alloc_live(), live);
}

/* Fields a kind does not use are not checked; nesterov with momentum and no dampening is fine. */
static void test_unused_fields_ignored(void **state) {
  (void)state;
  OptSettings s = opt_settings_default(OPT_SGD);
  s.beta2 = 1.5;
  s.eps = -1.0;
  s.momentum = 0.9;
  s.nesterov = 1;
  assert_int_equal(opt_settings_check(&s, NULL), 0);
  OptSettings a = opt_settings_default(OPT_ADAM);
  a.momentum = -3.0;
  a.dampening = 7.0;
  a.nesterov = 1;
  assert_int_equal(opt_settings_check(&a, NULL), 0);
}

/* ---------------------------------------------------------------- reset, set_lr, memory */

static void test_reset_clears_state(void **state) {
  (void)state;
  for (int kind = 0; kind < OPT_NKIND; kind++) {
    OptSettings s = opt_settings_default(kind);
    s.momentum = 0.9;
    float p[N_VEC], q[N_VEC], g[N_VEC];
    Opt *used = opt_create(&s, N_VEC, NULL);
    init_params(p, N_VEC);
    for (int t = 0; t < 4; t++) {
      for (int i = 0; i < N_VEC; i++) g[i] = fixed_grad(t, i);
      opt_step(used, p, g);
    }
    opt_reset(used);
    assert_int_equal(used->t, 0);
    Opt *fresh = opt_create(&s, N_VEC, NULL);
    init_params(p, N_VEC);
    init_params(q, N_VEC);
    for (int t = 0; t < 3; t++) {
      for (int i = 0; i < N_VEC; i++) g[i] = fixed_grad(t + 7, i);
      opt_step(used, p, g);
      opt_step(fresh, q, g);
    }
    assert_memory_equal(p, q, sizeof p);
    opt_free(used);
    opt_free(fresh);
  }
}

static void test_set_lr(void **state) {
  (void)state;
  OptSettings s = opt_settings_default(OPT_SGD);
  s.lr = 0.5;
  Opt *o = opt_create(&s, 3, NULL);
  float p[3] = {1, 2, 3}, g[3] = {1, -1, 2};
  opt_set_lr(o, 0.25);
  opt_step(o, p, g);
  assert_true(p[0] == 0.75f && p[1] == 2.25f && p[2] == 2.5f);
  opt_set_lr(o, 0.0);     /* a schedule may reach zero: no movement */
  opt_step(o, p, g);
  assert_true(p[0] == 0.75f && p[1] == 2.25f && p[2] == 2.5f);
  opt_free(o);
  opt_free(NULL);
}

static void test_out_of_memory(void **state) {
  (void)state;
  for (int kind = 0; kind < OPT_NKIND; kind++) {
    OptSettings s = opt_settings_default(kind);
    s.momentum = 0.9;
    for (long k = 1; k <= 3; k++) {
      long live = core_alloc_live();
      CoreErr err;
      core_err_clear(&err);
      core_alloc_fail_after(k);
      Opt *o = opt_create(&s, 1000, &err);
      core_alloc_fail_after(0);
      if (o) {   /* fewer allocations than k: created normally */
        opt_free(o);
      } else {
        assert_int_equal(err.code, CORE_ERR_NOMEM);
      }
      assert_int_equal(core_alloc_live(), live);
    }
  }
  CoreErr err;
  OptSettings s = opt_settings_default(OPT_AMSGRAD);
  assert_null(opt_create(&s, (size_t)-1 / 2, &err));
  assert_int_equal(err.code, CORE_ERR_NOMEM);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_sgd_plain_weight_decay),
    cmocka_unit_test(test_sgd_momentum_dampening),
    cmocka_unit_test(test_sgd_nesterov),
    cmocka_unit_test(test_sgd_first_step_undamped),
    cmocka_unit_test(test_adam_defaults),
    cmocka_unit_test(test_adam_weight_decay_eps),
    cmocka_unit_test(test_amsgrad_max_matters),
    cmocka_unit_test(test_lengths_agree),
    cmocka_unit_test(test_quadratic_converges),
    cmocka_unit_test(test_defaults_and_names),
    cmocka_unit_test(test_bad_settings),
    cmocka_unit_test(test_unused_fields_ignored),
    cmocka_unit_test(test_reset_clears_state),
    cmocka_unit_test(test_set_lr),
    cmocka_unit_test(test_out_of_memory),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
