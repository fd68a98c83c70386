/* test_optim_a2grad.c — A2Grad: the spec's golden trajectory, the first steps against the
 * paper's three-sequence form written out in double, the per-tensor variant, state through a
 * checkpoint, convergence on quadratics, settings and segment validation.
 *
 * The reference below is Algorithm 2 of Deng, Cheng & Lan (x̲, x̄, x; papers.md §5), not the
 * two-variable Algorithm 7 that src/optim/a2grad.c implements, so agreement checks the algebra
 * that turns one into the other as well as the code.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>

#include "test_util.h"
#include "core/alloc.h"
#include "core/ckpt.h"
#include "optim/opt.h"

#define N_VEC 11
#define N_STEPS 6

static OptSettings a2_settings(int variant, int per_tensor, double lips, double beta, double rho) {
  OptSettings s = opt_settings_default(OPT_A2GRAD);
  s.a2grad_variant = variant;
  s.a2grad_per_tensor = per_tensor;
  s.lips = lips;
  s.beta = beta;
  s.rho = rho;
  return s;
}

/* ---------------------------------------------------------------- golden trajectory */

/* papers.md §5: f(x) = x²/2, exact gradients, x_0 = y_0 = 1, L = 1, β = 1, ρ = 0.5. */
static void test_golden_trajectory(void **state) {
  (void)state;
  static const double want[3][4] = {
    {0.5, 0.166667, 0.036662, -0.011353},    /* uni */
    {0.5, 0.166667, 0.032943, -0.015365},    /* inc */
    {0.5, 0.166667, 0.041949, -0.006502},    /* exp */
  };
  static const double want_x_uni[4] = {0.5, 0.1, -0.047626, -0.080825};
  for (int v = 0; v < 3; v++) {
    OptSettings s = a2_settings(v, 0, 1.0, 1.0, 0.5);
    Opt *o = opt_create(&s, 1, NULL);
    assert_non_null(o);
    float y = 1.0f;
    for (int k = 0; k < 4; k++) {
      float g = y;   /* ∇(y²/2) */
      opt_step(o, &y, &g);
      /* the spec prints 6 decimals: agree to their rounding */
      assert_near(y, want[v][k], 6e-7);
      if (v == OPT_A2GRAD_UNI) {
        CoreCkptWriter *w = core_ckpt_writer_create();
        assert_int_equal(opt_save(o, w, "o", NULL), 0);
        void *buf = NULL;
        size_t size = 0;
        assert_int_equal(core_ckpt_write_buffer(w, &buf, &size, NULL), 0);
        core_ckpt_writer_free(w);
        CoreCkpt *c = core_ckpt_load_buffer(buf, size, "mem", NULL);
        core_free(buf);
        double x;
        assert_int_equal(core_ckpt_read(c, "o.x", &x, sizeof x, NULL), 0);
        assert_near(x, want_x_uni[k], 6e-7);
        core_ckpt_free(c);
      }
    }
    opt_free(o);
  }
}

/* The same two first steps by hand, for L = 2, β = 3 on f = x²/2 from 1 (any variant):
 * k = 0: G = 1, δ = 0, c = 1/(2L) = 1/4, x_1 = 3/4, α_1 = 2/3,
 *        y_1 = (1/3)·1 + (2/3)(3/4) − (1/3)(1)(1/4)(1) = 1/3 + 1/2 − 1/12 = 3/4.
 * k = 1: G = 3/4, g̃ = 7/8, δ = −1/8, h = 1/8 (uni, inc; exp: √(2·½·1/64) = 1/8),
 *        γ = 2, c = 1/(2 + 3/8) = 8/19, x_2 = 3/4 − 6/19 = 33/76, α_2 = 1/2,
 *        y_2 = 3/8 + 33/152 − (1/2)(2/3)(8/19)(3/4) = 3/8 + 33/152 − 2/19 = 74/152. */
