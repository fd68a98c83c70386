/* cemrl.c — CEM, CEM-TD3 and CEM-DDPG: the generation loop of es_grad.py (spec cemrl-td3.md §2).
 *
 * One iterate() is one generation:
 *   1. pop <- cem_ask(N)
 *   2. if total_steps > start_steps (strict) and the method has a critic: for each of the n_grad
 *      gradient individuals (the first n_grad, the "+e" antithetic half, unless
 *      grad_second_half): copy it into actor and actor target, fresh actor optimizer, then
 *      actor_steps // n_grad critic steps (critic target soft-updated after each one when
 *      critic_target_every_step, else after every policy_delay-th critic step of the run), then
 *      actor_steps actor steps (actor target soft-updated each step, never read), write the
 *      actor back into its row. actor_steps is the previous generation's env-step count.
 *   1b. with importance_mixing, the EA rows mix reused previous EA individuals and fresh draws
 *      (im.h); the gradient budget of step 2 then adds the reused individuals' steps
 *   3. actor_steps <- 0; with n_noisy, the first n_noisy individuals run one noisy episode each
 *      (transitions into the buffer, steps into actor_steps, returns discarded)
 *   4. evaluate all N on the pool (one deterministic episode each, transitions into the shared
 *      buffer in index order); fitness = return; actor_steps += lengths
 *   5. cem_tell(pop, fitness)
 *   6. total_steps += actor_steps
 * Plain CEM runs the same loop without step 2 and without a buffer. The critic is the TD3
 * learner (td3.h): twin heads with target smoothing for CEM-TD3, one head without noise for
 * CEM-DDPG. The trainer evaluates policy() (the CEM mean mu) on its own env (spec §2 step 7).
 */
#include "agents/cemrl.h"

#include <math.h>
#include <string.h>

#include "agents/cluster.h"
#include "agents/im.h"
#include "agents/pool.h"
#include "core/alloc.h"
#include "envs/env.h"

enum {
  ST_AVG = 0, ST_HALF, ST_RL, ST_EA, ST_BEST, ST_DAMP, ST_VAR, ST_CLOSS, ST_ALOSS, ST_CUPD,
  ST_AUPD, ST_CUT, ST_REUSED, ST_N
};

static const char *const stat_names[ST_N] = {
    "average_score", "average_score_half", "average_score_rl", "average_score_ea", "best_score",
    "damp",          "var_mean",           "critic_loss",      "actor_loss",       "critic_updates",
    "actor_updates", "cut_episodes", "reused"};

typedef struct {
  Agent base;
  int has_grad;              /* CEM-TD3 / CEM-DDPG: a critic and a gradient phase */
  int pop_size, n_grad;
  size_t n_params;           /* actor parameters: the CEM dimension */
  Cem *cem;
  Td3 *td3;                  /* NULL for plain CEM */
  ReplayBuffer *rb;          /* NULL for plain CEM */
  AgentPool *pool;
  NnMlp *mu_actor;           /* policy(): holds the CEM mean */
  float *pop;                /* (pop_size, n_params) */
  double *fitness;           /* (pop_size) */
  double *sorted;            /* (pop_size) scratch: fitness, descending */
  EnvEpisode *episodes;      /* (pop_size) */
  unsigned char *is_grad;    /* (pop_size) 1 for the gradient individuals */
  float *act_high;           /* (act_dim) the env's upper action bounds (actor output scale) */
  CoreRng replay;            /* minibatch sampling and target-policy noise */
  int64_t gen;               /* generations done */
  int64_t actor_steps;       /* env steps of the last generation: the next gradient budget */
  /* importance mixing (NULL / unused without it) */
  CemIm *im;
  int n_ea;                  /* rows mixed by importance mixing: no gradient steps, not the elite */
  int *ea_index;             /* (n_ea) their population indices, ascending */
  float **ea_rows;           /* (n_ea) pointers to those rows of pop */
  float *eval_pop;           /* (pop_size, n_params) the rows run this generation, compacted */
  int *eval_idx;             /* (pop_size) compacted position -> population index */
  unsigned char *row_reused; /* (pop_size) */
  int64_t *first, *len;      /* (pop_size) each row's transitions: first buffer number, count */
  double *ea_fit;            /* (n_ea) scratch */
  int64_t *ea_first, *ea_len;/* (n_ea) scratch */
  int64_t reused_steps;      /* steps of the last generation's reused rows: join the budget */
  CemRlProbeFn probe;
  void *probe_ctx;
} CemRl;

