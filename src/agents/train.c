/* train.c — the training loop: iterate, evaluate, log, checkpoint, resume. */
#include "core/clock.h"
#include "agents/train.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/csv.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/rng.h"

/* Trainer counters saved beside the agent. */
typedef struct {
  int64_t last_eval_step;   /* total_steps at the last evaluation */
  int64_t evaluations;      /* evaluations logged */
  double wall_before;       /* training seconds of earlier processes (resume) */
} TrainState;


/* Policy callback: forward one observation, clip into the action bounds. */
static void policy_act(void *ctx, const Env *e, const float *obs, float *act) {
  NnMlp *net = ctx;
  const float *y = nn_mlp_forward(net, obs, 1);
  for (int j = 0; j < e->act_dim; j++) {
    float a = y[j];
    act[j] = a < e->act_low[j] ? e->act_low[j] : a > e->act_high[j] ? e->act_high[j] : a;
  }
}

void train_evaluate_policy(NnMlp *policy, Env *env, uint64_t seed, int episodes, EnvEvalStats *out) {
  float scratch[4096];
  CORE_ASSERT(env_rollout_scratch_floats(env) <= sizeof scratch / sizeof scratch[0]);
  EnvRolloutOpts ro = {.policy = policy_act, .policy_ctx = policy};
  env_evaluate(env, seed, episodes, &ro, scratch, out);
}

int train_save_policy(NnMlp *policy, const char *env_name, const char *path, CoreErr *err) {
  CoreCkptWriter *w = core_ckpt_writer_create();
  if (!w) return core_err_set(err, CORE_ERR_NOMEM, "out of memory");
  int rc = nn_mlp_save(policy, w, "policy", err);
  if (!rc) rc = core_ckpt_add_copy(w, "policy.env", env_name, strlen(env_name) + 1, err);
  if (!rc) rc = core_ckpt_write_file(w, path, err);
  core_ckpt_writer_free(w);
  return rc;
}

NnMlp *train_load_policy(const char *path, char *env_name, size_t env_name_sz, CoreErr *err) {
  CoreCkpt *c = core_ckpt_load_file(path, err);
  if (!c) return NULL;
  size_t n = 0;
  const char *name = core_ckpt_find(c, "policy.env", &n);
  if (!name) {
    core_err_set(err, CORE_ERR_INVALID, "%s: not a policy file (no section 'policy.env'); give a "
                 "run directory or its policy.ckpt / checkpoint.ckpt", path);
    core_ckpt_free(c);
    return NULL;
  }
  if (n == 0 || name[n - 1] != '\0' || n > env_name_sz) {
    core_err_set(err, CORE_ERR_CORRUPT, "%s: section 'policy.env' is malformed", path);
    core_ckpt_free(c);
    return NULL;
  }
  memcpy(env_name, name, n);
  NnMlp *net = nn_mlp_create_from_ckpt(c, "policy", 1, err);
  core_ckpt_free(c);
  return net;
}

/* Write checkpoint.ckpt (agent + trainer state + config) atomically. */
static int write_checkpoint(const Agent *a, const TrainState *ts, const TrainOpts *o, CoreErr *err) {
  char path[4096];
  int rc = core_fs_join(path, sizeof path, o->run_dir, TRAIN_CHECKPOINT_FILE, err);
  if (rc) return rc;
  CoreCkptWriter *w = core_ckpt_writer_create();
  if (!w) return core_err_set(err, CORE_ERR_NOMEM, "out of memory");
  rc = agent_save(a, w, err);
  if (!rc) rc = core_ckpt_add_copy(w, "train.state", ts, sizeof *ts, err);
  if (!rc && o->config_json)
    rc = core_ckpt_add(w, "train.config", o->config_json, strlen(o->config_json) + 1, err);
  if (!rc) rc = core_ckpt_write_file(w, path, err);
  core_ckpt_writer_free(w);
  return rc;
}

static int load_checkpoint(Agent *a, TrainState *ts, const TrainOpts *o, CoreErr *err) {
  char path[4096];
  int rc = core_fs_join(path, sizeof path, o->run_dir, TRAIN_CHECKPOINT_FILE, err);
  if (rc) return rc;
  if (!core_fs_exists(path))
    return core_err_set(err, CORE_ERR_NOTFOUND, "%s: no checkpoint to resume from", path);
  CoreCkpt *c = core_ckpt_load_file(path, err);
  if (!c) return err ? err->code : CORE_ERR_CORRUPT;
  rc = agent_load(a, c, err);
  if (!rc) rc = core_ckpt_read(c, "train.state", ts, sizeof *ts, err);
  if (rc) core_err_prefix(err, "resuming %s: ", o->run_dir);
  core_ckpt_free(c);
  return rc;
}

