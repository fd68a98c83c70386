/* test_optim_hf.c — HF, NG and NGHF updates on toy problems with known answers.
 *
 * The toy criterion is ℒ(θ) = ½θᵀAθ + cᵀθ + κ/4·Σθ⁴ with G = A (exact for κ = 0) and a
 * separate SPD F. Checked: HF and NG reach the Newton step on a quadratic; NGHF's solve is
 * −(G+λI)⁻¹(F+λ_F I)⁻¹g (probed with a criterion that accepts any step); with F = G, NGHF's first
 * CG direction is the Newton direction; LM damping moves λ the right way; CG backtracking
 * walks back to an earlier iterate when the held-out criterion prefers it; counters; errors.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>

#include "test_util.h"

#include "core/alloc.h"
#include "core/rng.h"
#include "optim/hf.h"

#define N 12

typedef struct {
  double A[N * N], F[N * N], c[N];
  double kappa;            /* quartic term */
  double model_scale;      /* G given to the optimizer = model_scale·A */
  int probe;               /* loss returns −1e9 for any step (accept everything) */
  double held_penalty;     /* held-out = ℒ + pen·‖θ − θ0‖² */
  float theta0[N];
  long loss_calls, held_calls;
} Toy;

static void matvec(const double *M, const float *v, double *out) {
  for (int i = 0; i < N; i++) {
    out[i] = 0.0;
    for (int j = 0; j < N; j++) out[i] += M[i * N + j] * v[j];
  }
}

static double toy_loss_raw(Toy *t, const float *p) {
  double Ap[N], s = 0.0;
  matvec(t->A, p, Ap);
  for (int i = 0; i < N; i++)
    s += 0.5 * p[i] * Ap[i] + t->c[i] * p[i] + 0.25 * t->kappa * pow(p[i], 4.0);
  return s;
}

static double toy_loss(void *u, const float *p) {
  Toy *t = u;
  t->loss_calls++;
  if (t->probe) {
    int moved = 0;
    for (int i = 0; i < N; i++) moved |= p[i] != t->theta0[i];
    return moved ? -1e9 : toy_loss_raw(t, p);
  }
  return toy_loss_raw(t, p);
}

static double toy_held(void *u, const float *p) {
  Toy *t = u;
  t->held_calls++;
  double d = 0.0;
  for (int i = 0; i < N; i++) d += (p[i] - t->theta0[i]) * (p[i] - t->theta0[i]);
  return toy_loss_raw(t, p) + t->held_penalty * d;
}

static void toy_gvp(void *u, const float *v, float *out) {
  Toy *t = u;
  double o[N];
  matvec(t->A, v, o);
  for (int i = 0; i < N; i++) out[i] = (float)(t->model_scale * o[i]);
}

static void toy_fvp(void *u, const float *v, float *out) {
  Toy *t = u;
  double o[N];
  matvec(t->F, v, o);
  for (int i = 0; i < N; i++) out[i] = (float)o[i];
}

static void toy_sqgrad(void *u, float *out) {
  Toy *t = u;
  for (int i = 0; i < N; i++) out[i] = (float)t->A[i * N + i];
}

static void toy_grad(const Toy *t, const float *p, float *g) {
  double Ap[N];
  matvec(t->A, p, Ap);
  for (int i = 0; i < N; i++) g[i] = (float)(Ap[i] + t->c[i] + t->kappa * pow(p[i], 3.0));
}

/* SPD M = Q diag(eig) Qᵀ, eig in [lo, hi]. */
static void spd(double *M, double lo, double hi, CoreRng *rng) {
  double q[N * N];
  for (int k = 0; k < N; k++) {
    double *col = q + k * N;
    for (int i = 0; i < N; i++) col[i] = core_rng_normal(rng);
    for (int j = 0; j < k; j++) {
      double d = 0.0;
      for (int i = 0; i < N; i++) d += col[i] * q[j * N + i];
      for (int i = 0; i < N; i++) col[i] -= d * q[j * N + i];
    }
    double nn = 0.0;
    for (int i = 0; i < N; i++) nn += col[i] * col[i];
    for (int i = 0; i < N; i++) col[i] /= sqrt(nn);
  }
  for (int i = 0; i < N; i++)
    for (int j = 0; j < N; j++) {
      double s = 0.0;
      for (int k = 0; k < N; k++) s += q[k * N + i] * (lo + (hi - lo) * k / (N - 1)) * q[k * N + j];
      M[i * N + j] = s;
    }
}

