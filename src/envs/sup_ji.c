/* sup_ji.c — the deep linear network of Ji & Telgarsky: risk, rank-one gradients, metrics. */
#include "envs/sup_ji.h"

#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "envs/sup_la.h"

SupJiNet *sup_ji_net_create(int depth, const int *dims, double init, CoreRng *rng, CoreErr *err) {
  if (depth < 1 || depth > SUP_JI_MAX_DEPTH || dims[depth] != 1) {
    core_err_set(err, CORE_ERR_INVALID, "deep linear net: depth %d must be in 1..%d and the last "
                 "width 1", depth, SUP_JI_MAX_DEPTH);
    return NULL;
  }
  size_t total = 3 * (size_t)dims[0];  /* wprod, gprod, and b_0 (unused) */
  for (int k = 0; k <= depth; k++) {
    if (dims[k] < 1 || dims[k] > 4096) {
      core_err_set(err, CORE_ERR_INVALID, "deep linear net: width %d of layer %d is not in "
                   "1..4096", dims[k], k);
      return NULL;
    }
    total += 2 * (size_t)dims[k];  /* a_k (d_k) and b_{k+1} (d_k) */
    if (k > 0) total += 2 * (size_t)dims[k] * dims[k - 1];
  }
  SupJiNet *net = core_calloc(1, sizeof *net);
  double *mem = net ? core_calloc(total, sizeof(double)) : NULL;
  if (!mem) {
    core_free(net);
    core_err_set(err, CORE_ERR_NOMEM, "deep linear net: out of memory");
    return NULL;
  }
  net->depth = depth;
  memcpy(net->dims, dims, sizeof(int) * (size_t)(depth + 1));
  net->mem_ = mem;
  double *p = mem;
  net->wprod = p, p += dims[0];
  net->gprod = p, p += dims[0];
  for (int k = 0; k <= depth; k++) {
    net->fwd[k] = p, p += dims[k];
    net->bwd[k] = p, p += dims[k > 0 ? k - 1 : 0];  /* b_k has d_{k−1} entries */
  }
  for (int k = 0; k < depth; k++) {
    size_t sz = (size_t)dims[k + 1] * dims[k];
    net->w[k] = p, p += sz;
    net->g[k] = p, p += sz;
    double std = init / sqrt((double)dims[k]);
    for (size_t i = 0; i < sz; i++) net->w[k][i] = std * core_rng_normal(rng);
  }
  CORE_ASSERT((size_t)(p - mem) <= total);
  return net;
}

void sup_ji_net_free(SupJiNet *net) {
  if (!net) return;
  core_free(net->mem_);
  core_free(net);
}

/* y = Wᵀ x for W (rows, cols): x (rows) -> y (cols). */
static void matvec_t_(const double *w, int rows, int cols, const double *x, double *y) {
  for (int j = 0; j < cols; j++) y[j] = 0.0;
  for (int i = 0; i < rows; i++)
    for (int j = 0; j < cols; j++) y[j] += w[(size_t)i * cols + j] * x[i];
}

/* y = W x for W (rows, cols): x (cols) -> y (rows). */
static void matvec_(const double *w, int rows, int cols, const double *x, double *y) {
  for (int i = 0; i < rows; i++) {
    double s = 0.0;
    for (int j = 0; j < cols; j++) s += w[(size_t)i * cols + j] * x[j];
    y[i] = s;
  }
}

double sup_ji_risk_grad(SupJiNet *net, const double *z, int n, int loss, int grad) {
  const int L = net->depth, d = net->dims[0];
  /* a_L = 1, a_{k−1} = W_kᵀ a_k: a_0 = (W_L ⋯ W_1)ᵀ = w_prod; layer index k is w[k−1] */
  net->fwd[L][0] = 1.0;
  for (int k = L; k >= 1; k--)
    matvec_t_(net->w[k - 1], net->dims[k], net->dims[k - 1], net->fwd[k], net->fwd[k - 1]);
  memcpy(net->wprod, net->fwd[0], sizeof(double) * (size_t)d);
  double risk = 0.0;
  memset(net->gprod, 0, sizeof(double) * (size_t)d);
  for (int i = 0; i < n; i++) {
    const double *zi = z + (size_t)i * d;
    double s = 0.0;
    for (int j = 0; j < d; j++) s += net->wprod[j] * zi[j];
    double l, dl;
    if (loss == SUP_JI_EXP) {
      l = exp(-s);
      dl = -l;
    } else {
      l = s > 0 ? log1p(exp(-s)) : -s + log1p(exp(s));
      dl = -1.0 / (1.0 + exp(s));
    }
    risk += l;
    for (int j = 0; j < d; j++) net->gprod[j] += dl * zi[j];
  }
  risk /= n;
  for (int j = 0; j < d; j++) net->gprod[j] /= n;
  if (grad) {
    /* b_1 = ∇R(w_prod), b_{k+1} = W_k b_k; ∂R/∂W_k = a_k b_kᵀ */
    memcpy(net->bwd[1], net->gprod, sizeof(double) * (size_t)d);
    for (int k = 1; k <= L; k++) {
      const int rows = net->dims[k], cols = net->dims[k - 1];
      const double *a = net->fwd[k], *b = net->bwd[k];
      double *g = net->g[k - 1];
      for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) g[(size_t)i * cols + j] = a[i] * b[j];
      if (k < L) matvec_(net->w[k - 1], rows, cols, b, net->bwd[k + 1]);
    }
  }
  return risk;
}

