/* sup_ji.h — Ji & Telgarsky (ICLR 2019): deep linear networks on separable data.
 *
 * Layers W_k (d_k x d_{k−1}), k = 1..L, d_0 = d, d_L = 1; w_prod = (W_L ⋯ W_1)ᵀ ∈ R^d.
 * Risk R(W) = (1/n) Σ_i ℓ(<w_prod, z_i>) with z_i = y_i x_i, ℓ_log(s) = ln(1 + e^{−s}) or
 * ℓ_exp(s) = e^{−s}. The gradient of layer k is rank one: ∂R/∂W_k = a_k b_kᵀ with
 * a_k = (W_L ⋯ W_{k+1})ᵀ (d_k) and b_k = W_{k−1} ⋯ W_1 ∇R(w_prod) (d_{k−1}).
 * Metrics of spec papers.md §2: ratio_k = |W_k|₂/|W_k|_F, alignment |<v_{k+1}, u_k>| of the top
 * singular vectors of neighbouring layers, cos(w_prod, ū), and the Lemma-2 constant D. Double
 * precision; the data comes from sup.h (kind ji-telgarsky), the GD loop from `cemrl repro
 * ji-telgarsky`.
 *
 * Nullable: every CoreErr *err.
 */
#ifndef CEMRL_ENVS_SUP_JI_H
#define CEMRL_ENVS_SUP_JI_H

#include "core/err.h"
#include "core/rng.h"

#define SUP_JI_MAX_DEPTH 8

typedef enum { SUP_JI_LOGISTIC = 0, SUP_JI_EXP } SupJiLoss;

/* A deep linear network with its gradient buffers. */
typedef struct {
  int depth;                            /* L */
  int dims[SUP_JI_MAX_DEPTH + 1];       /* d_0 = input width, ..., d_L = 1 */
  double *w[SUP_JI_MAX_DEPTH];          /* W_k (d_k, d_{k−1}) row-major; w[0] is W_1 */
  double *g[SUP_JI_MAX_DEPTH];          /* ∂R/∂W_k of the last sup_ji_risk_grad */
  double *wprod;                        /* (d_0) w_prod of the last sup_ji_risk_grad */
  double *gprod;                        /* (d_0) ∇R(w_prod) */
  double *fwd[SUP_JI_MAX_DEPTH + 1];    /* scratch: a_k (d_k) */
  double *bwd[SUP_JI_MAX_DEPTH + 1];    /* scratch: b_k (d_{k−1}) */
  void *mem_;
} SupJiNet;

/* A network of depth L with widths dims[0..L] (dims[L] must be 1); W_k ~ N(0, init²/d_{k−1})
 * drawn layer by layer from rng (init = 0 gives zeros). NULL with err on bad sizes. */
SupJiNet *sup_ji_net_create(int depth, const int *dims, double init, CoreRng *rng, CoreErr *err);

/* Free (NULL is a no-op). */
void sup_ji_net_free(SupJiNet *net);

/* Risk on z (n, d_0) (rows z_i = y_i x_i); with grad != 0 fills g[] and gprod. Always fills
 * wprod. */
double sup_ji_risk_grad(SupJiNet *net, const double *z, int n, int loss, int grad);

/* One gradient step W_k −= eta g_k on every layer. */
void sup_ji_step(SupJiNet *net, double eta);

/* The alignment metrics at the current W. */
typedef struct {
  double fro[SUP_JI_MAX_DEPTH];         /* |W_k|_F */
  double spec[SUP_JI_MAX_DEPTH];        /* |W_k|₂ */
  double ratio[SUP_JI_MAX_DEPTH];       /* |W_k|₂/|W_k|_F */
  double align[SUP_JI_MAX_DEPTH];       /* align[k] = |<v_{k+2}, u_{k+1}>| for k = 0..L−2 */
  double cos_u_bar;                     /* cos(w_prod, ū) (NAN without ū) */
  double min_ratio;                     /* min over k < L (W_L is a row: ratio 1) */
  double min_align;
} SupJiMetrics;

/* Compute the metrics (u_bar nullable); 0 or an error from the eigensolver. */
int sup_ji_metrics(SupJiNet *net, const double *u_bar, SupJiMetrics *out, CoreErr *err);

/* Lemma 2's constant at the current W (call it at initialisation):
 * D = max_k |W_k|_F² − |W_L|_F² + Σ_{k<L} |W_k W_kᵀ − W_{k+1}ᵀ W_{k+1}|₂. */
int sup_ji_lemma2_d(const SupJiNet *net, double *d_out, CoreErr *err);

#endif
