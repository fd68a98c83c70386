/* hf.c — HF / NG / NGHF updates: CG solves, backtracking, LM damping, line search (see hf.h). */
#include "optim/hf.h"

#include <math.h>
#include <string.h>

#include "core/alloc.h"

const char *const opt_hf_method_names[] = {"hf", "ng", "nghf"};

struct OptHf {
  OptHfSettings set;
  size_t n;
  double lambda;           /* damping of the final solve (LM-adapted) */
  OptCg *cg;
  float *d;                /* (n) the chosen step */
  float *x;                /* (n) CG iterate / solution */
  float *prev;             /* (n) previous final CG iterate (warm start) */
  float *trial;            /* (n) θ + α·d */
  float *nat;              /* (n) NGHF: ñ */
  float *pre;              /* (n) preconditioner */
  float *tmp;              /* (n) product output */
  int has_prev;
  long updates, products, evals;
};

/* A curvature callback wrapped as an OptLinOp that counts its products. */
typedef struct {
  void (*fn)(void *user, const float *v, float *out);
  void *user;
  long *count;
} CountedOp;

static void counted_apply(void *u, const float *v, float *out) {
  CountedOp *c = u;
  c->fn(c->user, v, out);
  (*c->count)++;
}


OptHfSettings opt_hf_settings_default(int method) {
  OptHfSettings s = {
      .method = method,
      .lambda0 = 1.0,
      .lambda_f = 1e-2,
      .lm_adapt = 1,
      .cg_iters = 50,
      .ng_iters = 10,
      .progress_eps = 5e-4,
      .warm_start = 0.95,
      .precond = 1,
      .precond_exp = 0.75,
      .backtrack = 1,
      .save_gamma = 1.3,
      .ls_c = 1e-2,
      .ls_shrink = 0.8,
      .ls_max = 40,
      .nghf_rho_solved = 0,
  };
  if (method == OPT_HF_NG || method == OPT_HF_NGHF) {
    /* NG: 10 iterations; NGHF: 10 NG + 8 GN (spec §2b). Both start CG from zero so that NGHF's
     * first direction is the NG direction; no preconditioner (not part of the spec's NG/NGHF) */
    s.cg_iters = method == OPT_HF_NG ? 10 : 8;
    s.warm_start = 0.0;
    s.precond = 0;
  }
  return s;
}


int opt_hf_settings_check(const OptHfSettings *s, CoreErr *err) {
  if (s->method < 0 || s->method >= OPT_HF_NMETHOD)
    return core_err_set(err, CORE_ERR_INVALID, "hf.method: %d is not hf, ng or nghf", s->method);
  if (!(s->lambda0 > 0.0 && isfinite(s->lambda0)))
    return core_err_set(err, CORE_ERR_INVALID, "hf.lambda0: %g must be a finite number > 0 "
                        "(Martens uses 1)", s->lambda0);
  if (!(s->lambda_f > 0.0 && isfinite(s->lambda_f)))
    return core_err_set(err, CORE_ERR_INVALID, "hf.lambda_f: %g must be a finite number > 0 "
                        "(the spec suggests 1e-2)", s->lambda_f);
  if (s->cg_iters < 1 || s->cg_iters > 10000)
    return core_err_set(err, CORE_ERR_INVALID, "hf.cg_iters: %d must be in [1, 10000]",
                        s->cg_iters);
  if (s->method == OPT_HF_NGHF && (s->ng_iters < 1 || s->ng_iters > 10000))
    return core_err_set(err, CORE_ERR_INVALID, "hf.ng_iters: %d must be in [1, 10000]",
                        s->ng_iters);
  if (!(s->progress_eps >= 0.0) || !(s->warm_start >= 0.0 && s->warm_start <= 1.0))
    return core_err_set(err, CORE_ERR_INVALID, "hf.progress_eps (%g) must be >= 0 and "
                        "hf.warm_start (%g) in [0, 1]", s->progress_eps, s->warm_start);
  if (!(s->precond_exp >= 0.0 && s->precond_exp <= 1.0))
    return core_err_set(err, CORE_ERR_INVALID, "hf.precond_exp: %g must be in [0, 1] (0.75)",
                        s->precond_exp);
  if (!(s->save_gamma == 0.0 || s->save_gamma >= 1.3))
    return core_err_set(err, CORE_ERR_INVALID, "hf.save_gamma: %g must be 0 or >= 1.3",
                        s->save_gamma);
  if (!(s->ls_c >= 0.0 && s->ls_c < 1.0) || !(s->ls_shrink > 0.0 && s->ls_shrink < 1.0) ||
      s->ls_max < 1)
    return core_err_set(err, CORE_ERR_INVALID, "hf line search: ls_c %g must be in [0, 1), "
                        "ls_shrink %g in (0, 1), ls_max %d >= 1", s->ls_c, s->ls_shrink,
                        s->ls_max);
  return CORE_OK;
}


