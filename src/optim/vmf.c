/* vmf.c — vMF concentration of gradient directions, gradient stochasticity, Wood's sampler. */
#include "optim/vmf.h"

#include <math.h>
#include <string.h>

#include "core/alloc.h"

struct VmfAcc {
  size_t p;
  long n, n_dir;
  double *dir_sum;         /* (p) Σ ĝ_i/||ĝ_i|| */
  double *g_sum;           /* (p) Σ ĝ_i */
  double norm_sum;         /* Σ ||ĝ_i|| */
  double norm2_sum;        /* Σ ||ĝ_i||² */
};


double vmf_kappa_banerjee(double rbar, double p) {
  CORE_ASSERT(rbar >= 0.0 && p >= 1.0);
  if (rbar >= 1.0) return INFINITY;
  double r2 = rbar * rbar;
  return rbar * (p - r2) / (1.0 - r2);
}


double vmf_bessel_ratio(double p, double kappa) {
  CORE_ASSERT(p >= 2.0 && kappa >= 0.0);
  if (kappa == 0.0) return 0.0;
  /* I_ν/I_{ν−1} = 1/(b_0 + 1/(b_1 + ...)), b_k = 2(ν+k)/κ, ν = p/2 (from
   * I_{ν−1} − I_{ν+1} = (2ν/κ) I_ν), evaluated by the modified Lentz method started from a
   * zero leading term, so that f converges to the ratio itself */
  const double tiny = 1e-300, nu = 0.5 * p;
  double f = tiny, c = f, d = 0.0;
  for (long k = 0; k < 100000000L; k++) {
    double b = 2.0 * (nu + (double)k) / kappa;
    d = b + d;
    if (d == 0.0) d = tiny;
    c = b + 1.0 / c;
    if (c == 0.0) c = tiny;
    d = 1.0 / d;
    double delta = c * d;
    f *= delta;
    if (fabs(delta - 1.0) < 1e-15) break;
  }
  return f;
}


double vmf_kappa_mle(double rbar, double p, int newton) {
  double k = vmf_kappa_banerjee(rbar, p);
  if (!isfinite(k) || rbar <= 0.0) return k;
  for (int i = 0; i < newton; i++) {
    double a = vmf_bessel_ratio(p, k);
    double da = 1.0 - a * a - (p - 1.0) / k * a;   /* A_p'(κ) */
    if (!(da > 0.0)) break;
    double next = k - (a - rbar) / da;
    if (!(next > 0.0)) next = 0.5 * k;   /* keep κ positive when a step overshoots */
    k = next;
  }
  return k;
}


double vmf_kappa_uniform(double p, long n) {
  CORE_ASSERT(n >= 1);
  return vmf_kappa_banerjee(1.0 / sqrt((double)n), p);
}


VmfAcc *vmf_acc_create(size_t p, CoreErr *err) {
  VmfAcc *a = core_calloc(1, sizeof *a);
  double *buf = core_calloc(2 * (p ? p : 1), sizeof(double));
  if (!a || !buf || p > ((size_t)-1) / (4 * sizeof(double))) {
    core_free(a);
    core_free(buf);
    core_err_set(err, CORE_ERR_NOMEM, "vmf: no memory for an accumulator of p = %zu", p);
    return NULL;
  }
  a->p = p;
  a->dir_sum = buf;
  a->g_sum = buf + p;
  return a;
}


void vmf_acc_free(VmfAcc *a) {
  if (!a) return;
  core_free(a->dir_sum);
  core_free(a);
}


void vmf_acc_reset(VmfAcc *a) {
  CORE_ASSERT(a);
  memset(a->dir_sum, 0, 2 * a->p * sizeof(double));
  a->n = a->n_dir = 0;
  a->norm_sum = a->norm2_sum = 0.0;
}


void vmf_acc_add(VmfAcc *a, const float *g) {
  CORE_ASSERT(a && (a->p == 0 || g));
  double s2 = 0.0;
  for (size_t i = 0; i < a->p; i++) s2 += (double)g[i] * (double)g[i];
  double norm = sqrt(s2);
  for (size_t i = 0; i < a->p; i++) a->g_sum[i] += g[i];
  if (norm > 0.0) {
    double inv = 1.0 / norm;
    for (size_t i = 0; i < a->p; i++) a->dir_sum[i] += (double)g[i] * inv;
    a->n_dir++;
  }
  a->n++;
  a->norm_sum += norm;
  a->norm2_sum += s2;
}


