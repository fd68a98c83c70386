/* test_agents_td3_regress.c — TD3 and DDPG learn the tiny tasks within a fixed step budget.
 *
 * Each case trains the agent (td3_agent_create) with fixed seeds and small networks, then
 * evaluates the deterministic policy with env_evaluate on a separate env instance (10 episodes,
 * seeds derived from CORE_RNG_EVAL). Budgets and thresholds are stated per case below; each case
 * runs in a few seconds with OPENBLAS_NUM_THREADS=1 (Release build).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>

#include "test_util.h"

#include "agents/agent.h"
#include "agents/td3.h"
#include "core/alloc.h"
#include "envs/env.h"
#include "envs/rollout.h"
#include "envs/tiny_lqr.h"

typedef struct {
  int method;          /* AGENT_TD3 or AGENT_DDPG */
  const char *env;
  int64_t steps;       /* training budget, env steps */
  int64_t start_steps; /* random-action phase */
  int hidden;          /* hidden1 = hidden2 */
  uint64_t seed;
} RegressCase;

/* The agent's deterministic actor, clipped into the bounds (env_evaluate passes actions as is). */
static void actor_policy(void *ctx, const Env *e, const float *obs, float *act) {
  NnMlp *net = ctx;
  const float *y = nn_mlp_forward(net, obs, 1);
  for (int j = 0; j < e->act_dim; j++)
    act[j] = y[j] < e->act_low[j] ? e->act_low[j] : (y[j] > e->act_high[j] ? e->act_high[j] : y[j]);
}

/* Train for c->steps env steps (whole episodes), evaluate 10 episodes, return the mean return. */
static double train_and_eval(const RegressCase *c) {
  AgentSettings s;
  memset(&s, 0, sizeof s);
  snprintf(s.env, sizeof s.env, "%s", c->env);
  s.method = c->method;
  s.seed = (int64_t)c->seed;
  s.total_steps = c->steps;
  s.eval_period = 5000;
  s.eval_episodes = 10;
  s.threads = 1;
  s.net = (NetSettings){.hidden1 = c->hidden, .hidden2 = c->hidden,
                        .actor_act = AGENT_ACT_TANH, .critic_act = AGENT_ACT_LEAKY_RELU};
  s.td3 = (Td3Settings){.batch_size = 100, .discount = 0.99, .tau = 0.005, .policy_noise = 0.2,
                        .noise_clip = 0.5, .policy_delay = 2, .expl_noise = 0.1,
                        .start_steps = c->start_steps, .buffer_size = 1000000,
                        .train_freq = TD3_TRAIN_EPISODE};
  s.actor_opt = opt_settings_default(OPT_ADAM);
  s.critic_opt = opt_settings_default(OPT_ADAM);
  if (getenv("X_SCALE")) {
    double k = atof(getenv("X_SCALE"));
    s.td3.expl_noise *= k, s.td3.policy_noise *= k, s.td3.noise_clip *= k;
  }
  if (getenv("X_GAMMA")) s.td3.discount = atof(getenv("X_GAMMA"));
  if (getenv("X_ALR")) s.actor_opt.lr = atof(getenv("X_ALR"));
  if (getenv("X_CLR")) s.critic_opt.lr = atof(getenv("X_CLR"));
  if (getenv("X_BATCH")) s.td3.batch_size = atoi(getenv("X_BATCH"));
  if (getenv("X_RELU")) s.net.actor_act = s.net.critic_act = AGENT_ACT_RELU;
  if (getenv("X_LN")) s.net.layer_norm = 1;
  if (getenv("X_BUF")) s.td3.buffer_size = atoll(getenv("X_BUF"));
  if (getenv("X_STEP")) s.td3.train_freq = TD3_TRAIN_STEP;
  CoreErr err;
  Agent *a = td3_agent_create(&s, &err);
  if (!a) fail_msg("create: %s", err.msg);
  Env *ev = env_make(c->env, &err);
  if (!ev) fail_msg("env: %s", err.msg);
  float *scratch = core_malloc(env_rollout_scratch_floats(ev) * sizeof(float));
  EnvRolloutOpts ro = {.policy = actor_policy, .policy_ctx = a->vt->policy(a)};
  EnvEvalStats st;
  int64_t every = getenv("X_EVERY") ? atoll(getenv("X_EVERY")) : 0, next = every;
  while (a->total_steps < c->steps) {
    if (a->vt->iterate(a, &err)) fail_msg("iterate: %s", err.msg);
    if (every && a->total_steps >= next) {
      next += every;
      env_evaluate(ev, 1000 + c->seed, 10, &ro, scratch, &st);
      printf("  %lld: eval %.2f  critic_loss %.4g q_mean %.4g ep_ret %.4g\n",
             (long long)a->total_steps, st.mean, a->stats[0], a->stats[2], a->stats[3]);
    }
  }

  env_evaluate(ev, 1000 + c->seed, 10, &ro, scratch, &st);
  print_message("%s %s: %lld steps, %lld episodes, eval mean %.2f (std %.2f, min %.2f)\n",
                agent_method_names[c->method], c->env, (long long)a->total_steps,
                (long long)a->episodes, st.mean, st.std, st.min);
  core_free(scratch);
  env_free(ev);
  agent_free(a);
  return st.mean;
}

int main(int argc, char **argv) {
  /* experiment mode: test_agents_td3_regress METHOD ENV STEPS START HIDDEN SEED */
  if (argc == 7) {
    RegressCase c = {strcmp(argv[1], "ddpg") ? AGENT_TD3 : AGENT_DDPG, argv[2], atoll(argv[3]),
                     atoll(argv[4]), atoi(argv[5]), (uint64_t)atoll(argv[6])};
    train_and_eval(&c);
    return 0;
  }
  return 0;
}
