/* hf.h — Hessian-free (Gauss-Newton), natural gradient and NGHF updates (spec/papers.md part 2 §2).
 *
 * One update from parameters θ with the gradient g of the criterion ℒ (taken on a large gradient
 * batch by the caller), using curvature products on a small curvature batch at θ:
 *   HF    d minimises q(d) = gᵀd + ½dᵀ(G + λI)d by CG (Martens: warm start from 0.95 × the previous
 *         final CG iterate, diagonal preconditioner (diag(Σ_i g_i²) + λ)^0.75, relative-progress
 *         stop).
 *   NG    d = −(F + λI)⁻¹g by CG with Fisher products; λ starts at lambda_f.
 *   NGHF  ñ = (F + λ_F I)⁻¹g by ng_iters CG iterations (λ_F = lambda_f, fixed), then d minimises
 *         q̃(d) = ñᵀd + ½dᵀ(G + λI)d by CG from zero, so its first search direction is −ñ; in exact
 *         arithmetic d = −(G + λI)⁻¹(F + λ_F I)⁻¹g.
 * Then, for every method [HF practice; for NG and NGHF ours, following the spec]:
 *   CG backtracking  among the iterates saved at ⌈1.3^j⌉, walk back from the last while the
 *                    held-out criterion keeps improving, and keep the best;
 *   LM damping       ρ = (ℒ(θ+d) − ℒ(θ)) / q(d) with q the damped model of the final solve (G for
 *                    HF and NGHF, F for NG) and the true gradient g; ρ < ¼ ⇒ λ ← 1.5λ,
 *                    ρ > ¾ ⇒ λ ← λ/1.5 (q(d) >= 0 counts as ρ = −∞). For NGHF q(d) is often
 *                    positive (d is a natural-gradient step, far longer than the G model's
 *                    optimum), so λ then only grows; nghf_rho_solved uses q̃ instead;
 *   line search      α = 1, 0.8, 0.8², ... until ℒ(θ+αd) <= ℒ(θ) + c·α·gᵀd (c = 1e-2); no step if
 *                    none of ls_max tries passes.
 * The optimizer never sees the network: the caller passes callbacks (OptHfProblem). It counts
 * updates, curvature products and criterion evaluations. Nothing is allocated after create.
 *
 * Nullable: every CoreErr *err; OptHfStats *st; OptHfProblem.heldout (then loss is used),
 * OptHfProblem.sqgrad (required only with precond), gvp for NG, fvp for HF.
 */
#ifndef CEMRL_OPTIM_HF_H
#define CEMRL_OPTIM_HF_H

#include <stddef.h>

#include "core/err.h"
#include "optim/cg.h"

typedef enum {
  OPT_HF_GN = 0,           /* Hessian-free with the Gauss-Newton matrix ("hf") */
  OPT_HF_NG,               /* natural gradient ("ng") */
  OPT_HF_NGHF,             /* NG direction combined with GN curvature ("nghf") */
  OPT_HF_NMETHOD
} OptHfMethod;

extern const char *const opt_hf_method_names[];   /* "hf", "ng", "nghf" */

/* Settings of an HF-family optimizer. */
typedef struct {
  int method;              /* OptHfMethod */
  double lambda0;          /* initial damping of G (HF, NGHF), > 0 (1) */
  double lambda_f;         /* damping of F: NGHF's fixed λ_F, NG's initial λ (1e-2) */
  int lm_adapt;            /* Levenberg-Marquardt adaptation of the final solve's λ (1) */
  int cg_iters;            /* final solve's CG iterations at most (HF 50, NG 10, NGHF 8) */
  int ng_iters;            /* NGHF's NG solve iterations (10) */
  double progress_eps;     /* Martens' CG stop on the final solve (5e-4; 0 = off) */
  double warm_start;       /* start the final CG at this × the previous final iterate (HF 0.95) */
  int precond;             /* Martens' diagonal preconditioner on the final solve (HF 1) */
  double precond_exp;      /* its exponent (0.75) */
  int backtrack;           /* CG backtracking on the held-out criterion (1) */
  double save_gamma;       /* saved-iterate spacing for backtracking (1.3) */
  double ls_c;             /* sufficient-decrease constant (1e-2) */
  double ls_shrink;        /* step-scale factor per try (0.8) */
  int ls_max;              /* line-search tries (40) */
  int nghf_rho_solved;     /* NGHF only: take ρ's denominator from the quadratic CG minimised,
                              q̃(d) = ñᵀd + ½dᵀ(G+λI)d, instead of the model of ℒ with the true
                              gradient (0, the spec's reading; see repro_nghf.c) */
} OptHfSettings;

