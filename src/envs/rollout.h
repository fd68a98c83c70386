/* rollout.h — run episodes with a policy callback: the generic runner agents use.
 *
 * The runner owns no memory: the caller passes scratch of env_rollout_scratch_floats(e) floats
 * (two observations and one action), so a worker can run many episodes without allocating.
 */
#ifndef CEMRL_ENVS_ROLLOUT_H
#define CEMRL_ENVS_ROLLOUT_H

#include <stddef.h>
#include <stdint.h>

#include "envs/env.h"

/* A policy: write act (act_dim) for obs (obs_dim). e gives sizes, bounds and the step index
 * (e->elapsed_steps). The runner passes the action to env_step unchanged (no clipping here). */
typedef void (*EnvPolicyFn)(void *ctx, const Env *e, const float *obs, float *act);

/* Called after every step with the transition obs --act--> (st, next_obs); all borrowed for the
 * call only. Agents store replay transitions here. */
typedef void (*EnvTransitionFn)(void *ctx, const Env *e, const float *obs, const float *act,
                                const EnvStep *st, const float *next_obs);

/* How to run an episode. */
typedef struct {
  EnvPolicyFn policy;        /* required */
  void *policy_ctx;          /* passed to policy */
  EnvTransitionFn on_step;   /* nullable */
  void *step_ctx;            /* passed to on_step */
  int max_steps;             /* stop after this many steps even if the episode goes on; 0 = none */
} EnvRolloutOpts;

/* What one episode gave. */
typedef struct {
  double ret;                /* undiscounted sum of rewards */
  int length;                /* steps taken */
  int terminated;            /* the task ended it */
  int truncated;             /* the time limit or a cut (status != ENV_OK) ended it */
  int capped;                /* opts.max_steps stopped it before the env did */
  int status;                /* EnvStatus of the last step */
} EnvEpisode;

/* Statistics over several episodes. */
typedef struct {
  int episodes;
  double mean, std;          /* of the returns (std with n - 1; 0 for one episode) */
  double min, max;
  double mean_length;
  int n_terminated, n_truncated, n_cut;   /* n_cut: episodes whose last status != ENV_OK */
} EnvEvalStats;

/* Floats of scratch env_rollout needs: 2 * obs_dim + act_dim. */
size_t env_rollout_scratch_floats(const Env *e);

/* Reset e with seed and run one episode until it ends (or opts->max_steps); scratch as above.
 * The env needs a time limit or opts->max_steps > 0. */
void env_rollout(Env *e, uint64_t seed, const EnvRolloutOpts *opts, float *scratch,
                 EnvEpisode *out);

/* Running statistics of episodes added in order (Welford), for evaluations run elsewhere (a
 * population pool): the same episodes added in the same order give env_evaluate's numbers. */
typedef struct {
  EnvEvalStats st;
  double m2, len_sum;
} EnvEvalAcc;

void env_eval_acc_init(EnvEvalAcc *acc);
void env_eval_acc_add(EnvEvalAcc *acc, const EnvEpisode *ep);
/* The statistics of the episodes added so far (at least one). */
void env_eval_acc_finish(const EnvEvalAcc *acc, EnvEvalStats *out);

/* Run `episodes` episodes; episode i resets with core_rng_derive(seed, CORE_RNG_EVAL, i). */
void env_evaluate(Env *e, uint64_t seed, int episodes, const EnvRolloutOpts *opts, float *scratch,
                  EnvEvalStats *out);

/* Policy: the zero action (clipped into the bounds when 0 lies outside them); ctx unused. */
void env_policy_zero(void *ctx, const Env *e, const float *obs, float *act);

/* Policy: uniform random actions within [act_low, act_high]; ctx is a CoreRng*. */
void env_policy_random(void *ctx, const Env *e, const float *obs, float *act);

#endif
