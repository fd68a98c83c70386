/* mlp.c — MLP construction, forward/backward on batches (OpenBLAS), init, describe.
 *
 * Shapes: B = rows of the batch, in/out = a layer's input/output width. act[l] is the input of
 * layer l, (B, in); act[l + 1] its output, (B, out). A linear weight W is (out, in) row-major.
 * Checkpoint save/load lives in mlp_io.c.
 */
#include "nets/mlp.h"

#include <cblas.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "nets/ew.h"
#include "nets/mlp_internal.h"

/* NULL-terminated, so the tables can serve as config enum choices. */
const char *const nn_layer_kind_names[NN_NKIND + 1] = {"linear", "relu", "leaky_relu", "tanh",
                                                       "elu", "layer_norm", "identity", "scale",
                                                       NULL};
const char *const nn_init_kind_names[NN_NINIT + 1] = {"torch", "xavier", "he", "gaussian", NULL};

/* Largest width and layer count accepted; they keep every size computation far from overflow. */
#define NN_MAX_WIDTH (1 << 24)
#define NN_MAX_LAYERS 4096

/* Floats rounded up to a whole 64-byte line, so every carved buffer stays 64-aligned. */
static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

static int has_params(int kind) { return kind == NN_LINEAR || kind == NN_LAYER_NORM; }

/* ---------------------------------------------------------------- description checks */

int nn_descs_check_(int in_dim, const NnLayerDesc *layers, int n_layers, size_t *n_params,
                    int *max_width, CoreErr *err) {
  if (in_dim < 1 || in_dim > NN_MAX_WIDTH)
    return core_err_set(err, CORE_ERR_INVALID, "network input width %d: must be in [1, %d]",
                        in_dim, NN_MAX_WIDTH);
  if (n_layers < 1 || n_layers > NN_MAX_LAYERS || !layers)
    return core_err_set(err, CORE_ERR_INVALID, "network layer count %d: must be in [1, %d]",
                        n_layers, NN_MAX_LAYERS);
  size_t total = 0;
  int width = in_dim, widest = in_dim;
  for (int l = 0; l < n_layers; l++) {
    const NnLayerDesc *d = &layers[l];
    if (d->kind < 0 || d->kind >= NN_NKIND)
      return core_err_set(err, CORE_ERR_INVALID, "layer %d: unknown kind %d", l, d->kind);
    if (!isfinite(d->alpha))
      return core_err_set(err, CORE_ERR_INVALID, "layer %d (%s): alpha is not finite", l,
                          nn_layer_kind_names[d->kind]);
    if (d->kind == NN_LINEAR) {
      if (d->out < 1 || d->out > NN_MAX_WIDTH)
        return core_err_set(err, CORE_ERR_INVALID,
                            "layer %d (linear): output width %d must be in [1, %d]", l, d->out,
                            NN_MAX_WIDTH);
      total += (size_t)d->out * (size_t)width + (size_t)d->out;
      width = d->out;
    } else if (d->kind == NN_LAYER_NORM) {
      total += 2 * (size_t)width;
    } else if (d->kind == NN_SCALE && d->scale) {
      for (int j = 0; j < width; j++)
        if (!isfinite(d->scale[j]))
          return core_err_set(err, CORE_ERR_INVALID, "layer %d (scale): factor %d is not finite",
                              l, j);
    }
    if (width > widest) widest = width;
  }
  if (n_params) *n_params = total;
  if (max_width) *max_width = widest;
  return CORE_OK;
}

long nn_mlp_count_params(int in_dim, const NnLayerDesc *layers, int n_layers) {
  size_t n;
  if (nn_descs_check_(in_dim, layers, n_layers, &n, NULL, NULL) < 0) return -1;
  return (long)n;
}

/* ---------------------------------------------------------------- create / free */

