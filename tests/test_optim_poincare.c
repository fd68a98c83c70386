/* test_optim_poincare.c — the Poincaré ball (optim/poincare.h) and the Riemannian optimizers
 * over products of balls (optim/ropt.h): geometry identities, the N&K distance gradient against
 * finite differences, the update rules against hand-written references (RSGD = N&K's retraction
 * update; RADAM on ℝⁿ = Adam with one v per row, and = optim/opt.h Adam at dim 1), lazy sparse
 * state, convergence on a geodesically convex objective, and state through a checkpoint.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>

#include "test_util.h"
#include "core/alloc.h"
#include "core/ckpt.h"
#include "core/rng.h"
#include "optim/opt.h"
#include "optim/poincare.h"
#include "optim/ropt.h"

#define D 5
#define NPAIRS 300

/* A random point of the ball with norm up to r. */
static void rand_point(CoreRng *rng, double *x, int d, double r) {
  double n = 0.0;
  for (int i = 0; i < d; i++) {
    x[i] = core_rng_normal(rng);
    n += x[i] * x[i];
  }
  double s = r * core_rng_uniform(rng) / sqrt(n);
  for (int i = 0; i < d; i++) x[i] *= s;
}

static void rand_vec(CoreRng *rng, double *u, int d, double scale) {
  for (int i = 0; i < d; i++) u[i] = scale * core_rng_normal(rng);
}

static double norm2(const double *x, int d) { return sqrt(poincare_dot(x, x, d)); }

/* ---------------------------------------------------------------- geometry */

static void test_exp_at_zero_and_identities(void **state) {
  (void)state;
  CoreRng rng;
  core_rng_stream(&rng, 1, CORE_RNG_TEST, 0);
  double x[D], y[D], z[D], zero[D] = {0};
  for (int k = 0; k < NPAIRS; k++) {
    rand_point(&rng, x, D, 0.99);
    rand_point(&rng, y, D, 0.99);
    /* exp_x(0) = x exactly */
    poincare_expmap(z, x, zero, D);
    for (int i = 0; i < D; i++) assert_true(z[i] == x[i]);
    /* x ⊕ 0 = x, 0 ⊕ x = x, (−x) ⊕ x = 0 */
    poincare_mobius_add(z, x, zero, D);
    for (int i = 0; i < D; i++) assert_near(z[i], x[i], 1e-15);
    poincare_mobius_add(z, zero, x, D);
    for (int i = 0; i < D; i++) assert_near(z[i], x[i], 1e-15);
    double mx[D];
    for (int i = 0; i < D; i++) mx[i] = -x[i];
    poincare_mobius_add(z, mx, x, D);
    assert_near(norm2(z, D), 0.0, 1e-12);
    /* d(x, y) = 2 artanh ‖(−x) ⊕ y‖, symmetric, and d(x, x) = 0 */
    poincare_mobius_add(z, mx, y, D);
    double dxy = poincare_dist(x, y, D);
    assert_near(dxy, 2.0 * atanh(norm2(z, D)), 1e-9 * fmax(1.0, dxy));
    assert_near(dxy, poincare_dist(y, x, D), 1e-12 * fmax(1.0, dxy));
    assert_true(poincare_dist(x, x, D) == 0.0);
    /* λ at the origin is 2 */
    assert_near(poincare_lambda(zero, D), 2.0, 0.0);
  }
}

static void test_dist_of_exp_step(void **state) {
  (void)state;
  CoreRng rng;
  core_rng_stream(&rng, 2, CORE_RNG_TEST, 0);
  double x[D], u[D], z[D], back[D];
  static const double targets[] = {1e-6, 1e-3, 0.1, 1.0, 3.0};
  for (int k = 0; k < NPAIRS; k++) {
    rand_point(&rng, x, D, 0.95);
    for (size_t j = 0; j < sizeof targets / sizeof targets[0]; j++) {
      rand_vec(&rng, u, D, 1.0);
      double s = targets[j] / poincare_norm(x, u, D);
      for (int i = 0; i < D; i++) u[i] *= s;
      poincare_expmap(z, x, u, D);
      assert_true(norm2(z, D) < 1.0);
      /* the geodesic from x along u has length ‖u‖_x */
      assert_near(poincare_dist(x, z, D), targets[j], 1e-9 * targets[j]);
      /* log_x inverts exp_x */
      if (targets[j] <= 1.0) {
        poincare_logmap(back, x, z, D);
        for (int i = 0; i < D; i++) assert_near(back[i], u[i], 1e-8 * fmax(1e-3, norm2(u, D)));
      }
    }
  }
}

