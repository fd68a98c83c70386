/* cem.h — the diagonal ("sep") cross-entropy method of CEM-RL (spec cemrl-td3.md §1).
 *
 * State: mean mu and per-coordinate variance var (double), damping eps. ask() samples a
 * population (antithetic pairs: individual j and j + N/2 are mirror images); tell() ranks by
 * fitness, moves mu to the log-rank-weighted elite mean and sets
 *   var = c * sum_i w_i (z_i - mu_old)^2 + eps,   c = 1/K (reference code) or 1 (paper formula),
 * with eps decayed *before* use: eps <- tau*eps + (1-tau)*eps_end.
 */
#ifndef CEMRL_AGENTS_CEM_H
#define CEMRL_AGENTS_CEM_H

#include <stddef.h>
#include <stdint.h>

#include "core/ckpt.h"
#include "core/err.h"
#include "core/rng.h"

typedef struct {
  int pop_size;          /* N (10) */
  int n_elites;          /* K; 0 means N/2 */
  double sigma_init;     /* initial variance (1e-3; a variance, not a std) */
  double damp;           /* eps0 (1e-3) */
  double damp_limit;     /* eps_end (1e-5) */
  double damp_tau;       /* decay (0.95) */
  int antithetic;        /* mirrored pairs; requires even N */
  int elitism;           /* last individual = previous generation's best */
  int var_over_k;        /* 1: the code's 1/K factor; 0: the paper's formula */
} CemSettings;

/* The reference code's defaults (N 10, K 5, var 1e-3, eps 1e-3 -> 1e-5 at 0.95, antithetic,
 * no elitism, 1/K on). */
CemSettings cem_settings_default(void);

typedef struct {
  CemSettings s;
  size_t n;              /* dimension (actor parameters) */
  int k;                 /* elites in use */
  double *mu;            /* (n) */
  double *var;           /* (n) */
  double *weights;       /* (k) log-rank weights, sum 1 */
  double eps;            /* current damping */
  int64_t gen;           /* tell() calls so far */
  float *elite;          /* (n) best individual of the previous generation (elitism) */
  int has_elite;
  int *order;            /* (pop_size) scratch: ranking */
  CoreRng rng;           /* sampling stream */
} Cem;

/* Create with mean mu0[n] (e.g. a fresh actor's parameters); NULL with err on bad settings. */
Cem *cem_create(const CemSettings *s, size_t n, const float *mu0, uint64_t seed, CoreErr *err);

/* Free (NULL is a no-op). */
void cem_free(Cem *c);

/* Check settings; 0 or CORE_ERR_INVALID naming the field ("cem.pop_size"). */
int cem_settings_check(const CemSettings *s, CoreErr *err);

/* Sample a population into pop (pop_size, n), row-major float. */
void cem_ask(Cem *c, float *pop);

/* Draw one individual from the current distribution into out[n] (no mirror, no elite). */
void cem_sample_one(Cem *c, float *out);

/* log density of the diagonal Gaussian (mu, var) at z[n], up to the constant −n·log(2π)/2 that
 * cancels in the density ratios of importance mixing. */
double cem_log_pdf(const double *mu, const double *var, const float *z, size_t n);

/* Update from the evaluated population pop (pop_size, n) and fitness (pop_size), higher better. */
void cem_tell(Cem *c, const float *pop, const double *fitness);

/* Write mu as floats into out[n] (the mean actor). */
void cem_mean(const Cem *c, float *out);

/* Mean of the variance vector (for logs). */
double cem_var_mean(const Cem *c);

/* Save / load state (mu, var, eps, gen, elite, rng) as sections "<prefix>.*". */
int cem_save(const Cem *c, CoreCkptWriter *w, const char *prefix, CoreErr *err);
int cem_load(Cem *c, const CoreCkpt *ck, const char *prefix, CoreErr *err);

#endif