NnMlp *nn_mlp_create(int in_dim, const NnLayerDesc *layers, int n_layers, int max_batch,
                     CoreErr *err) {
  size_t n_params;
  int max_width;
  if (nn_descs_check_(in_dim, layers, n_layers, &n_params, &max_width, err) < 0) return NULL;
  if (max_batch < 1 || max_batch > NN_MAX_WIDTH) {
    core_err_set(err, CORE_ERR_INVALID, "network max_batch %d: must be in [1, %d]", max_batch,
                 NN_MAX_WIDTH);
    return NULL;
  }
  NnMlp *net = core_calloc(1, sizeof *net);
  if (!net) goto nomem;
  net->n_layers = n_layers;
  net->in_dim = in_dim;
  net->max_batch = max_batch;
  net->n_params = n_params;
  net->layers = core_calloc((size_t)n_layers, sizeof *net->layers);
  net->act = core_calloc((size_t)n_layers + 1, sizeof *net->act);
  if (!net->layers || !net->act) goto nomem;

  /* lay out the layers: widths and parameter offsets in PyTorch order (weight, then bias) */
  size_t off = 0, work = 0, mb = (size_t)max_batch;
  int width = in_dim;
  work += round16(mb * (size_t)width);  /* act[0] */
  for (int l = 0; l < n_layers; l++) {
    NnLayer *L = &net->layers[l];
    const NnLayerDesc *d = &layers[l];
    L->kind = d->kind;
    L->alpha = d->alpha;
    L->in = width;
    L->out = d->kind == NN_LINEAR ? d->out : width;
    if (d->kind == NN_LINEAR) {
      L->w_off = off;
      L->b_off = off + (size_t)L->out * (size_t)L->in;
      L->n_params = (size_t)L->out * (size_t)L->in + (size_t)L->out;
    } else if (d->kind == NN_LAYER_NORM) {
      L->w_off = off;
      L->b_off = off + (size_t)width;
      L->n_params = 2 * (size_t)width;
      work += round16(2 * mb);
    } else {
      L->w_off = L->b_off = off;
    }
    if (d->kind == NN_SCALE && d->scale) work += round16((size_t)width);
    off += L->n_params;
    width = L->out;
    work += round16(mb * (size_t)width);  /* act[l + 1] */
  }
  net->out_dim = width;
  work += 2 * round16(mb * (size_t)max_width);  /* backward scratch */

  /* one allocation for every workspace, pointers carved in order */
  net->work_ = core_malloc(work * sizeof(float));
  net->own_params = core_calloc(n_params ? n_params : 1, sizeof(float));
  net->own_grads = core_calloc(n_params ? n_params : 1, sizeof(float));
  if (!net->work_ || !net->own_params || !net->own_grads) goto nomem;
  memset(net->work_, 0, work * sizeof(float));
  float *p = net->work_;
  net->act[0] = p;
  p += round16(mb * (size_t)in_dim);
  for (int l = 0; l < n_layers; l++) {
    NnLayer *L = &net->layers[l];
    if (L->kind == NN_LAYER_NORM) {
      L->stats = p;
      p += round16(2 * mb);
    }
    if (L->kind == NN_SCALE && layers[l].scale) {
      L->scale = p;
      memcpy(L->scale, layers[l].scale, (size_t)L->out * sizeof(float));
      p += round16((size_t)L->out);
    }
    net->act[l + 1] = p;
    p += round16(mb * (size_t)L->out);
  }
  net->dbuf[0] = p;
  p += round16(mb * (size_t)max_width);
  net->dbuf[1] = p;
  p += round16(mb * (size_t)max_width);
  CORE_ASSERT((size_t)(p - (float *)net->work_) == work);
  net->params = net->own_params;
  net->grads = net->own_grads;
  return net;

nomem:
  nn_mlp_free(net);
  core_err_set(err, CORE_ERR_NOMEM, "network: out of memory (%zu parameters, max_batch %d)",
               n_params, max_batch);
  return NULL;
}

void nn_mlp_free(NnMlp *net) {
  if (!net) return;
  core_free(net->work_);
  core_free(net->own_params);
  core_free(net->own_grads);
  core_free(net->act);
  core_free(net->layers);
  core_free(net);
}

/* ---------------------------------------------------------------- params, grads, init */

