/* mlp.h — multilayer perceptrons on one flat parameter vector and one flat gradient vector.
 *
 * A network is a list of layers (NnLayerDesc) plus two contiguous float buffers of
 * nn_mlp_num_params() floats: parameters and gradients. Their order is the PyTorch order of the
 * reference code: for every parameterised layer in turn, its weight then its bias, a linear
 * weight stored [out x in] row-major as nn.Linear stores it (l1.W, l1.b, l2.W, l2.b, ...). CEM
 * samples whole vectors, optimizers step whole vectors, checkpoints save whole vectors.
 *
 * Batches are row-major (B, width) float matrices. Forward and backward use OpenBLAS sgemm
 * (sgemv/sger for a batch of one); they never allocate: every activation buffer is sized once
 * for max_batch at create time, and a larger batch is a programming error (CORE_ASSERT).
 *
 * Gradients ACCUMULATE: nn_mlp_backward adds into the gradient buffer, so several losses (the
 * twin critic heads, a sum of terms) add up; call nn_mlp_zero_grad before a new step, or pass
 * NN_BACKWARD_OVERWRITE to the step's only (or first) backward.
 *
 * Threads: an NnMlp holds the activations of its last forward, so one instance must not be used
 * by two threads at once. Each worker creates its own instance and points it at the shared (or
 * its own) parameters with nn_mlp_bind_params; concurrent forwards on bound read-only
 * parameters are then safe.
 *
 * Nullable: every CoreErr *err.
 */
#ifndef CEMRL_NETS_MLP_H
#define CEMRL_NETS_MLP_H

#include <stddef.h>
#include <stdint.h>

#include "core/ckpt.h"
#include "core/err.h"
#include "core/rng.h"

typedef enum {
  NN_LINEAR = 0,    /* y = x·Wᵀ + b; W (out x in) then b (out) */
  NN_RELU,          /* max(x, 0) */
  NN_LEAKY_RELU,    /* x > 0 ? x : alpha·x (alpha = slope, PyTorch default 0.01) */
  NN_TANH,          /* tanh(x) */
  NN_ELU,           /* x > 0 ? x : alpha·(exp(x) − 1) */
  NN_LAYER_NORM,    /* (x − mean)/sqrt(var + 1e-5)·gain + bias over the row; gain then bias */
  NN_IDENTITY,      /* x */
  NN_SCALE,         /* x·s with a fixed (not learned) factor: scalar alpha or a per-unit vector */
  NN_NKIND
} NnLayerKind;

extern const char *const nn_layer_kind_names[];  /* "linear", "relu", "leaky_relu", ... */

/* Epsilon of NN_LAYER_NORM (PyTorch's nn.LayerNorm default). */
#define NN_LAYER_NORM_EPS 1e-5f

/* PyTorch's F.leaky_relu default slope, the one the CEM-RL critic uses. */
#define NN_LEAKY_RELU_SLOPE 0.01f

/* One layer of a network description. */
typedef struct {
  int kind;              /* NnLayerKind */
  int out;               /* NN_LINEAR: output width; ignored by the others (width unchanged) */
  float alpha;           /* leaky-ReLU slope, ELU alpha, NN_SCALE scalar factor */
  const float *scale;    /* NN_SCALE: per-unit factors (input width; copied at create), or NULL
                            to use alpha for every unit */
} NnLayerDesc;

/* A built layer (read-only outside src/nets). */
typedef struct {
  int kind;              /* NnLayerKind */
  int in, out;           /* input and output widths */
  float alpha;
  float *scale;          /* NN_SCALE per-unit factors (out), owned; NULL for a scalar */
  size_t w_off, b_off;   /* offsets of weight / bias (LN: gain / bias) in the flat vector */
  size_t n_params;       /* parameters of this layer (0 for the parameter-free kinds) */
  float *stats;          /* NN_LAYER_NORM workspace: row means then row 1/std, (2, max_batch) */
} NnLayer;

/* A network (fields read-only outside src/nets; use the functions to change them). */
typedef struct {
  int n_layers;
  NnLayer *layers;       /* (n_layers) */
  int in_dim, out_dim;   /* widths of the input and the output */
  int max_batch;         /* workspace capacity, rows */
  int batch;             /* rows of the last forward (0 before any) */
  size_t n_params;
  float *params;         /* (n_params) in use: own_params or a bound external row */
  float *grads;          /* (n_params) in use: own_grads or a bound external buffer */
  float *own_params;     /* (n_params) owned */
  float *own_grads;      /* (n_params) owned */
  float **act;           /* act[l] = input of layer l (max_batch, width); act[n_layers] = output */
  float *dbuf[2];        /* backward ping-pong scratch, (max_batch, max width) each */
  void *work_;           /* the one workspace allocation the pointers above point into */
} NnMlp;

/* Backward flags. */
enum {
  NN_BACKWARD_INPUT_ONLY = 1u << 0, /* compute only the input gradient dX; leave grads untouched */
  NN_BACKWARD_OVERWRITE = 1u << 1   /* write the parameter gradients instead of adding to them
                                       (no nn_mlp_zero_grad needed; same bits as zero + add) */
};