static void test_first_steps_by_hand(void **state) {
  (void)state;
  for (int v = 0; v < 3; v++) {
    OptSettings s = a2_settings(v, 0, 2.0, 3.0, 0.5);
    Opt *o = opt_create(&s, 1, NULL);
    float y = 1.0f, g = 1.0f;
    opt_step(o, &y, &g);
    assert_near(y, 0.75, 1e-7);
    g = y;
    opt_step(o, &y, &g);
    assert_near(y, 74.0 / 152.0, 1e-7);
    opt_free(o);
  }
}

/* ---------------------------------------------------------------- reference recurrence */

/* A fixed "stochastic" gradient at point p, step k: ∇ of ½ a_i (p_i − c_i)² plus a
 * deterministic wiggle that plays the noise. */
static double ref_grad(const double *p, int i, int k) {
  double a = 0.4 + 0.3 * (i % 4), c = sin(0.7 * i);
  return a * (p[i] - c) + 0.5 * cos(1.3 * i + 2.1 * k);
}

/* Algorithm 2 with the variance proxy δ = G − g̃, in double: x̲ = (1−α)x̄ + αx; G at x̲;
 * x ← x − G/(γ + βh); x̄ ← (1−α)x̄ + αx. Segments (per tensor) share h. Returns x̲ after steps. */
static void ref_a2grad(const OptSettings *s, const size_t *seg, int nseg, double *ylow,
                       int steps) {
  double x[N_VEC], xbar[N_VEC], gbar[N_VEC] = {0}, v[N_VEC] = {0}, vt[N_VEC] = {0};
  double G[N_VEC], d2[N_VEC];
  for (int i = 0; i < N_VEC; i++) x[i] = xbar[i] = ylow[i];
  for (int k = 0; k < steps; k++) {
    double alpha = 2.0 / (k + 2), gamma = 2.0 * s->lips / (k + 1);
    for (int i = 0; i < N_VEC; i++) ylow[i] = (1 - alpha) * xbar[i] + alpha * x[i];
    for (int i = 0; i < N_VEC; i++) {
      G[i] = ref_grad(ylow, i, k) + s->weight_decay * (float)ylow[i];
      gbar[i] = (k * gbar[i] + G[i]) / (k + 1);   /* mean of G_0..G_k */
      d2[i] = (G[i] - gbar[i]) * (G[i] - gbar[i]);
    }
    /* h per coordinate, or per segment from the summed δ² */
    int units = s->a2grad_per_tensor ? nseg : N_VEC;
    double h[N_VEC];
    for (int u = 0, i0 = 0; u < units; u++) {
      int len = s->a2grad_per_tensor ? (int)seg[u] : 1;
      double q = 0;
      for (int i = i0; i < i0 + len; i++) q += d2[i];
      double hu;
      if (s->a2grad_variant == OPT_A2GRAD_UNI) {
        v[u] += q;
        hu = sqrt(v[u]);
      } else if (s->a2grad_variant == OPT_A2GRAD_INC) {
        v[u] = (k / (k + 1.0)) * (k / (k + 1.0)) * v[u] + q;
        hu = sqrt(v[u]);
      } else {
        vt[u] = k == 0 ? q : s->rho * vt[u] + (1 - s->rho) * q;
        v[u] = fmax(v[u], vt[u]);
        hu = sqrt((k + 1.0) * v[u]);
      }
      for (int i = i0; i < i0 + len; i++) h[i] = hu;
      i0 += len;
    }
    for (int i = 0; i < N_VEC; i++) {
      x[i] -= G[i] / (gamma + s->beta * h[i]);
      xbar[i] = (1 - alpha) * xbar[i] + alpha * x[i];
    }
    /* the model point of the next step, which the implementation holds as params */
    double alpha1 = 2.0 / (k + 3);
    for (int i = 0; i < N_VEC; i++) ylow[i] = (1 - alpha1) * xbar[i] + alpha1 * x[i];
  }
}

