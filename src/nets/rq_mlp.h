/* rq_mlp.h — a ReLU MLP whose linear layers use relaxed-quantized weights and activations.
 *
 * Layer l (l = 0 … L−1): A_l = H_l · Q_w,l(W_l)ᵀ + b_l, and for every layer but the last
 * H_{l+1} = Q_a,l(ReLU(A_l)); H_0 is the input (not quantized) and A_{L−1} are the logits. Each
 * weight matrix has its own signed grid and each hidden activation its own unsigned grid
 * (spec/papers.md §1a); biases stay in full precision. All quantizers share one mode (NnRqMode):
 * OFF trains the full-precision net, RELAXED and ST fine-tune with RQ / RQ-ST, ROUND evaluates
 * with deterministic rounding (the paper's test time, and plain post-training rounding).
 *
 * Parameters are one flat float vector of n_params, trained by any src/optim optimizer:
 *   l1.W (out x in), l1.b, l2.W, l2.b, … in NnMlp's order, so the first n_weights floats are the
 *   parameters of the NnMlp "in-w1(relu)-w2(relu)-…-out" (bind them to evaluate the same net),
 *   then (n_quant, 2) scales: log α, log σ of quantizer q. q = l is the weight quantizer of layer
 *   l, q = L + l the activation quantizer after layer l. Scales are stored as logarithms [ours]:
 *   Adam moves every coordinate by about lr per step, which must be a relative change for α ~
 *   1e-3 and for σ alike.
 * Gradients accumulate (zero them before a step). Forward/backward allocate nothing; the noise
 * comes from the caller's RNG stream. One instance per thread.
 *
 * Nullable: every CoreErr *err; the CoreRng of a forward in mode OFF or ROUND.
 */
#ifndef CEMRL_NETS_RQ_MLP_H
#define CEMRL_NETS_RQ_MLP_H

#include <stddef.h>

#include "core/err.h"
#include "core/rng.h"
#include "nets/rq.h"

/* A quantized MLP (fields read-only outside src/nets). */
typedef struct {
  int n_linear;           /* L linear layers */
  int n_quant;            /* 2L − 1 quantizers: L weight grids, then L − 1 activation grids */
  int *width;             /* (L + 1) input width, then each layer's output width */
  int max_batch, batch;   /* workspace rows; rows of the last forward */
  int mode;               /* NnRqMode of every quantizer */
  NnRqSpec wspec, aspec;  /* the weight grids' and the activation grids' settings */
  size_t n_params;        /* all parameters: n_weights, then 2·n_quant scales */
  size_t n_weights;       /* weights and biases (the NnMlp prefix) */
  size_t *w_off, *b_off;  /* (L) offsets of W_l and b_l */
  size_t scale_off;       /* offset of the (n_quant, 2) log-scales */
  float *params;          /* (n_params) owned */
  float *grads;           /* (n_params) owned */
  /* workspaces, carved from work_ */
  float **wq;             /* wq[l] (out, in): quantized weights of the last forward */
  float **h;              /* h[l] (max_batch, width[l]): input of layer l (quantized for l > 0) */
  float **pre;            /* pre[l] (max_batch, width[l+1]): A_l */
  float **post;           /* post[l] (max_batch, width[l+1]): ReLU(A_l), l < L − 1 */
  float **tape;           /* tape[q]: the quantizer tapes of the last forward */
  float *noise;           /* noise of one quantizer call (largest tensor x max slots) */
  float *dbuf[2];         /* backward scratch (max_batch, max width) */
  float *dw;              /* backward scratch, largest weight matrix */
  int *slots;             /* (n_quant) noise slots used by the last forward */
  double *alpha_used;     /* (n_quant) α of the last forward */
  double *sigma_used;     /* (n_quant) σ of the last forward */
  void *work_;            /* the one workspace allocation */
} NnRqMlp;

/* Build a network for inputs of width in_dim with n_linear linear layers of output widths
 * widths (n_linear), weight grids wspec (signed) and activation grids aspec (unsigned), for
 * batches of up to max_batch rows. Mode starts OFF; parameters are zero until init. NULL with
 * err on invalid sizes or specs, or no memory. */
NnRqMlp *nn_rq_mlp_create(int in_dim, const int *widths, int n_linear, const NnRqSpec *wspec,
                          const NnRqSpec *aspec, int max_batch, CoreErr *err);

/* Free a network (NULL is a no-op). */
void nn_rq_mlp_free(NnRqMlp *net);

/* Initialise weights and biases as nn.Linear does (U(±1/sqrt(fan_in)), layer by layer, W then
 * b) and every scale to α = 1, σ = 1/3 (call nn_rq_mlp_init_scales once weights are final). */
void nn_rq_mlp_init(NnRqMlp *net, CoreRng *rng);

/* Set every grid from the current weights and a batch x (batch, in_dim) (spec §1b): weights
 * α = max|W| / max|k|, activations α = (99.9th percentile of the full-precision ReLU outputs of
 * the batch) / max|k|, and σ = α/3 everywhere. Leaves the mode as it was. */
void nn_rq_mlp_init_scales(NnRqMlp *net, const float *x, int batch);

/* Set the mode of every quantizer (NnRqMode). */
void nn_rq_mlp_set_mode(NnRqMlp *net, int mode);

/* α and σ of quantizer q (from the log-scales in params). */
void nn_rq_mlp_scale(const NnRqMlp *net, int q, double *alpha, double *sigma);

/* Set α and σ of quantizer q. */
void nn_rq_mlp_set_scale(NnRqMlp *net, int q, double alpha, double sigma);

/* The settings of quantizer q (wspec or aspec). */
const NnRqSpec *nn_rq_mlp_spec(const NnRqMlp *net, int q);

/* Zero the gradient vector. */
void nn_rq_mlp_zero_grad(NnRqMlp *net);

/* Forward a batch x (batch, in_dim); returns the logits (batch, out), valid until the next
 * forward. RELAXED and ST draw their noise from rng. */
const float *nn_rq_mlp_forward(NnRqMlp *net, const float *x, int batch, CoreRng *rng);

/* Backward through the last forward (mode OFF, RELAXED or ST): dy is dLoss/dLogits (batch, out).
 * Adds dLoss/dParams, the log-scales included, into grads. */
void nn_rq_mlp_backward(NnRqMlp *net, const float *dy);

/* Share of all weights (every layer) within frac·α of their layer's nearest grid point. */
double nn_rq_mlp_weight_share(const NnRqMlp *net, double frac);

#endif
