/* rq.c — the relaxed quantizer: forward (RQ, RQ-ST, rounding), backward, noise.
 *
 * Per element, with the window k_lo … k_lo+m−1 and edges e_j = (k_lo − ½ + j)·α, j = 0 … m:
 *   t_j = (e_j − x)/σ,  c_j = S(t_j),  w_i = c_{i+1} − c_i + ε_f,
 *   s_i = (log w_i + u_i)/λ,  z = softmax(s),  x̂ = α·k̄,  k̄ = Σ z_i (k_lo + i).
 * (log π_i = log w_i − log Σ w differs from log w_i by a constant, which softmax ignores.) The
 * noise is stored as ε_i = e^(−u_i), so at λ = 1 z_i = (w_i/ε_i) / Σ_j (w_j/ε_j). The edge
 * sigmoids need exp(−|t_j|) at edges t_j = t_0 + j·α/σ: two exponentials per element, the rest
 * by multiplying with exp(−α/σ).
 * Backward, for ḡ = dL/dx̂ (spec §1a):
 *   dL/ds_i = ḡ α z_i (k_i − k̄);  dL/dlog π_i = (dL/ds_i)/λ;  dL/dw_i = (dL/dlog π_i)/w_i, because
 *   the second term −Σ_j(dL/dlog π_j)/Σ w vanishes: Σ_i dL/ds_i = ḡ α (k̄ − k̄) = 0;
 *   c_j is the upper edge of point j−1 and the lower edge of point j, so
 *   dL/dc_j = dL/dw_{j−1} − dL/dw_j, and with d_j = c_j(1 − c_j)/σ:
 *   dc_j/dx = −d_j,  dc_j/dσ = −d_j t_j,  dc_j/dα = d_j (k_lo − ½ + j);  plus dx̂/dα = k̄ directly.
 * The tape keeps k_lo, m, the clip side, z, r = z/w and d, so the backward pass is arithmetic only.
 */
#include "nets/rq.h"

#include <math.h>
#include <string.h>

const char *const nn_rq_mode_names[] = {"off", "rq", "rq-st", "round"};

/* Tape of one element (stride 3·slots + 4): header, then z (slots), r (slots), d (slots + 1). */
enum { TAPE_KLO = 0, TAPE_M, TAPE_CLIP, TAPE_HDR };

NnRqSpec nn_rq_spec_default(int bits, int is_signed) {
  NnRqSpec s = {bits, is_signed ? 1 : 0, 1.0, 3.0, 1e-6, 3};
  return s;
}

int nn_rq_spec_check(const NnRqSpec *s, CoreErr *err) {
  if (s->bits < 1 || s->bits > 16)
    return core_err_set(err, CORE_ERR_INVALID, "quantizer bits %d: must be in [1, 16]", s->bits);
  if (!(s->lambda > 0) || !isfinite(s->lambda))
    return core_err_set(err, CORE_ERR_INVALID, "quantizer lambda %g: must be finite and > 0",
                        s->lambda);
  if (!(s->delta > 0))
    return core_err_set(err, CORE_ERR_INVALID,
                        "quantizer delta %g: must be > 0 (inf keeps the whole grid)", s->delta);
  if (!(s->fuzz > 0) || !isfinite(s->fuzz))
    return core_err_set(err, CORE_ERR_INVALID, "quantizer fuzz %g: must be finite and > 0",
                        s->fuzz);
  if (s->max_radius < 1 || 2 * s->max_radius + 1 > NN_RQ_MAX_SLOTS)
    return core_err_set(err, CORE_ERR_INVALID, "quantizer max_radius %d: must be in [1, %d]",
                        s->max_radius, (NN_RQ_MAX_SLOTS - 1) / 2);
  return CORE_OK;
}

int nn_rq_kmin(const NnRqSpec *s) { return s->is_signed ? -(1 << (s->bits - 1)) : 0; }

int nn_rq_kmax(const NnRqSpec *s) { return nn_rq_kmin(s) + (1 << s->bits) - 1; }

int nn_rq_radius(const NnRqSpec *s, double alpha, double sigma) {
  int cap = s->max_radius < (1 << s->bits) - 1 ? s->max_radius : (1 << s->bits) - 1;
  /* the 1e-5 keeps σ = α/3, δ = 3 at R = 1 when the ratio is 1 only up to rounding (scales kept
   * as float logarithms are off by up to ~5e-7) */
  double r = ceil(s->delta * sigma / alpha - 1e-5);
  if (!(r < cap)) return cap;  /* also catches δ = inf and NaN */
  return r < 1 ? 1 : (int)r;
}