static void run_impl(const OptSettings *s, const size_t *seg, int nseg, float *p, int steps) {
  CoreErr err;
  Opt *o = opt_create(s, N_VEC, &err);
  assert_non_null(o);
  if (seg) assert_int_equal(opt_set_segments(o, seg, nseg, &err), 0);
  double pd[N_VEC];
  float g[N_VEC];
  for (int k = 0; k < steps; k++) {
    for (int i = 0; i < N_VEC; i++) pd[i] = p[i];
    for (int i = 0; i < N_VEC; i++) g[i] = (float)ref_grad(pd, i, k);
    opt_step(o, p, g);
  }
  opt_free(o);
}

static void init_params(float *p) {
  for (int i = 0; i < N_VEC; i++) p[i] = (float)(1.5 * cos(1.0 + 0.8 * i));
}

static void check_against_reference(const OptSettings *s, const size_t *seg, int nseg) {
  float p[N_VEC];
  double want[N_VEC];
  init_params(p);
  for (int i = 0; i < N_VEC; i++) want[i] = p[i];
  run_impl(s, seg, nseg, p, N_STEPS);
  ref_a2grad(s, seg, nseg, want, N_STEPS);
  for (int i = 0; i < N_VEC; i++) {
    /* float parameters and float gradients fed back: a few float ulps of drift */
    if (!(fabs(p[i] - want[i]) <= 2e-6 + 2e-6 * fabs(want[i]))) {
      fail_msg("variant %s per_tensor %d: p[%d] = %.9g, reference %.9g",
               opt_a2grad_variant_names[s->a2grad_variant], s->a2grad_per_tensor, i, p[i],
               want[i]);
    }
  }
}

static void test_per_coordinate_matches_reference(void **state) {
  (void)state;
  for (int v = 0; v < 3; v++) {
    OptSettings s = a2_settings(v, 0, 1.5, 2.0, 0.7);
    check_against_reference(&s, NULL, 0);
    s.weight_decay = 0.05;
    check_against_reference(&s, NULL, 0);
  }
}

static void test_per_tensor_matches_reference(void **state) {
  (void)state;
  const size_t seg[3] = {4, 2, 5};
  const size_t whole[1] = {N_VEC};
  for (int v = 0; v < 3; v++) {
    OptSettings s = a2_settings(v, 1, 1.5, 2.0, 0.7);
    check_against_reference(&s, seg, 3);
    check_against_reference(&s, whole, 1);
    /* without opt_set_segments the whole vector is one segment */
    float p[N_VEC], q[N_VEC];
    init_params(p);
    init_params(q);
    run_impl(&s, NULL, 0, p, N_STEPS);
    run_impl(&s, whole, 1, q, N_STEPS);
    assert_memory_equal(p, q, sizeof p);
    /* and the split matters: three segments differ from one */
    init_params(q);
    run_impl(&s, seg, 3, q, N_STEPS);
    assert_true(memcmp(p, q, sizeof p) != 0);
  }
}

/* Per coordinate ignores segments; per tensor differs from per coordinate. */
static void test_modes_differ(void **state) {
  (void)state;
  const size_t seg[2] = {5, 6};
  OptSettings s = a2_settings(OPT_A2GRAD_INC, 0, 1.0, 5.0, 0.5);
  float p[N_VEC], q[N_VEC], r[N_VEC];
  init_params(p);
  init_params(q);
  init_params(r);
  run_impl(&s, NULL, 0, p, N_STEPS);
  run_impl(&s, seg, 2, q, N_STEPS);
  assert_memory_equal(p, q, sizeof p);
  s.a2grad_per_tensor = 1;
  run_impl(&s, seg, 2, r, N_STEPS);
  assert_true(memcmp(p, r, sizeof p) != 0);
}

/* ---------------------------------------------------------------- state round trip */

static CoreCkpt *save_to_ckpt(const Opt *o, const char *prefix) {
  CoreErr err;
  CoreCkptWriter *w = core_ckpt_writer_create();
  if (opt_save(o, w, prefix, &err) < 0) fail_msg("opt_save: %s", err.msg);
  void *buf = NULL;
  size_t size = 0;
  if (core_ckpt_write_buffer(w, &buf, &size, &err) < 0) fail_msg("write: %s", err.msg);
  core_ckpt_writer_free(w);
  CoreCkpt *c = core_ckpt_load_buffer(buf, size, "mem.ckpt", &err);
  core_free(buf);
  if (!c) fail_msg("load: %s", err.msg);
  return c;
}