static Toy toy_make(uint64_t seed) {
  Toy t;
  memset(&t, 0, sizeof t);
  CoreRng rng;
  core_rng_stream(&rng, seed, CORE_RNG_TEST, 0);
  spd(t.A, 0.5, 8.0, &rng);
  spd(t.F, 0.2, 3.0, &rng);
  for (int i = 0; i < N; i++) t.c[i] = core_rng_normal(&rng);
  for (int i = 0; i < N; i++) t.theta0[i] = (float)(0.5 * core_rng_normal(&rng));
  t.model_scale = 1.0;
  return t;
}

static OptHfProblem problem(Toy *t) {
  OptHfProblem p = {t, toy_loss, toy_held, toy_gvp, toy_fvp, toy_sqgrad};
  return p;
}

/* Solve M x = rhs by Gauss elimination in double (small dense). */
static void solve(const double *M, double lambda, const double *rhs, double *x) {
  double a[N * (N + 1)];
  for (int i = 0; i < N; i++) {
    for (int j = 0; j < N; j++) a[i * (N + 1) + j] = M[i * N + j] + (i == j ? lambda : 0.0);
    a[i * (N + 1) + N] = rhs[i];
  }
  for (int k = 0; k < N; k++)
    for (int i = k + 1; i < N; i++) {
      double f = a[i * (N + 1) + k] / a[k * (N + 1) + k];
      for (int j = k; j <= N; j++) a[i * (N + 1) + j] -= f * a[k * (N + 1) + j];
    }
  for (int i = N - 1; i >= 0; i--) {
    double s = a[i * (N + 1) + N];
    for (int j = i + 1; j < N; j++) s -= a[i * (N + 1) + j] * x[j];
    x[i] = s / a[i * (N + 1) + i];
  }
}

/* Exact-solve settings: tiny fixed damping, every iteration, no backtracking. */
static OptHfSettings exact(int method) {
  OptHfSettings s = opt_hf_settings_default(method);
  s.lambda0 = 1e-6;
  s.lambda_f = 1e-6;
  s.lm_adapt = 0;
  s.cg_iters = 3 * N;
  s.ng_iters = 3 * N;
  s.progress_eps = 0.0;
  s.precond = 0;
  s.warm_start = 0.0;
  s.backtrack = 0;
  return s;
}

/* HF with G = ∇²ℒ on a quadratic: one update is Newton's step, landing on the minimiser. */
static void test_hf_newton_on_quadratic(void **state) {
  (void)state;
  for (int method = OPT_HF_GN; method <= OPT_HF_NG; method++) {
    Toy t = toy_make(1);
    if (method == OPT_HF_NG) memcpy(t.F, t.A, sizeof t.A);   /* NG with F = ∇²ℒ is Newton too */
    float p[N], g[N];
    memcpy(p, t.theta0, sizeof p);
    toy_grad(&t, p, g);
    OptHfSettings s = exact(method);
    OptHf *hf = opt_hf_create(&s, N, NULL);
    assert_non_null(hf);
    OptHfProblem pb = problem(&t);
    OptHfStats st;
    assert_int_equal(opt_hf_update(hf, &pb, p, g, toy_loss_raw(&t, p), &st, NULL), 0);
    double xs[N], mc[N];
    for (int i = 0; i < N; i++) mc[i] = -t.c[i];
    solve(t.A, 0.0, mc, xs);
    for (int i = 0; i < N; i++) assert_near(p[i], xs[i], 1e-4);
    assert_near(st.alpha, 1.0, 0.0);
    assert_true(st.loss1 < st.loss0);
    assert_near(st.rho, 1.0, 1e-3);   /* the model is exact */
    assert_int_equal(st.q_increases, 0);
    assert_int_equal(st.products, st.cg_iters);
    opt_hf_free(hf);
  }
}

