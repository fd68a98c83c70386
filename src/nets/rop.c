/* rop.c — R-operator forward/backward on NnMlp: Hessian, Gauss-Newton and Fisher products.
 *
 * Shapes: B = rows of the batch, K = output width. act[l] is layer l's input (B, in_l) as the
 * network's forward left it; ract[l] = R{act[l]} (the directional derivative of act[l] along v),
 * dact[l] = ∂ℓ/∂act[l] from the backward of set_batch.
 *
 * Linear layer y = x·Wᵀ + b, direction (V_W, V_b):
 *   R-forward   Ry  = Rx·Wᵀ + x·V_Wᵀ + V_b
 *   backward    g_W += dyᵀ·x, g_b += Σ_rows dy, dx = dy·W
 *   R-backward  Hv_W += Rdyᵀ·x + dyᵀ·Rx, Hv_b += Σ_rows Rdy, Rdx = Rdy·W + dy·V_W
 * Elementwise y = φ(x):  Ry = φ'·Rx;  dx = φ'·dy;  Rdx = φ'·Rdy + φ''·Rx·dy.
 * The Gauss-Newton and Fisher products drop the second-order terms (dy·Rx, dy·V_W, φ''): they are
 * R-forward to Jv, the output matrix, then a plain backward.
 */
#include "nets/rop.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "nets/loss.h"

const char *const nn_curv_loss_names[] = {"mse", "xent", "expected_error"};
const char *const nn_curv_matrix_names[] = {"hessian", "gauss_newton", "fisher"};

struct NnCurv {
  NnMlp *net;              /* borrowed */
  int loss;                /* NnCurvLoss */
  int K;                   /* output width */
  int batch;               /* rows of the last set_batch (0 before) */
  int first_lin;           /* index of the first linear layer: R{act[l]} = 0 for l <= first_lin */
  long products;
  float **ract;            /* (n_layers + 1) pointers, each (max_batch, width) */
  float **dact;            /* (n_layers + 1) pointers, each (max_batch, width); dact[0] NULL */
  float *rd[2];            /* backward ping-pong, (max_batch, max width) each */
  float *p;                /* softmax of the outputs (max_batch, K) */
  float *pa;               /* p ⊙ a of the expected error (max_batch, K) */
  float *hplus;            /* expected error: PSD part of H_z / B, (max_batch, K, K) */
  float *t;                /* MSE targets (max_batch, K) */
  int *labels;             /* (max_batch) */
  double *jac;             /* Jacobi scratch: A (K, K), V (K, K), eigenvalues (K) */
  void *work_;
};


static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }


static int kind_supported(int kind) {
  return kind == NN_LINEAR || kind == NN_RELU || kind == NN_LEAKY_RELU || kind == NN_TANH ||
         kind == NN_ELU || kind == NN_IDENTITY || kind == NN_SCALE;
}


void nn_curv_free(NnCurv *c) {
  if (!c) return;
  core_free(c->work_);
  core_free(c->labels);
  core_free(c->jac);
  core_free(c->ract);
  core_free(c->dact);
  core_free(c);
}