static void steps_from(Opt *o, float *p, int k0, int k1) {
  double pd[N_VEC];
  float g[N_VEC];
  for (int k = k0; k < k1; k++) {
    for (int i = 0; i < N_VEC; i++) pd[i] = p[i];
    for (int i = 0; i < N_VEC; i++) g[i] = (float)ref_grad(pd, i, k);
    opt_step(o, p, g);
  }
}

static void test_state_round_trip(void **state) {
  (void)state;
  const size_t seg[3] = {3, 3, 5};
  for (int v = 0; v < 3; v++) {
    for (int pt = 0; pt < 2; pt++) {
      OptSettings s = a2_settings(v, pt, 1.0, 4.0, 0.6);
      s.weight_decay = 0.01;
      Opt *a = opt_create(&s, N_VEC, NULL), *b = opt_create(&s, N_VEC, NULL);
      assert_int_equal(opt_set_segments(a, seg, 3, NULL), 0);
      assert_int_equal(opt_set_segments(b, seg, 3, NULL), 0);
      float p[N_VEC], q[N_VEC];
      init_params(p);
      steps_from(a, p, 0, 5);
      CoreCkpt *c = save_to_ckpt(a, "critic_opt");
      memcpy(q, p, sizeof p);
      CoreErr err;
      if (opt_load(b, c, "critic_opt", &err) < 0) fail_msg("load: %s", err.msg);
      assert_int_equal(b->t, 5);
      steps_from(a, p, 5, 12);
      steps_from(b, q, 5, 12);
      assert_memory_equal(p, q, sizeof p);   /* bit-identical continuation */

      /* a per-tensor optimizer with other boundaries refuses the state, unchanged */
      if (pt) {
        const size_t other[2] = {6, 5};
        Opt *d = opt_create(&s, N_VEC, NULL);
        assert_int_equal(opt_set_segments(d, other, 2, NULL), 0);
        core_err_clear(&err);
        assert_int_equal(opt_load(d, c, "critic_opt", &err), CORE_ERR_INVALID);
        assert_int_equal(d->t, 0);
        opt_free(d);
      }
      /* another variant or mode lacks or mismatches sections: a clean error */
      OptSettings s2 = a2_settings(v == OPT_A2GRAD_EXP ? OPT_A2GRAD_UNI : OPT_A2GRAD_EXP, pt, 1.0,
                                   4.0, 0.6);
      s2.a2grad_per_tensor = v == OPT_A2GRAD_EXP ? !pt : pt;
      Opt *e = opt_create(&s2, N_VEC, NULL);
      core_err_clear(&err);
      int rc = opt_load(e, c, "critic_opt", &err);
      assert_true(rc == CORE_ERR_CORRUPT || rc == CORE_ERR_INVALID);
      assert_contains(err.msg, "critic_opt");
      assert_int_equal(e->t, 0);
      opt_free(e);
      core_ckpt_free(c);
      opt_free(a);
      opt_free(b);
    }
  }
}

/* Reset gives the trajectory of a fresh optimizer (x re-taken from the parameters). */
static void test_reset(void **state) {
  (void)state;
  OptSettings s = a2_settings(OPT_A2GRAD_EXP, 1, 2.0, 3.0, 0.5);
  Opt *a = opt_create(&s, N_VEC, NULL);
  float p[N_VEC], q[N_VEC];
  init_params(p);
  steps_from(a, p, 0, 7);
  opt_reset(a);
  init_params(p);
  init_params(q);
  steps_from(a, p, 0, 6);
  run_impl(&s, NULL, 0, q, 6);
  assert_memory_equal(p, q, sizeof p);
  opt_free(a);
}

/* ---------------------------------------------------------------- convergence */