static void cemrl_probe(CemRl *c, int point, int index, int64_t budget, int64_t cu, int64_t au) {
  if (!c->probe) return;
  CemRlProbe p = {.point = point, .gen = c->gen, .index = index, .pop = c->pop,
                  .pop_size = c->pop_size, .n_params = c->n_params, .cem = c->cem,
                  .td3 = c->td3, .replay_rng = &c->replay, .total_steps = c->base.total_steps,
                  .grad_budget = budget, .critic_updates = cu, .actor_updates = au};
  c->probe(c->probe_ctx, &p);
}

/* The gradient phase of spec §2 step 2; fills the update counts and mean losses. */
static void cemrl_gradient_phase(CemRl *c, int64_t *n_critic, int64_t *n_actor, double *closs,
                                 double *aloss) {
  const AgentSettings *s = &c->base.s;
  Td3 *t = c->td3;
  const int64_t budget = c->actor_steps + c->reused_steps;
  const int64_t critic_steps = budget / c->n_grad;  /* Python's actor_steps // n_grad */
  const int delay = s->td3.policy_delay;
  double csum = 0.0, asum = 0.0;
  CORE_ASSERT(c->rb->size > 0 && budget > 0);
  for (int i = 0; i < c->pop_size; i++) {
    if (!c->is_grad[i]) continue;
    float *row = c->pop + (size_t)i * c->n_params;
    td3_copy_actor_from(t, row);
    td3_reset_actor_opt(t);  /* fresh Adam moments for every individual of every generation */
    cemrl_probe(c, CEMRL_AT_GRAD_START, i, budget, 0, 0);
    /* all critic steps first: the target actions come from actor_target = this individual */
    for (int64_t k = 0; k < critic_steps; k++) {
      csum += td3_critic_update(t, c->rb, &c->replay);
      if (s->cemrl.critic_target_every_step || t->critic_updates % delay == 0)
        td3_soft_update_critic(t);
    }
    for (int64_t k = 0; k < budget; k++) {
      asum += td3_actor_update(t, c->rb, &c->replay);
      td3_soft_update_actor(t);
    }
    memcpy(row, t->actor->params, c->n_params * sizeof(float));
    *n_critic += critic_steps;
    *n_actor += budget;
    cemrl_probe(c, CEMRL_AT_GRAD_END, i, budget, critic_steps, budget);
  }
  *closs = *n_critic > 0 ? csum / (double)*n_critic : NAN;
  *aloss = *n_actor > 0 ? asum / (double)*n_actor : NAN;
}

/* The per-generation statistics of es_grad.py's log row, plus CEM and learner diagnostics. */
static void cemrl_stats(CemRl *c, int64_t n_critic, int64_t n_actor, double closs, double aloss) {
  const int N = c->pop_size;
  double *st = c->base.stats;
  double sum = 0.0, rl = 0.0, ea = 0.0;
  int n_rl = 0, n_ea = 0;
  for (int i = 0; i < N; i++) {
    double f = c->fitness[i];
    sum += f;
    if (c->is_grad[i]) {
      rl += f;
      n_rl++;
    } else {
      ea += f;
      n_ea++;
    }
    /* insertion into the descending scratch */
    int j = i - 1;
    while (j >= 0 && c->sorted[j] < f) {
      c->sorted[j + 1] = c->sorted[j];
      j--;
    }
    c->sorted[j + 1] = f;
  }
  /* top half as the reference computes it: the best N - N//2 */
  const int top = N - N / 2;
  double half = 0.0;
  for (int i = 0; i < top; i++) half += c->sorted[i];
  st[ST_AVG] = sum / N;
  st[ST_HALF] = half / top;
  st[ST_RL] = n_rl ? rl / n_rl : NAN;
  st[ST_EA] = n_ea ? ea / n_ea : NAN;
  st[ST_BEST] = c->sorted[0];
  st[ST_DAMP] = c->cem->eps;
  st[ST_VAR] = cem_var_mean(c->cem);
  st[ST_CLOSS] = closs;
  st[ST_ALOSS] = aloss;
  st[ST_CUPD] = (double)n_critic;
  st[ST_AUPD] = (double)n_actor;
}

