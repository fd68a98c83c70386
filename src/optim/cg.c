/* cg.c — preconditioned linear CG with Martens' stop and saved iterates.
 *
 * With r = −b − (A+λI)x the residual and M the diagonal preconditioner:
 *   z = M⁻¹r, p = z;  repeat: α = rᵀz / pᵀ(A+λI)p, x += αp, r −= α(A+λI)p,
 *   z = M⁻¹r, β = r_newᵀz_new / r_oldᵀz_old, p = z + βp.
 * q(x) = bᵀx + ½xᵀ(A+λI)x = ½·xᵀ(b − r), from vectors already at hand (no extra product).
 */
#include "optim/cg.h"

#include <math.h>
#include <string.h>

#include "core/alloc.h"

const char *const opt_cg_stop_names[] = {"max_iter", "progress", "converged", "neg_curvature"};

struct OptCg {
  size_t n;
  int max_iter;
  int max_saved;
  float *r, *z, *p, *ap;   /* (n) each */
  float *saved;            /* (max_saved, n) */
  int *saved_iter;         /* (max_saved) */
  double *saved_q;         /* (max_saved) */
  int n_saved;
  double *q_hist;          /* (max_iter + 1) */
  int iters;
};


static double dotd(const float *a, const float *b, size_t n) {
  double s = 0.0;
  for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
  return s;
}


void opt_cg_free(OptCg *cg) {
  if (!cg) return;
  core_free(cg->r);
  core_free(cg->saved);
  core_free(cg->saved_iter);
  core_free(cg->saved_q);
  core_free(cg->q_hist);
  core_free(cg);
}


/* Iterations ⌈γ^j⌉ (distinct) up to max_iter, plus the final one: the slots Martens' schedule
 * needs; with γ = 0 only the final one. */
static int slots_needed(int max_iter, double gamma) {
  if (!(gamma > 1.0)) return 1;
  int count = 0, last = 0;
  for (double v = 1.0; v <= (double)max_iter; v *= gamma) {
    int it = (int)ceil(v - 1e-9);
    if (it != last && it <= max_iter) count++, last = it;
  }
  return count + 1;
}


OptCg *opt_cg_create(size_t n, int max_iter, CoreErr *err) {
  if (n < 1 || max_iter < 1 || max_iter > 100000) {
    core_err_set(err, CORE_ERR_INVALID, "cg: vector length %zu and max_iter %d must be >= 1 "
                 "(max_iter <= 100000)", n, max_iter);
    return NULL;
  }
  OptCg *cg = core_calloc(1, sizeof *cg);
  if (!cg) goto nomem;
  cg->n = n;
  cg->max_iter = max_iter;
  /* room for Martens' γ = 1.3 schedule; a denser schedule keeps the newest in the last slot */
  cg->max_saved = slots_needed(max_iter, 1.3);
  size_t nsz;
  if (core_mul_size(&nsz, n, 4 * sizeof(float)) < 0) goto nomem;
  cg->r = core_malloc(nsz);
  cg->saved = core_calloc((size_t)cg->max_saved, n * sizeof(float));
  cg->saved_iter = core_calloc((size_t)cg->max_saved, sizeof(int));
  cg->saved_q = core_calloc((size_t)cg->max_saved, sizeof(double));
  cg->q_hist = core_calloc((size_t)max_iter + 1, sizeof(double));
  if (!cg->r || !cg->saved || !cg->saved_iter || !cg->saved_q || !cg->q_hist) goto nomem;
  cg->z = cg->r + n;
  cg->p = cg->z + n;
  cg->ap = cg->p + n;
  return cg;

nomem:
  opt_cg_free(cg);
  core_err_set(err, CORE_ERR_NOMEM, "cg: out of memory (n %zu, max_iter %d)", n, max_iter);
  return NULL;
}


OptCgSettings opt_cg_settings_default(int max_iter) {
  OptCgSettings s = {
      .max_iter = max_iter,
      .min_iter = 1,
      .damping = 0.0,
      .progress_eps = 5e-4,
      .precond = NULL,
      .save_gamma = 1.3,
  };
  return s;
}


/* out = (A + λI)·v */
static void apply_damped(const OptLinOp *A, double lambda, const float *v, float *out, size_t n) {
  A->apply(A->user, v, out);
  if (lambda != 0.0) {
    float l = (float)lambda;
    for (size_t i = 0; i < n; i++) out[i] += l * v[i];
  }
}


static void precondition(const float *M, const float *r, float *z, size_t n) {
  if (M)
    for (size_t i = 0; i < n; i++) z[i] = r[i] / M[i];
  else
    memcpy(z, r, n * sizeof(float));
}


static void save_iterate(OptCg *cg, const float *x, int iter, double q) {
  int k = cg->n_saved < cg->max_saved ? cg->n_saved++ : cg->max_saved - 1;
  memcpy(cg->saved + (size_t)k * cg->n, x, cg->n * sizeof(float));
  cg->saved_iter[k] = iter;
  cg->saved_q[k] = q;
}


