/* poincare_train.c — epochs of Poincaré-embedding training (see poincare_train.h). */
#include "agents/poincare_train.h"

#include <string.h>

#include "core/alloc.h"


PoincareTrainSettings poincare_train_settings_default(void) {
  RoptSettings o = ropt_settings_default(ROPT_RSGD);
  o.lr = 0.3;
  PoincareTrainSettings s = {
    .dim = 5,
    .opt = o,
    .negatives = 10,
    .batch = 10,
    .batch_mean = 0,
    .burnin_epochs = 10,
    .burnin_mult = 0.1,
    .burnin_by_degree = 0,
    .init_range = 1e-3,
    .seed = 0,
  };
  return s;
}


int poincare_train_settings_check(const PoincareTrainSettings *s, CoreErr *err) {
  if (s->dim < 1 || s->dim > POINCARE_TASK_MAX_DIM)
    return core_err_set(err, CORE_ERR_INVALID, "poincare.dim: %d is outside [1, %d]", s->dim,
                        POINCARE_TASK_MAX_DIM);
  if (s->negatives < 1 || s->negatives > POINCARE_TASK_MAX_NEG)
    return core_err_set(err, CORE_ERR_INVALID, "poincare.negatives: %d is outside [1, %d] (the "
                        "paper uses 10)", s->negatives, POINCARE_TASK_MAX_NEG);
  if (s->batch < 1)
    return core_err_set(err, CORE_ERR_INVALID, "poincare.batch: %d must be >= 1 (10)", s->batch);
  if (s->burnin_epochs < 0)
    return core_err_set(err, CORE_ERR_INVALID, "poincare.burnin_epochs: %d must be >= 0",
                        s->burnin_epochs);
  if (!(s->burnin_mult > 0.0 && s->burnin_mult <= 1.0))
    return core_err_set(err, CORE_ERR_INVALID, "poincare.burnin_mult: %g is outside (0, 1] (the "
                        "paper uses 0.1)", s->burnin_mult);
  if (!(s->init_range > 0.0 && s->init_range < 0.5))
    return core_err_set(err, CORE_ERR_INVALID, "poincare.init_range: %g is outside (0, 0.5)",
                        s->init_range);
  return ropt_settings_check(&s->opt, err);
}


void poincare_trainer_free(PoincareTrainer *tr) {
  if (!tr) return;
  core_free(tr->emb);
  core_free(tr->grad);
  ropt_free(tr->opt);
  core_free(tr->order);
  core_free(tr->touched);
  core_free(tr->stamp);
  core_free(tr->cand);
  core_free(tr);
}


PoincareTrainer *poincare_trainer_create(const PoincareTask *t, const PoincareTrainSettings *s,
                                         CoreErr *err) {
  CORE_ASSERT(t && s);
  if (poincare_train_settings_check(s, err) < 0) return NULL;
  size_t nd;
  if (core_mul_size(&nd, (size_t)t->n, (size_t)s->dim) < 0) {
    core_err_set(err, CORE_ERR_NOMEM, "poincare trainer: (%d, %d) overflows", t->n, s->dim);
    return NULL;
  }
  PoincareTrainer *tr = core_calloc(1, sizeof *tr);
  if (!tr) {
    core_err_set(err, CORE_ERR_NOMEM, "poincare trainer: out of memory");
    return NULL;
  }
  tr->set = *s;
  tr->task = t;
  size_t per_batch = (size_t)s->batch * ((size_t)s->negatives + 2);
  tr->emb = core_malloc(sizeof(float) * nd);
  tr->grad = core_calloc(nd, sizeof(float));
  tr->order = core_malloc(sizeof(int) * (size_t)t->m);
  tr->touched = core_malloc(sizeof(int) * per_batch);
  tr->stamp = core_malloc(sizeof(int64_t) * (size_t)t->n);
  tr->cand = core_malloc(sizeof(int) * ((size_t)s->negatives + 1));
  tr->opt = ropt_create(&s->opt, t->n, s->dim, err);
  if (!tr->emb || !tr->grad || !tr->order || !tr->touched || !tr->stamp || !tr->cand || !tr->opt) {
    if (tr->opt) core_err_set(err, CORE_ERR_NOMEM, "poincare trainer: out of memory");
    poincare_trainer_free(tr);
    return NULL;
  }
  CoreRng init;
  core_rng_stream(&init, s->seed, CORE_RNG_INIT, 0);
  core_rng_uniform_fill(&init, tr->emb, (long)nd, -s->init_range, s->init_range);
  core_rng_stream(&tr->rng, s->seed, CORE_RNG_DATA, 0);
  for (int k = 0; k < t->m; k++) tr->order[k] = k;
  for (int i = 0; i < t->n; i++) tr->stamp[i] = -1;
  return tr;
}


double poincare_trainer_epoch(PoincareTrainer *tr) {
  const PoincareTask *t = tr->task;
  const PoincareTrainSettings *s = &tr->set;
  int burnin = tr->epoch < s->burnin_epochs;
  ropt_set_lr(tr->opt, burnin ? s->opt.lr * s->burnin_mult : s->opt.lr);
  int by_degree = burnin && s->burnin_by_degree;
  int dim = s->dim, manifold = s->opt.manifold;

  /* Fisher–Yates over the edges */
  for (int k = t->m - 1; k > 0; k--) {
    int j = (int)core_rng_below(&tr->rng, (uint64_t)k + 1);
    int tmp = tr->order[k];
    tr->order[k] = tr->order[j];
    tr->order[j] = tmp;
  }
  double sum = 0.0;
  for (int b0 = 0; b0 < t->m; b0 += s->batch) {
    int nb = t->m - b0 < s->batch ? t->m - b0 : s->batch, nt = 0;
    int64_t step = tr->steps++;
    double scale = s->batch_mean ? 1.0 / nb : 1.0;
    for (int k = b0; k < b0 + nb; k++) {
      int e = tr->order[k], u = t->g->src[e];
      int nc = poincare_task_candidates(t, &tr->rng, u, t->g->dst[e], s->negatives, by_degree,
                                        tr->cand);
      sum += poincare_task_edge_loss(tr->emb, dim, manifold, u, tr->cand, nc, tr->grad, scale);
      if (tr->stamp[u] != step) {
        tr->stamp[u] = step;
        tr->touched[nt++] = u;
      }
      for (int j = 0; j < nc; j++) {
        int c = tr->cand[j];
        if (tr->stamp[c] == step) continue;
        tr->stamp[c] = step;
        tr->touched[nt++] = c;
      }
    }
    ropt_step_rows(tr->opt, tr->emb, tr->grad, tr->touched, nt);
    for (int k = 0; k < nt; k++) memset(tr->grad + (size_t)tr->touched[k] * dim, 0,
                                        sizeof(float) * (size_t)dim);
  }
  tr->epoch++;
  return sum / t->m;
}