/* Step 4: run every row that is not reused (all rows without importance mixing) on the pool,
 * then append the reused rows' old transitions to the buffer again and give them their old
 * fitness; records each row's transitions (first buffer number, count). Returns the env steps
 * run; counts cut episodes into *cut. */
static int64_t cemrl_evaluate(CemRl *c, int *cut) {
  const AgentSettings *s = &c->base.s;
  const int N = c->pop_size;
  const size_t n = c->n_params;
  const int n_reused = c->im ? c->im->n_reused : 0;
  const float *run = c->pop;
  int n_run = N;
  for (int i = 0; i < N; i++) c->eval_idx[i] = i;
  if (n_reused > 0) {
    memset(c->row_reused, 0, (size_t)N);
    for (int k = 0; k < n_reused; k++) c->row_reused[c->ea_index[k]] = 1;
    n_run = 0;
    for (int i = 0; i < N; i++) {
      if (c->row_reused[i]) continue;
      memcpy(c->eval_pop + (size_t)n_run * n, c->pop + (size_t)i * n, n * sizeof(float));
      c->eval_idx[n_run++] = i;
    }
    run = c->eval_pop;
  }
  int64_t at = c->rb ? c->rb->added : 0;
  int64_t steps = agent_pool_evaluate(c->pool, run, n_run, (uint64_t)s->seed, c->gen, c->rb,
                                      c->episodes);
  for (int k = 0; k < n_run; k++) {
    const EnvEpisode *ep = &c->episodes[k];
    int i = c->eval_idx[k];
    /* a non-finite return ranks last (NaN would compare false everywhere and could be kept) */
    c->fitness[i] = isfinite(ep->ret) ? ep->ret : -INFINITY;
    *cut += ep->status != ENV_OK;
    c->first[i] = at;
    c->len[i] = ep->length - (ep->status != ENV_OK);  /* a cut step is not stored */
    at += c->len[i];
  }
  c->reused_steps = 0;
  for (int k = 0; k < n_reused; k++) {
    const CemIm *im = c->im;
    int i = c->ea_index[k], j = im->reused[k];
    c->fitness[i] = im->prev_fit[j];
    c->first[i] = c->rb ? c->rb->added : 0;
    c->len[i] = c->rb ? rb_repeat(c->rb, im->prev_first[j], (long)im->prev_len[j]) : im->prev_len[j];
    c->reused_steps += im->prev_len[j];
  }
  c->base.episodes += n_run;
  return steps;
}