VmfStats vmf_acc_stats(const VmfAcc *a) {
  CORE_ASSERT(a);
  VmfStats s = {.n = a->n, .n_dir = a->n_dir, .rbar = NAN, .kappa = NAN, .kappa_uniform = NAN,
                .mean_norm = NAN, .gns = NAN, .gs = NAN};
  if (a->n_dir > 0) {
    double r2 = 0.0;
    for (size_t i = 0; i < a->p; i++) r2 += a->dir_sum[i] * a->dir_sum[i];
    s.rbar = sqrt(r2) / (double)a->n_dir;
    if (s.rbar > 1.0) s.rbar = 1.0;   /* rounding of n identical directions */
    s.kappa = vmf_kappa_banerjee(s.rbar, (double)a->p);
    s.kappa_uniform = vmf_kappa_uniform((double)a->p, a->n_dir);
  }
  if (a->n > 0) {
    double n = (double)a->n, mean = a->norm_sum / n;
    double var = a->norm2_sum / n - mean * mean;
    s.mean_norm = mean;
    s.gns = mean > 0.0 ? sqrt(var > 0.0 ? var : 0.0) / mean : NAN;
    /* mean ||ĝ_i − ḡ||² = mean ||ĝ_i||² − ||ḡ||² */
    double m2 = 0.0;
    for (size_t i = 0; i < a->p; i++) m2 += (a->g_sum[i] / n) * (a->g_sum[i] / n);
    double spread = a->norm2_sum / n - m2;
    s.gs = m2 > 0.0 ? (spread > 0.0 ? spread : 0.0) / m2 : NAN;
  }
  return s;
}


/* Gamma(shape, 1) by Marsaglia & Tsang (2000); shape < 1 through Gamma(shape + 1)·U^{1/shape}. */
static double vmf_gamma(CoreRng *rng, double shape) {
  if (shape < 1.0) {
    double u = core_rng_uniform(rng);
    return vmf_gamma(rng, shape + 1.0) * pow(u > 0.0 ? u : 1e-300, 1.0 / shape);
  }
  double d = shape - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
  for (;;) {
    double z = core_rng_normal(rng), v = 1.0 + c * z;
    if (v <= 0.0) continue;
    v = v * v * v;
    double u = core_rng_uniform(rng);
    if (u < 1.0 - 0.0331 * z * z * z * z) return d * v;
    if (u > 0.0 && log(u) < 0.5 * z * z + d * (1.0 - v + log(v))) return d * v;
  }
}


void vmf_sample(CoreRng *rng, const double *mu, size_t p, double kappa, double *x) {
  CORE_ASSERT(rng && mu && x && p >= 2 && kappa >= 0.0);
  const double m1 = (double)p - 1.0;
  /* the component w = μᵀx (Wood 1994); b in the cancellation-free form */
  double b = m1 / (2.0 * kappa + sqrt(4.0 * kappa * kappa + m1 * m1));
  double x0 = (1.0 - b) / (1.0 + b);
  double c = kappa * x0 + m1 * log(1.0 - x0 * x0);
  double w;
  for (;;) {
    double g1 = vmf_gamma(rng, 0.5 * m1), g2 = vmf_gamma(rng, 0.5 * m1);
    double z = g1 / (g1 + g2);                       /* Beta((p−1)/2, (p−1)/2) */
    w = (1.0 - (1.0 + b) * z) / (1.0 - (1.0 - b) * z);
    double u = core_rng_uniform(rng);
    if (u > 0.0 && kappa * w + m1 * log(1.0 - x0 * w) - c >= log(u)) break;
  }
  /* a uniform direction orthogonal to μ: a Gaussian with its μ part removed */
  double dot, norm2;
  do {
    dot = 0.0;
    for (size_t i = 0; i < p; i++) {
      x[i] = core_rng_normal(rng);
      dot += x[i] * mu[i];
    }
    norm2 = 0.0;
    for (size_t i = 0; i < p; i++) {
      x[i] -= dot * mu[i];
      norm2 += x[i] * x[i];
    }
  } while (!(norm2 > 0.0));
  double s = sqrt(1.0 - w * w > 0.0 ? 1.0 - w * w : 0.0) / sqrt(norm2);
  for (size_t i = 0; i < p; i++) x[i] = s * x[i] + w * mu[i];
}


/* Average rank (1-based) of v[i] among v[0..n). */
static double vmf_rank(const double *v, int n, int i) {
  int below = 0, equal = 0;
  for (int j = 0; j < n; j++) {
    below += v[j] < v[i];
    equal += v[j] == v[i];
  }
  return below + 0.5 * (equal + 1);
}


double vmf_spearman(const double *a, const double *b, int n) {
  CORE_ASSERT(n <= 0 || (a && b));
  if (n < 2) return NAN;
  /* Pearson correlation of the ranks; the mean rank is (n+1)/2 */
  double m = 0.5 * (n + 1), saa = 0, sbb = 0, sab = 0;
  for (int i = 0; i < n; i++) {
    double ra = vmf_rank(a, n, i) - m, rb = vmf_rank(b, n, i) - m;
    saa += ra * ra;
    sbb += rb * rb;
    sab += ra * rb;
  }
  if (saa == 0.0 || sbb == 0.0) return NAN;
  return sab / sqrt(saa * sbb);
}