NnCurv *nn_curv_create(NnMlp *net, int loss, CoreErr *err) {
  CORE_ASSERT(net);
  if (loss < 0 || loss >= NN_CURV_NLOSS) {
    core_err_set(err, CORE_ERR_INVALID, "curvature loss %d: must be mse, xent or expected_error",
                 loss);
    return NULL;
  }
  int L = net->n_layers, K = net->out_dim;
  int first_lin = -1;
  for (int l = 0; l < L; l++) {
    int k = net->layers[l].kind;
    if (!kind_supported(k)) {
      core_err_set(err, CORE_ERR_INVALID,
                   "curvature products: layer %d (%s) is not supported (linear, relu, leaky_relu, "
                   "tanh, elu, identity, scale are)", l, nn_layer_kind_names[k]);
      return NULL;
    }
    if (k == NN_LINEAR && first_lin < 0) first_lin = l;
  }
  if (first_lin < 0) {
    core_err_set(err, CORE_ERR_INVALID, "curvature products: the network has no linear layer");
    return NULL;
  }
  if (loss != NN_CURV_MSE && (K < 2 || K > NN_CURV_MAX_CLASSES)) {
    core_err_set(err, CORE_ERR_INVALID, "curvature loss %s needs at least 2 and at most %d "
                 "outputs (got %d)", nn_curv_loss_names[loss], NN_CURV_MAX_CLASSES, K);
    return NULL;
  }

  NnCurv *c = core_calloc(1, sizeof *c);
  if (!c) goto nomem;
  c->net = net;
  c->loss = loss;
  c->K = K;
  c->first_lin = first_lin;
  c->ract = core_calloc((size_t)L + 1, sizeof *c->ract);
  c->dact = core_calloc((size_t)L + 1, sizeof *c->dact);
  c->labels = core_calloc((size_t)net->max_batch, sizeof *c->labels);
  c->jac = core_calloc(2 * (size_t)K * K + (size_t)K, sizeof *c->jac);
  if (!c->ract || !c->dact || !c->labels || !c->jac) goto nomem;

  /* one workspace, carved in order */
  size_t mb = (size_t)net->max_batch, maxw = (size_t)net->in_dim, work = 0;
  for (int l = 0; l < L; l++)
    if ((size_t)net->layers[l].out > maxw) maxw = (size_t)net->layers[l].out;
  for (int l = 0; l <= L; l++) {
    size_t w = (size_t)(l < L ? net->layers[l].in : K);
    work += round16(mb * w);               /* ract[l] */
    if (l > 0) work += round16(mb * w);    /* dact[l] */
  }
  work += 2 * round16(mb * maxw) + 3 * round16(mb * (size_t)K);
  if (loss == NN_CURV_EXPECTED_ERROR) work += round16(mb * (size_t)K * (size_t)K);
  c->work_ = core_calloc(work, sizeof(float));
  if (!c->work_) goto nomem;
  float *q = c->work_;
  for (int l = 0; l <= L; l++) {
    size_t w = (size_t)(l < L ? net->layers[l].in : K);
    c->ract[l] = q;
    q += round16(mb * w);
    if (l > 0) {
      c->dact[l] = q;
      q += round16(mb * w);
    }
  }
  c->rd[0] = q;
  q += round16(mb * maxw);
  c->rd[1] = q;
  q += round16(mb * maxw);
  c->p = q;
  q += round16(mb * (size_t)K);
  c->pa = q;
  q += round16(mb * (size_t)K);
  c->t = q;
  q += round16(mb * (size_t)K);
  if (loss == NN_CURV_EXPECTED_ERROR) {
    c->hplus = q;
    q += round16(mb * (size_t)K * (size_t)K);
  }
  CORE_ASSERT((size_t)(q - (float *)c->work_) == work);
  return c;

nomem:
  nn_curv_free(c);
  core_err_set(err, CORE_ERR_NOMEM, "curvature products: out of memory (max_batch %d)",
               net->max_batch);
  return NULL;
}


long nn_curv_products(const NnCurv *c) { return c->products; }

/* ---------------------------------------------------------------- output losses */

/* Softmax of one row in double; returns log-sum-exp. */
static double softmax_row(const float *z, int K, double *p) {
  double m = z[0];
  for (int j = 1; j < K; j++)
    if (z[j] > m) m = z[j];
  double s = 0.0;
  for (int j = 0; j < K; j++) {
    p[j] = exp((double)z[j] - m);
    s += p[j];
  }
  for (int j = 0; j < K; j++) p[j] /= s;
  return m + log(s);
}