static int cemrl_iterate(Agent *a, CoreErr *err) {
  (void)err;
  CemRl *c = (CemRl *)a;
  const AgentSettings *s = &a->s;

  cem_ask(c->cem, c->pop);
  if (c->im) cem_im_mix(c->im, c->cem, c->ea_rows);
  cemrl_probe(c, CEMRL_AT_ASKED, -1, 0, 0, 0);

  int64_t n_critic = 0, n_actor = 0;
  double closs = NAN, aloss = NAN;
  const int grad = c->has_grad && a->total_steps > s->td3.start_steps;  /* strict, as es_grad.py */
  if (grad) cemrl_gradient_phase(c, &n_critic, &n_actor, &closs, &aloss);
  cemrl_probe(c, CEMRL_AT_EVALUATE, -1, grad ? c->actor_steps + c->reused_steps : 0, 0, 0);

  c->actor_steps = 0;
  int cut = 0;
  if (s->cemrl.n_noisy > 0 && c->has_grad) {
    c->actor_steps += agent_pool_evaluate_noisy(c->pool, c->pop, s->cemrl.n_noisy,
                                                (uint64_t)s->seed, c->gen, &s->cemrl.noise, c->rb,
                                                c->episodes);
    for (int k = 0; k < s->cemrl.n_noisy; k++) cut += c->episodes[k].status != ENV_OK;
    a->episodes += s->cemrl.n_noisy;
  }
  c->actor_steps += cemrl_evaluate(c, &cut);
  if (c->im) {
    for (int k = 0; k < c->n_ea; k++) {
      int i = c->ea_index[k];
      c->ea_fit[k] = c->fitness[i];
      c->ea_first[k] = c->first[i];
      c->ea_len[k] = c->len[i];
    }
    cem_im_record(c->im, c->cem, c->ea_rows, c->ea_fit, c->ea_first, c->ea_len);
  }
  cem_tell(c->cem, c->pop, c->fitness);
  a->total_steps += c->actor_steps;
  c->gen++;
  cemrl_stats(c, n_critic, n_actor, closs, aloss);
  a->stats[ST_CUT] = cut;
  a->stats[ST_REUSED] = c->im ? c->im->n_reused : 0;
  cem_mean(c->cem, c->mu_actor->params);
  cemrl_probe(c, CEMRL_AT_TOLD, -1, 0, n_critic, n_actor);
  return 0;
}

static NnMlp *cemrl_policy(Agent *a) { return ((CemRl *)a)->mu_actor; }

/* The mean actor's evaluation episodes, spread over the pool's threads and MPI ranks: the
 * episodes, seeds and statistics of the trainer's serial evaluation (spec §2 step 7). */
static int cemrl_evaluate_policy(Agent *a, uint64_t seed, EnvEvalStats *out, CoreErr *err) {
  (void)err;
  CemRl *c = (CemRl *)a;
  agent_pool_evaluate_actor(c->pool, c->mu_actor->params, seed, a->s.eval_episodes, out);
  return CORE_OK;
}

/* Run shape and counters: method, pop_size, n_params identify the run; gen and actor_steps
 * carry the loop state between generations. */
enum { CNT_METHOD = 0, CNT_POP, CNT_NPARAMS, CNT_GEN, CNT_ACTOR_STEPS, CNT_N };

static int cemrl_save(const Agent *a, CoreCkptWriter *w, CoreErr *err) {
  const CemRl *c = (const CemRl *)a;
  int rc;
  int64_t cnt[CNT_N] = {a->s.method, c->pop_size, (int64_t)c->n_params, c->gen, c->actor_steps};
  if ((rc = core_ckpt_add_copy(w, "cemrl.counters", cnt, sizeof cnt, err))) return rc;
  if ((rc = core_ckpt_add_copy(w, "cemrl.rng", &c->replay, sizeof c->replay, err))) return rc;
  if ((rc = core_ckpt_add_copy(w, "cemrl.stats", a->stats, sizeof(double) * ST_N, err))) return rc;
  if ((rc = cem_save(c->cem, w, "cemrl.cem", err))) return rc;
  if (c->td3 && (rc = td3_save(c->td3, w, "cemrl.td3", err))) return rc;
  if (c->rb && (rc = rb_save(c->rb, w, "cemrl.replay", err))) return rc;
  if (c->im) {
    if ((rc = cem_im_save(c->im, w, "cemrl.im", err))) return rc;
    if ((rc = core_ckpt_add_copy(w, "cemrl.im.reused_steps", &c->reused_steps,
                                 sizeof c->reused_steps, err)))
      return rc;
  }
  return 0;
}

