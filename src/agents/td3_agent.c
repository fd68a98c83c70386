/* td3_agent.c — the TD3 and DDPG agents: one env, one replay buffer, one learner (td3.h).
 *
 * One iterate() is one training episode (sfujim/TD3 paper-era main loop, spec cemrl-td3.md §3):
 *   - env step k of the run (0-based, k = total_steps before the step) takes a uniform random
 *     action while k < start_steps, else pi(s) + N(0, expl_noise^2) clipped to the bounds;
 *   - every transition goes into the replay buffer with done = terminated (never truncated);
 *   - train_freq "episode": after the episode, as many td3_train iterations as its steps, even
 *     during the random phase (the paper code); "step": one td3_train_step after every env step
 *     with k >= start_steps (sfujim current master).
 * Streams from s->seed: CORE_RNG_INIT (network init), CORE_RNG_EXPLORE (random and noisy
 * actions), CORE_RNG_REPLAY (minibatches and target noise), and the reset seed of episode e is
 * core_rng_derive(seed, CORE_RNG_ENV, e). Every stream, the buffer and the learner are in the
 * checkpoint, so a resumed run gives the same numbers as an uninterrupted one.
 */
#include <math.h>
#include <string.h>

#include "agents/agent.h"
#include "agents/replay.h"
#include "agents/td3.h"
#include "core/alloc.h"
#include "envs/env.h"

enum { ST_CRITIC_LOSS = 0, ST_ACTOR_LOSS, ST_Q_MEAN, ST_EP_RETURN, ST_EP_LENGTH, ST_N };

static const char *const stat_names[ST_N] = {"critic_loss", "actor_loss", "q_mean",
                                             "episode_return", "episode_length"};

typedef struct {
  Agent base;
  Env *env;
  Td3 *td3;
  ReplayBuffer *rb;
  CoreRng explore;           /* random-phase actions and exploration noise */
  CoreRng replay;            /* minibatch sampling and target-policy noise */
  float *obs, *next_obs;     /* (obs_dim) */
  float *act;                /* (act_dim) */
} Td3Agent;

/* The action for run step k: random in the start phase, else pi(s) + N(0, sigma^2), clipped. */
static void choose_action(Td3Agent *ta, int64_t k) {
  const Env *e = ta->env;
  const Td3Settings *s = &ta->base.s.td3;
  if (k < s->start_steps) {
    for (int j = 0; j < e->act_dim; j++)
      ta->act[j] = (float)core_rng_uniform_range(&ta->explore, e->act_low[j], e->act_high[j]);
    return;
  }
  td3_act(ta->td3, ta->obs, ta->act);
  for (int j = 0; j < e->act_dim; j++) {
    float a = ta->act[j] + (float)(s->expl_noise * core_rng_normal(&ta->explore));
    ta->act[j] = a < e->act_low[j] ? e->act_low[j] : (a > e->act_high[j] ? e->act_high[j] : a);
  }
}

static int td3_agent_iterate(Agent *a, CoreErr *err) {
  (void)err;
  Td3Agent *ta = (Td3Agent *)a;
  const Td3Settings *s = &a->s.td3;
  Env *e = ta->env;
  /* an env without a time limit is cut at the remaining budget (checked >= 1 at create) */
  int64_t cap = e->max_episode_steps > 0 ? e->max_episode_steps : a->s.total_steps - a->total_steps;
  if (cap < 1) cap = 1;

  env_reset(e, core_rng_derive((uint64_t)a->s.seed, CORE_RNG_ENV, (uint64_t)a->episodes), ta->obs);
  double ret = 0.0;
  int64_t len = 0;
  for (;;) {
    int64_t k = a->total_steps;
    EnvStep st;
    choose_action(ta, k);
    env_step(e, ta->act, ta->next_obs, &st);
    rb_add(ta->rb, ta->obs, ta->act, st.reward, ta->next_obs, st.terminated);
    ret += st.reward;
    len++;
    a->total_steps++;
    if (s->train_freq == TD3_TRAIN_STEP && k >= s->start_steps)
      td3_train_step(ta->td3, ta->rb, &ta->replay);
    if (st.terminated || st.truncated || len >= cap) break;
    memcpy(ta->obs, ta->next_obs, (size_t)e->obs_dim * sizeof(float));
  }
  if (s->train_freq == TD3_TRAIN_EPISODE) td3_train(ta->td3, ta->rb, &ta->replay, len);

  a->episodes++;   /* a->iterations is counted by the caller (train.c) */
  a->stats[ST_CRITIC_LOSS] = ta->td3->critic_loss;
  a->stats[ST_ACTOR_LOSS] = ta->td3->actor_loss;
  a->stats[ST_Q_MEAN] = ta->td3->q_mean;
  a->stats[ST_EP_RETURN] = ret;
  a->stats[ST_EP_LENGTH] = (double)len;
  return 0;
}

