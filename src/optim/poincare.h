/* poincare.h — the Poincaré ball of curvature −1 (spec papers.md part 2, §4a).
 *
 * 𝔹ᵈ = {x : ‖x‖ < 1} with metric λ_x² times the Euclidean one, λ_x = 2/(1 − ‖x‖²). These are
 * the operations the Riemannian optimizers (ropt.h) and the embedding task need: distance and its
 * Euclidean gradient, Möbius addition, exponential and logarithmic maps, gyration and parallel
 * transport, the Euclidean-to-Riemannian gradient conversion and the boundary projection.
 *
 * Everything is double precision on one point of dimension d (small: an embedding row). Outputs
 * come first and may alias any input unless a function says otherwise. The metric functions are
 * inline in this header; the gyrovector operations and maps are in poincare.c.
 */
#ifndef CEMRL_OPTIM_POINCARE_H
#define CEMRL_OPTIM_POINCARE_H

#include <math.h>

#define POINCARE_PROJ_EPS 1e-5   /* boundary margin of N&K (and geoopt in float64) */

/* ---------------------------------------------------------------- metric
 * These and poincare_project are static inline: they run in the innermost loop of the embedding
 * loss, and src/envs (the embedding task) uses them without linking the optim library. */

/* Denominators such as 1 − ‖x‖² are clamped here: a point on the boundary is outside the model
 * (callers project first), and a clamp keeps a stray one finite instead of NaN. */
#define POINCARE_MIN_DENOM 1e-15

/* ⟨a, b⟩ of two vectors of dimension d. */
static inline double poincare_dot(const double *a, const double *b, int d) {
  double s = 0.0;
  for (int i = 0; i < d; i++) s += a[i] * b[i];
  return s;
}

/* max(x, POINCARE_MIN_DENOM). */
static inline double poincare_denom(double x) {
  return x > POINCARE_MIN_DENOM ? x : POINCARE_MIN_DENOM;
}

/* Conformal factor λ_x = 2/(1 − ‖x‖²) of a point x (d). */
static inline double poincare_lambda(const double *x, int d) {
  return 2.0 / poincare_denom(1.0 - poincare_dot(x, x, d));
}

/* Riemannian norm ‖u‖_x = λ_x‖u‖ of a tangent vector u (d) at x (d). */
static inline double poincare_norm(const double *x, const double *u, int d) {
  return poincare_lambda(x, d) * sqrt(poincare_dot(u, u, d));
}

/* Convert a Euclidean gradient g (d) at x (d) into the Riemannian one, in place: g /= λ_x². */
static inline void poincare_egrad2rgrad(double *g, const double *x, int d) {
  double a = poincare_denom(1.0 - poincare_dot(x, x, d));
  double s = a * a * 0.25;   /* 1/λ² = (1 − ‖x‖²)²/4 */
  for (int i = 0; i < d; i++) g[i] *= s;
}

/* Distance d(x, y) = arcosh(1 + 2‖x − y‖²/((1 − ‖x‖²)(1 − ‖y‖²))). */
static inline double poincare_dist(const double *x, const double *y, int d) {
  double ww = 0.0;
  for (int i = 0; i < d; i++) ww += (x[i] - y[i]) * (x[i] - y[i]);
  double a = poincare_denom(1.0 - poincare_dot(x, x, d));
  double b = poincare_denom(1.0 - poincare_dot(y, y, d));
  double z = 2.0 * ww / (a * b);
  /* arcosh(1 + z) = log(1 + z + sqrt(z(z + 2))): accurate for small z, where acosh(1 + z) loses
   * the digits of z to the rounding of 1 + z */
  return log1p(z + sqrt(z * (z + 2.0)));
}

/* Euclidean gradient of d(u, v) with respect to u (N&K's closed form), into gu (d); zero when
 * u == v, where d is not differentiable. gu must not alias u or v.
 * With w = u − v, a = 1 − ‖u‖², b = 1 − ‖v‖², γ = 1 + 2‖w‖²/(ab), N&K's gradient
 *   4/(b√(γ² − 1)) · [(‖v‖² − 2⟨u,v⟩ + 1)/a² · u − v/a]
 * is evaluated with the bracket as ‖w‖²/a² · u + w/a (since ‖v‖² − 2⟨u,v⟩ + 1 = ‖w‖² + a) and
 * γ² − 1 = (γ − 1)(γ + 1) with γ − 1 = 2‖w‖²/(ab) exactly: no cancellation when u is near v. */
static inline void poincare_dist_grad(double *gu, const double *u, const double *v, int d) {
  double ww = 0.0;
  for (int i = 0; i < d; i++) ww += (u[i] - v[i]) * (u[i] - v[i]);
  if (ww == 0.0) {
    for (int i = 0; i < d; i++) gu[i] = 0.0;
    return;
  }
  double a = poincare_denom(1.0 - poincare_dot(u, u, d));
  double b = poincare_denom(1.0 - poincare_dot(v, v, d));
  double gm1 = 2.0 * ww / (a * b);
  double c = 4.0 / (b * sqrt(gm1 * (gm1 + 2.0)));
  for (int i = 0; i < d; i++) gu[i] = c * ((u[i] - v[i]) / a + ww * u[i] / (a * a));
}

/* Project x (d) in place into the closed ball of radius 1 − eps (a no-op inside it). */
static inline void poincare_project(double *x, int d, double eps) {
  double n = sqrt(poincare_dot(x, x, d)), maxn = 1.0 - eps;
  if (n >= maxn && n > 0.0) {
    double s = maxn / n;
    for (int i = 0; i < d; i++) x[i] *= s;
  }
}

/* ---------------------------------------------------------------- gyrovector operations */

/* Möbius addition out = x ⊕ y (d). */
void poincare_mobius_add(double *out, const double *x, const double *y, int d);

/* Gyration out = gyr[u, v]w (d), the closed form of §4a. out must not alias u or v. */
void poincare_gyration(double *out, const double *u, const double *v, const double *w, int d);

/* ---------------------------------------------------------------- maps */

/* Exponential map out = exp_x(u) = x ⊕ (tanh(λ_x‖u‖/2) u/‖u‖); exp_x(0) = x. */
void poincare_expmap(double *out, const double *x, const double *u, int d);

/* Logarithmic map out = log_x(y) = (2/λ_x) artanh‖−x ⊕ y‖ (−x ⊕ y)/‖−x ⊕ y‖, the inverse of
 * the exponential map. out must not alias x. */
void poincare_logmap(double *out, const double *x, const double *y, int d);

/* Parallel transport along the geodesic, out = P_{x→y}(v) = (λ_x/λ_y) gyr[y, −x]v. out must not
 * alias x or y. */
void poincare_transport(double *out, const double *x, const double *y, const double *v, int d);

/* First-order retraction out = proj(x + u) with boundary margin eps. */
void poincare_retract(double *out, const double *x, const double *u, int d, double eps);

#endif