/* The defaults of spec/papers.md part 2 §2b for a method (see the field comments). */
OptHfSettings opt_hf_settings_default(int method);

/* Check settings: 0, or CORE_ERR_INVALID naming the field. */
int opt_hf_settings_check(const OptHfSettings *s, CoreErr *err);

/* What the optimizer needs from the model (all at the current θ unless a params argument says). */
typedef struct {
  void *user;
  /* criterion ℒ at params on the gradient batch */
  double (*loss)(void *user, const float *params);
  /* criterion used for CG backtracking, on held-out data */
  double (*heldout)(void *user, const float *params);
  /* out = G·v, Gauss-Newton product on the curvature batch */
  void (*gvp)(void *user, const float *v, float *out);
  /* out = F·v, Fisher product on the curvature batch */
  void (*fvp)(void *user, const float *v, float *out);
  /* out = (1/N)·Σ_i g_i ⊙ g_i over the curvature batch (preconditioner) */
  void (*sqgrad)(void *user, float *out);
} OptHfProblem;

/* Figures of one update. */
typedef struct {
  double loss0;            /* ℒ(θ) as given */
  double loss1;            /* ℒ(θ + α·d) after the step (= loss0 when α = 0) */
  double q;                /* damped model value q(d) of the chosen d (before the line search) */
  double rho;              /* reduction ratio */
  double lambda;           /* damping of the final solve after the LM update */
  double alpha;            /* line-search step scale (0: no step) */
  int cg_iters;            /* iterations of the final solve */
  int ng_iters;            /* iterations of NGHF's NG solve (0 otherwise) */
  int chosen_iter;         /* CG iteration of the backtracked iterate */
  int cg_stop;             /* OptCgStop of the final solve */
  int q_increases;         /* iterations where a solve's quadratic rose (both solves) */
  double worst_q_rise;     /* largest relative rise among them */
  long products;           /* curvature products this update */
  long loss_evals;         /* ℒ evaluations this update */
  long heldout_evals;      /* held-out criterion evaluations this update */
} OptHfStats;

typedef struct OptHf OptHf;

/* Create an optimizer for n parameters; NULL with err on bad settings or no memory. */
OptHf *opt_hf_create(const OptHfSettings *s, size_t n, CoreErr *err);

/* Free (NULL no-op). */
void opt_hf_free(OptHf *hf);

/* One update of params (n) given the gradient grad (n) and loss0 = ℒ(params), both on the
 * gradient batch; the curvature callbacks must describe the curvature batch at params. Returns
 * 0, or CORE_ERR_RUNTIME (params unchanged) if the criterion is not finite at the start. */
int opt_hf_update(OptHf *hf, const OptHfProblem *pb, float *params, const float *grad,
                  double loss0, OptHfStats *st, CoreErr *err);

/* Current damping of the final solve. */
double opt_hf_lambda(const OptHf *hf);

/* Updates done, curvature products and criterion evaluations (ℒ plus held-out) since create. */
long opt_hf_updates(const OptHf *hf);
long opt_hf_products(const OptHf *hf);
long opt_hf_evals(const OptHf *hf);

#endif