static NnMlp *td3_agent_policy(Agent *a) { return ((Td3Agent *)a)->td3->actor; }

static int td3_agent_save(const Agent *a, CoreCkptWriter *w, CoreErr *err) {
  const Td3Agent *ta = (const Td3Agent *)a;
  int rc;
  CoreRng rngs[2] = {ta->explore, ta->replay};
  if ((rc = core_ckpt_add_copy(w, "td3agent.rng", rngs, sizeof rngs, err))) return rc;
  if ((rc = core_ckpt_add_copy(w, "td3agent.stats", a->stats, sizeof(double) * ST_N, err)))
    return rc;
  if ((rc = td3_save(ta->td3, w, "td3", err))) return rc;
  return rb_save(ta->rb, w, "replay", err);
}

static int td3_agent_load(Agent *a, const CoreCkpt *c, CoreErr *err) {
  Td3Agent *ta = (Td3Agent *)a;
  int rc;
  CoreRng rngs[2];
  double stats[ST_N];
  if ((rc = core_ckpt_read_rngs(c, "td3agent.rng", rngs, 2, err))) return rc;
  if ((rc = core_ckpt_read(c, "td3agent.stats", stats, sizeof stats, err))) return rc;
  if ((rc = td3_load(ta->td3, c, "td3", err))) return rc;
  if ((rc = rb_load(ta->rb, c, "replay", err))) return rc;
  ta->explore = rngs[0];
  ta->replay = rngs[1];
  memcpy(a->stats, stats, sizeof stats);
  return 0;
}

static void td3_agent_free(Agent *a) {
  Td3Agent *ta = (Td3Agent *)a;
  td3_free(ta->td3);
  rb_free(ta->rb);
  env_free(ta->env);
  core_free(ta->obs);
  core_free(ta->next_obs);
  core_free(ta->act);
  core_free(ta);
}

static const AgentVt td3_vt = {"td3", td3_agent_iterate, td3_agent_policy, td3_agent_save,
                               td3_agent_load, td3_agent_free};
static const AgentVt ddpg_vt = {"ddpg", td3_agent_iterate, td3_agent_policy, td3_agent_save,
                                td3_agent_load, td3_agent_free};

Agent *td3_agent_create(const AgentSettings *s, CoreErr *err) {
  if (s->method != AGENT_TD3 && s->method != AGENT_DDPG) {
    core_err_set(err, CORE_ERR_INVALID, "method: td3_agent_create handles \"td3\" and \"ddpg\", "
                 "not method index %d", s->method);
    return NULL;
  }
  if (td3_settings_check(&s->td3, err)) return NULL;
  Td3Agent *ta = core_calloc(1, sizeof *ta);
  if (!ta) {
    core_err_set(err, CORE_ERR_NOMEM, "td3 agent: out of memory");
    return NULL;
  }
  Agent *a = &ta->base;
  int twin = s->method == AGENT_TD3;
  a->vt = twin ? &td3_vt : &ddpg_vt;
  a->s = *s;
  /* the trainer's free path goes through vt->free, so every failure below can use it */
  if (!(ta->env = env_make(s->env, err))) goto fail;
  Env *e = ta->env;
  if (e->max_episode_steps <= 0 && s->total_steps <= 0) {
    core_err_set(err, CORE_ERR_INVALID, "env: %s has no time limit, so td3/ddpg episodes need a "
                 "total_steps budget > 0 to end", s->env);
    goto fail;
  }
  a->obs_dim = e->obs_dim;
  a->act_dim = e->act_dim;
  a->n_stats = ST_N;
  for (int i = 0; i < ST_N; i++) {
    a->stat_names[i] = stat_names[i];
    a->stats[i] = NAN;
  }

  uint64_t seed = (uint64_t)s->seed;
  CoreRng init;
  core_rng_stream(&init, seed, CORE_RNG_INIT, 0);
  core_rng_stream(&ta->explore, seed, CORE_RNG_EXPLORE, 0);
  core_rng_stream(&ta->replay, seed, CORE_RNG_REPLAY, 0);
  ta->td3 = td3_create(&s->td3, &s->net, &s->actor_opt, &s->critic_opt, e->obs_dim, e->act_dim,
                       e->act_high, twin, &init, err);
  if (!ta->td3) goto fail;
  if (!(ta->rb = rb_create((long)s->td3.buffer_size, e->obs_dim, e->act_dim, err))) goto fail;
  ta->obs = core_malloc((size_t)e->obs_dim * sizeof(float));
  ta->next_obs = core_malloc((size_t)e->obs_dim * sizeof(float));
  ta->act = core_malloc((size_t)e->act_dim * sizeof(float));
  if (!ta->obs || !ta->next_obs || !ta->act) {
    core_err_set(err, CORE_ERR_NOMEM, "td3 agent: out of memory");
    goto fail;
  }
  return a;
fail:
  td3_agent_free(a);
  return NULL;
}