void nn_mlp_bind_params(NnMlp *net, float *params) {
  net->params = params ? params : net->own_params;
}

void nn_mlp_bind_grads(NnMlp *net, float *grads) {
  net->grads = grads ? grads : net->own_grads;
}

void nn_mlp_zero_grad(NnMlp *net) { memset(net->grads, 0, net->n_params * sizeof(float)); }

void nn_mlp_init(NnMlp *net, int init, double std, CoreRng *rng) {
  CORE_ASSERT(init >= 0 && init < NN_NINIT);
  for (int l = 0; l < net->n_layers; l++) {
    const NnLayer *L = &net->layers[l];
    float *w = net->params + L->w_off, *b = net->params + L->b_off;
    if (L->kind == NN_LAYER_NORM) {
      for (int j = 0; j < L->out; j++) w[j] = 1.0f, b[j] = 0.0f;
      continue;
    }
    if (L->kind != NN_LINEAR) continue;
    long nw = (long)L->out * L->in;
    double fan_in = L->in, fan_out = L->out;
    switch (init) {
    case NN_INIT_TORCH: {
      /* nn.Linear.reset_parameters: kaiming_uniform(a=sqrt(5)) = U(±1/sqrt(fan_in)), same for b */
      double bound = 1.0 / sqrt(fan_in);
      core_rng_uniform_fill(rng, w, nw, -bound, bound);
      core_rng_uniform_fill(rng, b, L->out, -bound, bound);
      break;
    }
    case NN_INIT_XAVIER: {
      double bound = sqrt(6.0 / (fan_in + fan_out));
      core_rng_uniform_fill(rng, w, nw, -bound, bound);
      memset(b, 0, (size_t)L->out * sizeof(float));
      break;
    }
    case NN_INIT_HE:
      core_rng_normal_fill(rng, w, nw, 0.0, sqrt(2.0 / fan_in));
      memset(b, 0, (size_t)L->out * sizeof(float));
      break;
    default:  /* NN_INIT_GAUSSIAN */
      core_rng_normal_fill(rng, w, nw, 0.0, std);
      memset(b, 0, (size_t)L->out * sizeof(float));
      break;
    }
  }
}

/* ---------------------------------------------------------------- forward */

/* y (B, out) = x (B, in) · Wᵀ + b. A single row goes through sgemv: OpenBLAS's M = 1 sgemm path
 * is several times slower (shared/bench/README.md §2). */
static void linear_forward(const NnLayer *L, const float *params, const float *restrict x,
                           float *restrict y, int B) {
  const float *W = params + L->w_off, *b = params + L->b_off;
  for (int r = 0; r < B; r++) memcpy(y + (size_t)r * L->out, b, (size_t)L->out * sizeof(float));
  if (B == 1)
    cblas_sgemv(CblasRowMajor, CblasNoTrans, L->out, L->in, 1.0f, W, L->in, x, 1, 1.0f, y, 1);
  else
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, L->out, L->in, 1.0f, x, L->in, W,
                L->in, 1.0f, y, L->out);
}

/* Row-wise layer norm; keeps each row's mean and 1/std for backward. Sums in double. */
static void layer_norm_forward(const NnLayer *L, const float *params, const float *restrict x,
                               float *restrict y, int B, int max_batch) {
  const float *g = params + L->w_off, *b = params + L->b_off;
  float *mean = L->stats, *rstd = L->stats + max_batch;
  int w = L->in;
  for (int r = 0; r < B; r++) {
    const float *xr = x + (size_t)r * w;
    float *yr = y + (size_t)r * w;
    double s = 0.0, ss = 0.0;
    for (int j = 0; j < w; j++) s += xr[j];
    double m = s / w;
    for (int j = 0; j < w; j++) ss += (xr[j] - m) * (xr[j] - m);
    float rs = (float)(1.0 / sqrt(ss / w + (double)NN_LAYER_NORM_EPS));
    float mf = (float)m;
    mean[r] = mf;
    rstd[r] = rs;
    for (int j = 0; j < w; j++) yr[j] = (xr[j] - mf) * rs * g[j] + b[j];
  }
}

