/* eig.h — the top eigenvalue of a symmetric operator by power iteration (HessianFlow's eigen.py
 * rule, spec/papers.md part 2 §3a).
 *
 * Start from a random unit v; repeat: w = A·v, λ = vᵀw, v = w/‖w‖; stop after max_iter products
 * or when |λ − λ_prev| / |λ_prev| < rtol. λ is the Rayleigh quotient of the current v, so it
 * tends to the eigenvalue of largest magnitude (it may be negative for an indefinite Hessian).
 *
 * Nullable: every CoreErr *err.
 */
#ifndef CEMRL_OPTIM_EIG_H
#define CEMRL_OPTIM_EIG_H

#include <stddef.h>

#include "core/rng.h"
#include "optim/cg.h"

/* Result of a power iteration. */
typedef struct {
  double lambda;           /* the last Rayleigh quotient vᵀAv */
  int iters;               /* products taken */
  int converged;           /* 1 if the relative-change test stopped it */
} OptEigResult;

/* Power iteration on A with vectors of length n; v (n) is the work vector and receives the last
 * unit iterate, w (n) is scratch. rng draws the start (normal entries). max_iter >= 1. A zero
 * product (A·v = 0) stops with λ = 0. Allocates nothing. */
OptEigResult opt_eig_power(const OptLinOp *A, size_t n, int max_iter, double rtol, CoreRng *rng,
                           float *v, float *w);

#endif
