/* rollout.c — the generic episode runner. */
#include "envs/rollout.h"

#include <math.h>

#include "core/rng.h"

size_t env_rollout_scratch_floats(const Env *e) {
  return 2 * (size_t)e->obs_dim + (size_t)e->act_dim;
}

void env_rollout(Env *e, uint64_t seed, const EnvRolloutOpts *opts, float *scratch,
                 EnvEpisode *out) {
  CORE_ASSERT(opts && opts->policy && scratch);
  /* without any limit a task that never terminates would run forever */
  CORE_ASSERT(e->max_episode_steps > 0 || opts->max_steps > 0);
  float *obs = scratch;                    /* (obs_dim) */
  float *next = scratch + e->obs_dim;      /* (obs_dim) */
  float *act = scratch + 2 * e->obs_dim;   /* (act_dim) */
  *out = (EnvEpisode){0};
  env_reset(e, seed, obs);
  for (;;) {
    EnvStep st;
    opts->policy(opts->policy_ctx, e, obs, act);
    env_step(e, act, next, &st);
    if (opts->on_step) opts->on_step(opts->step_ctx, e, obs, act, &st, next);
    out->ret += st.reward;
    out->length++;
    out->status = st.status;
    if (st.terminated || st.truncated) {
      out->terminated = st.terminated;
      out->truncated = st.truncated;
      break;
    }
    if (opts->max_steps > 0 && out->length >= opts->max_steps) {
      out->capped = 1;
      break;
    }
    float *tmp = obs;
    obs = next;
    next = tmp;
  }
}

void env_eval_acc_init(EnvEvalAcc *acc) {
  *acc = (EnvEvalAcc){.st = {.min = INFINITY, .max = -INFINITY}};
}

void env_eval_acc_add(EnvEvalAcc *acc, const EnvEpisode *ep) {
  EnvEvalStats *st = &acc->st;
  /* Welford: stable for many episodes with large returns */
  st->episodes++;
  double d = ep->ret - st->mean;
  st->mean += d / st->episodes;
  acc->m2 += d * (ep->ret - st->mean);
  st->min = fmin(st->min, ep->ret);
  st->max = fmax(st->max, ep->ret);
  acc->len_sum += ep->length;
  st->n_terminated += ep->terminated;
  st->n_truncated += ep->truncated;
  st->n_cut += ep->status != ENV_OK;
}

void env_eval_acc_finish(const EnvEvalAcc *acc, EnvEvalStats *out) {
  CORE_ASSERT(acc->st.episodes > 0);
  const int n = acc->st.episodes;
  *out = acc->st;
  out->std = n > 1 ? sqrt(acc->m2 / (n - 1)) : 0.0;
  out->mean_length = acc->len_sum / n;
}

void env_evaluate(Env *e, uint64_t seed, int episodes, const EnvRolloutOpts *opts, float *scratch,
                  EnvEvalStats *out) {
  CORE_ASSERT(episodes > 0);
  EnvEvalAcc acc;
  env_eval_acc_init(&acc);
  for (int i = 0; i < episodes; i++) {
    EnvEpisode ep;
    env_rollout(e, core_rng_derive(seed, CORE_RNG_EVAL, (uint64_t)i), opts, scratch, &ep);
    env_eval_acc_add(&acc, &ep);
  }
  env_eval_acc_finish(&acc, out);
}

void env_policy_zero(void *ctx, const Env *e, const float *obs, float *act) {
  (void)ctx;
  (void)obs;
  for (int i = 0; i < e->act_dim; i++) {
    float a = 0.0f;
    if (a < e->act_low[i]) a = e->act_low[i];
    if (a > e->act_high[i]) a = e->act_high[i];
    act[i] = a;
  }
}

void env_policy_random(void *ctx, const Env *e, const float *obs, float *act) {
  CoreRng *rng = ctx;
  (void)obs;
  for (int i = 0; i < e->act_dim; i++)
    act[i] = (float)core_rng_uniform_range(rng, e->act_low[i], e->act_high[i]);
}