/* Expected 0/1 error of the batch, mean_n (1 − p_{y_n}); dz = p⊙a/B with a = c − Σ p c. */
static double expected_error(const float *z, const int *labels, int B, int K, float *dz) {
  double total = 0.0, pr[NN_CURV_MAX_CLASSES];
  CORE_ASSERT(K <= NN_CURV_MAX_CLASSES);
  for (int r = 0; r < B; r++) {
    int y = labels[r];
    CORE_ASSERT(y >= 0 && y < K);
    softmax_row(z + (size_t)r * K, K, pr);
    double cbar = 1.0 - pr[y];
    total += cbar;
    if (dz) {
      for (int j = 0; j < K; j++) {
        double a = (j == y ? 0.0 : 1.0) - cbar;
        dz[(size_t)r * K + j] = (float)(pr[j] * a / B);
      }
    }
  }
  return total / B;
}


double nn_curv_loss_value(int loss, const float *z, const float *t, const int *labels, int batch,
                          int classes, float *dz) {
  switch (loss) {
  case NN_CURV_MSE:
    return nn_loss_mse(z, t, batch, classes, dz);
  case NN_CURV_XENT:
    return nn_loss_softmax_xent(z, labels, batch, classes, dz);
  case NN_CURV_EXPECTED_ERROR:
    return expected_error(z, labels, batch, classes, dz);
  default:
    CORE_ASSERT(0 && "unknown curvature loss");
    return 0.0;
  }
}


/* Cyclic Jacobi eigendecomposition of the symmetric K×K matrix A (destroyed): eigenvalues into w,
 * eigenvectors into the columns of V. K is at most a few dozen here, so sweeps are cheap. */
static void jacobi_eig(double *A, double *V, double *w, int K) {
  for (int i = 0; i < K; i++)
    for (int j = 0; j < K; j++) V[i * K + j] = i == j;
  for (int sweep = 0; sweep < 60; sweep++) {
    double off = 0.0, diag = 0.0;
    for (int i = 0; i < K; i++) {
      diag += A[i * K + i] * A[i * K + i];
      for (int j = i + 1; j < K; j++) off += A[i * K + j] * A[i * K + j];
    }
    if (off <= 1e-30 * (diag + 1e-300)) break;
    for (int p = 0; p < K; p++) {
      for (int q = p + 1; q < K; q++) {
        double apq = A[p * K + q];
        if (fabs(apq) < 1e-300) continue;
        /* rotation angle that zeroes A[p][q] (Golub & Van Loan, symmetric Schur) */
        double theta = (A[q * K + q] - A[p * K + p]) / (2.0 * apq);
        double tt = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1.0));
        double cs = 1.0 / sqrt(tt * tt + 1.0), sn = tt * cs;
        for (int k = 0; k < K; k++) {  /* A ← A·R */
          double akp = A[k * K + p], akq = A[k * K + q];
          A[k * K + p] = cs * akp - sn * akq;
          A[k * K + q] = sn * akp + cs * akq;
        }
        for (int k = 0; k < K; k++) {  /* A ← Rᵀ·A */
          double apk = A[p * K + k], aqk = A[q * K + k];
          A[p * K + k] = cs * apk - sn * aqk;
          A[q * K + k] = sn * apk + cs * aqk;
        }
        for (int k = 0; k < K; k++) {  /* V ← V·R */
          double vkp = V[k * K + p], vkq = V[k * K + q];
          V[k * K + p] = cs * vkp - sn * vkq;
          V[k * K + q] = sn * vkp + cs * vkq;
        }
      }
    }
  }
  for (int i = 0; i < K; i++) w[i] = A[i * K + i];
}


/* Output-side quantities of the batch: p (softmax) and, for the expected error, p⊙a and the PSD
 * part of each example's H_z (divided by B). */