OptCgResult opt_cg_solve(OptCg *cg, const OptLinOp *A, const float *b, float *x,
                         const OptCgSettings *s) {
  CORE_ASSERT(s->max_iter >= 1 && s->max_iter <= cg->max_iter);
  CORE_ASSERT(s->damping >= 0.0);
  size_t n = cg->n;
  float *r = cg->r, *z = cg->z, *p = cg->p, *ap = cg->ap;
  OptCgResult res = {0, OPT_CG_MAX_ITER, 0.0, 0.0, 0, 0.0};
  cg->n_saved = 0;

  /* r = −b − (A+λI)x, skipping the product for a zero start */
  int zero_start = 1;
  for (size_t i = 0; i < n && zero_start; i++) zero_start = x[i] == 0.0f;
  if (zero_start) {
    for (size_t i = 0; i < n; i++) r[i] = -b[i];
  } else {
    apply_damped(A, s->damping, x, ap, n);
    for (size_t i = 0; i < n; i++) r[i] = -b[i] - ap[i];
  }
  double q = 0.0;
  if (!zero_start) {
    double xb = 0.0, xr = 0.0;
    for (size_t i = 0; i < n; i++) xb += (double)x[i] * b[i], xr += (double)x[i] * r[i];
    q = 0.5 * (xb - xr);
  }
  cg->q_hist[0] = res.q0 = q;
  precondition(s->precond, r, z, n);
  memcpy(p, z, n * sizeof(float));
  double rz = dotd(r, z, n), rr = dotd(r, r, n), bb = dotd(b, b, n);

  double next_save = 1.0;   /* ⌈γ^j⌉ schedule */
  int i = 0;
  while (i < s->max_iter) {
    /* converged to float resolution: ‖r‖ below 1e-6·‖b‖ (further iterations would only stir
     * rounding noise) */
    if (!(rr > 1e-12 * bb) || rz == 0.0) {
      res.stop = OPT_CG_CONVERGED;
      break;
    }
    apply_damped(A, s->damping, p, ap, n);
    double pap = dotd(p, ap, n);
    if (!(pap > 0.0)) {
      res.stop = OPT_CG_NEG_CURVATURE;
      break;
    }
    double alpha = rz / pap;
    float af = (float)alpha;
    for (size_t k = 0; k < n; k++) {
      x[k] += af * p[k];
      r[k] -= af * ap[k];
    }
    i++;
    double xb = 0.0, xr = 0.0;
    for (size_t k = 0; k < n; k++) xb += (double)x[k] * b[k], xr += (double)x[k] * r[k];
    double qn = 0.5 * (xb - xr);
    if (qn > q) {
      double rise = (qn - q) / fmax(fabs(q), 1e-300);
      if (rise > OPT_CG_Q_ROUNDING) res.q_increases++;
      if (rise > res.worst_increase) res.worst_increase = rise;
    }
    q = qn;
    cg->q_hist[i] = q;

    /* Martens' relative-progress stop */
    int stop = 0;
    if (s->progress_eps > 0.0 && i >= s->min_iter) {
      int k = (int)ceil(0.1 * i);
      if (k < 10) k = 10;
      if (i > k && q < 0.0 && (q - cg->q_hist[i - k]) / q < k * s->progress_eps) stop = 1;
    }
    int last = stop || i == s->max_iter;
    if (s->save_gamma > 1.0 && i >= (int)ceil(next_save - 1e-9)) {
      while ((int)ceil(next_save - 1e-9) <= i) next_save *= s->save_gamma;
      if (!last) save_iterate(cg, x, i, q);
    }
    if (stop) {
      res.stop = OPT_CG_PROGRESS;
      break;
    }
    if (i == s->max_iter) break;

    precondition(s->precond, r, z, n);
    double rz_new = dotd(r, z, n);
    rr = dotd(r, r, n);
    float beta = (float)(rz_new / rz);
    rz = rz_new;
    for (size_t k = 0; k < n; k++) p[k] = z[k] + beta * p[k];
  }
  save_iterate(cg, x, i, q);   /* the final iterate, always */
  res.iters = i;
  res.q = q;
  cg->iters = i;
  return res;
}


double opt_cg_q(const OptCg *cg, int i) {
  CORE_ASSERT(i >= 0 && i <= cg->iters);
  return cg->q_hist[i];
}


int opt_cg_n_saved(const OptCg *cg) { return cg->n_saved; }


const float *opt_cg_saved(const OptCg *cg, int k, int *iter, double *q) {
  CORE_ASSERT(k >= 0 && k < cg->n_saved);
  if (iter) *iter = cg->saved_iter[k];
  if (q) *q = cg->saved_q[k];
  return cg->saved + (size_t)k * cg->n;
}