static void layer_forward(const NnMlp *net, const NnLayer *L, const float *restrict x,
                          float *restrict y, int B) {
  size_t n = (size_t)B * (size_t)L->out;
  float a = L->alpha;
  switch (L->kind) {
  case NN_LINEAR:
    linear_forward(L, net->params, x, y, B);
    break;
  case NN_RELU:
    nn_ew_relu(y, x, n);
    break;
  case NN_LEAKY_RELU:
    nn_ew_leaky_relu(y, x, n, a);
    break;
  case NN_TANH:
    nn_ew_tanh(y, x, n);
    break;
  case NN_ELU:
    for (size_t i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : a * expm1f(x[i]);
    break;
  case NN_LAYER_NORM:
    layer_norm_forward(L, net->params, x, y, B, net->max_batch);
    break;
  case NN_IDENTITY:
    memcpy(y, x, n * sizeof(float));
    break;
  case NN_SCALE:
    if (L->scale) {
      for (int r = 0; r < B; r++)
        for (int j = 0; j < L->out; j++)
          y[(size_t)r * L->out + j] = x[(size_t)r * L->out + j] * L->scale[j];
    } else {
      for (size_t i = 0; i < n; i++) y[i] = x[i] * a;
    }
    break;
  default:
    CORE_ASSERT(0 && "unknown layer kind");
  }
}

const float *nn_mlp_forward(NnMlp *net, const float *x, int batch) {
  CORE_ASSERT(batch >= 1 && batch <= net->max_batch);
  /* the input is copied so backward never depends on the caller's buffer */
  if (x != net->act[0])
    memcpy(net->act[0], x, (size_t)batch * (size_t)net->in_dim * sizeof(float));
  for (int l = 0; l < net->n_layers; l++)
    layer_forward(net, &net->layers[l], net->act[l], net->act[l + 1], batch);
  net->batch = batch;
  return net->act[net->n_layers];
}

/* ---------------------------------------------------------------- backward */

/* dW += dYᵀ·X and db += column sums of dY (when grads; = instead of += when overwrite),
 * dX = dY·W (when dx). Overwriting spares the caller a zeroing pass and the GEMM a read of dW. */
static void linear_backward(const NnLayer *L, const float *params, float *grads,
                            const float *restrict x, const float *restrict dy, float *restrict dx,
                            int B, int overwrite) {
  const float *W = params + L->w_off;
  if (grads) {
    float *dW = grads + L->w_off, *db = grads + L->b_off;
    if (B == 1) {
      if (overwrite) memset(dW, 0, (size_t)L->out * (size_t)L->in * sizeof(float));
      cblas_sger(CblasRowMajor, L->out, L->in, 1.0f, dy, 1, x, 1, dW, L->in);
    } else {
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, L->out, L->in, B, 1.0f, dy, L->out, x,
                  L->in, overwrite ? 0.0f : 1.0f, dW, L->in);
    }
    nn_ew_sum_rows(db, dy, B, L->out, overwrite);
  }
  if (dx) {
    if (B == 1)
      cblas_sgemv(CblasRowMajor, CblasTrans, L->out, L->in, 1.0f, W, L->in, dy, 1, 0.0f, dx, 1);
    else
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, L->in, L->out, 1.0f, dy, L->out,
                  W, L->in, 0.0f, dx, L->in);
  }
}

/* With x̂ = (x − mean)·rstd, g the gain and dx̂ = dy·g:
 * dx = rstd·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)); dgain += Σ_rows dy·x̂, dbias += Σ_rows dy. */