static void output_curvature(NnCurv *c, const float *z, int B) {
  int K = c->K;
  if (c->loss == NN_CURV_MSE) return;
  double pr[NN_CURV_MAX_CLASSES];
  CORE_ASSERT(K <= NN_CURV_MAX_CLASSES);
  double *A = c->jac, *V = c->jac + (size_t)K * K, *w = c->jac + 2 * (size_t)K * K;
  for (int r = 0; r < B; r++) {
    softmax_row(z + (size_t)r * K, K, pr);
    float *pf = c->p + (size_t)r * K;
    for (int j = 0; j < K; j++) pf[j] = (float)pr[j];
    if (c->loss != NN_CURV_EXPECTED_ERROR) continue;
    int y = c->labels[r];
    double cbar = 1.0 - pr[y];
    double pa[NN_CURV_MAX_CLASSES];
    for (int j = 0; j < K; j++) {
      pa[j] = pr[j] * ((j == y ? 0.0 : 1.0) - cbar);
      c->pa[(size_t)r * K + j] = (float)pa[j];
    }
    /* H = diag(p⊙a) − p(p⊙a)ᵀ − (p⊙a)pᵀ, then clip its negative eigenvalues */
    for (int i = 0; i < K; i++)
      for (int j = 0; j < K; j++)
        A[i * K + j] = (i == j ? pa[i] : 0.0) - pr[i] * pa[j] - pa[i] * pr[j];
    jacobi_eig(A, V, w, K);
    float *hp = c->hplus + (size_t)r * K * K;
    for (int i = 0; i < K; i++) {
      for (int j = 0; j < K; j++) {
        double s = 0.0;
        for (int k = 0; k < K; k++)
          if (w[k] > 0.0) s += V[i * K + k] * w[k] * V[j * K + k];
        hp[i * K + j] = (float)(s / B);
      }
    }
  }
}


/* out (B, K) = M_z · u (B, K) per example, M_z the output matrix of a curvature kind. */
static void output_product(const NnCurv *c, int matrix, const float *u, float *out, int B) {
  int K = c->K;
  if (c->loss == NN_CURV_MSE) {
    float s = (float)(2.0 / ((double)B * K));
    for (size_t i = 0; i < (size_t)B * K; i++) out[i] = s * u[i];
    return;
  }
  float inv_b = 1.0f / (float)B;
  for (int r = 0; r < B; r++) {
    const float *p = c->p + (size_t)r * K, *ur = u + (size_t)r * K;
    float *o = out + (size_t)r * K;
    if (c->loss == NN_CURV_XENT || matrix == NN_CURV_FISHER) {
      /* (diag p − ppᵀ)·u / B */
      double pu = 0.0;
      for (int j = 0; j < K; j++) pu += (double)p[j] * ur[j];
      for (int j = 0; j < K; j++) o[j] = (float)(p[j] * (ur[j] - pu)) * inv_b;
    } else if (matrix == NN_CURV_GAUSS_NEWTON) {
      const float *hp = c->hplus + (size_t)r * K * K;
      for (int i = 0; i < K; i++) {
        double s = 0.0;
        for (int j = 0; j < K; j++) s += (double)hp[i * K + j] * ur[j];
        o[i] = (float)s;
      }
    } else {
      /* exact expected-error Hessian: (p⊙a⊙u − p·(p⊙a)ᵀu − (p⊙a)·pᵀu) / B */
      const float *pa = c->pa + (size_t)r * K;
      double pau = 0.0, pu = 0.0;
      for (int j = 0; j < K; j++) {
        pau += (double)pa[j] * ur[j];
        pu += (double)p[j] * ur[j];
      }
      for (int j = 0; j < K; j++)
        o[j] = (float)(pa[j] * ur[j] - p[j] * pau - pa[j] * pu) * inv_b;
    }
  }
}

/* ---------------------------------------------------------------- layer pieces */