/* NGHF's solve: d = −(G + λI)⁻¹(F + λ_F I)⁻¹g, read through a criterion that accepts any step. */
static void test_nghf_solution(void **state) {
  (void)state;
  Toy t = toy_make(2);
  t.probe = 1;
  float p[N], g[N];
  memcpy(p, t.theta0, sizeof p);
  toy_grad(&t, p, g);
  OptHfSettings s = exact(OPT_HF_NGHF);
  s.lambda0 = 0.3;
  s.lambda_f = 0.05;
  s.ls_c = 0.0;
  OptHf *hf = opt_hf_create(&s, N, NULL);
  OptHfProblem pb = problem(&t);
  OptHfStats st;
  opt_hf_update(hf, &pb, p, g, toy_loss_raw(&t, t.theta0), &st, NULL);
  assert_near(st.alpha, 1.0, 0.0);
  double gd[N], nat[N], d[N];
  for (int i = 0; i < N; i++) gd[i] = -(double)g[i];
  solve(t.F, 0.05, gd, nat);          /* −ñ */
  solve(t.A, 0.3, nat, d);            /* −(G+λ)⁻¹ñ */
  for (int i = 0; i < N; i++) assert_near(p[i] - t.theta0[i], d[i], 1e-4 * (1.0 + fabs(d[i])));
  assert_int_equal(st.products, st.ng_iters + st.cg_iters + 1);  /* + the q(d) product */
  assert_true(st.ng_iters > 0 && st.cg_iters > 0);
  opt_hf_free(hf);
}

/* The variant ρ of NGHF: the quadratic CG minimised (with ñ) is the model, no extra product. */
static void test_nghf_rho_solved(void **state) {
  (void)state;
  Toy t = toy_make(8);
  float p[N], g[N];
  memcpy(p, t.theta0, sizeof p);
  toy_grad(&t, p, g);
  OptHfSettings s = opt_hf_settings_default(OPT_HF_NGHF);
  s.backtrack = 0;
  s.nghf_rho_solved = 1;
  OptHf *hf = opt_hf_create(&s, N, NULL);
  OptHfProblem pb = problem(&t);
  OptHfStats st;
  opt_hf_update(hf, &pb, p, g, toy_loss_raw(&t, p), &st, NULL);
  assert_int_equal(st.products, st.ng_iters + st.cg_iters);
  assert_true(st.q < 0.0);   /* CG from zero always lowers its own quadratic */
  opt_hf_free(hf);
}

/* With F = G, NGHF's first GN-CG direction is −ñ = −G⁻¹g, Newton's direction: one GN-CG iteration
 * gives a step parallel to the Newton step. */
static void test_nghf_first_direction_is_newton(void **state) {
  (void)state;
  Toy t = toy_make(3);
  memcpy(t.F, t.A, sizeof t.A);
  t.probe = 1;
  float p[N], g[N];
  memcpy(p, t.theta0, sizeof p);
  toy_grad(&t, p, g);
  OptHfSettings s = exact(OPT_HF_NGHF);
  s.cg_iters = 1;
  s.ls_c = 0.0;
  OptHf *hf = opt_hf_create(&s, N, NULL);
  OptHfProblem pb = problem(&t);
  OptHfStats st;
  opt_hf_update(hf, &pb, p, g, toy_loss_raw(&t, t.theta0), &st, NULL);
  double newton[N], mg[N], dn = 0.0, nn = 0.0, dd = 0.0;
  for (int i = 0; i < N; i++) mg[i] = -(double)g[i];
  solve(t.A, 0.0, mg, newton);
  for (int i = 0; i < N; i++) {
    double di = p[i] - t.theta0[i];
    dn += di * newton[i];
    nn += newton[i] * newton[i];
    dd += di * di;
  }
  assert_true(dn / sqrt(nn * dd) > 0.99999);
  opt_hf_free(hf);
}

