/* cem.c — sep-CEM: sampling, log-rank weighted update, damping schedule. */
#include "agents/cem.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"

CemSettings cem_settings_default(void) {
  CemSettings s = {.pop_size = 10, .n_elites = 0, .sigma_init = 1e-3, .damp = 1e-3,
                   .damp_limit = 1e-5, .damp_tau = 0.95, .antithetic = 1, .elitism = 0,
                   .var_over_k = 1};
  return s;
}

int cem_settings_check(const CemSettings *s, CoreErr *err) {
  if (s->pop_size < 2)
    return core_err_set(err, CORE_ERR_INVALID, "cem.pop_size: %d, must be >= 2", s->pop_size);
  int k = s->n_elites ? s->n_elites : s->pop_size / 2;
  if (k < 1 || k > s->pop_size)
    return core_err_set(err, CORE_ERR_INVALID, "cem.n_elites: %d, must be in [1, pop_size=%d]",
                        s->n_elites, s->pop_size);
  if (s->antithetic && s->pop_size % 2)
    return core_err_set(err, CORE_ERR_INVALID,
                        "cem.antithetic: needs an even pop_size (got %d); set antithetic false or "
                        "make pop_size even", s->pop_size);
  if (!(s->sigma_init > 0) || !isfinite(s->sigma_init))
    return core_err_set(err, CORE_ERR_INVALID, "cem.sigma_init: %g, must be > 0", s->sigma_init);
  if (!(s->damp >= 0) || !(s->damp_limit >= 0) || !isfinite(s->damp) || !isfinite(s->damp_limit))
    return core_err_set(err, CORE_ERR_INVALID, "cem.damp / cem.damp_limit must be >= 0");
  if (!(s->damp_tau >= 0 && s->damp_tau <= 1))
    return core_err_set(err, CORE_ERR_INVALID, "cem.damp_tau: %g, must be in [0, 1]", s->damp_tau);
  return CORE_OK;
}

Cem *cem_create(const CemSettings *s, size_t n, const float *mu0, uint64_t seed, CoreErr *err) {
  if (cem_settings_check(s, err)) return NULL;
  Cem *c = core_calloc(1, sizeof *c);
  if (!c) goto nomem;
  c->s = *s;
  c->n = n;
  c->k = s->n_elites ? s->n_elites : s->pop_size / 2;
  c->mu = core_calloc(n, sizeof(double));
  c->var = core_calloc(n, sizeof(double));
  c->weights = core_calloc((size_t)c->k, sizeof(double));
  c->elite = core_calloc(n, sizeof(float));
  c->order = core_calloc((size_t)s->pop_size, sizeof(int));
  if (!c->mu || !c->var || !c->weights || !c->elite || !c->order) goto nomem;
  for (size_t j = 0; j < n; j++) {
    c->mu[j] = mu0 ? mu0[j] : 0.0;
    c->var[j] = s->sigma_init;
  }
  /* log-rank weights: w_i = ln((K+1)/i) / sum_j ln((K+1)/j) */
  double total = 0;
  for (int i = 1; i <= c->k; i++) total += log((c->k + 1.0) / i);
  for (int i = 1; i <= c->k; i++) c->weights[i - 1] = log((c->k + 1.0) / i) / total;
  c->eps = s->damp;
  core_rng_stream(&c->rng, seed, CORE_RNG_POPULATION, 0);
  return c;
nomem:
  cem_free(c);
  core_err_set(err, CORE_ERR_NOMEM, "cem: out of memory for %zu parameters", n);
  return NULL;
}

void cem_free(Cem *c) {
  if (!c) return;
  core_free(c->mu);
  core_free(c->var);
  core_free(c->weights);
  core_free(c->elite);
  core_free(c->order);
  core_free(c);
}

void cem_ask(Cem *c, float *pop) {
  const int N = c->s.pop_size;
  const size_t n = c->n;
  if (c->s.antithetic) {
    /* first half mu + e*sd, second half its mirror mu - e*sd */
    for (int i = 0; i < N / 2; i++) {
      float *plus = pop + (size_t)i * n, *minus = pop + (size_t)(i + N / 2) * n;
      for (size_t j = 0; j < n; j++) {
        double d = core_rng_normal(&c->rng) * sqrt(c->var[j]);
        plus[j] = (float)(c->mu[j] + d);
        minus[j] = (float)(c->mu[j] - d);
      }
    }
  } else {
    for (int i = 0; i < N; i++)
      for (size_t j = 0; j < n; j++)
        pop[(size_t)i * n + j] = (float)(c->mu[j] + core_rng_normal(&c->rng) * sqrt(c->var[j]));
  }
  if (c->s.elitism && c->has_elite) memcpy(pop + (size_t)(N - 1) * n, c->elite, n * sizeof(float));
}

