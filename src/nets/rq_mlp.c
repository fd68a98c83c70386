/* rq_mlp.c — the quantized ReLU MLP: create, init, grids from data, forward/backward (OpenBLAS).
 *
 * Shapes: B = rows of the batch; layer l maps width[l] -> width[l+1]; a weight is (out, in)
 * row-major. Per forward, each weight matrix is quantized once for the whole batch (one noise
 * draw per weight), each hidden activation element gets its own draw.
 */
#include "nets/rq_mlp.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "nets/ew.h"

/* Size limits that keep every workspace product far from overflow. */
#define RQ_MLP_MAX_WIDTH (1 << 16)
#define RQ_MLP_MAX_LAYERS 64

/* Floats rounded up to a whole 64-byte line, so every carved buffer stays 64-aligned. */
static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

static size_t wsize(const NnRqMlp *net, int l) {
  return (size_t)net->width[l + 1] * (size_t)net->width[l];
}

const NnRqSpec *nn_rq_mlp_spec(const NnRqMlp *net, int q) {
  CORE_ASSERT(q >= 0 && q < net->n_quant);
  return q < net->n_linear ? &net->wspec : &net->aspec;
}

/* Elements a quantizer sees at most: a weight matrix, or a (max_batch, width) activation. */
static size_t quant_elems(const NnRqMlp *net, int q) {
  int L = net->n_linear;
  return q < L ? wsize(net, q) : (size_t)net->max_batch * (size_t)net->width[q - L + 1];
}

/* ---------------------------------------------------------------- create / free */