/* Ry = φ'(x)·Rx for an elementwise layer. */
static void act_jvp(const NnLayer *L, const float *x, const float *y, const float *Rx, float *Ry,
                    int B) {
  size_t n = (size_t)B * L->out;
  float a = L->alpha;
  switch (L->kind) {
  case NN_RELU:
    for (size_t i = 0; i < n; i++) Ry[i] = x[i] > 0.0f ? Rx[i] : 0.0f;
    break;
  case NN_LEAKY_RELU:
    for (size_t i = 0; i < n; i++) Ry[i] = x[i] > 0.0f ? Rx[i] : a * Rx[i];
    break;
  case NN_TANH:
    for (size_t i = 0; i < n; i++) Ry[i] = (1.0f - y[i] * y[i]) * Rx[i];
    break;
  case NN_ELU:
    for (size_t i = 0; i < n; i++) Ry[i] = x[i] > 0.0f ? Rx[i] : (y[i] + a) * Rx[i];
    break;
  case NN_IDENTITY:
    memcpy(Ry, Rx, n * sizeof(float));
    break;
  case NN_SCALE:
    for (int r = 0; r < B; r++)
      for (int j = 0; j < L->out; j++) {
        size_t i = (size_t)r * L->out + j;
        Ry[i] = Rx[i] * (L->scale ? L->scale[j] : a);
      }
    break;
  default:
    CORE_ASSERT(0 && "unsupported layer kind");
  }
}


/* dx = φ'(x)·dy, and with Rx / Rdy / Rdx given also Rdx = φ'·Rdy + φ''·Rx·dy (Hessian). Either
 * dx or Rdx may be NULL. */
static void act_back(const NnLayer *L, const float *x, const float *y, const float *dy, float *dx,
                     const float *Rx, const float *Rdy, float *Rdx, int B) {
  size_t n = (size_t)B * L->out;
  float a = L->alpha;
  switch (L->kind) {
  case NN_RELU:
  case NN_LEAKY_RELU: {
    float s = L->kind == NN_RELU ? 0.0f : a;
    if (dx)
      for (size_t i = 0; i < n; i++) dx[i] = x[i] > 0.0f ? dy[i] : s * dy[i];
    if (Rdx)
      for (size_t i = 0; i < n; i++) Rdx[i] = x[i] > 0.0f ? Rdy[i] : s * Rdy[i];
    break;
  }
  case NN_TANH:
    /* φ' = 1 − y², φ'' = −2y(1 − y²) */
    if (dx)
      for (size_t i = 0; i < n; i++) dx[i] = (1.0f - y[i] * y[i]) * dy[i];
    if (Rdx)
      for (size_t i = 0; i < n; i++)
        Rdx[i] = (1.0f - y[i] * y[i]) * (Rdy[i] - 2.0f * y[i] * Rx[i] * dy[i]);
    break;
  case NN_ELU:
    /* for x <= 0: φ' = φ'' = α·eˣ = y + α */
    if (dx)
      for (size_t i = 0; i < n; i++) dx[i] = x[i] > 0.0f ? dy[i] : (y[i] + a) * dy[i];
    if (Rdx)
      for (size_t i = 0; i < n; i++)
        Rdx[i] = x[i] > 0.0f ? Rdy[i] : (y[i] + a) * (Rdy[i] + Rx[i] * dy[i]);
    break;
  case NN_IDENTITY:
    if (dx) memcpy(dx, dy, n * sizeof(float));
    if (Rdx) memcpy(Rdx, Rdy, n * sizeof(float));
    break;
  case NN_SCALE:
    for (int r = 0; r < B; r++)
      for (int j = 0; j < L->out; j++) {
        size_t i = (size_t)r * L->out + j;
        float s = L->scale ? L->scale[j] : a;
        if (dx) dx[i] = s * dy[i];
        if (Rdx) Rdx[i] = s * Rdy[i];
      }
    break;
  default:
    CORE_ASSERT(0 && "unsupported layer kind");
  }
}


/* gW += dyᵀ·x, gb += Σ_rows dy for a linear layer. */
static void linear_grad(const NnLayer *L, float *g, const float *x, const float *dy, int B) {
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, L->out, L->in, B, 1.0f, dy, L->out, x,
              L->in, 1.0f, g + L->w_off, L->in);
  float *gb = g + L->b_off;
  for (int r = 0; r < B; r++) {
    const float *d = dy + (size_t)r * L->out;
    for (int j = 0; j < L->out; j++) gb[j] += d[j];
  }
}