int nn_rq_slots(const NnRqSpec *s, double alpha, double sigma) {
  int w = 2 * nn_rq_radius(s, alpha, sigma) + 1, k = 1 << s->bits;
  return w < k ? w : k;
}

int nn_rq_max_slots(const NnRqSpec *s) {
  int w = 2 * s->max_radius + 1, k = 1 << s->bits;
  return w < k ? w : k;
}

size_t nn_rq_tape_stride(int slots) { return 3 * (size_t)slots + TAPE_HDR + 1; }

void nn_rq_noise_fill(CoreRng *rng, float *eps, size_t n) {
  for (size_t i = 0; i < n; i++) {
    /* 23 random bits, centred in their cell: every U is exact in float (24 bits would round
     * the top cell to 1) and in (0, 1) strictly, so eps is finite and > 0 */
    float U = ((float)(core_rng_u64(rng) >> 41) + 0.5f) * (1.0f / 8388608.0f);
    eps[i] = -logf(U);
  }
}

/* ---------------------------------------------------------------- one element */

/* Deterministic rounding onto the clamped grid. */
static double round_elem(double x, double alpha, int kmin, int kmax) {
  double v = nearbyint(x / alpha);
  if (v < kmin) v = kmin;
  if (v > kmax) v = kmax;
  return alpha * v;
}

/* The window of x: clipped input *xc, clip side (−1, 0, +1), lowest index and point count. */
static int window(const NnRqSpec *s, double alpha, int R, double x, double *xc, int *clip,
                  int *k_lo) {
  int kmin = nn_rq_kmin(s), kmax = nn_rq_kmax(s);
  double lo = alpha * (kmin - 0.5), hi = alpha * (kmax + 0.5);
  *clip = x < lo ? -1 : (x > hi ? 1 : 0);
  *xc = *clip < 0 ? lo : (*clip > 0 ? hi : x);
  double v = nearbyint(*xc / alpha);
  int k0 = !(v >= kmin) ? kmin : (v > kmax ? kmax : (int)v);  /* NaN: any window, NaN output */
  int klo = k0 - R > kmin ? k0 - R : kmin, khi = k0 + R < kmax ? k0 + R : kmax;
  *k_lo = klo;
  return khi - klo + 1;
}

/* Cell weights w (m) = cell masses + ε_f, and d (m + 1) = c(1 − c)/σ at every edge. */
static void cell_weights(const NnRqSpec *s, double alpha, double sigma, double xc, int klo, int m,
                         double *w, double *d) {
  double c[NN_RQ_MAX_SLOTS + 1], cb[NN_RQ_MAX_SLOTS + 1], ex[NN_RQ_MAX_SLOTS + 1];
  double inv_s = 1.0 / sigma, step = alpha * inv_s;
  /* ex_j = exp(−|t_j|): edges at or above x (t >= 0) from the lowest of them upwards, edges below
   * x from the highest of them downwards, each step one factor exp(−α/σ) */
  int jp = 0;
  while (jp <= m && ((klo - 0.5 + jp) * alpha - xc) * inv_s < 0) jp++;
  double q = exp(-step);
  if (jp <= m) {
    ex[jp] = exp(-(((klo - 0.5 + jp) * alpha - xc) * inv_s));
    for (int j = jp + 1; j <= m; j++) ex[j] = ex[j - 1] * q;
  }
  if (jp > 0) {
    ex[jp - 1] = exp(((klo - 0.5 + jp - 1) * alpha - xc) * inv_s);
    for (int j = jp - 2; j >= 0; j--) ex[j] = ex[j + 1] * q;
  }
  for (int j = 0; j <= m; j++) {
    double p = 1.0 / (1.0 + ex[j]), r = ex[j] * p;  /* S(|t|), S(−|t|) */
    c[j] = j >= jp ? p : r;
    cb[j] = j >= jp ? r : p;   /* 1 − c_j without the cancellation */
    d[j] = p * r * inv_s;
  }
  /* a cell wholly above x is a difference of upper tails 1 − c, one below of lower tails c */
  for (int i = 0; i < m; i++) w[i] = (i >= jp ? cb[i] - cb[i + 1] : c[i + 1] - c[i]) + s->fuzz;
}