NnRqMlp *nn_rq_mlp_create(int in_dim, const int *widths, int n_linear, const NnRqSpec *wspec,
                          const NnRqSpec *aspec, int max_batch, CoreErr *err) {
  if (n_linear < 1 || n_linear > RQ_MLP_MAX_LAYERS || !widths) {
    core_err_set(err, CORE_ERR_INVALID, "quantized MLP: layer count %d must be in [1, %d]",
                 n_linear, RQ_MLP_MAX_LAYERS);
    return NULL;
  }
  if (in_dim < 1 || in_dim > RQ_MLP_MAX_WIDTH) {
    core_err_set(err, CORE_ERR_INVALID, "quantized MLP: input width %d must be in [1, %d]",
                 in_dim, RQ_MLP_MAX_WIDTH);
    return NULL;
  }
  for (int l = 0; l < n_linear; l++)
    if (widths[l] < 1 || widths[l] > RQ_MLP_MAX_WIDTH) {
      core_err_set(err, CORE_ERR_INVALID,
                   "quantized MLP: layer %d output width %d must be in [1, %d]", l, widths[l],
                   RQ_MLP_MAX_WIDTH);
      return NULL;
    }
  if (max_batch < 1 || max_batch > RQ_MLP_MAX_WIDTH) {
    core_err_set(err, CORE_ERR_INVALID, "quantized MLP: max_batch %d must be in [1, %d]",
                 max_batch, RQ_MLP_MAX_WIDTH);
    return NULL;
  }
  if (nn_rq_spec_check(wspec, err) < 0) {
    core_err_prefix(err, "quantized MLP weights: ");
    return NULL;
  }
  if (nn_rq_spec_check(aspec, err) < 0) {
    core_err_prefix(err, "quantized MLP activations: ");
    return NULL;
  }

  int L = n_linear, nq = 2 * L - 1;
  NnRqMlp *net = core_calloc(1, sizeof *net);
  if (!net) goto nomem;
  net->n_linear = L;
  net->n_quant = nq;
  net->max_batch = max_batch;
  net->mode = NN_RQ_OFF;
  net->wspec = *wspec;
  net->aspec = *aspec;
  net->width = core_calloc((size_t)L + 1, sizeof *net->width);
  net->w_off = core_calloc((size_t)L, sizeof *net->w_off);
  net->b_off = core_calloc((size_t)L, sizeof *net->b_off);
  net->wq = core_calloc((size_t)L, sizeof *net->wq);
  net->h = core_calloc((size_t)L, sizeof *net->h);
  net->pre = core_calloc((size_t)L, sizeof *net->pre);
  net->post = core_calloc((size_t)L, sizeof *net->post);
  net->tape = core_calloc((size_t)nq, sizeof *net->tape);
  net->slots = core_calloc((size_t)nq, sizeof *net->slots);
  net->alpha_used = core_calloc((size_t)nq, sizeof *net->alpha_used);
  net->sigma_used = core_calloc((size_t)nq, sizeof *net->sigma_used);
  if (!net->width || !net->w_off || !net->b_off || !net->wq || !net->h || !net->pre ||
      !net->post || !net->tape || !net->slots || !net->alpha_used || !net->sigma_used)
    goto nomem;

  /* parameters in NnMlp order, then the log-scales */
  net->width[0] = in_dim;
  size_t off = 0, max_w = 0;
  int max_width = in_dim;
  for (int l = 0; l < L; l++) {
    net->width[l + 1] = widths[l];
    if (widths[l] > max_width) max_width = widths[l];
    net->w_off[l] = off;
    net->b_off[l] = off + wsize(net, l);
    off += wsize(net, l) + (size_t)widths[l];
    if (wsize(net, l) > max_w) max_w = wsize(net, l);
  }
  net->n_weights = off;
  net->scale_off = off;
  net->n_params = off + 2 * (size_t)nq;

  /* workspace sizes */
  size_t mb = (size_t)max_batch, work = 0, noise = 0;
  for (int l = 0; l < L; l++) {
    work += round16(wsize(net, l));                        /* wq */
    work += round16(mb * (size_t)net->width[l]);           /* h */
    work += 2 * round16(mb * (size_t)net->width[l + 1]);   /* pre, post */
  }
  for (int q = 0; q < nq; q++) {
    int ms = nn_rq_max_slots(nn_rq_mlp_spec(net, q));
    work += round16(quant_elems(net, q) * nn_rq_tape_stride(ms));
    if (quant_elems(net, q) * (size_t)ms > noise) noise = quant_elems(net, q) * (size_t)ms;
  }
  work += round16(noise) + 2 * round16(mb * (size_t)max_width) + round16(max_w);

  net->params = core_calloc(net->n_params, sizeof(float));
  net->grads = core_calloc(net->n_params, sizeof(float));
  net->work_ = core_calloc(work, sizeof(float));
  if (!net->params || !net->grads || !net->work_) goto nomem;
  float *p = net->work_;
  for (int l = 0; l < L; l++) {
    net->wq[l] = p, p += round16(wsize(net, l));
    net->h[l] = p, p += round16(mb * (size_t)net->width[l]);
    net->pre[l] = p, p += round16(mb * (size_t)net->width[l + 1]);
    net->post[l] = p, p += round16(mb * (size_t)net->width[l + 1]);
  }
  for (int q = 0; q < nq; q++) {
    net->tape[q] = p;
    p += round16(quant_elems(net, q) * nn_rq_tape_stride(nn_rq_max_slots(nn_rq_mlp_spec(net, q))));
  }
  net->noise = p, p += round16(noise);
  net->dbuf[0] = p, p += round16(mb * (size_t)max_width);
  net->dbuf[1] = p, p += round16(mb * (size_t)max_width);
  net->dw = p, p += round16(max_w);
  CORE_ASSERT((size_t)(p - (float *)net->work_) == work);
  for (int q = 0; q < nq; q++) nn_rq_mlp_set_scale(net, q, 1.0, 1.0 / 3.0);
  return net;

nomem:
  nn_rq_mlp_free(net);
  core_err_set(err, CORE_ERR_NOMEM, "quantized MLP: out of memory (max_batch %d)", max_batch);
  return NULL;
}

void nn_rq_mlp_free(NnRqMlp *net) {
  if (!net) return;
  core_free(net->work_);
  core_free(net->params);
  core_free(net->grads);
  core_free(net->width);
  core_free(net->w_off);
  core_free(net->b_off);
  core_free(net->wq);
  core_free(net->h);
  core_free(net->pre);
  core_free(net->post);
  core_free(net->tape);
  core_free(net->slots);
  core_free(net->alpha_used);
  core_free(net->sigma_used);
  core_free(net);
}

/* ---------------------------------------------------------------- parameters and grids */

void nn_rq_mlp_scale(const NnRqMlp *net, int q, double *alpha, double *sigma) {
  CORE_ASSERT(q >= 0 && q < net->n_quant);
  const float *s = net->params + net->scale_off + 2 * (size_t)q;
  if (alpha) *alpha = exp((double)s[0]);
  if (sigma) *sigma = exp((double)s[1]);
}

