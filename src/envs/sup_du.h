/* sup_du.h — Du, Zhai, Poczos, Singh (ICLR 2019): the over-parameterised two-layer ReLU model.
 *
 *   f(W, a, x) = (1/√m) Σ_r a_r relu(w_r·x),  w_r(0) ~ N(0, I_d),  a_r ~ U{−1, +1} (frozen)
 *   L(W) = Σ_i ½ (u_i − y_i)²   (a sum, not a mean), u_i = f(W, a, x_i)
 *   ∂L/∂w_r = (a_r/√m) Σ_i (u_i − y_i) 1{w_r·x_i ≥ 0} x_i
 *   H(W)_ij = (x_i·x_j/m) Σ_r 1{w_r·x_i ≥ 0, w_r·x_j ≥ 0};  H∞_ij = ρ_ij (π − arccos ρ_ij)/(2π)
 * in double with BLAS (spec papers.md §1). The indicator uses "≥ 0". The task's data (x_i unit,
 * y_i ~ N(0, 1)) comes from sup.h (kind du); this header is the model and its kernels, which the
 * reproduction (`cemrl repro du`) trains by full-batch gradient descent.
 *
 * Nullable: every CoreErr *err.
 */
#ifndef CEMRL_ENVS_SUP_DU_H
#define CEMRL_ENVS_SUP_DU_H

#include <stdint.h>

#include "core/err.h"
#include "core/rng.h"

/* The infinite-width Gram matrix of unit inputs x (n, d): h (n, n) = ρ (π − θ)/(2π), ρ = x_i·x_j
 * clamped to [−1, 1] and the angle θ = arccos ρ computed as 2 atan2(|x_i − x_j|, |x_i + x_j|),
 * which keeps full precision near ρ = ±1 (the diagonal is exactly 1/2). */
void sup_du_hinf(const double *x, int n, int d, double *h);

/* The two-layer model with its buffers (allocated once at create). */
typedef struct {
  int n, d, m;
  double *w;            /* (m, d) first layer, trained */
  double *w0;           /* (m, d) its initial value */
  double *a;            /* (m) output weights ±1, frozen */
  double *z;            /* (n, m) pre-activations X Wᵀ of the last forward */
  double *u;            /* (n) predictions of the last forward */
  double *r;            /* (n) residuals u − y */
  double *g;            /* (m, d) ∂L/∂W of the last sup_du_loss_grad */
  double *s;            /* (n, m) scratch */
  uint8_t *pattern0;    /* (n, m) 1{w_r(0)·x_i ≥ 0} */
  void *mem_;
} SupDuNet;

/* A model of width m for n inputs of width d: w ~ N(0, I) and a ~ U{±1} drawn from rng in that
 * order (w row by row, then a). Records the initial activation pattern of x (n, d). NULL with
 * err on bad sizes or no memory. */
SupDuNet *sup_du_net_create(int n, int d, int m, const double *x, CoreRng *rng, CoreErr *err);

/* Free (NULL is a no-op). */
void sup_du_net_free(SupDuNet *net);

/* Forward on x (n, d) with labels y (n): returns L = Σ ½ (u − y)²; when grad != 0 also writes
 * ∂L/∂W into net->g. */
double sup_du_loss_grad(SupDuNet *net, const double *x, const double *y, int grad);

/* The finite-width Gram matrix H(W) (n, n) at the current W (uses the last forward's z and
 * net->s as scratch). */
void sup_du_gram(const SupDuNet *net, const double *x, double *h);

/* Fraction (1/(mn)) Σ 1{pattern now ≠ pattern at init} (uses the last forward's z). */
double sup_du_pattern_change(const SupDuNet *net);

/* max_r |w_r − w_r(0)|₂. */
double sup_du_max_distance(const SupDuNet *net);

#endif
