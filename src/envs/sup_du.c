/* sup_du.c — the Du et al. model: forward, loss, gradient, Gram matrices (double, BLAS). */
#include "envs/sup_du.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "core/alloc.h"

void sup_du_hinf(const double *x, int n, int d, double *h) {
  /* ρ (π − θ)/(2π) with θ the angle between the inputs. acos(ρ) loses half the digits near
   * ρ = ±1 (its slope is infinite there), so θ = 2 atan2(|x_i − x_j|, |x_i + x_j|), exact for
   * unit vectors and stable at every angle */
  for (int i = 0; i < n; i++)
    for (int j = i; j < n; j++) {
      const double *a = x + (size_t)i * d, *b = x + (size_t)j * d;
      double dot = 0.0, diff = 0.0, sum = 0.0;
      for (int k = 0; k < d; k++) {
        dot += a[k] * b[k];
        diff += (a[k] - b[k]) * (a[k] - b[k]);
        sum += (a[k] + b[k]) * (a[k] + b[k]);
      }
      double rho = dot > 1.0 ? 1.0 : dot < -1.0 ? -1.0 : dot;
      double theta = 2.0 * atan2(sqrt(diff), sqrt(sum));
      h[(size_t)i * n + j] = h[(size_t)j * n + i] = rho * (M_PI - theta) / (2.0 * M_PI);
    }
}

SupDuNet *sup_du_net_create(int n, int d, int m, const double *x, CoreRng *rng, CoreErr *err) {
  if (n < 1 || d < 1 || m < 1 || (double)n * m > 1e9 || (double)m * d > 1e9) {
    core_err_set(err, CORE_ERR_INVALID, "du model: bad sizes n %d, d %d, m %d", n, d, m);
    return NULL;
  }
  size_t md = (size_t)m * d, nm = (size_t)n * m;
  SupDuNet *net = core_calloc(1, sizeof *net);
  double *mem = net ? core_malloc(sizeof(double) * (3 * md + m + 2 * nm + 2 * (size_t)n)) : NULL;
  uint8_t *pat = mem ? core_malloc(nm) : NULL;
  if (!pat) {
    core_free(mem);
    core_free(net);
    core_err_set(err, CORE_ERR_NOMEM, "du model: out of memory (m = %d)", m);
    return NULL;
  }
  net->n = n;
  net->d = d;
  net->m = m;
  net->mem_ = mem;
  net->w = mem;
  net->w0 = net->w + md;
  net->g = net->w0 + md;
  net->a = net->g + md;
  net->z = net->a + m;
  net->s = net->z + nm;
  net->u = net->s + nm;
  net->r = net->u + n;
  net->pattern0 = pat;
  for (size_t k = 0; k < md; k++) net->w[k] = core_rng_normal(rng);
  for (int r = 0; r < m; r++) net->a[r] = core_rng_uniform(rng) < 0.5 ? -1.0 : 1.0;
  memcpy(net->w0, net->w, sizeof(double) * md);
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, m, d, 1.0, x, d, net->w, d, 0.0, net->z,
              m);
  for (size_t k = 0; k < nm; k++) pat[k] = net->z[k] >= 0.0;
  return net;
}

void sup_du_net_free(SupDuNet *net) {
  if (!net) return;
  core_free(net->pattern0);
  core_free(net->mem_);
  core_free(net);
}

double sup_du_loss_grad(SupDuNet *net, const double *x, const double *y, int grad) {
  const int n = net->n, d = net->d, m = net->m;
  const double inv_sqrt_m = 1.0 / sqrt((double)m);
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, m, d, 1.0, x, d, net->w, d, 0.0, net->z,
              m);
  double loss = 0.0;
  for (int i = 0; i < n; i++) {
    const double *zi = net->z + (size_t)i * m;
    double u = 0.0;
    for (int r = 0; r < m; r++)
      if (zi[r] >= 0.0) u += net->a[r] * zi[r];
    net->u[i] = u * inv_sqrt_m;
    net->r[i] = net->u[i] - y[i];
    loss += 0.5 * net->r[i] * net->r[i];
  }
  if (grad) {
    /* S = 1{Z ≥ 0} ∘ (r 1ᵀ) (n, m); G = Sᵀ X (m, d), row r scaled by a_r/√m */
    for (int i = 0; i < n; i++) {
      const double *zi = net->z + (size_t)i * m;
      double *si = net->s + (size_t)i * m;
      for (int r = 0; r < m; r++) si[r] = zi[r] >= 0.0 ? net->r[i] : 0.0;
    }
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m, d, n, 1.0, net->s, m, x, d, 0.0, net->g,
                d);
    for (int r = 0; r < m; r++) cblas_dscal(d, net->a[r] * inv_sqrt_m, net->g + (size_t)r * d, 1);
  }
  return loss;
}

void sup_du_gram(const SupDuNet *net, const double *x, double *h) {
  const int n = net->n, m = net->m, d = net->d;
  /* A Aᵀ counts the neurons active on both inputs; ∘ (X Xᵀ)/m */
  for (size_t k = 0; k < (size_t)n * m; k++) net->s[k] = net->z[k] >= 0.0;
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, m, 1.0 / m, net->s, m, net->s, m, 0.0,
              h, n);
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++)
      h[(size_t)i * n + j] *= cblas_ddot(d, x + (size_t)i * d, 1, x + (size_t)j * d, 1);
}

double sup_du_pattern_change(const SupDuNet *net) {
  size_t nm = (size_t)net->n * net->m, changed = 0;
  for (size_t k = 0; k < nm; k++) changed += (uint8_t)(net->z[k] >= 0.0) != net->pattern0[k];
  return (double)changed / (double)nm;
}

double sup_du_max_distance(const SupDuNet *net) {
  double best = 0.0;
  for (int r = 0; r < net->m; r++) {
    double s = 0.0;
    for (int j = 0; j < net->d; j++) {
      double e = net->w[(size_t)r * net->d + j] - net->w0[(size_t)r * net->d + j];
      s += e * e;
    }
    if (s > best) best = s;
  }
  return sqrt(best);
}