static void test_transport_preserves_norm(void **state) {
  (void)state;
  CoreRng rng;
  core_rng_stream(&rng, 3, CORE_RNG_TEST, 0);
  double x[D], y[D], v[D], w[D], pv[D], pw[D], back[D];
  for (int k = 0; k < NPAIRS; k++) {
    rand_point(&rng, x, D, 0.98);
    rand_point(&rng, y, D, 0.98);
    rand_vec(&rng, v, D, 1.0);
    rand_vec(&rng, w, D, 1.0);
    double s = 1.0 / poincare_norm(x, v, D);
    for (int i = 0; i < D; i++) v[i] *= s;
    poincare_transport(pv, x, y, v, D);
    poincare_transport(pw, x, y, w, D);
    /* ‖P v‖_y = ‖v‖_x (= 1) to 1e-10, and the metric inner product is kept too */
    assert_near(poincare_norm(y, pv, D), 1.0, 1e-10);
    double lx = poincare_lambda(x, D), ly = poincare_lambda(y, D);
    assert_near(ly * ly * poincare_dot(pv, pw, D), lx * lx * poincare_dot(v, w, D),
                1e-9 * fmax(1.0, lx * lx * norm2(w, D)));
    /* transporting back returns the vector */
    poincare_transport(back, y, x, pv, D);
    for (int i = 0; i < D; i++) assert_near(back[i], v[i], 1e-9 * fmax(1.0, norm2(v, D)));
    /* transport to the same point is the identity */
    poincare_transport(back, x, x, v, D);
    for (int i = 0; i < D; i++) assert_near(back[i], v[i], 1e-14 * fmax(1.0, norm2(v, D)));
    /* gyrations keep Euclidean norms */
    poincare_gyration(back, x, y, v, D);
    assert_near(norm2(back, D), norm2(v, D), 1e-12 * norm2(v, D));
  }
}

static void test_dist_grad_matches_fd(void **state) {
  (void)state;
  CoreRng rng;
  core_rng_stream(&rng, 4, CORE_RNG_TEST, 0);
  double u[D], v[D], g[D], up[D], um[D];
  for (int k = 0; k < NPAIRS; k++) {
    rand_point(&rng, u, D, 0.9);
    rand_point(&rng, v, D, 0.9);
    poincare_dist_grad(g, u, v, D);
    for (int i = 0; i < D; i++) {
      const double h = 1e-6;
      memcpy(up, u, sizeof u);
      memcpy(um, u, sizeof u);
      up[i] += h;
      um[i] -= h;
      double fd = (poincare_dist(up, v, D) - poincare_dist(um, v, D)) / (2.0 * h);
      assert_near(g[i], fd, 1e-6 * fmax(1.0, fabs(fd)));
    }
  }
  /* close points: the gradient keeps its limit instead of cancelling to noise */
  rand_point(&rng, u, D, 0.5);
  for (int i = 0; i < D; i++) v[i] = u[i] + (i == 0 ? 1e-9 : 0.0);
  poincare_dist_grad(g, u, v, D);
  /* |∇_E d| = λ_u near v (d ≈ λ_u ‖u − v‖) */
  assert_near(norm2(g, D), poincare_lambda(u, D), 1e-5 * poincare_lambda(u, D));
  /* u == v: zero, not NaN */
  poincare_dist_grad(g, u, u, D);
  for (int i = 0; i < D; i++) assert_true(g[i] == 0.0);
}

