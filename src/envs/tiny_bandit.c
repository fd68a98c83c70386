/* tiny_bandit.c — Bandit1D-v0: a one-step task with a known optimum.
 *
 * Reset draws a target c ~ U(-1, 1) and shows it (obs = c). One step with action a in [-1, 1]
 * pays 1 - (a - c)^2 and terminates. The optimal policy a = c earns 1 exactly (it never clips);
 * a = 0 earns 1 - E[c^2] = 2/3 on average, and a uniform random action 1 - 2/3 = 1/3.
 */
#include <stdio.h>

#include "core/alloc.h"
#include "core/rng.h"
#include "envs/tiny_tasks.h"

typedef struct {
  Env base;        /* first: an Env* is a TinyBandit* */
  double c;        /* the target of this episode */
  float low[1], high[1];
} TinyBandit;

static void bandit_reset_(Env *e, uint64_t seed, float *obs) {
  TinyBandit *p = (TinyBandit *)e;
  CoreRng rng;
  core_rng_stream(&rng, seed, CORE_RNG_ENV, 0);
  p->c = core_rng_uniform_range(&rng, -TINY_BANDIT_TARGET_MAX, TINY_BANDIT_TARGET_MAX);
  obs[0] = (float)p->c;
}

static void bandit_step_(Env *e, const float *act, float *obs, EnvStep *out) {
  TinyBandit *p = (TinyBandit *)e;
  double a = act[0];
  if (a < -TINY_BANDIT_ACT_MAX) a = -TINY_BANDIT_ACT_MAX;
  if (a > TINY_BANDIT_ACT_MAX) a = TINY_BANDIT_ACT_MAX;
  out->reward = 1.0 - (a - p->c) * (a - p->c);
  out->terminated = 1;
  out->status = ENV_OK;
  obs[0] = (float)p->c;  /* the episode is over; the last observation repeats the target */
}

static int bandit_get_state_(const Env *e, double *state, int cap) {
  if (cap < 1) return 1;
  state[0] = ((const TinyBandit *)e)->c;
  return 1;
}

static int bandit_set_state_(Env *e, const double *state, int n) {
  if (n != 1) return CORE_ERR_INVALID;
  ((TinyBandit *)e)->c = state[0];
  return 0;
}

static void bandit_describe_(const Env *e, FILE *f) {
  (void)e;
  fprintf(f, "observation    target c ~ U(-%g, %g)\n", TINY_BANDIT_TARGET_MAX,
          TINY_BANDIT_TARGET_MAX);
  fprintf(f, "reward         1 - (a - c)^2, a = clip(action, -%g, %g)\n", TINY_BANDIT_ACT_MAX,
          TINY_BANDIT_ACT_MAX);
  fprintf(f, "termination    after 1 step\n");
  fprintf(f, "optimal_return 1 (a = c); zero policy 2/3, uniform random 1/3 (expected)\n");
}

static void bandit_free_(Env *e) { core_free(e); }

static const EnvVt bandit_vt = {
    .reset = bandit_reset_,
    .step = bandit_step_,
    .free = bandit_free_,
    .get_state = bandit_get_state_,
    .set_state = bandit_set_state_,
    .describe = bandit_describe_,
};

Env *tiny_bandit_make(CoreErr *err) {
  TinyBandit *p = core_calloc(1, sizeof *p);
  if (!p) {
    core_err_set(err, CORE_ERR_NOMEM, "Bandit1D-v0: out of memory");
    return NULL;
  }
  p->low[0] = (float)-TINY_BANDIT_ACT_MAX;
  p->high[0] = (float)TINY_BANDIT_ACT_MAX;
  p->base = (Env){.vt = &bandit_vt,
                  .name = "Bandit1D-v0",
                  .obs_dim = 1,
                  .act_dim = 1,
                  .act_low = p->low,
                  .act_high = p->high,
                  .max_episode_steps = 1,
                  .dt = 0.0,
                  .needs_reset = 1};
  return &p->base;
}
