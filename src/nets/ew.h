/* ew.h — elementwise kernels of the activation layers, branch-free and vectorised.
 *
 * Why not plain loops: at the project's -O2 gcc does not vectorise them, a `x > 0 ? x : a·x`
 * loop on random signs mispredicts half its branches (≈ 6 ns an element), and glibc's tanhf
 * costs ≈ 15 ns; over a CEM-RL update (≈ 0.7 M activations) that is as much time as all the
 * sgemm calls. These kernels use GCC vector extensions, 16 floats at a time, and on x86-64 gcc
 * builds AVX-512 and AVX2 clones picked at load time (target_clones). Contraction is off in ISO C
 * mode, so every clone gives the same bits.
 *
 * All arrays hold n floats; outputs may alias inputs of the same index.
 */
#ifndef CEMRL_NETS_EW_H
#define CEMRL_NETS_EW_H

#include <stddef.h>

/* y = max(x, 0). */
void nn_ew_relu(float *y, const float *x, size_t n);

/* y = x > 0 ? x : a·x. */
void nn_ew_leaky_relu(float *y, const float *x, size_t n, float a);

/* y = tanh(x), within 2e-7 of the exact value (|y| <= 1; NaN stays NaN). */
void nn_ew_tanh(float *y, const float *x, size_t n);

/* dx = x > 0 ? dy : a·dy (a = 0 for ReLU). */
void nn_ew_leaky_relu_backward(float *dx, const float *x, const float *dy, size_t n, float a);

/* dx = dy·(1 − y²), y the tanh output. */
void nn_ew_tanh_backward(float *dx, const float *y, const float *dy, size_t n);

/* Column sums of x (rows, cols): s[j] = (overwrite ? 0 : s[j]) + x[0][j] + x[1][j] + ...,
 * added in row order (the bias gradient of a linear layer). */
void nn_ew_sum_rows(float *s, const float *x, int rows, int cols, int overwrite);

#endif