static void test_project_and_retract(void **state) {
  (void)state;
  double x[D] = {3, 4, 0, 0, 0}, z[D];
  poincare_project(x, D, 1e-5);
  assert_near(norm2(x, D), 1.0 - 1e-5, 1e-15);
  assert_near(x[0] / x[1], 0.75, 1e-15);
  double in[D] = {0.1, -0.2, 0.3, 0, 0}, keep[D];
  memcpy(keep, in, sizeof in);
  poincare_project(in, D, 1e-5);
  for (int i = 0; i < D; i++) assert_true(in[i] == keep[i]);
  double u[D] = {0.01, 0.02, -0.03, 0.04, 0.0};
  poincare_retract(z, in, u, D, 1e-5);
  for (int i = 0; i < D; i++) assert_near(z[i], in[i] + u[i], 1e-16);
  double big[D] = {5, 0, 0, 0, 0};
  poincare_retract(z, in, big, D, 4e-3);
  assert_near(norm2(z, D), 1.0 - 4e-3, 1e-15);
}

/* ---------------------------------------------------------------- optimizers */

static Ropt *make(int kind, int manifold, int update, double lr, int rows, int dim) {
  RoptSettings s = ropt_settings_default(kind);
  s.manifold = manifold;
  s.update = update;
  s.lr = lr;
  CoreErr err;
  Ropt *o = ropt_create(&s, rows, dim, &err);
  if (!o) fail_msg("ropt_create: %s", err.msg);
  return o;
}

static void test_settings_errors(void **state) {
  (void)state;
  CoreErr err;
  RoptSettings s = ropt_settings_default(ROPT_RADAM);
  assert_int_equal(ropt_settings_check(&s, &err), 0);
  s.beta2 = 1.0;
  assert_int_equal(ropt_settings_check(&s, &err), CORE_ERR_INVALID);
  assert_contains(err.msg, "ropt.beta2");
  s = ropt_settings_default(ROPT_RSGD);
  s.lr = NAN;
  assert_null(ropt_create(&s, 3, 2, &err));
  assert_contains(err.msg, "ropt.lr");
  s = ropt_settings_default(ROPT_RSGD);
  s.proj_eps = 0.0;
  assert_int_equal(ropt_settings_check(&s, &err), CORE_ERR_INVALID);
  assert_contains(err.msg, "ropt.proj_eps");
  s = ropt_settings_default(7);
  assert_int_equal(ropt_settings_check(&s, &err), CORE_ERR_INVALID);
  assert_contains(err.msg, "ropt.kind");
  s = ropt_settings_default(ROPT_RSGD);
  assert_null(ropt_create(&s, 0, 2, &err));
  assert_contains(err.msg, "rows >= 1");
  assert_int_equal(ropt_kind_from_name("ramsgrad"), ROPT_RAMSGRAD);
  assert_int_equal(ropt_kind_from_name("adam"), -1);
  ropt_free(NULL);
}

/* RSGD with the retraction is N&K's θ ← proj(θ − lr (1 − ‖θ‖²)²/4 ∇); with the exp map it is
 * exp_θ(−lr ∇/λ²). */
