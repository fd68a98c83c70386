/* poincare.c — Poincaré-ball operations (curvature −1), spec papers.md part 2 §4a.
 *
 * Each operation is written with the inner products it needs (⟨x,y⟩, ‖x‖², ...) formed first and
 * the output written in one elementwise pass, so no scratch vector is needed and, unless the
 * header says otherwise, the output may alias the inputs.
 */
#include "optim/poincare.h"

#include <math.h>

#include "core/err.h"


void poincare_mobius_add(double *out, const double *x, const double *y, int d) {
  double xy = poincare_dot(x, y, d), xx = poincare_dot(x, x, d), yy = poincare_dot(y, y, d);
  double cx = 1.0 + 2.0 * xy + yy, cy = 1.0 - xx;
  double den = poincare_denom(1.0 + 2.0 * xy + xx * yy);
  for (int i = 0; i < d; i++) out[i] = (cx * x[i] + cy * y[i]) / den;
}


void poincare_gyration(double *out, const double *u, const double *v, const double *w, int d) {
  CORE_ASSERT(out != u && out != v);
  double uu = poincare_dot(u, u, d), vv = poincare_dot(v, v, d), uv = poincare_dot(u, v, d);
  double uw = poincare_dot(u, w, d), vw = poincare_dot(v, w, d);
  double a = -uw * vv + vw + 2.0 * uv * vw;
  double b = -vw * uu - uw;
  double den = poincare_denom(1.0 + 2.0 * uv + uu * vv);
  for (int i = 0; i < d; i++) out[i] = w[i] + 2.0 * (a * u[i] + b * v[i]) / den;
}


void poincare_expmap(double *out, const double *x, const double *u, int d) {
  double un = sqrt(poincare_dot(u, u, d));
  if (un == 0.0) {
    for (int i = 0; i < d; i++) out[i] = x[i];
    return;
  }
  /* x ⊕ y with y = s·u, s = tanh(λ_x‖u‖/2)/‖u‖; the inner products of y follow from u's */
  double s = tanh(0.5 * poincare_lambda(x, d) * un) / un;
  double xx = poincare_dot(x, x, d), xy = s * poincare_dot(x, u, d), yy = s * s * un * un;
  double cx = 1.0 + 2.0 * xy + yy, cy = (1.0 - xx) * s;
  double den = poincare_denom(1.0 + 2.0 * xy + xx * yy);
  for (int i = 0; i < d; i++) out[i] = (cx * x[i] + cy * u[i]) / den;
}


void poincare_logmap(double *out, const double *x, const double *y, int d) {
  CORE_ASSERT(out != x);
  double lam = poincare_lambda(x, d);
  /* w = (−x) ⊕ y, written into out */
  double xy = -poincare_dot(x, y, d), xx = poincare_dot(x, x, d), yy = poincare_dot(y, y, d);
  double cx = 1.0 + 2.0 * xy + yy, cy = 1.0 - xx;
  double den = poincare_denom(1.0 + 2.0 * xy + xx * yy);
  for (int i = 0; i < d; i++) out[i] = (-cx * x[i] + cy * y[i]) / den;
  double wn = sqrt(poincare_dot(out, out, d));
  if (wn == 0.0) return;
  /* artanh of a norm that rounding put at or past 1 would be infinite */
  double s = 2.0 / lam * atanh(wn < 1.0 - 1e-16 ? wn : 1.0 - 1e-16) / wn;
  for (int i = 0; i < d; i++) out[i] *= s;
}


void poincare_transport(double *out, const double *x, const double *y, const double *v, int d) {
  CORE_ASSERT(out != x && out != y);
  /* gyr[y, −x]v: the gyration formula with u = y and −x in place of its second argument */
  double xx = poincare_dot(x, x, d), yy = poincare_dot(y, y, d), xy = poincare_dot(x, y, d);
  double xv = poincare_dot(x, v, d), yv = poincare_dot(y, v, d);
  double a = -yv * xx - xv + 2.0 * xy * xv;
  double b = xv * yy - yv;     /* coefficient of −x */
  double den = poincare_denom(1.0 - 2.0 * xy + xx * yy);
  /* λ_x/λ_y = (1 − ‖y‖²)/(1 − ‖x‖²) */
  double scale = poincare_denom(1.0 - yy) / poincare_denom(1.0 - xx);
  for (int i = 0; i < d; i++) out[i] = scale * (v[i] + 2.0 * (a * y[i] - b * x[i]) / den);
}


void poincare_retract(double *out, const double *x, const double *u, int d, double eps) {
  for (int i = 0; i < d; i++) out[i] = x[i] + u[i];
  poincare_project(out, d, eps);
}