/* Forward of one element into a double tape; eps holds its slots noise deviates. */
static double elem_forward(const NnRqSpec *s, int mode, double alpha, double sigma, int R,
                           double x, const double *eps, int slots, double *tape) {
  double xc, w[NN_RQ_MAX_SLOTS], *z = tape + TAPE_HDR, *r = z + slots, *d = r + slots;
  int clip, klo, m = window(s, alpha, R, x, &xc, &clip, &klo);
  CORE_ASSERT(m <= slots);
  cell_weights(s, alpha, sigma, xc, klo, m, w, d);
  int best = 0;
  double sum = 0.0;
  if (s->lambda == 1.0) {
    /* exp(log w_i + u_i) = w_i/ε_i, and then r_i = z_i/w_i = 1/(ε_i Σ): the divisions are
     * independent of each other, so they overlap */
    double inv_e[NN_RQ_MAX_SLOTS];
    for (int i = 0; i < m; i++) inv_e[i] = 1.0 / eps[i];
    for (int i = 0; i < m; i++) {
      z[i] = w[i] * inv_e[i];
      if (z[i] > z[best]) best = i;
    }
    for (int i = 0; i < m; i++) sum += z[i];
    double inv_sum = 1.0 / sum;
    for (int i = 0; i < m; i++) z[i] *= inv_sum, r[i] = inv_e[i] * inv_sum;
  } else {
    double smax = -INFINITY, inv_l = 1.0 / s->lambda;
    for (int i = 0; i < m; i++) {
      z[i] = (log(w[i]) - log(eps[i])) * inv_l;
      if (z[i] > smax) smax = z[i], best = i;
    }
    for (int i = 0; i < m; i++) sum += (z[i] = exp(z[i] - smax));
    double inv_sum = 1.0 / sum;
    for (int i = 0; i < m; i++) z[i] *= inv_sum, r[i] = z[i] / w[i];
  }
  double kbar = 0.0;
  for (int i = 0; i < m; i++) kbar += z[i] * (klo + i);
  tape[TAPE_KLO] = klo;
  tape[TAPE_M] = m;
  tape[TAPE_CLIP] = clip;
  return mode == NN_RQ_ST ? alpha * (klo + best) : alpha * kbar;
}

/* Backward of one element from a double tape (see the derivation at the top of the file). */
static void elem_backward(const NnRqSpec *s, double alpha, double sigma, double x, double dy,
                          const double *tape, int slots, double *dx, double *dalpha,
                          double *dsigma) {
  int klo = (int)tape[TAPE_KLO], m = (int)tape[TAPE_M], clip = (int)tape[TAPE_CLIP];
  const double *z = tape + TAPE_HDR, *r = z + slots, *d = r + slots;
  int kmin = nn_rq_kmin(s), kmax = nn_rq_kmax(s);
  double xc = clip < 0 ? alpha * (kmin - 0.5) : (clip > 0 ? alpha * (kmax + 0.5) : x);
  double kbar = 0.0;
  for (int i = 0; i < m; i++) kbar += z[i] * (klo + i);
  double ga = dy * kbar, gx = 0.0, gs = 0.0, coef = dy * alpha / s->lambda, inv_s = 1.0 / sigma;
  double b_prev = 0.0;  /* dL/dw_{j−1} */
  for (int j = 0; j <= m; j++) {
    double b = j < m ? coef * ((klo + j) - kbar) * r[j] : 0.0;
    double dc = b_prev - b, e = klo - 0.5 + j, t = (e * alpha - xc) * inv_s;
    gx -= dc * d[j];
    gs -= dc * d[j] * t;
    ga += dc * d[j] * e;
    b_prev = b;
  }
  if (clip == 0) {
    *dx = gx;
  } else {
    *dx = 0.0;
    ga += gx * (clip > 0 ? kmax + 0.5 : kmin - 0.5);
  }
  *dalpha += ga;
  *dsigma += gs;
}

double nn_rq_elem_forward(const NnRqSpec *s, int mode, double alpha, double sigma, double x,
                          const double *eps, int slots, double *tape) {
  CORE_ASSERT(mode >= 0 && mode < NN_RQ_NMODE && alpha > 0 && sigma > 0);
  if (mode == NN_RQ_OFF) return x;
  if (mode == NN_RQ_ROUND) return round_elem(x, alpha, nn_rq_kmin(s), nn_rq_kmax(s));
  return elem_forward(s, mode, alpha, sigma, nn_rq_radius(s, alpha, sigma), x, eps, slots, tape);
}

void nn_rq_elem_backward(const NnRqSpec *s, double alpha, double sigma, double x, double dy,
                         const double *tape, int slots, double *dx, double *dalpha,
                         double *dsigma) {
  elem_backward(s, alpha, sigma, x, dy, tape, slots, dx, dalpha, dsigma);
}

