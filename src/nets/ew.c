/* ew.c — vectorised activation kernels (see ew.h for why).
 *
 * Each kernel runs a block function on EW_W = 16 floats at a time (one AVX-512 register, two AVX2
 * ones or four SSE ones, by the clone the loader picks); the tail (n mod 16) goes through the
 * same block function on a zero-padded copy, so an element's result never depends on where it
 * sits in the array.
 *
 * tanh: for |x| < 0.55 the Taylor series to x¹⁵ (the first omitted term is < 3e-8 there);
 * above, 1 − 2/(e^{2|x|} + 1) with e^v = 2^k·p(r), r = v − k·ln2 in [−ln2/2, ln2/2] (ln2 split
 * in two for an exact reduction) and p the Taylor polynomial of degree 7 (error < 6e-9); 2|x|
 * is clamped at 20, where tanh is 1 in float. The sign is copied back from x.
 */
#include "nets/ew.h"

#include <string.h>

#define EW_W 16
typedef float VF __attribute__((vector_size(EW_W * 4)));
typedef int VI __attribute__((vector_size(EW_W * 4)));

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(CEMRL_NO_CLONES)
#define EW_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define EW_CLONES
#endif

/* Helpers are macros or always-inline functions on pointers: a helper taking a 32-byte vector
 * by value, compiled for the default target and called from the AVX2 clone, would disagree with
 * it on how the vector is passed (gcc's -Wpsabi warning). */
#define EW_INLINE static inline __attribute__((always_inline))
#define SPLAT(f) ((VF){0} + (f))
/* m ? a : b lane by lane, m lanes all-ones or zero */
#define SELECT(m, a, b) ((VF)((((VI)(a)) & (m)) | (((VI)(b)) & ~(m))))
#define LOAD(v, p) memcpy(&(v), (p), sizeof(VF))
#define STORE(p, v) memcpy((p), &(v), sizeof(VF))

/* x <= 0 is false for NaN, so NaN passes through as in PyTorch */
EW_INLINE void relu_v(float *y, const float *x, float unused) {
  (void)unused;
  VF v;
  LOAD(v, x);
  VF r = SELECT(v <= SPLAT(0.0f), SPLAT(0.0f), v);
  STORE(y, r);
}

EW_INLINE void leaky_v(float *y, const float *x, float a) {
  VF v;
  LOAD(v, x);
  VF r = v * SELECT(v > SPLAT(0.0f), SPLAT(1.0f), SPLAT(a));
  STORE(y, r);
}

EW_INLINE void tanh_v(float *y, const float *x, float unused) {
  (void)unused;
  VF xv;
  LOAD(xv, x);
  const VI sign_bit = (VI){0} + (-0x7fffffff - 1);
  VI sign = (VI)xv & sign_bit;
  VF ax = (VF)((VI)xv & ~sign_bit);
  /* small |x|: odd Taylor series */
  VF z = ax * ax;
  VF q = SPLAT(-929569.0f / 638512875.0f);
  q = q * z + SPLAT(21844.0f / 6081075.0f);
  q = q * z + SPLAT(-1382.0f / 155925.0f);
  q = q * z + SPLAT(62.0f / 2835.0f);
  q = q * z + SPLAT(-17.0f / 315.0f);
  q = q * z + SPLAT(2.0f / 15.0f);
  q = q * z + SPLAT(-1.0f / 3.0f);
  VF small = ax + ax * z * q;
  /* large |x|: e^v, v = 2|x| clamped to 20, as 2^k·p(r) */
  VF v = ax + ax;
  v = SELECT(v < SPLAT(20.0f), v, SPLAT(20.0f));
  const VF shift = SPLAT(12582912.0f);  /* 1.5·2²³: adding it rounds to an integer */
  VF f = v * SPLAT(1.44269504088896341f) + shift;
  VI k = (VI)f - (VI)shift;
  VF kf = f - shift;
  VF r = v - kf * SPLAT(0.693145751953125f) - kf * SPLAT(1.428606765330187e-6f);
  VF p = SPLAT(1.0f / 5040);
  p = p * r + SPLAT(1.0f / 720);
  p = p * r + SPLAT(1.0f / 120);
  p = p * r + SPLAT(1.0f / 24);
  p = p * r + SPLAT(1.0f / 6);
  p = p * r + SPLAT(0.5f);
  p = p * r + SPLAT(1.0f);
  p = p * r + SPLAT(1.0f);
  VF e = (VF)((VI)p + (k << 23));
  VF large = SPLAT(1.0f) - SPLAT(2.0f) / (e + SPLAT(1.0f));
  VF t = SELECT(ax < SPLAT(0.55f), small, large);
  VF out = (VF)((VI)t | sign);
  out = SELECT(xv == xv, out, xv);  /* NaN passes through */
  STORE(y, out);
}

