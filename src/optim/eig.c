/* eig.c — power iteration for the top eigenvalue (see eig.h). */
#include "optim/eig.h"

#include <math.h>

#include "core/err.h"


static double norm2(const float *a, size_t n) {
  double s = 0.0;
  for (size_t i = 0; i < n; i++) s += (double)a[i] * a[i];
  return sqrt(s);
}


OptEigResult opt_eig_power(const OptLinOp *A, size_t n, int max_iter, double rtol, CoreRng *rng,
                           float *v, float *w) {
  CORE_ASSERT(n >= 1 && max_iter >= 1);
  OptEigResult res = {0.0, 0, 0};
  core_rng_normal_fill(rng, v, (long)n, 0.0, 1.0);
  double s = norm2(v, n);
  for (size_t i = 0; i < n; i++) v[i] = (float)(v[i] / s);
  double prev = 0.0;
  for (int it = 1; it <= max_iter; it++) {
    A->apply(A->user, v, w);
    res.iters = it;
    double lam = 0.0;
    for (size_t i = 0; i < n; i++) lam += (double)v[i] * w[i];
    double nw = norm2(w, n);
    res.lambda = lam;
    if (!(nw > 0.0)) break;
    for (size_t i = 0; i < n; i++) v[i] = (float)(w[i] / nw);
    if (it > 1 && fabs(lam - prev) < rtol * fabs(prev)) {
      res.converged = 1;
      break;
    }
    prev = lam;
  }
  return res;
}
