/* pool.c — population evaluation: persistent pthread workers, per-individual staging. */
#include "agents/pool.h"

#include <string.h>

#include "agents/pool_internal.h"
#include "core/alloc.h"
#include "nets/blas.h"

uint64_t agent_pool_reset_seed(uint64_t seed, int64_t gen, int index) {
  /* two levels: a generation seed, then the individual's; never the worker's id */
  uint64_t gen_seed = core_rng_derive(seed, CORE_RNG_ENV, (uint64_t)gen);
  return core_rng_derive(gen_seed, CORE_RNG_POPULATION, (uint64_t)index);
}

void agent_pool_actor_policy(void *ctx, const Env *e, const float *obs, float *act) {
  NnMlp *actor = ctx;
  const float *y = nn_mlp_forward(actor, obs, 1);
  for (int k = 0; k < e->act_dim; k++) {
    float a = y[k];
    if (a < e->act_low[k]) a = e->act_low[k];
    if (a > e->act_high[k]) a = e->act_high[k];
    act[k] = a;
  }
}

/* The actor's action plus noise, clipped to the bounds (EnvPolicyFn; ctx a PoolNoisyPolicy). */
static void pool_noisy_policy(void *ctx, const Env *e, const float *obs, float *act) {
  PoolNoisyPolicy *np = ctx;
  const AgentActionNoise *nz = np->noise;
  const float *y = nn_mlp_forward(np->actor, obs, 1);
  for (int k = 0; k < e->act_dim; k++) {
    double n;
    if (nz->kind == AGENT_NOISE_OU) {
      np->ou[k] += nz->ou_theta * (nz->ou_mu - np->ou[k]) + nz->ou_sigma * core_rng_normal(&np->rng);
      n = np->ou[k];
    } else {
      n = nz->gauss_sigma * core_rng_normal(&np->rng);
    }
    float a = (float)((double)y[k] + n);
    if (a < e->act_low[k]) a = e->act_low[k];
    if (a > e->act_high[k]) a = e->act_high[k];
    act[k] = a;
  }
}

/* EnvTransitionFn: copy the transition into the individual's stage. A cut step (status !=
 * ENV_OK) is dropped: its next observation is non-finite or a simulator reset, not a successor. */
static void pool_stage_step(void *ctx, const Env *e, const float *obs, const float *act,
                            const EnvStep *st, const float *next_obs) {
  PoolStage *sg = ctx;
  if (st->status != ENV_OK) return;
  const int t = sg->len, od = e->obs_dim, ad = e->act_dim;
  memcpy(sg->obs + (size_t)t * od, obs, sizeof(float) * od);
  memcpy(sg->next_obs + (size_t)t * od, next_obs, sizeof(float) * od);
  memcpy(sg->act + (size_t)t * ad, act, sizeof(float) * ad);
  sg->rew[t] = (float)st->reward;
  sg->term[t] = st->terminated ? 1 : 0;
  sg->len = t + 1;
}

/* Evaluate individual i on worker w. */
static void pool_run_one(AgentPool *p, PoolWorker *w, int i) {
  PoolStage *sg = &p->stages[i];
  sg->len = 0;
  /* forward only reads the bound parameters */
  nn_mlp_bind_params(w->actor, (float *)(p->pop + (p->same_row ? 0 : (size_t)i * p->n_params)));
  EnvRolloutOpts opts = {.policy = agent_pool_actor_policy, .policy_ctx = w->actor,
                         .on_step = pool_stage_step, .step_ctx = sg, .max_steps = p->steps_cap};
  uint64_t reset_seed = p->eval_first >= 0
                            ? core_rng_derive(p->seed, CORE_RNG_EVAL, (uint64_t)(p->eval_first + i))
                            : agent_pool_reset_seed(p->seed, p->gen, i);
  if (p->noise) {
    reset_seed = agent_pool_reset_seed(core_rng_derive(p->seed, CORE_RNG_EXPLORE, 0), p->gen, i);
    PoolNoisyPolicy *np = &w->noisy;
    np->actor = w->actor;
    np->noise = p->noise;
    core_rng_stream(&np->rng, reset_seed, CORE_RNG_EXPLORE, 0);
    for (int k = 0; k < p->act_dim; k++) np->ou[k] = p->noise->ou_mu;
    opts.policy = pool_noisy_policy;
    opts.policy_ctx = np;
  }
  env_rollout(w->env, reset_seed, &opts, w->scratch, &p->out[i]);
  nn_mlp_bind_params(w->actor, NULL);
}