void opt_hf_free(OptHf *hf) {
  if (!hf) return;
  opt_cg_free(hf->cg);
  core_free(hf->d);
  core_free(hf);
}


OptHf *opt_hf_create(const OptHfSettings *s, size_t n, CoreErr *err) {
  if (opt_hf_settings_check(s, err) < 0) return NULL;
  if (n < 1) {
    core_err_set(err, CORE_ERR_INVALID, "hf: vector length must be >= 1");
    return NULL;
  }
  OptHf *hf = core_calloc(1, sizeof *hf);
  if (!hf) goto nomem;
  hf->set = *s;
  hf->n = n;
  hf->lambda = s->method == OPT_HF_NG ? s->lambda_f : s->lambda0;
  int iters = s->cg_iters;
  if (s->method == OPT_HF_NGHF && s->ng_iters > iters) iters = s->ng_iters;
  hf->cg = opt_cg_create(n, iters, err);
  if (!hf->cg) {
    opt_hf_free(hf);
    return NULL;
  }
  size_t bytes;
  if (core_mul_size(&bytes, n, 7 * sizeof(float)) < 0) goto nomem;
  hf->d = core_calloc(7, n * sizeof(float));
  if (!hf->d) goto nomem;
  hf->x = hf->d + n;
  hf->prev = hf->x + n;
  hf->trial = hf->prev + n;
  hf->nat = hf->trial + n;
  hf->pre = hf->nat + n;
  hf->tmp = hf->pre + n;
  return hf;

nomem:
  opt_hf_free(hf);
  core_err_set(err, CORE_ERR_NOMEM, "hf: out of memory (%zu parameters)", n);
  return NULL;
}


double opt_hf_lambda(const OptHf *hf) { return hf->lambda; }
long opt_hf_updates(const OptHf *hf) { return hf->updates; }
long opt_hf_products(const OptHf *hf) { return hf->products; }
long opt_hf_evals(const OptHf *hf) { return hf->evals; }


/* trial = θ + a·d */
static const float *offset(OptHf *hf, const float *params, const float *d, double a) {
  float af = (float)a;
  for (size_t i = 0; i < hf->n; i++) hf->trial[i] = params[i] + af * d[i];
  return hf->trial;
}


static double dotd(const float *a, const float *b, size_t n) {
  double s = 0.0;
  for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
  return s;
}