static void test_rsgd_matches_nk_update(void **state) {
  (void)state;
  enum { R = 4 };
  CoreRng rng;
  core_rng_stream(&rng, 5, CORE_RNG_TEST, 0);
  float p[R * D], q[R * D], g[R * D];
  for (int i = 0; i < R * D; i++) {
    p[i] = q[i] = (float)(0.35 * core_rng_normal(&rng) / sqrt(D));
    g[i] = (float)core_rng_normal(&rng);
  }
  g[0] = 50.0f;  /* a big step that the projection must catch */
  Ropt *ret = make(ROPT_RSGD, ROPT_BALL, ROPT_RETRACTION, 0.7, R, D);
  Ropt *ex = make(ROPT_RSGD, ROPT_BALL, ROPT_EXPMAP, 0.7, R, D);
  float p0[R * D];
  memcpy(p0, p, sizeof p);
  ropt_step(ret, p, g);
  ropt_step(ex, q, g);
  for (int r = 0; r < R; r++) {
    double x[D], u[D], want[D];
    for (int i = 0; i < D; i++) x[i] = p0[r * D + i];
    double a = 1.0 - poincare_dot(x, x, D);
    for (int i = 0; i < D; i++) {
      u[i] = -0.7 * a * a / 4.0 * g[r * D + i];
      want[i] = x[i] + u[i];
    }
    poincare_project(want, D, POINCARE_PROJ_EPS);
    for (int i = 0; i < D; i++) assert_near(p[r * D + i], want[i], 1e-6);
    poincare_expmap(want, x, u, D);
    poincare_project(want, D, POINCARE_PROJ_EPS);
    for (int i = 0; i < D; i++) assert_near(q[r * D + i], want[i], 1e-6);
    double n = 0.0;
    for (int i = 0; i < D; i++) n += (double)p[r * D + i] * p[r * D + i];
    assert_true(sqrt(n) <= 1.0 - POINCARE_PROJ_EPS + 1e-6);
  }
  assert_int_equal(ret->row_t[0], 1);
  ropt_free(ret);
  ropt_free(ex);
}

static void test_grad(const float *p, float *g, int n) {
  for (int i = 0; i < n; i++)
    g[i] = (float)((0.5 + 0.1 * (i % 7)) * (p[i] - sin(0.3 * i)) + 0.2 * cos(p[i]));
}

/* With λ ≡ 1 RADAM is Adam with one v per row: at dim 1 that is torch's Adam (optim/opt.h). */
static void test_radam_euclid_is_adam(void **state) {
  (void)state;
  enum { N = 24, STEPS = 80 };
  for (int ams = 0; ams < 2; ams++) {
    Ropt *ro = make(ams ? ROPT_RAMSGRAD : ROPT_RADAM, ROPT_EUCLID, ROPT_EXPMAP, 0.03, N, 1);
    OptSettings os = opt_settings_default(ams ? OPT_AMSGRAD : OPT_ADAM);
    os.lr = 0.03;
    CoreErr err;
    Opt *ad = opt_create(&os, N, &err);
    assert_non_null(ad);
    float p[N], q[N], g[N];
    for (int i = 0; i < N; i++) p[i] = q[i] = (float)(0.8 * cos(1.3 * i));
    for (int t = 0; t < STEPS; t++) {
      test_grad(p, g, N);
      ropt_step(ro, p, g);
      test_grad(q, g, N);
      opt_step(ad, q, g);
    }
    for (int i = 0; i < N; i++) assert_near(p[i], q[i], 2e-6);
    ropt_free(ro);
    opt_free(ad);
  }

  /* dim 5: one scalar v per row (a double reference) */
  enum { R = 6, ND = R * D };
  Ropt *ro = make(ROPT_RADAM, ROPT_EUCLID, ROPT_EXPMAP, 0.05, R, D);
  float p[ND], g[ND];
  double ref[ND], m[ND] = {0}, v[R] = {0};
  for (int i = 0; i < ND; i++) ref[i] = p[i] = (float)(0.8 * cos(1.3 * i));
  for (int t = 1; t <= STEPS; t++) {
    test_grad(p, g, ND);
    ropt_step(ro, p, g);
    float rf[ND];
    for (int i = 0; i < ND; i++) rf[i] = (float)ref[i];
    test_grad(rf, g, ND);
    for (int r = 0; r < R; r++) {
      double gg = 0.0;
      for (int i = 0; i < D; i++) gg += (double)g[r * D + i] * g[r * D + i];
      v[r] = 0.999 * v[r] + 0.001 * gg;
      double den = sqrt(v[r] / (1.0 - pow(0.999, t))) + 1e-8;
      for (int i = 0; i < D; i++) {
        m[r * D + i] = 0.9 * m[r * D + i] + 0.1 * g[r * D + i];
        ref[r * D + i] -= 0.05 / (1.0 - pow(0.9, t)) * m[r * D + i] / den;
      }
    }
  }
  for (int i = 0; i < ND; i++) assert_near(p[i], ref[i], 1e-5);
  ropt_free(ro);
}

