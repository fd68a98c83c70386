/* rq.h — relaxed quantization (Louizos, Reisser, Blankevoort, Gavves, Welling; ICLR 2019).
 *
 * One quantizer Q turns a flat float buffer into values on the grid g_k = α·k (β = 0), k in
 * G = {−2^(b−1) … 2^(b−1)−1} (signed, weights) or {0 … 2^b−1} (unsigned, ReLU outputs).
 * Training adds logistic noise of scale σ to the input, x̃ = x + ε, ε ~ Logistic(0, σ). Grid
 * point k owns the cell ((k−½)α, (k+½)α], so its probability is the noise mass of that cell,
 *   w_k = S(((k+½)α − x)/σ) − S(((k−½)α − x)/σ) + ε_f,   π_k = w_k / Σ_j w_j   (S = sigmoid),
 * taken over the LOCAL grid: the points within R = max(1, ceil(δσ/α)) of the nearest grid point
 * ⌊x⌉ = clamp(round(x/α)), intersected with G (the renormalisation is the truncation to the
 * support). The modes:
 *   NN_RQ_RELAXED  concrete relaxation: z = softmax((log π + u)/λ) with Gumbel noise u, and
 *                  x̂ = α Σ_k z_k k, which can lie between grid points;
 *   NN_RQ_ST       straight-through: the forward value is the hard sample α·argmax_k(log π_k +
 *                  u_k); the backward pass is the one of NN_RQ_RELAXED;
 *   NN_RQ_ROUND    test time (the paper's Algorithm 2): α·clamp(round(x/α)), no noise, no backward;
 *   NN_RQ_OFF      no quantization, y = x (the full-precision baseline), dx = dy.
 * x̂ depends on x only through π (the window centre and width are held constant), so every input
 * element, α and σ get gradients; see nn_rq_backward.
 *
 * Our choices where the paper is silent (spec/papers.md §1a, tags [ours]):
 *   - inputs outside the grid support [α(kmin−½), α(kmax+½)] are clipped onto it first: there the
 *     cell masses fall below ε_f and the truncated distribution would turn uniform; a clipped
 *     element passes no gradient to x, and its clip bound's α-dependence goes to α;
 *   - each cell mass is computed from whichever tail of the sigmoid avoids cancellation, and the
 *     per-element arithmetic is double, so the gradient check holds to 1e-6;
 *   - the window radius is capped at spec.max_radius, which bounds the noise and tape memory.
 *
 * Buffers. The noise is (n, slots) standard exponential deviates ε = −log U, each standing for
 * the Gumbel deviate u = −log ε: then exp(log π_k + u_k) = π_k/ε_k, so at λ = 1 the relaxation
 * costs no logarithm or exponential per point (the "exponential race" form of Gumbel-max).
 * Slot i of element j belongs to grid index k_lo(j) + i, where k_lo is the lowest point of that
 * element's window; only the first m <= slots slots of an element are used. slots must be at
 * least nn_rq_slots(spec, α, σ). The tape is
 * (n, nn_rq_tape_stride(slots)) floats written by the forward pass and read by the backward
 * pass; it holds what the gradient needs, so the backward pass evaluates no transcendental.
 * Nothing here allocates.
 *
 * Nullable: every CoreErr *err.
 */
#ifndef CEMRL_NETS_RQ_H
#define CEMRL_NETS_RQ_H

#include <stddef.h>

#include "core/err.h"
#include "core/rng.h"

typedef enum {
  NN_RQ_OFF = 0,      /* identity (full precision) */
  NN_RQ_RELAXED,      /* concrete relaxation over the local grid ("RQ") */
  NN_RQ_ST,           /* hard Gumbel sample forward, relaxed gradient backward ("RQ-ST") */
  NN_RQ_ROUND,        /* deterministic rounding to the grid (test time, and plain rounding) */
  NN_RQ_NMODE
} NnRqMode;

extern const char *const nn_rq_mode_names[];   /* "off", "rq", "rq-st", "round" */

/* Largest window (noise slots per element) any spec may use. */
#define NN_RQ_MAX_SLOTS 256