/* LM damping: an exact model (ρ ≈ 1) lowers λ; a model far too flat (the true curvature is 20×
 * the model's, so the step overshoots) gives ρ < ¼ and raises λ. */
static void test_lm_damping(void **state) {
  (void)state;
  for (int bad = 0; bad < 2; bad++) {
    Toy t = toy_make(4);
    t.model_scale = bad ? 0.05 : 1.0;
    float p[N], g[N];
    memcpy(p, t.theta0, sizeof p);
    toy_grad(&t, p, g);
    OptHfSettings s = opt_hf_settings_default(OPT_HF_GN);
    s.lambda0 = 0.1;
    s.precond = 0;
    s.backtrack = 0;
    OptHf *hf = opt_hf_create(&s, N, NULL);
    OptHfProblem pb = problem(&t);
    OptHfStats st;
    opt_hf_update(hf, &pb, p, g, toy_loss_raw(&t, p), &st, NULL);
    if (bad) {
      assert_true(st.rho < 0.25);
      assert_near(opt_hf_lambda(hf), 0.15, 1e-12);
      /* the line search still finds a decrease or takes no step */
      assert_true(st.loss1 <= st.loss0);
    } else {
      assert_true(st.rho > 0.75);
      assert_near(opt_hf_lambda(hf), 0.1 / 1.5, 1e-12);
      assert_near(st.alpha, 1.0, 0.0);
    }
    assert_near(st.lambda, opt_hf_lambda(hf), 0.0);
    opt_hf_free(hf);
  }
}

/* CG backtracking: a held-out criterion that penalises the step length walks back to an early
 * iterate (CG iterates from zero grow in norm); without the penalty the last iterate stays. */
static void test_backtracking(void **state) {
  (void)state;
  for (int pen = 0; pen < 2; pen++) {
    Toy t = toy_make(5);
    CoreRng rng;
    core_rng_stream(&rng, 55, CORE_RNG_TEST, 1);
    spd(t.A, 0.01, 50.0, &rng);   /* ill-conditioned: many iterations */
    t.held_penalty = pen ? 1e3 : 0.0;
    float p[N], g[N];
    memcpy(p, t.theta0, sizeof p);
    toy_grad(&t, p, g);
    OptHfSettings s = opt_hf_settings_default(OPT_HF_GN);
    s.lambda0 = 1e-4;
    s.precond = 0;
    s.progress_eps = 0.0;
    s.cg_iters = 3 * N;
    OptHf *hf = opt_hf_create(&s, N, NULL);
    OptHfProblem pb = problem(&t);
    OptHfStats st;
    opt_hf_update(hf, &pb, p, g, toy_loss_raw(&t, p), &st, NULL);
    assert_true(st.heldout_evals >= 1);
    assert_int_equal(st.heldout_evals, t.held_calls);
    if (pen) {
      assert_int_equal(st.chosen_iter, 1);
    } else {
      assert_int_equal(st.chosen_iter, st.cg_iters);
      assert_int_equal(st.heldout_evals, 2);   /* the last, and the one before that was worse */
    }
    assert_int_equal(st.loss_evals, t.loss_calls);
    opt_hf_free(hf);
  }
}

/* Several HF updates with every default (preconditioner, warm start, LM) on a non-quadratic
 * criterion converge and lower ℒ at every update; counters add up. */