void nn_rq_mlp_set_scale(NnRqMlp *net, int q, double alpha, double sigma) {
  CORE_ASSERT(q >= 0 && q < net->n_quant && alpha > 0 && sigma > 0);
  float *s = net->params + net->scale_off + 2 * (size_t)q;
  s[0] = (float)log(alpha);
  s[1] = (float)log(sigma);
}

void nn_rq_mlp_set_mode(NnRqMlp *net, int mode) {
  CORE_ASSERT(mode >= 0 && mode < NN_RQ_NMODE);
  net->mode = mode;
}

void nn_rq_mlp_zero_grad(NnRqMlp *net) { memset(net->grads, 0, net->n_params * sizeof(float)); }

void nn_rq_mlp_init(NnRqMlp *net, CoreRng *rng) {
  for (int l = 0; l < net->n_linear; l++) {
    double bound = 1.0 / sqrt((double)net->width[l]);
    core_rng_uniform_fill(rng, net->params + net->w_off[l], (long)wsize(net, l), -bound, bound);
    core_rng_uniform_fill(rng, net->params + net->b_off[l], net->width[l + 1], -bound, bound);
  }
  for (int q = 0; q < net->n_quant; q++) nn_rq_mlp_set_scale(net, q, 1.0, 1.0 / 3.0);
}

static int cmp_float(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return (x > y) - (x < y);
}

/* Largest |k| of a grid: the number of steps α that the grid spans from zero. */
static double grid_span(const NnRqSpec *s) {
  double a = -(double)nn_rq_kmin(s), b = nn_rq_kmax(s);
  return a > b ? a : b;
}

void nn_rq_mlp_init_scales(NnRqMlp *net, const float *x, int batch) {
  CORE_ASSERT(batch >= 1 && batch <= net->max_batch);
  int L = net->n_linear;
  for (int l = 0; l < L; l++) {
    const float *w = net->params + net->w_off[l];
    double m = 0.0;
    for (size_t i = 0; i < wsize(net, l); i++) m = fmax(m, fabs((double)w[i]));
    double a = m > 0 ? m / grid_span(&net->wspec) : 1e-3;  /* all-zero weights: any grid */
    nn_rq_mlp_set_scale(net, l, a, a / 3.0);
  }
  /* activation grids from the full-precision activations of the batch */
  int mode = net->mode;
  net->mode = NN_RQ_OFF;
  nn_rq_mlp_forward(net, x, batch, NULL);
  net->mode = mode;
  for (int l = 0; l + 1 < L; l++) {
    size_t n = (size_t)batch * (size_t)net->width[l + 1];
    float *buf = net->noise;  /* scratch: the noise buffer holds at least one activation */
    for (size_t i = 0; i < n; i++) buf[i] = fabsf(net->post[l][i]);
    size_t k = (size_t)ceil(0.999 * (double)n) - 1;
    qsort(buf, n, sizeof *buf, cmp_float);  /* once per run: no need for a selection */
    double p = buf[k];
    double a = p > 0 ? p / grid_span(&net->aspec) : 1e-3;  /* a dead layer: any grid */
    nn_rq_mlp_set_scale(net, L + l, a, a / 3.0);
  }
}

double nn_rq_mlp_weight_share(const NnRqMlp *net, double frac) {
  double near = 0.0, total = 0.0;
  for (int l = 0; l < net->n_linear; l++) {
    double a;
    nn_rq_mlp_scale(net, l, &a, NULL);
    size_t n = wsize(net, l);
    near += nn_rq_grid_share(&net->wspec, a, net->params + net->w_off[l], n, frac) * (double)n;
    total += (double)n;
  }
  return near / total;
}

/* ---------------------------------------------------------------- forward / backward */