#define N_QUAD 20

/* f = ½ Σ a_i (p_i − c_i)², a_i in [0.1, 1] (L = 1); returns f, gradient into g. */
static double quad(const float *p, float *g, double noise, uint64_t *seed) {
  double f = 0;
  for (int i = 0; i < N_QUAD; i++) {
    double a = 0.1 + 0.9 * i / (N_QUAD - 1), c = cos(0.4 * i), d = p[i] - c;
    f += 0.5 * a * d * d;
    double z = 0;
    if (noise > 0) {
      /* a cheap deterministic uniform(−1, 1) from an LCG, scaled */
      *seed = *seed * 6364136223846793005ULL + 1442695040888963407ULL;
      z = ((double)(*seed >> 11) / 9007199254740992.0) * 2 - 1;
    }
    if (g) g[i] = (float)(a * d + noise * z);
  }
  return f;
}

static void test_quadratic_converges(void **state) {
  (void)state;
  for (int v = 0; v < 3; v++) {
    for (int pt = 0; pt < 2; pt++) {
      /* exact gradients: accelerated at first, then the adaptive term takes over */
      OptSettings s = a2_settings(v, pt, 1.0, 1.0, 0.5);
      Opt *o = opt_create(&s, N_QUAD, NULL);
      float p[N_QUAD] = {0}, g[N_QUAD];
      double f0 = quad(p, NULL, 0, NULL), f = f0;
      for (int k = 0; k < 3000; k++) {
        f = quad(p, g, 0, NULL);
        opt_step(o, p, g);
      }
      f = quad(p, NULL, 0, NULL);
      if (!(f < 1e-4 * f0)) fail_msg("%s pt %d exact: f %g -> %g", opt_a2grad_variant_names[v],
                                     pt, f0, f);
      opt_free(o);

      /* noisy gradients: the output settles well below the start, near the noise floor */
      uint64_t seed = 12345;
      o = opt_create(&s, N_QUAD, NULL);
      memset(p, 0, sizeof p);
      for (int k = 0; k < 5000; k++) {
        quad(p, g, 0.3, &seed);
        opt_step(o, p, g);
      }
      f = quad(p, NULL, 0, NULL);
      if (!(f < 0.02 * f0)) fail_msg("%s pt %d noisy: f %g -> %g", opt_a2grad_variant_names[v],
                                     pt, f0, f);
      opt_free(o);
    }
  }
}

/* ---------------------------------------------------------------- settings, segments, memory */

static void test_settings(void **state) {
  (void)state;
  assert_int_equal(opt_kind_from_name("a2grad"), OPT_A2GRAD);
  assert_string_equal(opt_kind_names[OPT_A2GRAD], "a2grad");
  assert_null(opt_kind_names[OPT_NKIND]);
  assert_string_equal(opt_a2grad_variant_names[OPT_A2GRAD_EXP], "exp");
  assert_null(opt_a2grad_variant_names[OPT_A2GRAD_NVARIANT]);
  OptSettings d = opt_settings_default(OPT_A2GRAD);
  assert_true(d.lips == 10.0 && d.beta == 10.0 && d.rho == 0.5);
  assert_true(d.a2grad_variant == OPT_A2GRAD_UNI && d.a2grad_per_tensor == 0);
  assert_int_equal(opt_settings_check(&d, NULL), 0);

  struct {
    const char *field;
    double value;
    int variant;
    const char *expect;
  } bad[] = {
    {"lips", 0.0, 0, "optimizer.lips: 0 must be a finite number > 0"},
    {"lips", NAN, 0, "optimizer.lips: nan"},
    {"beta", -1.0, 1, "optimizer.beta: -1 must be a finite number >= 0"},
    {"beta", INFINITY, 0, "optimizer.beta: inf"},
    {"rho", 1.0, OPT_A2GRAD_EXP, "optimizer.rho: 1 is outside [0, 1)"},
    {"rho", -0.1, OPT_A2GRAD_EXP, "optimizer.rho: -0.1"},
    {"variant", 0, 7, "optimizer.a2grad_variant: 7 is not a known variant"},
  };
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    OptSettings s = a2_settings(bad[k].variant, 0, 10, 10, 0.5);
    if (!strcmp(bad[k].field, "lips")) s.lips = bad[k].value;
    if (!strcmp(bad[k].field, "beta")) s.beta = bad[k].value;
    if (!strcmp(bad[k].field, "rho")) s.rho = bad[k].value;
    CoreErr err;
    core_err_clear(&err);
    assert_null(opt_create(&s, 4, &err));
    assert_int_equal(err.code, CORE_ERR_INVALID);
    assert_contains(err.msg, bad[k].expect);
  }
  /* rho only matters to exp; lr is unused but still must be valid like every kind's */
  OptSettings s = a2_settings(OPT_A2GRAD_UNI, 0, 10, 10, 3.0);
  assert_int_equal(opt_settings_check(&s, NULL), 0);
}

