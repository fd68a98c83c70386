/* vmf.h — directional statistics of minibatch gradients (Lee, Cho & Kang 2018; papers.md §4).
 *
 * Minibatch gradients ĝ_1..ĝ_n at a frozen θ are split into norms and directions x_i = ĝ_i/||ĝ_i||.
 * The directions are modelled by a von Mises–Fisher distribution on S^{p−1}, density
 * C_p(κ) exp(κ μᵀx); its concentration is estimated from R̄ = ||Σ x_i||/n by Banerjee et al.
 * (2005), κ̂ = R̄ (p − R̄²)/(1 − R̄²), optionally refined by Newton steps on A_p(κ) = R̄
 * (Sra 2012), A_p(κ) = I_{p/2}(κ)/I_{p/2−1}(κ). n uniform directions have E[R̄²] = 1/n, so κ̂ has a floor of
 * about p/√n in high dimension: read κ̂ against it. Besides κ̂ the accumulator gives the
 * gradient-norm stochasticity GNS = std(||ĝ_i||)/mean(||ĝ_i||) and the gradient stochasticity
 * GS = mean_i ||ĝ_i − ḡ||²/||ḡ||² (ḡ = mean_i ĝ_i, an inverse squared signal-to-noise ratio).
 *
 * Works on any flat vector: a whole parameter gradient, or one layer's slice of it.
 * Nullable: every CoreErr *err.
 */
#ifndef CEMRL_OPTIM_VMF_H
#define CEMRL_OPTIM_VMF_H

#include <stddef.h>

#include "core/err.h"
#include "core/rng.h"

/* Banerjee's κ̂ = R̄ (p − R̄²)/(1 − R̄²) for R̄ in [0, 1) on S^{p−1} (+inf at R̄ = 1). */
double vmf_kappa_banerjee(double rbar, double p);

/* A_p(κ) = I_{p/2}(κ)/I_{p/2−1}(κ), the mean resultant length of a vMF(κ) on S^{p−1} (p >= 2,
 * κ >= 0), by the continued fraction of the Bessel ratio (Lentz). */
double vmf_bessel_ratio(double p, double kappa);

/* The maximum-likelihood κ: Banerjee's estimate refined by `newton` Newton steps on
 * A_p(κ) − R̄ = 0 (Sra 2012); newton = 0 gives Banerjee's. */
double vmf_kappa_mle(double rbar, double p, int newton);

/* κ̂ of n uniform directions in R^p: Banerjee's formula at R̄ = 1/√n (≈ p/√n). */
double vmf_kappa_uniform(double p, long n);

/* What the accumulator measured. */
typedef struct {
  long n;                  /* gradients added (zero gradients included in the norms) */
  long n_dir;              /* gradients with a direction (nonzero norm) */
  double rbar;             /* ||Σ x_i||/n_dir */
  double kappa;            /* Banerjee κ̂ from rbar, p */
  double kappa_uniform;    /* vmf_kappa_uniform(p, n_dir): the floor */
  double mean_norm;        /* mean ||ĝ_i|| */
  double gns;              /* std(||ĝ_i||)/mean(||ĝ_i||), population std */
  double gs;               /* mean ||ĝ_i − ḡ||²/||ḡ||² */
} VmfStats;

typedef struct VmfAcc VmfAcc;

/* An accumulator for gradients of length p (two p-vectors of double); NULL on no memory. */
VmfAcc *vmf_acc_create(size_t p, CoreErr *err);

/* Free (NULL is a no-op). */
void vmf_acc_free(VmfAcc *a);

/* Forget every gradient added. */
void vmf_acc_reset(VmfAcc *a);

/* Add one gradient g (p floats). */
void vmf_acc_add(VmfAcc *a, const float *g);

/* The statistics of the gradients added so far (NaN fields when there are too few). */
VmfStats vmf_acc_stats(const VmfAcc *a);

/* Draw x (p) from vMF(μ, κ) on S^{p−1} by Wood's (1994) rejection algorithm; mu (p) must be a
 * unit vector, p >= 2, κ >= 0 (κ = 0: uniform). */
void vmf_sample(CoreRng *rng, const double *mu, size_t p, double kappa, double *x);

/* Spearman's rank correlation of a and b (n each; ties get their average rank); NaN if n < 2
 * or a ranking is constant. O(n²) without memory: for the tens of checkpoints of a run. */
double vmf_spearman(const double *a, const double *b, int n);

#endif