int nn_rq_elem_probs(const NnRqSpec *s, double alpha, double sigma, double x, double *pi,
                     int slots, int *k_lo) {
  double xc, d[NN_RQ_MAX_SLOTS + 1];
  int clip, m = window(s, alpha, nn_rq_radius(s, alpha, sigma), x, &xc, &clip, k_lo);
  CORE_ASSERT(m <= slots);
  cell_weights(s, alpha, sigma, xc, *k_lo, m, pi, d);
  double sum = 0.0;
  for (int i = 0; i < m; i++) sum += pi[i];
  for (int i = 0; i < m; i++) pi[i] /= sum;
  return m;
}

/* ---------------------------------------------------------------- buffers */

void nn_rq_forward(const NnRqSpec *s, int mode, double alpha, double sigma, float *y,
                   const float *x, size_t n, const float *eps, int slots, float *tape) {
  CORE_ASSERT(mode >= 0 && mode < NN_RQ_NMODE && alpha > 0 && sigma > 0);
  if (mode == NN_RQ_OFF) {
    if (y != x) memmove(y, x, n * sizeof *y);
    return;
  }
  int kmin = nn_rq_kmin(s), kmax = nn_rq_kmax(s);
  if (mode == NN_RQ_ROUND) {
    for (size_t e = 0; e < n; e++) y[e] = (float)round_elem(x[e], alpha, kmin, kmax);
    return;
  }
  int R = nn_rq_radius(s, alpha, sigma);
  CORE_ASSERT(eps && tape && slots >= nn_rq_slots(s, alpha, sigma) && slots <= NN_RQ_MAX_SLOTS);
  size_t stride = nn_rq_tape_stride(slots);
  double ud[NN_RQ_MAX_SLOTS], td[3 * NN_RQ_MAX_SLOTS + TAPE_HDR + 1];
  for (size_t e = 0; e < n; e++) {
    const float *ue = eps + e * (size_t)slots;
    float *te = tape + e * stride;
    int m = 2 * R + 1 < slots ? 2 * R + 1 : slots;  /* slots used at most; copy no more */
    for (int i = 0; i < m; i++) ud[i] = ue[i];
    double v = elem_forward(s, mode, alpha, sigma, R, x[e], ud, slots, td);
    int mm = (int)td[TAPE_M];
    for (int i = 0; i < TAPE_HDR; i++) te[i] = (float)td[i];
    for (int i = 0; i < mm; i++) {
      te[TAPE_HDR + i] = (float)td[TAPE_HDR + i];
      te[TAPE_HDR + slots + i] = (float)td[TAPE_HDR + slots + i];
    }
    for (int j = 0; j <= mm; j++)
      te[TAPE_HDR + 2 * slots + j] = (float)td[TAPE_HDR + 2 * slots + j];
    y[e] = (float)v;
  }
}

void nn_rq_backward(const NnRqSpec *s, int mode, double alpha, double sigma, float *dx,
                    const float *x, const float *dy, size_t n, const float *tape, int slots,
                    double *dalpha, double *dsigma) {
  CORE_ASSERT(mode >= 0 && mode < NN_RQ_NMODE && mode != NN_RQ_ROUND);
  if (mode == NN_RQ_OFF) {
    if (dx != dy) memmove(dx, dy, n * sizeof *dx);
    return;
  }
  CORE_ASSERT(tape && slots >= 1 && slots <= NN_RQ_MAX_SLOTS);
  size_t stride = nn_rq_tape_stride(slots);
  double td[3 * NN_RQ_MAX_SLOTS + TAPE_HDR + 1], ga = 0.0, gs = 0.0;
  for (size_t e = 0; e < n; e++) {
    const float *te = tape + e * stride;
    int m = (int)te[TAPE_M];
    for (int i = 0; i < TAPE_HDR; i++) td[i] = te[i];
    for (int i = 0; i < m; i++) {
      td[TAPE_HDR + i] = te[TAPE_HDR + i];
      td[TAPE_HDR + slots + i] = te[TAPE_HDR + slots + i];
    }
    for (int j = 0; j <= m; j++) td[TAPE_HDR + 2 * slots + j] = te[TAPE_HDR + 2 * slots + j];
    double g;
    elem_backward(s, alpha, sigma, x[e], dy[e], td, slots, &g, &ga, &gs);
    dx[e] = (float)g;
  }
  *dalpha += ga;
  *dsigma += gs;
}

double nn_rq_grid_share(const NnRqSpec *s, double alpha, const float *x, size_t n, double frac) {
  if (n == 0) return 0.0;
  int kmin = nn_rq_kmin(s), kmax = nn_rq_kmax(s);
  size_t near = 0;
  for (size_t e = 0; e < n; e++)
    near += fabs(x[e] - round_elem(x[e], alpha, kmin, kmax)) <= frac * alpha;
  return (double)near / (double)n;
}