static void test_segments(void **state) {
  (void)state;
  OptSettings s = a2_settings(OPT_A2GRAD_UNI, 1, 1, 1, 0.5);
  Opt *o = opt_create(&s, 10, NULL);
  CoreErr err;
  const size_t short_[2] = {4, 5}, zero[3] = {5, 0, 5}, over[2] = {8, 8}, ok[2] = {4, 6};
  core_err_clear(&err);
  assert_int_equal(opt_set_segments(o, short_, 2, &err), CORE_ERR_INVALID);
  assert_contains(err.msg, "add up to 9 floats but the vector has 10");
  assert_int_equal(opt_set_segments(o, zero, 3, &err), CORE_ERR_INVALID);
  assert_contains(err.msg, "segment 1 of 3 has length 0");
  assert_int_equal(opt_set_segments(o, over, 2, &err), CORE_ERR_INVALID);
  assert_contains(err.msg, "runs past the end");
  assert_int_equal(opt_set_segments(o, ok, 0, &err), CORE_ERR_INVALID);
  assert_int_equal(opt_set_segments(o, ok, 2, &err), 0);
  opt_free(o);
  /* kinds without tensor structure accept (and ignore) valid segments */
  OptSettings a = opt_settings_default(OPT_ADAM);
  o = opt_create(&a, 10, NULL);
  assert_int_equal(opt_set_segments(o, ok, 2, NULL), 0);
  assert_int_equal(opt_set_segments(o, short_, 2, NULL), CORE_ERR_INVALID);
  opt_free(o);
}

static void test_out_of_memory(void **state) {
  (void)state;
  for (int pt = 0; pt < 2; pt++) {
    OptSettings s = a2_settings(OPT_A2GRAD_EXP, pt, 1, 1, 0.5);
    for (long k = 1; k <= 6; k++) {
      long live = core_alloc_live();
      CoreErr err;
      core_err_clear(&err);
      core_alloc_fail_after(k);
      Opt *o = opt_create(&s, 1000, &err);
      core_alloc_fail_after(0);
      if (o) {
        const size_t seg[2] = {500, 500};
        core_alloc_fail_after(1);
        int rc = opt_set_segments(o, seg, 2, &err);
        core_alloc_fail_after(0);
        assert_int_equal(rc, pt ? CORE_ERR_NOMEM : 0);
        opt_free(o);
      } else {
        assert_int_equal(err.code, CORE_ERR_NOMEM);
      }
      assert_int_equal(core_alloc_live(), live);
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_golden_trajectory),
    cmocka_unit_test(test_first_steps_by_hand),
    cmocka_unit_test(test_per_coordinate_matches_reference),
    cmocka_unit_test(test_per_tensor_matches_reference),
    cmocka_unit_test(test_modes_differ),
    cmocka_unit_test(test_state_round_trip),
    cmocka_unit_test(test_reset),
    cmocka_unit_test(test_quadratic_converges),
    cmocka_unit_test(test_settings),
    cmocka_unit_test(test_segments),
    cmocka_unit_test(test_out_of_memory),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