/* Quantize n elements x into y with quantizer q in the net's mode; keeps what backward needs. */
static void quantize(NnRqMlp *net, int q, float *y, const float *x, size_t n, CoreRng *rng) {
  const NnRqSpec *s = nn_rq_mlp_spec(net, q);
  double a, sg;
  nn_rq_mlp_scale(net, q, &a, &sg);
  int slots = 0;
  if (net->mode == NN_RQ_RELAXED || net->mode == NN_RQ_ST) {
    CORE_ASSERT(rng);
    slots = nn_rq_slots(s, a, sg);
    nn_rq_noise_fill(rng, net->noise, n * (size_t)slots);
  }
  nn_rq_forward(s, net->mode, a, sg, y, x, n, net->noise, slots, net->tape[q]);
  net->slots[q] = slots;
  net->alpha_used[q] = a;
  net->sigma_used[q] = sg;
}

const float *nn_rq_mlp_forward(NnRqMlp *net, const float *x, int batch, CoreRng *rng) {
  CORE_ASSERT(batch >= 1 && batch <= net->max_batch);
  int L = net->n_linear;
  net->batch = batch;
  memcpy(net->h[0], x, (size_t)batch * (size_t)net->width[0] * sizeof(float));
  for (int l = 0; l < L; l++) {
    int in = net->width[l], out = net->width[l + 1];
    const float *w = net->params + net->w_off[l], *b = net->params + net->b_off[l];
    if (net->mode != NN_RQ_OFF) {
      quantize(net, l, net->wq[l], w, wsize(net, l), rng);
      w = net->wq[l];
    }
    float *a = net->pre[l];
    for (int i = 0; i < batch; i++) memcpy(a + (size_t)i * out, b, (size_t)out * sizeof(float));
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, out, in, 1.0f, net->h[l], in, w,
                in, 1.0f, a, out);
    if (l + 1 < L) {
      size_t n = (size_t)batch * (size_t)out;
      nn_ew_relu(net->post[l], a, n);
      quantize(net, L + l, net->h[l + 1], net->post[l], n, rng);
    }
  }
  return net->pre[L - 1];
}

/* Backward of quantizer q of the last forward: dx (n) from dy (n; may alias), scale grads added. */
static void quantize_backward(NnRqMlp *net, int q, float *dx, const float *x, const float *dy,
                              size_t n) {
  double da = 0.0, ds = 0.0, a = net->alpha_used[q], sg = net->sigma_used[q];
  nn_rq_backward(nn_rq_mlp_spec(net, q), net->mode, a, sg, dx, x, dy, n, net->tape[q],
                 net->slots[q], &da, &ds);
  float *g = net->grads + net->scale_off + 2 * (size_t)q;
  g[0] += (float)(a * da);   /* dL/dlog α = α dL/dα */
  g[1] += (float)(sg * ds);
}

void nn_rq_mlp_backward(NnRqMlp *net, const float *dy) {
  CORE_ASSERT(net->batch >= 1 && net->mode != NN_RQ_ROUND);
  int L = net->n_linear, B = net->batch, cur = 0;
  const float *da = dy;  /* dLoss/dA_l, (B, out) */
  for (int l = L - 1; l >= 0; l--) {
    int in = net->width[l], out = net->width[l + 1];
    const float *w = net->mode == NN_RQ_OFF ? net->params + net->w_off[l] : net->wq[l];
    float *gw = net->grads + net->w_off[l], *gb = net->grads + net->b_off[l];
    for (int i = 0; i < B; i++)
      for (int j = 0; j < out; j++) gb[j] += da[(size_t)i * out + j];
    /* dH_l = dA_l · Wq before the weight gradient reuses any scratch */
    float *dh = net->dbuf[cur ^ 1];
    if (l > 0)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, in, out, 1.0f, da, out, w, in,
                  0.0f, dh, in);
    if (net->mode == NN_RQ_OFF) {
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, B, 1.0f, da, out, net->h[l],
                  in, 1.0f, gw, in);
    } else {
      size_t n = wsize(net, l);
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, B, 1.0f, da, out, net->h[l],
                  in, 0.0f, net->dw, in);
      quantize_backward(net, l, net->dw, net->params + net->w_off[l], net->dw, n);
      for (size_t i = 0; i < n; i++) gw[i] += net->dw[i];
    }
    if (l == 0) break;
    /* through the activation quantizer and the ReLU of layer l − 1 */
    size_t n = (size_t)B * (size_t)in;
    quantize_backward(net, L + l - 1, dh, net->post[l - 1], dh, n);
    nn_ew_leaky_relu_backward(dh, net->pre[l - 1], dh, n, 0.0f);
    da = dh;
    cur ^= 1;
  }
}