static int cemrl_load(Agent *a, const CoreCkpt *ck, CoreErr *err) {
  CemRl *c = (CemRl *)a;
  int rc;
  int64_t cnt[CNT_N];
  CoreRng replay;
  double stats[ST_N];
  if ((rc = core_ckpt_read(ck, "cemrl.counters", cnt, sizeof cnt, err))) return rc;
  if (cnt[CNT_METHOD] != a->s.method || cnt[CNT_POP] != c->pop_size ||
      cnt[CNT_NPARAMS] != (int64_t)c->n_params) {
    const char *m = cnt[CNT_METHOD] >= 0 && cnt[CNT_METHOD] < AGENT_NMETHOD
                        ? agent_method_names[cnt[CNT_METHOD]] : "?";
    return core_err_set(err, CORE_ERR_INVALID,
                        "%s: section cemrl.counters: the checkpoint is method %s with pop_size "
                        "%lld and %lld actor parameters; this run is %s with %d and %zu (resume "
                        "with the config that wrote it)", core_ckpt_label(ck), m,
                        (long long)cnt[CNT_POP], (long long)cnt[CNT_NPARAMS],
                        agent_method_names[a->s.method], c->pop_size, c->n_params);
  }
  if (cnt[CNT_GEN] < 0 || cnt[CNT_ACTOR_STEPS] < 0)
    return core_err_set(err, CORE_ERR_CORRUPT, "%s: section cemrl.counters: negative counters",
                        core_ckpt_label(ck));
  /* the next gradient budget: one generation's env steps, at most one episode per individual
   * (and per noisy episode); a larger one would train for hours on a damaged number */
  const int64_t max_len = agent_pool_env(c->pool)->max_episode_steps;
  const int n_noisy = c->has_grad ? a->s.cemrl.n_noisy : 0;
  const int64_t max_steps = (int64_t)(c->pop_size + n_noisy) * max_len;
  if (cnt[CNT_ACTOR_STEPS] > max_steps)
    return core_err_set(err, CORE_ERR_CORRUPT, "%s: section cemrl.counters: the last generation's "
                        "%lld env steps exceed %lld (%d episodes of at most %lld steps)",
                        core_ckpt_label(ck), (long long)cnt[CNT_ACTOR_STEPS], (long long)max_steps,
                        c->pop_size + n_noisy, (long long)max_len);
  /* importance mixing on in both or in neither, checked before anything is overwritten */
  int ck_im = core_ckpt_find(ck, "cemrl.im.have", NULL) != NULL;
  if (ck_im != (c->im != NULL))
    return core_err_set(err, CORE_ERR_INVALID, "%s: the run that wrote it had "
                        "cemrl.importance_mixing %s, this run has it %s (resume with the config "
                        "that wrote it)", core_ckpt_label(ck), ck_im ? "on" : "off",
                        c->im ? "on" : "off");
  if ((rc = core_ckpt_read_rngs(ck, "cemrl.rng", &replay, 1, err))) return rc;
  /* checkpoints from before the "reused" column hold one statistic less */
  size_t stats_size = 0;
  int old_stats = core_ckpt_find(ck, "cemrl.stats", &stats_size) &&
                  stats_size == sizeof(double) * (ST_N - 1);
  stats[ST_REUSED] = 0;
  if ((rc = core_ckpt_read(ck, "cemrl.stats", stats, old_stats ? stats_size : sizeof stats, err)))
    return rc;
  if ((rc = cem_load(c->cem, ck, "cemrl.cem", err))) return rc;
  if (c->td3 && (rc = td3_load(c->td3, ck, "cemrl.td3", err))) return rc;
  if (c->rb && (rc = rb_load(c->rb, ck, "cemrl.replay", err))) return rc;
  int64_t reused_steps = 0;
  if (c->im) {
    /* recorded transitions lie in what the buffer has taken, each at most one episode long */
    int64_t added = c->rb ? c->rb->added : INT64_MAX / 2;
    if ((rc = cem_im_load(c->im, ck, "cemrl.im", added, max_len, err))) return rc;
    if ((rc = core_ckpt_read(ck, "cemrl.im.reused_steps", &reused_steps, sizeof reused_steps,
                             err)))
      return rc;
    if (reused_steps < 0 || reused_steps > (int64_t)c->n_ea * max_len)
      return core_err_set(err, CORE_ERR_CORRUPT, "%s: section cemrl.im.reused_steps: %lld out "
                          "of range", core_ckpt_label(ck), (long long)reused_steps);
  }
  c->reused_steps = reused_steps;
  c->gen = cnt[CNT_GEN];
  c->actor_steps = cnt[CNT_ACTOR_STEPS];
  c->replay = replay;
  memcpy(a->stats, stats, sizeof stats);
  cem_mean(c->cem, c->mu_actor->params);
  return 0;
}