/* Initialisation schemes for nn_mlp_init. LN gain is set to 1 and LN bias to 0 by every one. */
typedef enum {
  NN_INIT_TORCH = 0,     /* nn.Linear default: W and b ~ U(±1/sqrt(fan_in)) */
  NN_INIT_XAVIER,        /* Glorot uniform: W ~ U(±sqrt(6/(fan_in + fan_out))), b = 0 */
  NN_INIT_HE,            /* Kaiming normal (fan_in, ReLU gain): W ~ N(0, 2/fan_in), b = 0 */
  NN_INIT_GAUSSIAN,      /* W ~ N(0, std²), b = 0 */
  NN_NINIT
} NnInitKind;

extern const char *const nn_init_kind_names[];   /* "torch", "xavier", "he", "gaussian" */

/* Build a network for inputs of width in_dim from n_layers descriptions, with workspaces for
 * batches of up to max_batch rows. Parameters and gradients are zero until nn_mlp_init or
 * nn_mlp_load. NULL with err filled on an invalid description or no memory. */
NnMlp *nn_mlp_create(int in_dim, const NnLayerDesc *layers, int n_layers, int max_batch,
                     CoreErr *err);

/* Free a network and everything it owns (bound external buffers are not touched; NULL no-op). */
void nn_mlp_free(NnMlp *net);

/* Number of parameters, computed from a description alone (-1 if it is invalid). */
long nn_mlp_count_params(int in_dim, const NnLayerDesc *layers, int n_layers);

/* Initialise the parameters in use (own or bound) with a scheme, drawing layer by layer, weight
 * then bias, in storage order; std is used by NN_INIT_GAUSSIAN only. */
void nn_mlp_init(NnMlp *net, int init, double std, CoreRng *rng);

/* Use params (n_params floats, borrowed, e.g. one row of a CEM population) as the parameters
 * without copying; NULL goes back to the network's own buffer. */
void nn_mlp_bind_params(NnMlp *net, float *params);

/* Use grads (n_params floats, borrowed) as the gradient buffer, e.g. one half of a twin-critic
 * gradient vector; NULL goes back to the network's own buffer. */
void nn_mlp_bind_grads(NnMlp *net, float *grads);

/* Set the gradients in use to zero. */
void nn_mlp_zero_grad(NnMlp *net);

/* Forward a batch x (batch, in_dim); returns the output (batch, out_dim), valid until the next
 * forward. Keeps the activations that nn_mlp_backward needs (x itself is copied). */
const float *nn_mlp_forward(NnMlp *net, const float *x, int batch);

/* Backward through the last forward: dy is dLoss/dOutput (batch, out_dim). Adds dLoss/dParams
 * into the gradient buffer unless flags has NN_BACKWARD_INPUT_ONLY; writes dLoss/dInput
 * (batch, in_dim) into dx when dx is not NULL (required with NN_BACKWARD_INPUT_ONLY). */
void nn_mlp_backward(NnMlp *net, const float *dy, float *dx, unsigned flags);

/* Lengths of the parameter tensors in storage order (each parameterised layer's weight then bias;
 * layer norm: gain then bias), for optimizers that work per tensor. Writes at most cap lengths
 * and returns how many there are. */
int nn_mlp_param_segments(const NnMlp *net, size_t *seg, int cap);

/* sgemm/sgemv FLOPs (2·M·N·K per product) of one pass at a batch size, by part. */
typedef struct {
  double fwd;            /* forward products */
  double dx_hidden;      /* backward dX of every linear layer except the first */
  double dx_input;       /* backward dX of the first linear layer (only when dX is asked for) */
  double dw;             /* backward dW (skipped by NN_BACKWARD_INPUT_ONLY) */
} NnFlops;

/* FLOP counts of the linear layers at a batch size (elementwise work is not counted). */
NnFlops nn_mlp_flops(const NnMlp *net, int batch);

/* Write a one-line summary into buf, e.g. "17-400-300-6 tanh,tanh,tanh,scale(1); 129306
 * params"; returns the length snprintf would have written. */
int nn_mlp_describe(const NnMlp *net, char *buf, size_t n);

/* Add sections "<prefix>.arch" (the layer list, copied) and "<prefix>.params" (borrowed: the
 * parameters in use must stay valid until the writer writes). */
int nn_mlp_save(const NnMlp *net, CoreCkptWriter *w, const char *prefix, CoreErr *err);

/* Load "<prefix>.params" into the parameters in use after checking that "<prefix>.arch" matches
 * this network; a mismatch is CORE_ERR_INVALID with a message saying what differs. */
int nn_mlp_load(NnMlp *net, const CoreCkpt *c, const char *prefix, CoreErr *err);

/* Build a network from the architecture stored under prefix and load its parameters. */
NnMlp *nn_mlp_create_from_ckpt(const CoreCkpt *c, const char *prefix, int max_batch,
                               CoreErr *err);

#endif