/* A quantizer's fixed settings (α and σ are learned, so they are arguments, not fields). */
typedef struct {
  int bits;           /* b in [1, 16]; K = 2^b grid points */
  int is_signed;      /* 1: G = {−2^(b−1) … 2^(b−1)−1}; 0: G = {0 … 2^b−1} */
  double lambda;      /* concrete temperature λ > 0 */
  double delta;       /* window half-width in units of σ, > 0; INFINITY keeps the whole grid */
  double fuzz;        /* ε_f > 0 added to every cell mass */
  int max_radius;     /* cap on the window radius R, >= 1 (2R+1 <= NN_RQ_MAX_SLOTS) */
} NnRqSpec;

/* The defaults of spec §1b: λ = 1, δ = 3, ε_f = 1e-6, and R capped at 3 (at most 7 points). */
NnRqSpec nn_rq_spec_default(int bits, int is_signed);

/* Check a spec: 0, or CORE_ERR_INVALID with a message naming the field. */
int nn_rq_spec_check(const NnRqSpec *s, CoreErr *err);

/* Lowest and highest grid index of a spec. */
int nn_rq_kmin(const NnRqSpec *s);
int nn_rq_kmax(const NnRqSpec *s);

/* Window radius R = max(1, ceil(δσ/α)), capped at max_radius and at K−1 (the whole grid). */
int nn_rq_radius(const NnRqSpec *s, double alpha, double sigma);

/* Noise slots one element needs at (α, σ): min(2R+1, K). */
int nn_rq_slots(const NnRqSpec *s, double alpha, double sigma);

/* Noise slots for the largest window the spec allows (allocation size per element). */
int nn_rq_max_slots(const NnRqSpec *s);

/* Floats of tape per element for a noise stride of slots (3·slots + 4). */
size_t nn_rq_tape_stride(int slots);

/* Fill eps[0..n) with standard exponential deviates −log U, U uniform in (0, 1): the noise of
 * the relaxation, Gumbel deviate u = −log eps. */
void nn_rq_noise_fill(CoreRng *rng, float *eps, size_t n);

/* Quantize x (n) into y (n; may alias x). RELAXED and ST read the noise eps (n, slots) and write
 * the tape (n, nn_rq_tape_stride(slots)); ROUND and OFF use neither (both may be NULL). */
void nn_rq_forward(const NnRqSpec *s, int mode, double alpha, double sigma, float *y,
                   const float *x, size_t n, const float *eps, int slots, float *tape);

/* Backward through the last RELAXED or ST forward of x (n) with tape (same α, σ, slots): dy is
 * dLoss/dy (n). Writes dLoss/dx into dx (n; may alias dy) and ADDS dLoss/dα and dLoss/dσ into
 * *dalpha and *dsigma. OFF copies dy into dx. */
void nn_rq_backward(const NnRqSpec *s, int mode, double alpha, double sigma, float *dx,
                    const float *x, const float *dy, size_t n, const float *tape, int slots,
                    double *dalpha, double *dsigma);

/* One element in double precision (the same arithmetic as the buffer functions, which round the
 * tape to float): returns Q(x) and fills tape (nn_rq_tape_stride(slots) doubles) for
 * RELAXED/ST, reading the element's noise eps (slots, > 0). For gradient checks. */
double nn_rq_elem_forward(const NnRqSpec *s, int mode, double alpha, double sigma, double x,
                          const double *eps, int slots, double *tape);

/* Backward of one element from its double tape: dLoss/dx into *dx, and ADDS into *dalpha and
 * *dsigma, for the upstream gradient dy. */
void nn_rq_elem_backward(const NnRqSpec *s, double alpha, double sigma, double x, double dy,
                         const double *tape, int slots, double *dx, double *dalpha,
                         double *dsigma);

/* The grid distribution of one element: writes π over the local window into pi (slots) and the
 * window's lowest index into *k_lo; returns the number of points m. */
int nn_rq_elem_probs(const NnRqSpec *s, double alpha, double sigma, double x, double *pi,
                     int slots, int *k_lo);

/* Share of x (n) within frac·α of its nearest grid point (the clamped grid), e.g. frac = 0.25. */
double nn_rq_grid_share(const NnRqSpec *s, double alpha, const float *x, size_t n, double frac);

#endif
