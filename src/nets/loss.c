/* loss.c — MSE and softmax cross-entropy with their gradients. */
#include "nets/loss.h"

#include <math.h>

#include "core/err.h"

double nn_loss_mse(const float *y, const float *t, int batch, int dim, float *dy) {
  CORE_ASSERT(batch >= 1 && dim >= 1);
  size_t n = (size_t)batch * (size_t)dim;
  double sum = 0.0;
  double g = 2.0 / (double)n;
  for (size_t i = 0; i < n; i++) {
    double d = (double)y[i] - t[i];
    sum += d * d;
    if (dy) dy[i] = (float)(g * d);
  }
  return sum / (double)n;
}

double nn_loss_softmax_xent(const float *z, const int *labels, int batch, int classes, float *dz) {
  CORE_ASSERT(batch >= 1 && classes >= 1);
  double total = 0.0, inv_b = 1.0 / batch;
  for (int r = 0; r < batch; r++) {
    const float *zr = z + (size_t)r * classes;
    int k = labels[r];
    CORE_ASSERT(k >= 0 && k < classes);
    /* subtract the row maximum so exp never overflows */
    float m = zr[0];
    for (int j = 1; j < classes; j++)
      if (zr[j] > m) m = zr[j];
    double s = 0.0;
    for (int j = 0; j < classes; j++) s += exp((double)zr[j] - m);
    double lse = m + log(s);
    total += lse - zr[k];
    if (dz) {
      float *dr = dz + (size_t)r * classes;
      for (int j = 0; j < classes; j++) {
        double pj = exp((double)zr[j] - lse);
        dr[j] = (float)((pj - (j == k)) * inv_b);
      }
    }
  }
  return total * inv_b;
}