/* Run block(y + i, x + i, a) over n floats; the tail goes through a zero-padded copy, so the
 * result of an element never depends on its position. */
#define EW_MAP(block, y, x, n, a)                                              \
  do {                                                                         \
    size_t i_ = 0;                                                             \
    for (; i_ + EW_W <= (n); i_ += EW_W) block((y) + i_, (x) + i_, (a));             \
    if (i_ < (n)) {                                                            \
      float t_[EW_W] = {0};                                                    \
      memcpy(t_, (x) + i_, ((n) - i_) * sizeof(float));                       \
      block(t_, t_, (a));                                                      \
      memcpy((y) + i_, t_, ((n) - i_) * sizeof(float));                        \
    }                                                                          \
  } while (0)

EW_CLONES void nn_ew_relu(float *y, const float *x, size_t n) { EW_MAP(relu_v, y, x, n, 0.0f); }

EW_CLONES void nn_ew_leaky_relu(float *y, const float *x, size_t n, float a) {
  EW_MAP(leaky_v, y, x, n, a);
}

EW_CLONES void nn_ew_tanh(float *y, const float *x, size_t n) { EW_MAP(tanh_v, y, x, n, 0.0f); }

EW_CLONES void nn_ew_leaky_relu_backward(float *dx, const float *x, const float *dy, size_t n,
                                         float a) {
  size_t i = 0;
  /* a = 0 (ReLU) gives an exact 0 below the kink, even for an infinite dy */
  VF xv, d;
  for (; i + EW_W <= n; i += EW_W) {
    LOAD(xv, x + i);
    LOAD(d, dy + i);
    VF r = SELECT(xv > SPLAT(0.0f), d, a == 0.0f ? SPLAT(0.0f) : d * SPLAT(a));
    STORE(dx + i, r);
  }
  for (; i < n; i++) dx[i] = x[i] > 0.0f ? dy[i] : (a == 0.0f ? 0.0f : a * dy[i]);
}

EW_CLONES void nn_ew_tanh_backward(float *dx, const float *y, const float *dy, size_t n) {
  size_t i = 0;
  VF yv, d;
  for (; i + EW_W <= n; i += EW_W) {
    LOAD(yv, y + i);
    LOAD(d, dy + i);
    VF r = d * (SPLAT(1.0f) - yv * yv);
    STORE(dx + i, r);
  }
  for (; i < n; i++) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
}

EW_CLONES void nn_ew_sum_rows(float *s, const float *x, int rows, int cols, int overwrite) {
  /* column by column the adds run in row order, as the scalar loop s[j] += x[r][j] would, so the
   * bits do not depend on the vector width */
  int j = 0;
  for (; j + EW_W <= cols; j += EW_W) {
    VF acc, v;
    if (overwrite)
      acc = SPLAT(0.0f);
    else
      LOAD(acc, s + j);
    for (int r = 0; r < rows; r++) {
      LOAD(v, x + (size_t)r * cols + j);
      acc = acc + v;
    }
    STORE(s + j, acc);
  }
  for (; j < cols; j++) {
    float acc = overwrite ? 0.0f : s[j];
    for (int r = 0; r < rows; r++) acc += x[(size_t)r * cols + j];
    s[j] = acc;
  }
}