static void layer_norm_backward(const NnLayer *L, const float *params, float *grads,
                                const float *restrict x, const float *restrict dy,
                                float *restrict dx, int B, int max_batch, int overwrite) {
  const float *g = params + L->w_off;
  if (grads && overwrite) {
    memset(grads + L->w_off, 0, (size_t)L->in * sizeof(float));
    memset(grads + L->b_off, 0, (size_t)L->in * sizeof(float));
  }
  const float *mean = L->stats, *rstd = L->stats + max_batch;
  int w = L->in;
  for (int r = 0; r < B; r++) {
    const float *xr = x + (size_t)r * w, *dyr = dy + (size_t)r * w;
    float m = mean[r], rs = rstd[r];
    if (grads) {
      float *dg = grads + L->w_off, *db = grads + L->b_off;
      for (int j = 0; j < w; j++) {
        dg[j] += dyr[j] * (xr[j] - m) * rs;
        db[j] += dyr[j];
      }
    }
    if (dx) {
      double s1 = 0.0, s2 = 0.0;
      for (int j = 0; j < w; j++) {
        float dxh = dyr[j] * g[j];
        s1 += dxh;
        s2 += dxh * (xr[j] - m) * rs;
      }
      float m1 = (float)(s1 / w), m2 = (float)(s2 / w);
      float *dxr = dx + (size_t)r * w;
      for (int j = 0; j < w; j++) dxr[j] = rs * (dyr[j] * g[j] - m1 - (xr[j] - m) * rs * m2);
    }
  }
}

/* One layer backward: x its input, y its output, dy the output gradient; dx (nullable) the
 * input gradient; grads NULL when parameter gradients are not wanted. */
static void layer_backward(const NnMlp *net, const NnLayer *L, float *grads,
                           const float *restrict x, const float *restrict y,
                           const float *restrict dy, float *restrict dx, int B, int overwrite) {
  size_t n = (size_t)B * (size_t)L->out;
  float a = L->alpha;
  if (L->kind == NN_LINEAR) {
    linear_backward(L, net->params, grads, x, dy, dx, B, overwrite);
    return;
  }
  if (L->kind == NN_LAYER_NORM) {
    layer_norm_backward(L, net->params, grads, x, dy, dx, B, net->max_batch, overwrite);
    return;
  }
  if (!dx) return;
  switch (L->kind) {
  case NN_RELU:
    nn_ew_leaky_relu_backward(dx, x, dy, n, 0.0f);
    break;
  case NN_LEAKY_RELU:
    nn_ew_leaky_relu_backward(dx, x, dy, n, a);
    break;
  case NN_TANH:
    nn_ew_tanh_backward(dx, y, dy, n);
    break;
  case NN_ELU:
    /* for x <= 0, d/dx alpha·(eˣ − 1) = alpha·eˣ = y + alpha */
    for (size_t i = 0; i < n; i++) dx[i] = x[i] > 0.0f ? dy[i] : dy[i] * (y[i] + a);
    break;
  case NN_IDENTITY:
    memcpy(dx, dy, n * sizeof(float));
    break;
  case NN_SCALE:
    if (L->scale) {
      for (int r = 0; r < B; r++)
        for (int j = 0; j < L->out; j++)
          dx[(size_t)r * L->out + j] = dy[(size_t)r * L->out + j] * L->scale[j];
    } else {
      for (size_t i = 0; i < n; i++) dx[i] = dy[i] * a;
    }
    break;
  default:
    CORE_ASSERT(0 && "unknown layer kind");
  }
}

void nn_mlp_backward(NnMlp *net, const float *dy, float *dx, unsigned flags) {
  int input_only = (flags & NN_BACKWARD_INPUT_ONLY) != 0;
  int overwrite = (flags & NN_BACKWARD_OVERWRITE) != 0;
  CORE_ASSERT(net->batch >= 1);
  CORE_ASSERT(!input_only || dx);
  int B = net->batch;
  float *grads = input_only ? NULL : net->grads;
  /* without an input gradient, nothing below the first parameterised layer needs computing */
  int lowest = 0;
  if (!dx) {
    lowest = net->n_layers;
    for (int l = 0; l < net->n_layers; l++)
      if (has_params(net->layers[l].kind)) {
        lowest = l;
        break;
      }
  }
  const float *cur = dy;
  int t = 0;
  for (int l = net->n_layers - 1; l >= lowest; l--) {
    /* the layer's input gradient: dx for layer 0, else the scratch buffer not holding cur */
    float *out = l == 0 ? dx : (l == lowest ? NULL : net->dbuf[t]);
    layer_backward(net, &net->layers[l], grads, net->act[l], net->act[l + 1], cur, out, B,
                   overwrite);
    cur = out;
    t ^= 1;
  }
}

