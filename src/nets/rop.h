/* rop.h — curvature-vector products of an MLP's loss: exact Hessian (Pearlmutter's R-operator),
 * Gauss-Newton and Fisher, on flat parameter-sized vectors.
 *
 * Usage: create an NnCurv for a network and an output loss, set a batch (one forward and one
 * backward, which also gives the loss and its gradient), then take as many products as needed
 * at those parameters on that batch. Every buffer is sized once at create for the network's
 * max_batch; set_batch and the products never allocate.
 *
 * With z = the network output (B, K) of a batch, J = ∂z/∂θ and ℓ(z) the batch loss (a mean over
 * the batch, as nn_loss_*):
 *   Hessian      H v = ∇²_θ ℓ · v           forward R-op, then the R-op of backward (exact,
 *                                            second-order activation terms included)
 *   Gauss-Newton G v = Jᵀ H_z⁺ J v           H_z⁺ the PSD part of ∂²ℓ/∂z²
 *   Fisher       F v = Jᵀ F_z J v            F_z the model's output Fisher
 * Output matrices per loss, each divided by B for the batch mean:
 *   MSE                H_z = G_z = F_z = 2/(B·K)·I     (Gaussian model: Fisher = Gauss-Newton)
 *   softmax CE         H_z = G_z = F_z = (diag p − ppᵀ)/B
 *   expected error     ℓ = mean_n Σ_y p(y|x_n)·(1 − δ(y, y_n)) = mean_n (1 − p_{y_n}), the MBR
 *                      analogue of spec/papers.md part 2 §2d: H_z = diag(p⊙a) − p(p⊙a)ᵀ − (p⊙a)pᵀ
 *                      with a = c − Σ_y p_y c_y (indefinite); G_z is its PSD part, from a
 *                      per-example eigendecomposition (negative eigenvalues clipped) computed once
 *                      per set_batch; F_z = diag p − ppᵀ, the softmax model's Fisher.
 * For softmax CE the Gauss-Newton and Fisher matrices are the same matrix (spec §2a note).
 *
 * Layers supported: linear, relu, leaky_relu, tanh, elu, identity, scale (not layer_norm).
 *
 * The NnCurv uses the network's activation buffers: a forward or backward on the same NnMlp
 * between set_batch and a product invalidates the batch (use a second NnMlp bound to the same
 * parameters for other work). Not thread-safe per instance.
 *
 * Nullable: every CoreErr *err; t / labels where the loss does not use them.
 */
#ifndef CEMRL_NETS_ROP_H
#define CEMRL_NETS_ROP_H

#include <stddef.h>

#include "core/err.h"
#include "nets/mlp.h"

/* Output losses with known output Hessians. */
typedef enum {
  NN_CURV_MSE = 0,           /* nn_loss_mse: targets t (B, K) */
  NN_CURV_XENT,              /* nn_loss_softmax_xent: labels (B) */
  NN_CURV_EXPECTED_ERROR,    /* mean_n (1 − p_{y_n}): labels (B) */
  NN_CURV_NLOSS
} NnCurvLoss;

extern const char *const nn_curv_loss_names[];   /* "mse", "xent", "expected_error" */

/* Most classes of the softmax losses (per-example scratch lives on the stack). */
#define NN_CURV_MAX_CLASSES 256

/* Curvature matrices. */
typedef enum {
  NN_CURV_HESSIAN = 0,       /* exact ∇²ℓ */
  NN_CURV_GAUSS_NEWTON,      /* Jᵀ H_z⁺ J */
  NN_CURV_FISHER,            /* Jᵀ F_z J */
  NN_CURV_NMAT
} NnCurvMatrix;

extern const char *const nn_curv_matrix_names[]; /* "hessian", "gauss_newton", "fisher" */

typedef struct NnCurv NnCurv;

/* Workspace for products on net (borrowed; must outlive the NnCurv) with an output loss. NULL with
 * err on an unsupported layer kind, a loss that does not fit the output width (the classification
 * losses need K >= 2), or no memory. */
NnCurv *nn_curv_create(NnMlp *net, int loss, CoreErr *err);

/* Free a workspace (NULL no-op). */
void nn_curv_free(NnCurv *c);

/* Loss value of the outputs z (B, K), and dℓ/dz into dz (nullable; may alias z) for the
 * three losses (MSE uses t, the others labels; the expected error needs K <= 256). Sums in
 * double. */
double nn_curv_loss_value(int loss, const float *z, const float *t, const int *labels, int batch,
                          int classes, float *dz);

/* Take the batch x (batch, in) with targets t (batch, K) or labels (batch) at the network's
 * current parameters: forward, backward (kept for Hessian products), output curvature. Returns
 * the loss (nn_curv_grad gives its gradient); the network's gradient buffer is not touched.
 * t / labels are copied. batch must be in [1, max_batch]. */
double nn_curv_set_batch(NnCurv *c, const float *x, const float *t, const int *labels, int batch);

/* The gradient of the last set_batch (n_params) into out. */
void nn_curv_grad(NnCurv *c, float *out);

/* out (n_params) = M · v (n_params) for M an NnCurvMatrix, on the batch of the last set_batch
 * at the parameters it was set with. v and out must not overlap. */
void nn_curv_product(NnCurv *c, int matrix, const float *v, float *out);

/* out (n_params) = (1/B)·Σ_n g_n ⊙ g_n, g_n the gradient of example n's own loss (the diagonal
 * of the empirical Fisher, Martens' preconditioner base), for the last set_batch. */
void nn_curv_grad_sq_diag(NnCurv *c, float *out);

/* Curvature products taken since create (each costs about one forward and one backward). */
long nn_curv_products(const NnCurv *c);

#endif