/* Plain backward of the output gradient top (B, K) down the network: parameter gradients into
 * out (zeroed first). With keep, each layer's input gradient is stored in dact[l]. */
static void backward(NnCurv *c, const float *top, float *out, int keep) {
  const NnMlp *net = c->net;
  int B = c->batch;
  memset(out, 0, net->n_params * sizeof(float));
  const float *dy = top;
  int t = 0;
  for (int l = net->n_layers - 1; l >= c->first_lin; l--) {
    const NnLayer *L = &net->layers[l];
    float *dx = NULL;
    if (l > c->first_lin) {
      dx = keep ? c->dact[l] : c->rd[t];
      t ^= 1;
    }
    if (L->kind == NN_LINEAR) {
      linear_grad(L, out, net->act[l], dy, B);
      if (dx)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, L->in, L->out, 1.0f, dy, L->out,
                    net->params + L->w_off, L->in, 0.0f, dx, L->in);
    } else if (dx) {
      act_back(L, net->act[l], net->act[l + 1], dy, dx, NULL, NULL, NULL, B);
    }
    dy = dx;
  }
}


/* R-forward: ract[l] for every l > first_lin along v; returns R{z} = ract[n_layers]. */
static const float *r_forward(NnCurv *c, const float *v) {
  const NnMlp *net = c->net;
  int B = c->batch;
  for (int l = c->first_lin; l < net->n_layers; l++) {
    const NnLayer *L = &net->layers[l];
    const float *x = net->act[l], *Rx = c->ract[l];
    float *Ry = c->ract[l + 1];
    if (L->kind == NN_LINEAR) {
      const float *Vb = v + L->b_off;
      for (int r = 0; r < B; r++) memcpy(Ry + (size_t)r * L->out, Vb, (size_t)L->out * sizeof *Ry);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, L->out, L->in, 1.0f, x, L->in,
                  v + L->w_off, L->in, 1.0f, Ry, L->out);
      if (l > c->first_lin)  /* the first linear layer's input does not depend on θ */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, L->out, L->in, 1.0f, Rx, L->in,
                    net->params + L->w_off, L->in, 1.0f, Ry, L->out);
    } else {
      act_jvp(L, x, net->act[l + 1], Rx, Ry, B);
    }
  }
  return c->ract[net->n_layers];
}


/* R-backward of the stored backward, given R{dz} (B, K): Hv into out (zeroed first). */
static void r_backward(NnCurv *c, const float *v, const float *Rdz, float *out) {
  const NnMlp *net = c->net;
  int B = c->batch;
  memset(out, 0, net->n_params * sizeof(float));
  const float *Rdy = Rdz;
  int t = 0;
  for (int l = net->n_layers - 1; l >= c->first_lin; l--) {
    const NnLayer *L = &net->layers[l];
    const float *x = net->act[l], *Rx = c->ract[l], *dy = c->dact[l + 1];
    float *Rdx = l > c->first_lin ? c->rd[t] : NULL;
    t ^= 1;
    if (L->kind == NN_LINEAR) {
      linear_grad(L, out, x, Rdy, B);
      if (l > c->first_lin) {
        /* second-order term of the weights: dyᵀ·Rx */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, L->out, L->in, B, 1.0f, dy, L->out,
                    Rx, L->in, 1.0f, out + L->w_off, L->in);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, L->in, L->out, 1.0f, Rdy,
                    L->out, net->params + L->w_off, L->in, 0.0f, Rdx, L->in);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, L->in, L->out, 1.0f, dy, L->out,
                    v + L->w_off, L->in, 1.0f, Rdx, L->in);
      }
    } else if (Rdx) {
      act_back(L, x, net->act[l + 1], dy, NULL, Rx, Rdy, Rdx, B);
    }
    Rdy = Rdx;
  }
}

/* ---------------------------------------------------------------- public */

