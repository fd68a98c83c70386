/* train.h — the training loop shared by every method: iterate, evaluate, log, checkpoint, resume.
 *
 * A run directory holds config.resolved.json (written by the caller), meta.json, progress.csv (one
 * row per evaluation), checkpoint.ckpt (everything needed to resume: the agent's networks,
 * optimizer states, replay buffer, CEM state, RNG streams, counters) and policy.ckpt (the policy
 * alone, for `cemrl eval` / `render`). Evaluation: eval_episodes episodes of the deterministic
 * policy on a separate env instance, every eval_period counted steps and once before training.
 * A resumed run continues the same numbers as an uninterrupted one.
 */
#ifndef CEMRL_AGENTS_TRAIN_H
#define CEMRL_AGENTS_TRAIN_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "agents/agent.h"
#include "envs/rollout.h"

#define TRAIN_CHECKPOINT_FILE "checkpoint.ckpt"
#define TRAIN_POLICY_FILE "policy.ckpt"
#define TRAIN_PROGRESS_FILE "progress.csv"

typedef struct {
  const char *run_dir;            /* an existing directory */
  int resume;                     /* continue from run_dir/checkpoint.ckpt */
  int64_t stop_after_evals;       /* stop as if interrupted after this many evaluations (0: no) */
  volatile sig_atomic_t *stop;    /* set asynchronously (SIGINT): checkpoint and return */
  const char *config_json;        /* resolved config text, stored in checkpoints (nullable) */
  int progress_tty;               /* -1 detect, 0 plain lines, 1 redraw in place */
  FILE *progress_out;             /* NULL: stdout */
} TrainOpts;

typedef struct {
  int64_t steps;                  /* counted env steps at the end */
  int evaluations;                /* evaluations logged in total (resumed ones included) */
  double last_eval_mean;          /* mean return of the last evaluation */
  double wall_seconds;            /* this process's training time */
  int interrupted;                /* stopped by opts.stop or stop_after_evals */
} TrainResult;

/* Train s->method on s->env until s->total_steps; CORE_ERR_INTERRUPTED if stopped early (after a
 * checkpoint was written). */
int train_run(const AgentSettings *s, const TrainOpts *o, TrainResult *r, CoreErr *err);

/* Evaluate a policy network deterministically (actions clipped to the bounds): episode i resets
 * with core_rng_derive(seed, CORE_RNG_EVAL, i). */
void train_evaluate_policy(NnMlp *policy, Env *env, uint64_t seed, int episodes, EnvEvalStats *out);

/* Write a policy file: the network and the env it acts in. */
int train_save_policy(NnMlp *policy, const char *env_name, const char *path, CoreErr *err);

/* Load a policy file; returns the network (batch 1) and writes the env name. NULL with err. */
NnMlp *train_load_policy(const char *path, char *env_name, size_t env_name_sz, CoreErr *err);

#endif