/* ---------------------------------------------------------------- counts, describe */

NnFlops nn_mlp_flops(const NnMlp *net, int batch) {
  NnFlops f = {0.0, 0.0, 0.0, 0.0};
  int first = 1;
  for (int l = 0; l < net->n_layers; l++) {
    const NnLayer *L = &net->layers[l];
    if (L->kind != NN_LINEAR) continue;
    double prod = 2.0 * batch * (double)L->in * (double)L->out;
    f.fwd += prod;
    f.dw += prod;
    if (first)
      f.dx_input += prod;
    else
      f.dx_hidden += prod;
    first = 0;
  }
  return f;
}

/* Append formatted text at *len (snprintf semantics: len counts what would have been written). */
static void append(char *buf, size_t n, int *len, const char *fmt, ...) CORE_PRINTF(4, 5);
static void append(char *buf, size_t n, int *len, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  size_t at = (size_t)*len < n ? (size_t)*len : n;
  int k = vsnprintf(buf ? buf + at : NULL, n - at, fmt, ap);
  va_end(ap);
  if (k > 0) *len += k;
}

int nn_descs_describe_(int in_dim, const NnLayerDesc *layers, int n_layers, char *buf,
                       size_t n) {
  int len = 0;
  if (buf && n) buf[0] = '\0';
  append(buf, n, &len, "%d", in_dim);
  for (int l = 0; l < n_layers; l++)
    if (layers[l].kind == NN_LINEAR) append(buf, n, &len, "-%d", layers[l].out);
  const char *sep = " ";
  for (int l = 0; l < n_layers; l++) {
    const NnLayerDesc *d = &layers[l];
    if (d->kind == NN_LINEAR) continue;
    if (d->kind < 0 || d->kind >= NN_NKIND) {
      append(buf, n, &len, "%s?%d", sep, d->kind);
    } else if (d->kind == NN_LEAKY_RELU || d->kind == NN_ELU ||
               (d->kind == NN_SCALE && !d->scale)) {
      append(buf, n, &len, "%s%s(%g)", sep, nn_layer_kind_names[d->kind], (double)d->alpha);
    } else if (d->kind == NN_SCALE) {
      append(buf, n, &len, "%sscale[per-unit]", sep);
    } else {
      append(buf, n, &len, "%s%s", sep, nn_layer_kind_names[d->kind]);
    }
    sep = ",";
  }
  long np = nn_mlp_count_params(in_dim, layers, n_layers);
  append(buf, n, &len, "; %ld params", np);
  return len;
}

/* The description a built network was made from (scale pointers borrowed from the net). */
void nn_mlp_descs_(const NnMlp *net, NnLayerDesc *out) {
  for (int l = 0; l < net->n_layers; l++) {
    const NnLayer *L = &net->layers[l];
    out[l] = (NnLayerDesc){L->kind, L->kind == NN_LINEAR ? L->out : 0, L->alpha, L->scale};
  }
}

int nn_mlp_describe(const NnMlp *net, char *buf, size_t n) {
  NnLayerDesc stack[64];
  NnLayerDesc *d = net->n_layers <= 64 ? stack : core_malloc((size_t)net->n_layers * sizeof *d);
  if (!d) return snprintf(buf, n, "(out of memory)");
  nn_mlp_descs_(net, d);
  int len = nn_descs_describe_(net->in_dim, d, net->n_layers, buf, n);
  if (d != stack) core_free(d);
  return len;
}

int nn_mlp_param_segments(const NnMlp *net, size_t *seg, int cap) {
  int n = 0;
  for (int l = 0; l < net->n_layers; l++) {
    const NnLayer *L = &net->layers[l];
    if (!L->n_params) continue;
    size_t w = L->b_off - L->w_off;
    if (n < cap) seg[n] = w;
    n++;
    if (n < cap) seg[n] = L->n_params - w;
    n++;
  }
  return n;
}