int opt_hf_update(OptHf *hf, const OptHfProblem *pb, float *params, const float *grad,
                  double loss0, OptHfStats *st, CoreErr *err) {
  const OptHfSettings *s = &hf->set;
  size_t n = hf->n;
  OptHfStats z;
  memset(&z, 0, sizeof z);
  z.loss0 = z.loss1 = loss0;
  if (!isfinite(loss0)) {
    if (st) *st = z;
    return core_err_set(err, CORE_ERR_RUNTIME, "hf update %ld: the criterion is %g at the "
                        "current parameters", hf->updates, loss0);
  }
  long products = 0, loss_evals = 0, held_evals = 0;
  CountedOp gop = {pb->gvp, pb->user, &products}, fop = {pb->fvp, pb->user, &products};
  OptLinOp G = {counted_apply, &gop}, F = {counted_apply, &fop};
  CORE_ASSERT(s->method == OPT_HF_NG ? pb->fvp != NULL : pb->gvp != NULL);
  CORE_ASSERT(s->method != OPT_HF_NGHF || pb->fvp != NULL);

  /* 1. NGHF: the natural-gradient vector ñ = (F + λ_F I)⁻¹g, which replaces g in the quadratic */
  const float *b = grad;
  if (s->method == OPT_HF_NGHF) {
    OptCgSettings cs = opt_cg_settings_default(s->ng_iters);
    cs.damping = s->lambda_f;
    cs.progress_eps = 0.0;
    cs.save_gamma = 0.0;
    memset(hf->x, 0, n * sizeof(float));
    OptCgResult r = opt_cg_solve(hf->cg, &F, grad, hf->x, &cs);
    for (size_t i = 0; i < n; i++) hf->nat[i] = -hf->x[i];   /* x solves (F+λ_F)x = −g */
    b = hf->nat;
    z.ng_iters = r.iters;
    z.q_increases += r.q_increases;
    z.worst_q_rise = r.worst_increase;
  }

  /* 2. the final solve: matrix, damping, preconditioner, start point */
  const OptLinOp *A = s->method == OPT_HF_NG ? &F : &G;
  OptCgSettings cs = opt_cg_settings_default(s->cg_iters);
  cs.damping = hf->lambda;
  cs.progress_eps = s->progress_eps;
  cs.save_gamma = s->backtrack ? s->save_gamma : 0.0;
  if (s->precond) {
    CORE_ASSERT(pb->sqgrad);
    pb->sqgrad(pb->user, hf->pre);
    for (size_t i = 0; i < n; i++)
      hf->pre[i] = (float)pow((double)hf->pre[i] + hf->lambda, s->precond_exp);
    cs.precond = hf->pre;
  }
  if (s->warm_start > 0.0 && hf->has_prev) {
    float w = (float)s->warm_start;
    for (size_t i = 0; i < n; i++) hf->x[i] = w * hf->prev[i];
  } else {
    memset(hf->x, 0, n * sizeof(float));
  }
  OptCgResult r = opt_cg_solve(hf->cg, A, b, hf->x, &cs);
  memcpy(hf->prev, hf->x, n * sizeof(float));
  hf->has_prev = 1;
  z.cg_iters = r.iters;
  z.cg_stop = r.stop;
  z.q_increases += r.q_increases;
  if (r.worst_increase > z.worst_q_rise) z.worst_q_rise = r.worst_increase;

  /* 3. CG backtracking: from the last saved iterate back while the held-out criterion improves */
  int ns = opt_cg_n_saved(hf->cg), k = ns - 1, it;
  double qk;
  const float *dk = opt_cg_saved(hf->cg, k, &it, &qk);
  if (s->backtrack && ns > 1) {
    double (*crit)(void *, const float *) = pb->heldout ? pb->heldout : pb->loss;
    long *cnt = pb->heldout ? &held_evals : &loss_evals;
    double best = crit(pb->user, offset(hf, params, dk, 1.0));
    (*cnt)++;
    while (k > 0) {
      int it2;
      double q2;
      const float *d2 = opt_cg_saved(hf->cg, k - 1, &it2, &q2);
      double f2 = crit(pb->user, offset(hf, params, d2, 1.0));
      (*cnt)++;
      if (!(f2 < best)) break;
      best = f2;
      k--;
      dk = d2;
      it = it2;
      qk = q2;
    }
  }
  memcpy(hf->d, dk, n * sizeof(float));
  z.chosen_iter = it;

  /* 4. model value with the true gradient: the CG's own q for HF and NG; NGHF solved with ñ in
   * place of g, so q(d) = gᵀd + ½dᵀ(G + λI)d takes one more product */
  double q = qk;
  if (s->method == OPT_HF_NGHF && !s->nghf_rho_solved) {
    A->apply(A->user, hf->d, hf->tmp);
    q = dotd(grad, hf->d, n) + 0.5 * (dotd(hf->d, hf->tmp, n) + hf->lambda * dotd(hf->d, hf->d, n));
  }
  z.q = q;

  /* 5. reduction ratio and Levenberg-Marquardt damping */
  double l1 = pb->loss(pb->user, offset(hf, params, hf->d, 1.0));
  loss_evals++;
  double rho = q < 0.0 && isfinite(l1) ? (l1 - loss0) / q : -INFINITY;
  z.rho = rho;
  if (s->lm_adapt) {
    if (rho < 0.25)
      hf->lambda *= 1.5;
    else if (rho > 0.75)
      hf->lambda /= 1.5;
  }
  z.lambda = hf->lambda;

  /* 6. backtracking line search on the step scale (Armijo) */
  double gd = dotd(grad, hf->d, n), alpha = 1.0, la = l1;
  int ok = 0;
  /* a d that is not a descent direction (possible for NGHF's product of two inverses, or a
   * truncated solve) is not taken: Armijo would accept a rise there */
  for (int t = 0; t < s->ls_max && gd < 0.0; t++) {
    if (t > 0) {
      alpha *= s->ls_shrink;
      la = pb->loss(pb->user, offset(hf, params, hf->d, alpha));
      loss_evals++;
    }
    if (isfinite(la) && la <= loss0 + s->ls_c * alpha * gd) {
      ok = 1;
      break;
    }
  }
  if (ok) {
    float af = (float)alpha;
    for (size_t i = 0; i < n; i++) params[i] += af * hf->d[i];
    z.alpha = alpha;
    z.loss1 = la;
  } else {
    z.alpha = 0.0;
    z.loss1 = loss0;
  }

  z.products = products;
  z.loss_evals = loss_evals;
  z.heldout_evals = held_evals;
  hf->updates++;
  hf->products += products;
  hf->evals += loss_evals + held_evals;
  if (st) *st = z;
  return CORE_OK;
}