static void test_hf_defaults_converge(void **state) {
  (void)state;
  for (int method = 0; method < OPT_HF_NMETHOD; method++) {
    Toy t = toy_make(6);
    t.kappa = 0.5;
    float p[N], g[N];
    memcpy(p, t.theta0, sizeof p);
    OptHfSettings s = opt_hf_settings_default(method);
    OptHf *hf = opt_hf_create(&s, N, NULL);
    OptHfProblem pb = problem(&t);
    double l = toy_loss_raw(&t, p), l_start = l;
    long prods = 0;
    toy_grad(&t, p, g);
    double g0 = 0.0;
    for (int i = 0; i < N; i++) g0 += (double)g[i] * g[i];
    for (int u = 0; u < 15; u++) {
      toy_grad(&t, p, g);
      OptHfStats st;
      assert_int_equal(opt_hf_update(hf, &pb, p, g, l, &st, NULL), 0);
      assert_true(st.loss1 <= st.loss0);
      assert_int_equal(st.q_increases, 0);
      prods += st.products;
      l = st.loss1;
      assert_near(l, toy_loss_raw(&t, p), 1e-9 * (1.0 + fabs(l)));
    }
    toy_grad(&t, p, g);
    double gn = 0.0;
    for (int i = 0; i < N; i++) gn += (double)g[i] * g[i];
    /* HF uses the true curvature (G = ∇²ℒ here up to the quartic term) and converges; NG and
     * NGHF bring in F, unrelated to ℒ in this toy, so they only make steady progress */
    double want = method == OPT_HF_GN ? 1e-2 : 0.1 * sqrt(g0);
    if (!(sqrt(gn) < want)) fail_msg("%s: |g| = %g after 15 updates (loss %g -> %g)",
                                     opt_hf_method_names[method], sqrt(gn), l_start, l);
    assert_int_equal(opt_hf_updates(hf), 15);
    assert_int_equal(opt_hf_products(hf), prods);
    opt_hf_free(hf);
  }
}

static void test_errors(void **state) {
  (void)state;
  CoreErr err;
  OptHfSettings s = opt_hf_settings_default(OPT_HF_GN);
  s.lambda0 = 0.0;
  assert_null(opt_hf_create(&s, N, &err));
  assert_contains(err.msg, "hf.lambda0");
  s = opt_hf_settings_default(7);
  assert_null(opt_hf_create(&s, N, &err));
  assert_contains(err.msg, "hf.method");
  s = opt_hf_settings_default(OPT_HF_NGHF);
  s.ng_iters = 0;
  assert_null(opt_hf_create(&s, N, &err));
  assert_contains(err.msg, "hf.ng_iters");
  s = opt_hf_settings_default(OPT_HF_GN);
  s.ls_shrink = 1.0;
  assert_null(opt_hf_create(&s, N, &err));
  opt_hf_free(NULL);
  /* a criterion that is not finite at the start: error, parameters untouched */
  s = opt_hf_settings_default(OPT_HF_GN);
  OptHf *hf = opt_hf_create(&s, N, NULL);
  Toy t = toy_make(7);
  OptHfProblem pb = problem(&t);
  float p[N], g[N], keep[N];
  memcpy(p, t.theta0, sizeof p);
  memcpy(keep, p, sizeof p);
  toy_grad(&t, p, g);
  assert_int_equal(opt_hf_update(hf, &pb, p, g, NAN, NULL, &err), CORE_ERR_RUNTIME);
  assert_memory_equal(p, keep, sizeof p);
  /* no allocation inside an update */
  long live = core_alloc_live();
  core_alloc_fail_after(1);
  opt_hf_update(hf, &pb, p, g, toy_loss_raw(&t, p), NULL, NULL);
  core_alloc_fail_after(0);
  assert_int_equal(core_alloc_live(), live);
  opt_hf_free(hf);
  for (long k = 1; k <= 8; k++) {
    long l0 = core_alloc_live();
    core_alloc_fail_after(k);
    hf = opt_hf_create(&s, N, &err);
    core_alloc_fail_after(0);
    if (!hf) assert_int_equal(err.code, CORE_ERR_NOMEM);
    opt_hf_free(hf);
    assert_int_equal(core_alloc_live(), l0);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hf_newton_on_quadratic),
      cmocka_unit_test(test_nghf_solution),
      cmocka_unit_test(test_nghf_first_direction_is_newton),
      cmocka_unit_test(test_nghf_rho_solved),
      cmocka_unit_test(test_lm_damping),
      cmocka_unit_test(test_backtracking),
      cmocka_unit_test(test_hf_defaults_converge),
      cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