/* RADAM on the ball, two steps by hand: the squared Riemannian norm λ²‖g‖² feeds v, the
 * momentum is transported from x0 to x1 before the second step. */
static void test_radam_ball_by_hand(void **state) {
  (void)state;
  const double lr = 0.05, b1 = 0.9, b2 = 0.999, eps = 1e-8;
  double x0[D] = {0.3, -0.2, 0.1, 0.25, -0.4}, e0[D] = {1.0, 0.5, -2.0, 0.3, 0.7},
         e1[D] = {-0.4, 1.5, 0.2, -1.0, 0.6};
  Ropt *o = make(ROPT_RADAM, ROPT_BALL, ROPT_EXPMAP, lr, 1, D);
  float p[D], g[D];
  for (int i = 0; i < D; i++) {
    p[i] = (float)x0[i];
    x0[i] = p[i];   /* the reference starts from the same float point */
    g[i] = (float)e0[i];
  }
  ropt_step(o, p, g);
  for (int i = 0; i < D; i++) g[i] = (float)e1[i];
  ropt_step(o, p, g);

  double gr[D], m[D], u[D], x1[D], x2[D], mt[D];
  for (int i = 0; i < D; i++) gr[i] = (float)e0[i];
  poincare_egrad2rgrad(gr, x0, D);
  double l0 = poincare_lambda(x0, D);
  double v = (1 - b2) * l0 * l0 * poincare_dot(gr, gr, D);
  for (int i = 0; i < D; i++) {
    m[i] = (1 - b1) * gr[i];
    u[i] = -lr / (1 - b1) * m[i] / (sqrt(v / (1 - b2)) + eps);
  }
  poincare_expmap(x1, x0, u, D);
  for (int i = 0; i < D; i++) x1[i] = (float)x1[i];   /* stored as float between steps */
  poincare_transport(mt, x0, x1, m, D);
  for (int i = 0; i < D; i++) gr[i] = (float)e1[i];
  poincare_egrad2rgrad(gr, x1, D);
  double l1 = poincare_lambda(x1, D);
  v = b2 * v + (1 - b2) * l1 * l1 * poincare_dot(gr, gr, D);
  for (int i = 0; i < D; i++) {
    m[i] = b1 * mt[i] + (1 - b1) * gr[i];
    u[i] = -lr / (1 - b1 * b1) * m[i] / (sqrt(v / (1 - b2 * b2)) + eps);
  }
  poincare_expmap(x2, x1, u, D);
  for (int i = 0; i < D; i++) assert_near(p[i], x2[i], 2e-6);
  /* the stored momentum is the transported m, not the raw one */
  double m2[D];
  poincare_transport(m2, x1, x2, m, D);
  for (int i = 0; i < D; i++) assert_near(o->m[i], m2[i], 1e-6 * fmax(1.0, fabs(m2[i])));
  assert_near(o->v[0], v, 1e-6 * v);
  ropt_free(o);
}