static void cemrl_free(Agent *a) {
  CemRl *c = (CemRl *)a;
  cem_free(c->cem);
  td3_free(c->td3);
  rb_free(c->rb);
  agent_pool_free(c->pool);
  nn_mlp_free(c->mu_actor);
  core_free(c->pop);
  core_free(c->fitness);
  core_free(c->sorted);
  core_free(c->episodes);
  core_free(c->is_grad);
  core_free(c->act_high);
  cem_im_free(c->im);
  core_free(c->ea_index);
  core_free(c->ea_rows);
  core_free(c->eval_pop);
  core_free(c->eval_idx);
  core_free(c->row_reused);
  core_free(c->first);
  core_free(c->len);
  core_free(c->ea_fit);
  core_free(c->ea_first);
  core_free(c->ea_len);
  core_free(c);
}

static const AgentVt cemtd3_vt = {"cemtd3", cemrl_iterate, cemrl_policy, cemrl_save, cemrl_load,
                                  cemrl_free};
static const AgentVt cemddpg_vt = {"cemddpg", cemrl_iterate, cemrl_policy, cemrl_save,
                                   cemrl_load, cemrl_free};
static const AgentVt cem_vt = {"cem", cemrl_iterate, cemrl_policy, cemrl_save, cemrl_load,
                               cemrl_free};

/* Settings this file adds to cem_settings_check / td3_settings_check. */
static int cemrl_settings_check(const AgentSettings *s, CoreErr *err) {
  if (s->method != AGENT_CEM && s->method != AGENT_CEMTD3 && s->method != AGENT_CEMDDPG)
    return core_err_set(err, CORE_ERR_INVALID, "method: cemrl_agent_create handles \"cem\", "
                        "\"cemtd3\" and \"cemddpg\", not method index %d", s->method);
  if (s->threads < 0)
    return core_err_set(err, CORE_ERR_INVALID, "threads: %d, must be >= 0 (0 or 1 evaluate on "
                        "the calling thread)", s->threads);
  if (s->net.hidden1 < 1 || s->net.hidden2 < 1)
    return core_err_set(err, CORE_ERR_INVALID, "net.hidden1 / net.hidden2: %d / %d must be >= 1",
                        s->net.hidden1, s->net.hidden2);
  int rc = cem_settings_check(&s->cem, err);
  if (rc || s->method == AGENT_CEM) return rc;
  if (s->cemrl.n_noisy < 0 || s->cemrl.n_noisy > s->cem.pop_size)
    return core_err_set(err, CORE_ERR_INVALID, "cemrl.n_noisy: %d, must be in [0, pop_size = %d]",
                        s->cemrl.n_noisy, s->cem.pop_size);
  if (s->cemrl.noise.kind < 0 || s->cemrl.noise.kind >= AGENT_NNOISE ||
      !(s->cemrl.noise.gauss_sigma >= 0) || !(s->cemrl.noise.ou_sigma >= 0) ||
      !(s->cemrl.noise.ou_theta >= 0) || !isfinite(s->cemrl.noise.ou_mu))
    return core_err_set(err, CORE_ERR_INVALID, "cemrl.noise: kind %d, gauss_sigma %g, ou_theta "
                        "%g, ou_sigma %g, ou_mu %g: want a known kind, non-negative stds and "
                        "theta, a finite mu", s->cemrl.noise.kind, s->cemrl.noise.gauss_sigma,
                        s->cemrl.noise.ou_theta, s->cemrl.noise.ou_sigma, s->cemrl.noise.ou_mu);
  if (s->cemrl.n_grad < 1 || s->cemrl.n_grad > s->cem.pop_size)
    return core_err_set(err, CORE_ERR_INVALID, "cemrl.n_grad: %d, must be in [1, pop_size = %d] "
                        "(the reference uses pop_size / 2; use method \"cem\" for none)",
                        s->cemrl.n_grad, s->cem.pop_size);
  return td3_settings_check(&s->td3, err);
}

