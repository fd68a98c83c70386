/* gemm_probe.c — can a plain AVX-512 kernel beat OpenBLAS on the TD3 layer shapes?
 *
 * A register-blocked kernel (12 rows x 32 columns of C in zmm registers, A broadcast from memory,
 * B rows loaded directly, no packing) against cblas_sgemm on the three 400x300 shapes of a TD3
 * update at batch 100: forward Y = X W^T (via an explicit transpose of W, and without it),
 * dX = dY W, dW = dY^T X. Hot caches (the same operands every call), so this is the kernels'
 * best case. Prints GFLOP/s per shape and the largest difference from OpenBLAS's result.
 *
 *   gcc -O3 -march=native -include math.h results/bench/gemm_probe.c -lopenblas -lm -o /tmp/gemm_probe
 *   OPENBLAS_CORETYPE=SkylakeX /tmp/gemm_probe
 */
#include <immintrin.h>
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+1e-9*t.tv_nsec;}
/* C[i,j] (+)= sum_p A(i,p) B[p,j]; A(i,p)=A[i*ars+p*acs]; B row-major ldb; C row-major ldc */
#define MR 12
static inline void kern(int mr, int K, const float *A, long ars, long acs, const float *B, long ldb,
                        float *C, long ldc, __mmask16 m0, __mmask16 m1, int beta) {
  __m512 c0[MR], c1[MR];
  for (int i = 0; i < MR; i++) { c0[i] = _mm512_setzero_ps(); c1[i] = _mm512_setzero_ps(); }
  for (int p = 0; p < K; p++) {
    __m512 b0 = _mm512_maskz_loadu_ps(m0, B + p * ldb), b1 = _mm512_maskz_loadu_ps(m1, B + p * ldb + 16);
    const float *a = A + p * acs;
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++) if (i < mr) {
      __m512 av = _mm512_set1_ps(a[i * ars]);
      c0[i] = _mm512_fmadd_ps(av, b0, c0[i]); c1[i] = _mm512_fmadd_ps(av, b1, c1[i]);
    }
  }
  for (int i = 0; i < MR; i++) if (i < mr) {
    float *c = C + i * ldc;
    if (beta) { c0[i] = _mm512_add_ps(c0[i], _mm512_maskz_loadu_ps(m0, c)); c1[i] = _mm512_add_ps(c1[i], _mm512_maskz_loadu_ps(m1, c + 16)); }
    _mm512_mask_storeu_ps(c, m0, c0[i]); _mm512_mask_storeu_ps(c + 16, m1, c1[i]);
  }
}
static void gemm(int M, int N, int K, const float *A, long ars, long acs, const float *B, long ldb, float *C, long ldc, int beta) {
  for (int i = 0; i < M; i += MR) {
    int mr = M - i < MR ? M - i : MR;
    for (int j = 0; j < N; j += 32) {
      int n = N - j; __mmask16 m0 = n >= 16 ? 0xffff : (1u << n) - 1, m1 = n >= 32 ? 0xffff : n > 16 ? (1u << (n - 16)) - 1 : 0;
      if (mr == MR) kern(MR, K, A + i * ars, ars, acs, B + j, ldb, C + i * ldc + j, ldc, m0, m1, beta);
      else kern(mr, K, A + i * ars, ars, acs, B + j, ldb, C + i * ldc + j, ldc, m0, m1, beta);
    }
  }
}
int main(void) {
  int M = 100, N = 300, K = 400;
  float *X = malloc(4 * M * K), *W = malloc(4 * N * K), *Y = malloc(4 * M * N), *dY = malloc(4 * M * N), *dX = malloc(4 * M * K), *dW = malloc(4 * N * K), *R = malloc(4 * N * K), *WT = malloc(4*N*K);
  for (int i = 0; i < M * K; i++) X[i] = rand() / (float)RAND_MAX - .5f;
  for (int i = 0; i < N * K; i++) W[i] = rand() / (float)RAND_MAX - .5f;
  for (int i = 0; i < M * N; i++) dY[i] = rand() / (float)RAND_MAX - .5f;
  double fl = 2.0 * M * N * K;
  for (int rep = 0; rep < 3; rep++) {
  int it = 2000; double t;
  /* dX = dY W : NN, M x K, reduce N */
  t = now(); for (int r = 0; r < it; r++) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, K, N, 1, dY, N, W, K, 0, R, K); t = now() - t; printf("blas dX %.1f  ", fl * it / t / 1e9);
  t = now(); for (int r = 0; r < it; r++) gemm(M, K, N, dY, N, 1, W, K, dX, K, 0); t = now() - t; printf("mine dX %.1f  ", fl * it / t / 1e9);
  double e = 0; for (int i = 0; i < M * K; i++) e = fmax(e, fabs(R[i] - dX[i])); printf("err %.2g\n", e);
  /* dW = dY^T X : TN, N x K, reduce M */
  t = now(); for (int r = 0; r < it; r++) cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, N, K, M, 1, dY, N, X, K, 0, R, K); t = now() - t; printf("blas dW %.1f  ", fl * it / t / 1e9);
  t = now(); for (int r = 0; r < it; r++) gemm(N, K, M, dY, 1, N, X, K, dW, K, 0); t = now() - t; printf("mine dW %.1f  ", fl * it / t / 1e9);
  e = 0; for (int i = 0; i < N * K; i++) e = fmax(e, fabs(R[i] - dW[i])); printf("err %.2g\n", e);
  /* Y = X W^T : NT */
  t = now(); for (int r = 0; r < it; r++) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1, X, K, W, K, 0, R, N); t = now() - t; printf("blas fw %.1f  ", fl * it / t / 1e9);
  t = now(); for (int r = 0; r < it; r++) { for (int a = 0; a < N; a+=16) for (int b = 0; b < K; b++) for (int c = a; c < a+16 && c < N; c++) WT[b*N+c] = W[c*K+b]; gemm(M, N, K, X, K, 1, WT, N, Y, N, 0);} t = now() - t; printf("mine fw(T) %.1f  ", fl * it / t / 1e9);
  t = now(); for (int r = 0; r < it; r++) { gemm(M, N, K, X, K, 1, WT, N, Y, N, 0);} t = now() - t; printf("mine fw(noT) %.1f  ", fl * it / t / 1e9);
  e = 0; for (int i = 0; i < M * N; i++) e = fmax(e, fabs(R[i] - Y[i])); printf("err %.2g\n", e);
  }
}