/* f(x) = Σ_rows d(x_r, c_r)²: geodesically convex; every adaptive kind and RSGD reach c. */
static void test_converges_on_ball(void **state) {
  (void)state;
  enum { R = 5, STEPS = 3000 };
  CoreRng rng;
  core_rng_stream(&rng, 6, CORE_RNG_TEST, 0);
  double c[R * D];
  for (int r = 0; r < R; r++) rand_point(&rng, c + r * D, D, 0.9);
  for (int kind = 0; kind < ROPT_NKIND; kind++) {
    for (int upd = 0; upd < ROPT_NUPDATE; upd++) {
      double lr = kind == ROPT_RSGD ? 0.1 : kind == ROPT_RADAGRAD ? 0.5 : 0.02;
      Ropt *o = make(kind, ROPT_BALL, upd, lr, R, D);
      float p[R * D], g[R * D];
      for (int i = 0; i < R * D; i++) p[i] = 0.0f;
      double d0 = 0.0, d1 = 0.0;
      for (int t = 0; t <= STEPS; t++) {
        double tot = 0.0;
        for (int r = 0; r < R; r++) {
          double x[D], gd[D];
          for (int i = 0; i < D; i++) x[i] = p[r * D + i];
          double dist = poincare_dist(x, c + r * D, D);
          tot += dist;
          poincare_dist_grad(gd, x, c + r * D, D);
          for (int i = 0; i < D; i++) g[r * D + i] = (float)(2.0 * dist * gd[i]);
        }
        if (t == 0) d0 = tot;
        d1 = tot;
        if (t < STEPS) ropt_step(o, p, g);
      }
      if (!(d1 < 0.02 * d0))
        fail_msg("%s/%s: summed distance %g -> %g", ropt_kind_names[kind], ropt_update_names[upd],
                 d0, d1);
      ropt_free(o);
    }
  }
}

/* A sparse step moves and counts only the listed rows; AMSGrad's vmax never falls. */
static void test_sparse_rows_and_vmax(void **state) {
  (void)state;
  enum { R = 4 };
  Ropt *o = make(ROPT_RAMSGRAD, ROPT_BALL, ROPT_EXPMAP, 0.05, R, D);
  float p[R * D], g[R * D], before[R * D];
  for (int i = 0; i < R * D; i++) {
    p[i] = (float)(0.1 * sin(i + 1.0));
    g[i] = (float)(1.0 + 0.5 * cos(3.0 * i));
  }
  memcpy(before, p, sizeof p);
  int rows[2] = {3, 1};
  float vmax_prev[R] = {0};
  for (int t = 0; t < 20; t++) {
    for (int i = 0; i < R * D; i++) g[i] = (float)((t % 3 == 0 ? 4.0 : 0.2) * cos(i + t));
    ropt_step_rows(o, p, g, rows, 2);
    for (int r = 0; r < R; r++) {
      assert_true(o->vmax[r] >= vmax_prev[r]);
      assert_true(o->vmax[r] >= o->v[r]);
      vmax_prev[r] = o->vmax[r];
    }
  }
  assert_int_equal(o->t, 20);
  assert_int_equal(o->row_t[1], 20);
  assert_int_equal(o->row_t[3], 20);
  assert_int_equal(o->row_t[0], 0);
  assert_int_equal(o->row_t[2], 0);
  for (int i = 0; i < D; i++) {
    assert_true(p[0 * D + i] == before[0 * D + i]);
    assert_true(p[2 * D + i] == before[2 * D + i]);
    assert_true(p[1 * D + i] != before[1 * D + i]);
    assert_true(o->m[0 * D + i] == 0.0f);
  }
  ropt_reset(o);
  assert_int_equal(o->t, 0);
  assert_int_equal(o->row_t[1], 0);
  assert_true(o->v[1] == 0.0f && o->vmax[1] == 0.0f && o->m[D] == 0.0f);
  ropt_free(o);
}

static CoreCkpt *round_trip(const Ropt *o, const char *prefix) {
  CoreErr err;
  CoreCkptWriter *w = core_ckpt_writer_create();
  assert_non_null(w);
  if (ropt_save(o, w, prefix, &err) < 0) fail_msg("ropt_save: %s", err.msg);
  void *buf = NULL;
  size_t size = 0;
  if (core_ckpt_write_buffer(w, &buf, &size, &err) < 0) fail_msg("write: %s", err.msg);
  core_ckpt_writer_free(w);
  CoreCkpt *c = core_ckpt_load_buffer(buf, size, "mem.ckpt", &err);
  core_free(buf);
  if (!c) fail_msg("load: %s", err.msg);
  return c;
}