static void *pool_thread(void *arg) {
  PoolWorker *w = arg;
  AgentPool *p = w->pool;
  int64_t seen = 0;
  pthread_mutex_lock(&p->mu);
  for (;;) {
    while (!p->quit && p->job == seen) pthread_cond_wait(&p->cv_work, &p->mu);
    if (p->quit) break;
    seen = p->job;
    /* hand out individuals one at a time: which worker runs which does not matter */
    while (p->next < p->end) {
      int i = p->next++;
      pthread_mutex_unlock(&p->mu);
      pool_run_one(p, w, i);
      pthread_mutex_lock(&p->mu);
    }
    if (++p->finished == p->n_threads) pthread_cond_signal(&p->cv_done);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

/* Ask every started thread to exit and join it. */
static void pool_stop(AgentPool *p) {
  if (!p->started) return;
  pthread_mutex_lock(&p->mu);
  p->quit = 1;
  pthread_cond_broadcast(&p->cv_work);
  pthread_mutex_unlock(&p->mu);
  for (int t = 0; t < p->started; t++) pthread_join(p->tids[t], NULL);
  p->started = 0;
}

void agent_pool_free(AgentPool *p) {
  if (!p) return;
  pool_stop(p);
  if (p->sync_ok) {
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv_work);
    pthread_cond_destroy(&p->cv_done);
  }
  if (p->workers)
    for (int w = 0; w < p->n_workers; w++) {
      env_free(p->workers[w].env);
      nn_mlp_free(p->workers[w].actor);
      core_free(p->workers[w].scratch);
      core_free(p->workers[w].noisy.ou);
    }
  core_free(p->workers);
  core_free(p->stages);
  core_free(p->eval_out);
  core_free(p->stage_mem);
  core_free(p->term_mem);
  core_free(p->tids);
  core_free(p);
}

size_t pool_stage_floats(const AgentPool *p) {
  return (2 * (size_t)p->obs_dim + (size_t)p->act_dim + 1) * (size_t)p->steps_cap;
}

/* Allocate the per-individual staging: one float block and one flag block. */
static int pool_alloc_stages(AgentPool *p, CoreErr *err) {
  const size_t T = (size_t)p->steps_cap, per_ind = pool_stage_floats(p);
  size_t total;
  if (core_mul_size(&total, per_ind, (size_t)p->max_pop) ||
      core_mul_size(&total, total, sizeof(float)))
    return core_err_set(err, CORE_ERR_NOMEM, "population pool: staging size overflows");
  p->stages = core_calloc((size_t)p->max_pop, sizeof(PoolStage));
  p->stage_mem = core_malloc(total);
  p->term_mem = core_malloc(T * (size_t)p->max_pop);
  if (!p->stages || !p->stage_mem || !p->term_mem)
    return core_err_set(err, CORE_ERR_NOMEM,
                        "population pool: out of memory staging %d episodes of %zu steps",
                        p->max_pop, T);
  for (int i = 0; i < p->max_pop; i++) {
    float *base = p->stage_mem + (size_t)i * per_ind;
    PoolStage *sg = &p->stages[i];
    sg->obs = base;
    sg->next_obs = sg->obs + T * p->obs_dim;
    sg->act = sg->next_obs + T * p->obs_dim;
    sg->rew = sg->act + T * p->act_dim;
    sg->term = p->term_mem + (size_t)i * T;
  }
  return CORE_OK;
}

AgentPool *agent_pool_create(const char *env_name, const NnLayerDesc *layers, int n_layers,
                             int max_pop, int threads, CoreErr *err) {
  if (max_pop < 1) {
    core_err_set(err, CORE_ERR_INVALID, "population pool: max_pop %d, must be >= 1", max_pop);
    return NULL;
  }
  if (threads < 0) {
    core_err_set(err, CORE_ERR_INVALID, "threads: %d, must be >= 0 (0 or 1 run inline)", threads);
    return NULL;
  }
  AgentPool *p = core_calloc(1, sizeof *p);
  if (!p) goto nomem;
  p->max_pop = max_pop;
  /* more workers than individuals would only idle */
  p->n_threads = threads <= 1 ? 0 : (threads < max_pop ? threads : max_pop);
  p->n_workers = p->n_threads > 0 ? p->n_threads : 1;
  p->workers = core_calloc((size_t)p->n_workers, sizeof(PoolWorker));
  if (!p->workers) goto nomem;
  for (int w = 0; w < p->n_workers; w++) {
    PoolWorker *wk = &p->workers[w];
    wk->pool = p;
    wk->env = env_make(env_name, err);
    if (!wk->env) goto fail;
    if (w == 0) {
      p->obs_dim = wk->env->obs_dim;
      p->act_dim = wk->env->act_dim;
      p->steps_cap = wk->env->max_episode_steps;
      if (p->steps_cap <= 0) {
        core_err_set(err, CORE_ERR_INVALID,
                     "environment '%s' has no time limit; population evaluation stages one "
                     "episode per individual and needs one", env_name);
        goto fail;
      }
    }
    wk->actor = nn_mlp_create(p->obs_dim, layers, n_layers, 1, err);
    if (!wk->actor) goto fail;
    if (wk->actor->out_dim != p->act_dim) {
      core_err_set(err, CORE_ERR_INVALID, "population pool: actor outputs %d values, env '%s' "
                   "takes %d actions", wk->actor->out_dim, env_name, p->act_dim);
      goto fail;
    }
    wk->scratch = core_malloc(sizeof(float) * env_rollout_scratch_floats(wk->env));
    wk->noisy.ou = core_calloc((size_t)p->act_dim, sizeof(double));
    if (!wk->scratch || !wk->noisy.ou) goto nomem;
  }
  p->n_params = p->workers[0].actor->n_params;
  p->eval_first = -1;
  if (!(p->eval_out = core_calloc((size_t)max_pop, sizeof(EnvEpisode)))) goto nomem;
  if (pool_alloc_stages(p, err) || cluster_pool_check(p, err)) goto fail;
  if (p->n_threads > 0) {
    if (pthread_mutex_init(&p->mu, NULL)) goto nothread;
    if (pthread_cond_init(&p->cv_work, NULL)) {
      pthread_mutex_destroy(&p->mu);
      goto nothread;
    }
    if (pthread_cond_init(&p->cv_done, NULL)) {
      pthread_cond_destroy(&p->cv_work);
      pthread_mutex_destroy(&p->mu);
      goto nothread;
    }
    p->sync_ok = 1;
    p->tids = core_calloc((size_t)p->n_threads, sizeof(pthread_t));
    if (!p->tids) goto nomem;
    for (int t = 0; t < p->n_threads; t++) {
      if (pthread_create(&p->tids[t], NULL, pool_thread, &p->workers[t])) goto nothread;
      p->started++;
    }
  }
  return p;
nothread:
  core_err_set(err, CORE_ERR_RUNTIME, "population pool: could not start %d worker threads "
               "(set threads lower)", p->n_threads);
  goto fail;
nomem:
  core_err_set(err, CORE_ERR_NOMEM, "population pool: out of memory");
fail:
  agent_pool_free(p);
  return NULL;
}

size_t agent_pool_num_params(const AgentPool *p) { return p->n_params; }

int agent_pool_threads(const AgentPool *p) { return p->n_threads; }

const Env *agent_pool_env(const AgentPool *p) { return p->workers[0].env; }

int64_t agent_pool_evaluate(AgentPool *p, const float *pop, int n_pop, uint64_t seed, int64_t gen,
                            ReplayBuffer *rb, EnvEpisode *out) {
  return agent_pool_evaluate_noisy(p, pop, n_pop, seed, gen, NULL, rb, out);
}

void pool_run_range(AgentPool *p, int lo, int hi) {
  if (lo >= hi) return;
  if (p->n_threads == 0) {
    for (int i = lo; i < hi; i++) pool_run_one(p, &p->workers[0], i);
    return;
  }
  pthread_mutex_lock(&p->mu);
  p->next = lo;
  p->end = hi;
  p->finished = 0;
  p->job++;
  pthread_cond_broadcast(&p->cv_work);
  while (p->finished < p->n_threads) pthread_cond_wait(&p->cv_done, &p->mu);
  pthread_mutex_unlock(&p->mu);
}

int64_t agent_pool_evaluate_noisy(AgentPool *p, const float *pop, int n_pop, uint64_t seed,
                                  int64_t gen, const AgentActionNoise *noise, ReplayBuffer *rb,
                                  EnvEpisode *out) {
  CORE_ASSERT(!noise || (noise->kind >= 0 && noise->kind < AGENT_NNOISE));
  CORE_ASSERT(n_pop >= 0 && n_pop <= p->max_pop && (pop || n_pop == 0) && out);
  CORE_ASSERT(!rb || (rb->obs_dim == p->obs_dim && rb->act_dim == p->act_dim));
  const int blas_threads = nn_blas_threads();
  if (blas_threads != 1) nn_blas_set_threads(1);
  /* the job's fields are written before any worker wakes (under mu in pool_run_range) */
  p->pop = pop;
  p->seed = seed;
  p->gen = gen;
  p->noise = noise;
  p->same_row = 0;
  p->eval_first = -1;
  p->out = out;
  /* under MPI the other ranks take later shares of the population while this one runs its own */
  int own = cluster_pool_send(p, n_pop);
  pool_run_range(p, 0, own);
  cluster_pool_receive(p, n_pop);
  if (blas_threads != 1) nn_blas_set_threads(blas_threads);
  /* the shared buffer is filled here, in index order, so it never depends on scheduling */
  int64_t steps = 0;
  for (int i = 0; i < n_pop; i++) {
    const PoolStage *sg = &p->stages[i];
    CORE_ASSERT(sg->len == out[i].length - (out[i].status != ENV_OK));
    steps += out[i].length;
    if (!rb) continue;
    for (int t = 0; t < sg->len; t++)
      rb_add(rb, sg->obs + (size_t)t * p->obs_dim, sg->act + (size_t)t * p->act_dim, sg->rew[t],
             sg->next_obs + (size_t)t * p->obs_dim, sg->term[t]);
  }
  return steps;
}

void agent_pool_evaluate_actor(AgentPool *p, const float *params, uint64_t seed, int episodes,
                               EnvEvalStats *out) {
  CORE_ASSERT(params && episodes > 0);
  const int blas_threads = nn_blas_threads();
  if (blas_threads != 1) nn_blas_set_threads(1);
  EnvEvalAcc acc;
  env_eval_acc_init(&acc);
  p->pop = params;
  p->seed = seed;
  p->noise = NULL;
  p->same_row = 1;
  p->out = p->eval_out;
  /* in chunks of the staging capacity; episodes are added in index order */
  for (int first = 0; first < episodes; first += p->max_pop) {
    int n = episodes - first < p->max_pop ? episodes - first : p->max_pop;
    p->eval_first = first;
    int own = cluster_pool_send(p, n);
    pool_run_range(p, 0, own);
    cluster_pool_receive(p, n);
    for (int i = 0; i < n; i++) env_eval_acc_add(&acc, &p->eval_out[i]);
  }
  p->eval_first = -1;
  p->same_row = 0;
  if (blas_threads != 1) nn_blas_set_threads(blas_threads);
  env_eval_acc_finish(&acc, out);
}