void cemrl_agent_set_probe(Agent *a, CemRlProbeFn fn, void *ctx) {
  CemRl *c = (CemRl *)a;
  c->probe = fn;
  c->probe_ctx = ctx;
}

const Cem *cemrl_agent_cem(const Agent *a) { return ((const CemRl *)a)->cem; }
const Td3 *cemrl_agent_td3(const Agent *a) { return ((const CemRl *)a)->td3; }
const ReplayBuffer *cemrl_agent_replay(const Agent *a) { return ((const CemRl *)a)->rb; }

int cemrl_serve(const AgentSettings *s, CoreErr *err) {
  int rc = cemrl_settings_check(s, err);
  if (rc) return rc;
  Env *probe = env_make(s->env, err);
  if (!probe) return err ? err->code : CORE_ERR_INVALID;
  NnLayerDesc layers[AGENT_ACTOR_MAX_LAYERS];
  int nl = agent_actor_layers(&s->net, probe->act_dim, probe->act_high, layers);
  /* the pool cemrl_agent_create makes: same env, actor layout, population and threads */
  AgentPool *pool = agent_pool_create(s->env, layers, nl, s->cem.pop_size, s->threads, err);
  env_free(probe);
  if (!pool) return err ? err->code : CORE_ERR_NOMEM;
  rc = agent_pool_serve(pool, err);
  agent_pool_free(pool);
  return rc;
}