void cem_sample_one(Cem *c, float *out) {
  for (size_t j = 0; j < c->n; j++)
    out[j] = (float)(c->mu[j] + core_rng_normal(&c->rng) * sqrt(c->var[j]));
}

double cem_log_pdf(const double *mu, const double *var, const float *z, size_t n) {
  double s = 0.0;
  for (size_t j = 0; j < n; j++) {
    double d = (double)z[j] - mu[j];
    s += -0.5 * (d * d / var[j] + log(var[j]));
  }
  return s;
}

void cem_tell(Cem *c, const float *pop, const double *fitness) {
  const int N = c->s.pop_size, K = c->k;
  const size_t n = c->n;
  c->eps = c->s.damp_tau * c->eps + (1.0 - c->s.damp_tau) * c->s.damp_limit;
  /* rank by fitness, descending; ties keep index order so results never depend on sort quirks */
  for (int i = 0; i < N; i++) c->order[i] = i;
  for (int i = 1; i < N; i++) {
    int v = c->order[i], j = i - 1;
    while (j >= 0 && fitness[c->order[j]] < fitness[v]) {
      c->order[j + 1] = c->order[j];
      j--;
    }
    c->order[j + 1] = v;
  }
  const double scale = c->s.var_over_k ? 1.0 / K : 1.0;
  for (size_t j = 0; j < n; j++) {
    double mu_old = c->mu[j], mu_new = 0, var_new = 0;
    for (int i = 0; i < K; i++) {
      double z = pop[(size_t)c->order[i] * n + j];
      mu_new += c->weights[i] * z;
      var_new += c->weights[i] * (z - mu_old) * (z - mu_old);
    }
    c->mu[j] = mu_new;
    c->var[j] = scale * var_new + c->eps;
  }
  memcpy(c->elite, pop + (size_t)c->order[0] * n, n * sizeof(float));
  c->has_elite = 1;
  c->gen++;
}

void cem_mean(const Cem *c, float *out) {
  for (size_t j = 0; j < c->n; j++) out[j] = (float)c->mu[j];
}

double cem_var_mean(const Cem *c) {
  double s = 0;
  for (size_t j = 0; j < c->n; j++) s += c->var[j];
  return c->n ? s / c->n : 0;
}

int cem_save(const Cem *c, CoreCkptWriter *w, const char *prefix, CoreErr *err) {
  char name[CORE_CKPT_NAME_MAX + 1];
  int rc;
  double scal[2] = {c->eps, (double)c->has_elite};
#define CEM_ADD(field, ptr, bytes, fn)                          \
  snprintf(name, sizeof name, "%s.%s", prefix, field);          \
  if ((rc = fn(w, name, ptr, bytes, err))) return rc;
  CEM_ADD("mu", c->mu, c->n * sizeof(double), core_ckpt_add);
  CEM_ADD("var", c->var, c->n * sizeof(double), core_ckpt_add);
  CEM_ADD("elite", c->elite, c->n * sizeof(float), core_ckpt_add);
  CEM_ADD("scalars", scal, sizeof scal, core_ckpt_add_copy);
  CEM_ADD("gen", &c->gen, sizeof c->gen, core_ckpt_add_copy);
  CEM_ADD("rng", &c->rng, sizeof c->rng, core_ckpt_add_copy);
#undef CEM_ADD
  return CORE_OK;
}

int cem_load(Cem *c, const CoreCkpt *ck, const char *prefix, CoreErr *err) {
  char name[CORE_CKPT_NAME_MAX + 1];
  int rc;
  double scal[2];
#define CEM_READ(field, ptr, bytes)                             \
  snprintf(name, sizeof name, "%s.%s", prefix, field);          \
  if ((rc = core_ckpt_read(ck, name, ptr, bytes, err))) return rc;
  CEM_READ("mu", c->mu, c->n * sizeof(double));
  CEM_READ("var", c->var, c->n * sizeof(double));
  CEM_READ("elite", c->elite, c->n * sizeof(float));
  CEM_READ("scalars", scal, sizeof scal);
  CEM_READ("gen", &c->gen, sizeof c->gen);
#undef CEM_READ
  snprintf(name, sizeof name, "%s.rng", prefix);
  if ((rc = core_ckpt_read_rngs(ck, name, &c->rng, 1, err))) return rc;
  c->eps = scal[0];
  c->has_elite = scal[1] != 0;
  return CORE_OK;
}