void sup_ji_step(SupJiNet *net, double eta) {
  for (int k = 0; k < net->depth; k++) {
    size_t sz = (size_t)net->dims[k + 1] * net->dims[k];
    for (size_t i = 0; i < sz; i++) net->w[k][i] -= eta * net->g[k][i];
  }
}

int sup_ji_metrics(SupJiNet *net, const double *u_bar, SupJiMetrics *out, CoreErr *err) {
  const int L = net->depth;
  memset(out, 0, sizeof *out);
  double u[SUP_JI_MAX_DEPTH][4096 / 8], v[SUP_JI_MAX_DEPTH][4096 / 8];  /* widths <= 512 here */
  out->min_ratio = 1.0;
  out->min_align = 1.0;
  for (int k = 0; k < L; k++) {
    const int rows = net->dims[k + 1], cols = net->dims[k];
    if (rows > 512 || cols > 512)
      return core_err_set(err, CORE_ERR_INVALID, "alignment metrics support widths <= 512");
    int rc = sup_top_singular(net->w[k], rows, cols, &out->spec[k], u[k], v[k], &out->fro[k], err);
    if (rc) return rc;
    out->ratio[k] = out->fro[k] > 0 ? out->spec[k] / out->fro[k] : 0.0;
    if (k < L - 1 && out->ratio[k] < out->min_ratio) out->min_ratio = out->ratio[k];
  }
  for (int k = 0; k + 1 < L; k++) {
    double s = 0.0;
    for (int j = 0; j < net->dims[k + 1]; j++) s += v[k + 1][j] * u[k][j];
    out->align[k] = fabs(s);
    if (out->align[k] < out->min_align) out->min_align = out->align[k];
  }
  /* w_prod at the current W */
  net->fwd[L][0] = 1.0;
  for (int k = L; k >= 1; k--)
    matvec_t_(net->w[k - 1], net->dims[k], net->dims[k - 1], net->fwd[k], net->fwd[k - 1]);
  if (u_bar) {
    double dot = 0.0, nw = 0.0, nu = 0.0;
    for (int j = 0; j < net->dims[0]; j++) {
      dot += net->fwd[0][j] * u_bar[j];
      nw += net->fwd[0][j] * net->fwd[0][j];
      nu += u_bar[j] * u_bar[j];
    }
    out->cos_u_bar = nw > 0 && nu > 0 ? dot / sqrt(nw * nu) : 0.0;
  } else {
    out->cos_u_bar = NAN;
  }
  return 0;
}

int sup_ji_lemma2_d(const SupJiNet *net, double *d_out, CoreErr *err) {
  const int L = net->depth;
  double max_fro2 = 0.0, last_fro2 = 0.0, sum = 0.0;
  for (int k = 0; k < L; k++) {
    size_t sz = (size_t)net->dims[k + 1] * net->dims[k];
    double f2 = 0.0;
    for (size_t i = 0; i < sz; i++) f2 += net->w[k][i] * net->w[k][i];
    if (f2 > max_fro2) max_fro2 = f2;
    if (k == L - 1) last_fro2 = f2;
  }
  for (int k = 0; k + 1 < L; k++) {
    /* |W_k W_kᵀ − W_{k+1}ᵀ W_{k+1}|₂ on R^{d_k} (W_k is w[k], (d_{k+1}, d_k) in 0-based dims) */
    const int p = net->dims[k + 1], in = net->dims[k], out = net->dims[k + 2];
    double *m = core_malloc(sizeof(double) * ((size_t)p * p + p));
    if (!m) return core_err_set(err, CORE_ERR_NOMEM, "lemma 2 constant: out of memory");
    double *w = m + (size_t)p * p;
    const double *a = net->w[k], *b = net->w[k + 1];
    for (int i = 0; i < p; i++)
      for (int j = 0; j < p; j++) {
        double s = 0.0;
        for (int c = 0; c < in; c++) s += a[(size_t)i * in + c] * a[(size_t)j * in + c];
        for (int r = 0; r < out; r++) s -= b[(size_t)r * p + i] * b[(size_t)r * p + j];
        m[(size_t)i * p + j] = s;
      }
    int rc = sup_eigh(m, p, w, 0, err);
    if (!rc) sum += fabs(w[0]) > fabs(w[p - 1]) ? fabs(w[0]) : fabs(w[p - 1]);
    core_free(m);
    if (rc) return rc;
  }
  *d_out = max_fro2 - last_fro2 + sum;
  return 0;
}