int train_run(const AgentSettings *s, const TrainOpts *o, TrainResult *r, CoreErr *err) {
  memset(r, 0, sizeof *r);
  int rc = CORE_OK;
  Agent *a = agent_create(s, err);
  if (!a) return err ? err->code : CORE_ERR_INVALID;
  /* an agent that evaluates itself (supervised, CEM and CEM-RL) needs no env instance here */
  Env *eval_env = a->evaluate ? NULL : env_make(s->env, err);
  CoreCsv *csv = NULL;
  if (!eval_env && !a->evaluate) {
    rc = err ? err->code : CORE_ERR_INVALID;
    goto done;
  }
  TrainState ts = {.last_eval_step = 0, .evaluations = 0, .wall_before = 0};
  if (o->resume && (rc = load_checkpoint(a, &ts, o, err))) goto done;

  /* progress.csv: step, wall time, episodes, evaluation statistics, then the method's stats */
  const char *cols[8 + AGENT_MAX_STATS] = {"step", "wall_time", "episodes", "eval_mean",
                                           "eval_std", "eval_min", "eval_max", "eval_length"};
  int n_cols = 8;
  for (int i = 0; i < a->n_stats; i++) cols[n_cols++] = a->stat_names[i];
  char csv_path[4096];
  if ((rc = core_fs_join(csv_path, sizeof csv_path, o->run_dir, TRAIN_PROGRESS_FILE, err))) goto done;
  csv = o->resume ? core_csv_resume(csv_path, cols, n_cols, ts.last_eval_step, err)
                  : core_csv_create(csv_path, cols, n_cols, err);
  if (!csv) {
    rc = err ? err->code : CORE_ERR_IO;
    goto done;
  }
  char policy_path[4096];
  if ((rc = core_fs_join(policy_path, sizeof policy_path, o->run_dir, TRAIN_POLICY_FILE, err)))
    goto done;

  CoreProgressOpts po = {.label = "train", .unit = "steps", .total = s->total_steps,
                         .start = a->total_steps, .interval = 10, .tty = o->progress_tty,
                         .out = o->progress_out};
  CoreProgress prog;
  core_progress_init(&prog, &po);
  const double t0 = core_clock_seconds();
  int64_t evals_this_process = 0, ckpt_step = o->resume ? a->total_steps : -1;
  int first = !o->resume;
  for (;;) {
    int finished = a->total_steps >= s->total_steps;
    /* evaluate before training starts, every eval_period counted steps, and at the end */
    int due = first || a->total_steps - ts.last_eval_step >= s->eval_period ||
              (finished && a->total_steps != ts.last_eval_step);
    first = 0;
    if (due) {
      EnvEvalStats st;
      uint64_t seed = core_rng_derive((uint64_t)s->seed, CORE_RNG_EVAL, (uint64_t)ts.evaluations);
      if (a->evaluate) {
        if ((rc = a->evaluate(a, seed, &st, err))) goto done;
      } else {
        train_evaluate_policy(a->vt->policy(a), eval_env, seed, s->eval_episodes, &st);
      }
      double vals[7 + AGENT_MAX_STATS] = {ts.wall_before + (core_clock_seconds() - t0),
                                          (double)a->episodes, st.mean, st.std, st.min, st.max,
                                          st.mean_length};
      for (int i = 0; i < a->n_stats; i++) vals[7 + i] = a->stats[i];
      if ((rc = core_csv_row_step(csv, a->total_steps, vals, n_cols - 1, err))) goto done;
      ts.last_eval_step = a->total_steps;
      ts.evaluations++;
      evals_this_process++;
      r->last_eval_mean = st.mean;
      if ((rc = train_save_policy(a->vt->policy(a), s->env, policy_path, err))) goto done;
      char extra[64];
      snprintf(extra, sizeof extra, "eval %.1f", st.mean);
      core_progress_update(&prog, a->total_steps, extra);
    }
    int stop_now = !finished && ((o->stop && *o->stop) ||
                                 (o->stop_after_evals > 0 && evals_this_process >= o->stop_after_evals));
    int want_ckpt = (due && ts.evaluations % s->checkpoint_every == 0) || finished || stop_now;
    if (want_ckpt && ckpt_step != a->total_steps) {
      TrainState now = ts;
      now.wall_before += core_clock_seconds() - t0;
      if ((rc = write_checkpoint(a, &now, o, err))) goto done;
      ckpt_step = a->total_steps;
    }
    if (finished) break;
    if (stop_now) {
      r->interrupted = 1;
      rc = core_err_set(err, CORE_ERR_INTERRUPTED, "interrupted at step %lld; checkpoint written "
                        "to %s/%s (continue with `cemrl train --resume %s`)",
                        (long long)a->total_steps, o->run_dir, TRAIN_CHECKPOINT_FILE, o->run_dir);
      break;
    }
    if ((rc = a->vt->iterate(a, err))) goto done;
    a->iterations++;
    core_progress_update(&prog, a->total_steps, NULL);
  }
  core_progress_finish(&prog, NULL);
  r->steps = a->total_steps;
  r->evaluations = (int)ts.evaluations;
  r->wall_seconds = core_clock_seconds() - t0;
done:
  core_csv_close(csv);
  env_free(eval_env);
  agent_free(a);
  return rc;
}