/* Save mid-run, load into a fresh optimizer, continue: bit-identical to the uninterrupted run. */
static void test_state_round_trip(void **state) {
  (void)state;
  enum { R = 7, N = R * D };
  for (int kind = 0; kind < ROPT_NKIND; kind++) {
    float a[N], b[N], g[N];
    for (int i = 0; i < N; i++) a[i] = (float)(0.3 * sin(0.7 * i));
    Ropt *o1 = make(kind, ROPT_BALL, ROPT_EXPMAP, 0.02, R, D);
    int rows[3] = {0, 4, 6};
    for (int t = 0; t < 15; t++) {
      test_grad(a, g, N);
      if (t % 2) ropt_step(o1, a, g);
      else ropt_step_rows(o1, a, g, rows, 3);
    }
    memcpy(b, a, sizeof a);
    CoreCkpt *c = round_trip(o1, "emb.opt");
    Ropt *o2 = make(kind, ROPT_BALL, ROPT_EXPMAP, 0.02, R, D);
    CoreErr err;
    if (ropt_load(o2, c, "emb.opt", &err) < 0) fail_msg("ropt_load: %s", err.msg);
    assert_int_equal(o2->t, o1->t);
    for (int t = 0; t < 10; t++) {
      test_grad(a, g, N);
      ropt_step(o1, a, g);
      test_grad(b, g, N);
      ropt_step(o2, b, g);
    }
    assert_memory_equal(a, b, sizeof a);

    /* another kind, another shape, a missing prefix: errors, o2 unchanged */
    Ropt *other = make(kind == ROPT_RSGD ? ROPT_RADAM : ROPT_RSGD, ROPT_BALL, ROPT_EXPMAP, 0.02,
                       R, D);
    assert_int_equal(ropt_load(other, c, "emb.opt", &err), CORE_ERR_INVALID);
    assert_contains(err.msg, "emb.opt.kind");
    Ropt *wide = make(kind, ROPT_BALL, ROPT_EXPMAP, 0.02, R, D + 1);
    assert_int_equal(ropt_load(wide, c, "emb.opt", &err), CORE_ERR_INVALID);
    assert_contains(err.msg, "was the embedding resized");
    int64_t t_before = o2->t;
    assert_int_equal(ropt_load(o2, c, "nope", &err), CORE_ERR_CORRUPT);
    assert_contains(err.msg, "mem.ckpt");
    assert_int_equal(o2->t, t_before);
    ropt_free(other);
    ropt_free(wide);
    core_ckpt_free(c);
    ropt_free(o1);
    ropt_free(o2);
  }
}

/* Failing any allocation of ropt_create is a clean CORE_ERR_NOMEM without leaks. */
static void test_create_out_of_memory(void **state) {
  (void)state;
  long live = core_alloc_live();
  for (int kind = 0; kind < ROPT_NKIND; kind++) {
    RoptSettings s = ropt_settings_default(kind);
    for (long k = 1;; k++) {
      CoreErr err;
      core_alloc_fail_after(k);
      Ropt *o = ropt_create(&s, 9, 4, &err);
      core_alloc_fail_after(0);
      if (o) {
        ropt_free(o);
        assert_true(k > 3);
        break;
      }
      assert_int_equal(err.code, CORE_ERR_NOMEM);
      assert_contains(err.msg, "out of memory");
    }
    assert_int_equal(core_alloc_live(), live);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_exp_at_zero_and_identities),
      cmocka_unit_test(test_dist_of_exp_step),
      cmocka_unit_test(test_transport_preserves_norm),
      cmocka_unit_test(test_dist_grad_matches_fd),
      cmocka_unit_test(test_project_and_retract),
      cmocka_unit_test(test_settings_errors),
      cmocka_unit_test(test_rsgd_matches_nk_update),
      cmocka_unit_test(test_radam_euclid_is_adam),
      cmocka_unit_test(test_radam_ball_by_hand),
      cmocka_unit_test(test_converges_on_ball),
      cmocka_unit_test(test_sparse_rows_and_vmax),
      cmocka_unit_test(test_state_round_trip),
      cmocka_unit_test(test_create_out_of_memory),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