double nn_curv_set_batch(NnCurv *c, const float *x, const float *t, const int *labels, int batch) {
  NnMlp *net = c->net;
  int K = c->K;
  CORE_ASSERT(batch >= 1 && batch <= net->max_batch);
  CORE_ASSERT(c->loss == NN_CURV_MSE ? t != NULL : labels != NULL);
  if (t) memcpy(c->t, t, (size_t)batch * K * sizeof(float));
  if (labels) memcpy(c->labels, labels, (size_t)batch * sizeof(int));
  const float *z = nn_mlp_forward(net, x, batch);
  c->batch = batch;
  float *dz = c->dact[net->n_layers];
  double loss = nn_curv_loss_value(c->loss, z, c->t, c->labels, batch, K, dz);
  output_curvature(c, z, batch);
  /* store every layer's input gradient for the Hessian's R-backward; the parameter gradient is
   * recomputed on demand (nn_curv_grad) into caller memory, so nothing here needs n_params */
  const float *dy = dz;
  for (int l = net->n_layers - 1; l > c->first_lin; l--) {
    const NnLayer *L = &net->layers[l];
    float *dx = c->dact[l];
    if (L->kind == NN_LINEAR)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, batch, L->in, L->out, 1.0f, dy,
                  L->out, net->params + L->w_off, L->in, 0.0f, dx, L->in);
    else
      act_back(L, net->act[l], net->act[l + 1], dy, dx, NULL, NULL, NULL, batch);
    dy = dx;
  }
  return loss;
}


void nn_curv_grad(NnCurv *c, float *out) {
  const NnMlp *net = c->net;
  CORE_ASSERT(c->batch >= 1);
  memset(out, 0, net->n_params * sizeof(float));
  for (int l = net->n_layers - 1; l >= c->first_lin; l--) {
    const NnLayer *L = &net->layers[l];
    if (L->kind == NN_LINEAR) linear_grad(L, out, net->act[l], c->dact[l + 1], c->batch);
  }
}


void nn_curv_product(NnCurv *c, int matrix, const float *v, float *out) {
  CORE_ASSERT(c->batch >= 1);
  CORE_ASSERT(matrix >= 0 && matrix < NN_CURV_NMAT);
  int B = c->batch;
  const float *Rz = r_forward(c, v);
  /* the output-side product goes into rd[1]: both backward passes write rd[0] first (the top
   * layer's input gradient) and reach rd[1] only one layer lower, after u has been consumed */
  float *u = c->rd[1];
  output_product(c, matrix, Rz, u, B);
  if (matrix == NN_CURV_HESSIAN)
    r_backward(c, v, u, out);
  else
    backward(c, u, out, 0);
  c->products++;
}


void nn_curv_grad_sq_diag(NnCurv *c, float *out) {
  const NnMlp *net = c->net;
  int B = c->batch;
  CORE_ASSERT(B >= 1);
  memset(out, 0, net->n_params * sizeof(float));
  /* for a linear layer g_n,W[j][i] = B·dy[n][j]·x[n][i] (dy is the batch-mean gradient), so
   * (1/B)·Σ_n g_n² = B·(dy²)ᵀ·(x²): one product of the squared matrices */
  for (int l = net->n_layers - 1; l >= c->first_lin; l--) {
    const NnLayer *L = &net->layers[l];
    if (L->kind != NN_LINEAR) continue;
    const float *x = net->act[l], *dy = c->dact[l + 1];
    float *dy2 = c->rd[0], *x2 = c->rd[1];
    for (size_t i = 0; i < (size_t)B * L->out; i++) dy2[i] = dy[i] * dy[i];
    for (size_t i = 0; i < (size_t)B * L->in; i++) x2[i] = x[i] * x[i];
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, L->out, L->in, B, (float)B, dy2, L->out,
                x2, L->in, 0.0f, out + L->w_off, L->in);
    float *gb = out + L->b_off;
    for (int r = 0; r < B; r++)
      for (int j = 0; j < L->out; j++) gb[j] += (float)B * dy2[(size_t)r * L->out + j];
  }
}