Agent *cemrl_agent_create(const AgentSettings *s, CoreErr *err) {
  if (cemrl_settings_check(s, err)) return NULL;
  CemRl *c = core_calloc(1, sizeof *c);
  if (!c) {
    core_err_set(err, CORE_ERR_NOMEM, "cemrl agent: out of memory");
    return NULL;
  }
  Agent *a = &c->base;
  a->vt = s->method == AGENT_CEM ? &cem_vt : (s->method == AGENT_CEMTD3 ? &cemtd3_vt : &cemddpg_vt);
  a->s = *s;
  /* the "reused" column only with importance mixing, so runs without it keep the columns (and
   * resume the progress.csv) of earlier versions */
  a->n_stats = s->cemrl.importance_mixing ? ST_N : ST_REUSED;
  for (int i = 0; i < ST_N; i++) {
    a->stat_names[i] = stat_names[i];
    a->stats[i] = NAN;
  }
  a->evaluate = cemrl_evaluate_policy;
  c->has_grad = s->method != AGENT_CEM;
  c->pop_size = s->cem.pop_size;
  c->n_grad = c->has_grad ? s->cemrl.n_grad : 0;
  const uint64_t seed = (uint64_t)s->seed;
  const int N = c->pop_size;

  /* sizes and bounds from one instance; the pool makes its own */
  Env *probe_env = env_make(s->env, err);
  if (!probe_env) goto fail;
  a->obs_dim = probe_env->obs_dim;
  a->act_dim = probe_env->act_dim;
  c->act_high = core_malloc(sizeof(float) * (size_t)a->act_dim);
  if (c->act_high) memcpy(c->act_high, probe_env->act_high, sizeof(float) * (size_t)a->act_dim);
  env_free(probe_env);
  if (!c->act_high) goto nomem;
  const float *act_high = c->act_high;

  NnLayerDesc layers[AGENT_ACTOR_MAX_LAYERS];
  int nl = agent_actor_layers(&s->net, a->act_dim, act_high, layers);
  int mb = s->td3.batch_size > 1 ? s->td3.batch_size : 1;
  if (!(c->mu_actor = nn_mlp_create(a->obs_dim, layers, nl, mb, err))) goto fail;
  c->n_params = c->mu_actor->n_params;

  /* the fresh actor mu0: PyTorch's default init from the INIT stream (for CEM-RL the learner's
   * actor is drawn first from the same stream, so it is the same network) */
  CoreRng init;
  core_rng_stream(&init, seed, CORE_RNG_INIT, 0);
  if (c->has_grad) {
    c->td3 = td3_create(&s->td3, &s->net, &s->actor_opt, &s->critic_opt, a->obs_dim, a->act_dim,
                        act_high, s->method == AGENT_CEMTD3, &init, err);
    if (!c->td3) goto fail;
    CORE_ASSERT(c->td3->actor_n == c->n_params);
    memcpy(c->mu_actor->params, c->td3->actor->params, c->n_params * sizeof(float));
    if (!(c->rb = rb_create((long)s->td3.buffer_size, a->obs_dim, a->act_dim, err))) goto fail;
  } else {
    nn_mlp_init(c->mu_actor, NN_INIT_TORCH, 0.0, &init);
  }
  core_rng_stream(&c->replay, seed, CORE_RNG_REPLAY, 0);
  if (!(c->cem = cem_create(&s->cem, c->n_params, c->mu_actor->params, seed, err))) goto fail;
  if (!(c->pool = agent_pool_create(s->env, layers, nl, N, s->threads, err))) goto fail;

  size_t pop_floats;
  if (core_mul_size(&pop_floats, (size_t)N, c->n_params)) goto nomem;
  c->pop = core_calloc(pop_floats, sizeof(float));
  c->fitness = core_calloc((size_t)N, sizeof(double));
  c->sorted = core_calloc((size_t)N, sizeof(double));
  c->episodes = core_calloc((size_t)N, sizeof(EnvEpisode));
  c->is_grad = core_calloc((size_t)N, 1);
  if (!c->pop || !c->fitness || !c->sorted || !c->episodes || !c->is_grad) goto nomem;
  for (int k = 0; k < c->n_grad; k++)
    c->is_grad[s->cemrl.grad_second_half ? N - c->n_grad + k : k] = 1;
  /* with elitism the last row is the previous best, which mixing must not overwrite */
  const int elite_row = s->cem.elitism ? N - 1 : -1;
  c->n_ea = 0;
  for (int i = 0; i < N; i++) c->n_ea += !c->is_grad[i] && i != elite_row;
  c->eval_idx = core_calloc((size_t)N, sizeof(int));
  c->first = core_calloc((size_t)N, sizeof(int64_t));
  c->len = core_calloc((size_t)N, sizeof(int64_t));
  if (!c->eval_idx || !c->first || !c->len) goto nomem;
  if (s->cemrl.importance_mixing && c->n_ea > 0) {
    if (!(c->im = cem_im_create(c->n_ea, c->n_params, err))) goto fail;
    c->ea_index = core_calloc((size_t)c->n_ea, sizeof(int));
    c->ea_rows = core_calloc((size_t)c->n_ea, sizeof(float *));
    c->eval_pop = core_calloc(pop_floats, sizeof(float));
    c->row_reused = core_calloc((size_t)N, 1);
    c->ea_fit = core_calloc((size_t)c->n_ea, sizeof(double));
    c->ea_first = core_calloc((size_t)c->n_ea, sizeof(int64_t));
    c->ea_len = core_calloc((size_t)c->n_ea, sizeof(int64_t));
    if (!c->ea_index || !c->ea_rows || !c->eval_pop || !c->row_reused || !c->ea_fit ||
        !c->ea_first || !c->ea_len)
      goto nomem;
    for (int i = 0, k = 0; i < N; i++)
      if (!c->is_grad[i] && i != elite_row) {
        c->ea_index[k] = i;
        c->ea_rows[k++] = c->pop + (size_t)i * c->n_params;
      }
  }
  return a;
nomem:
  core_err_set(err, CORE_ERR_NOMEM, "cemrl agent: out of memory (population %d, %zu actor "
               "parameters each)", N, c->n_params);
fail:
  cemrl_free(a);
  return NULL;
}
