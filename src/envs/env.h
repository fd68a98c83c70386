/* env.h — the one environment interface.
 *
 * MuJoCo tasks, tiny test tasks and supervised tasks all implement EnvVt; agents see nothing
 * else. Observation and action buffers are caller-owned; stepping allocates nothing.
 * Environments set only `terminated` (the task's own end); the generic wrapper env_step()
 * counts steps and sets `truncated` at max_episode_steps, so the two never mix (TD3 bootstraps
 * through truncation).
 *
 * Precision: observations and actions are float at this boundary; MuJoCo state stays mjtNum.
 */
#ifndef CEMRL_ENVS_ENV_H
#define CEMRL_ENVS_ENV_H

#include <stdint.h>
#include <stdio.h>

#include "core/err.h"

typedef enum {
  ENV_OK = 0,
  ENV_ERR_DIVERGED,     /* physics diverged (MuJoCo bad-acceleration reset): episode cut */
  ENV_ERR_NONFINITE,    /* observation or reward not finite: episode cut */
  ENV_NSTATUS
} EnvStatus;

extern const char *const env_status_names[];

/* What one step returned besides the observation. */
typedef struct {
  double reward;
  int terminated;       /* the task ended (fell, reached the goal); do not bootstrap */
  int truncated;        /* time limit or a cut episode (status != ENV_OK); bootstrap */
  int status;           /* EnvStatus */
} EnvStep;

typedef struct Env Env;

typedef struct {
  /* start an episode; same seed => same initial observation */
  void (*reset)(Env *e, uint64_t seed, float *obs);
  /* advance one step with action act[act_dim]; write obs[obs_dim] and out (not truncated) */
  void (*step)(Env *e, const float *act, float *obs, EnvStep *out);
  /* release the instance */
  void (*free)(Env *e);
  /* optional (NULL if absent): full simulator state as doubles; returns its length, or the
   * length needed when cap is too small */
  int (*get_state)(const Env *e, double *state, int cap);
  /* optional: restore a state from get_state; 0 or a CORE_ERR_* code */
  int (*set_state)(Env *e, const double *state, int n);
  /* optional render hooks: the mjModel / mjData (as void*) of a MuJoCo task, else NULL */
  const void *(*mj_model)(const Env *e);
  void *(*mj_data)(Env *e);
  /* optional: print the task's constants as "key  value" lines (`cemrl envs info`) */
  void (*describe)(const Env *e, FILE *f);
} EnvVt;

struct Env {
  const EnvVt *vt;
  const char *name;           /* registry name, e.g. "HalfCheetah-v4" */
  int obs_dim;
  int act_dim;
  const float *act_low;       /* (act_dim) owned by the instance */
  const float *act_high;      /* (act_dim) owned by the instance */
  int max_episode_steps;      /* time limit applied by env_step; 0 = none */
  double dt;                  /* seconds of simulated time per step (0 if not physical) */
  /* bookkeeping of the generic wrapper */
  int elapsed_steps;
  int needs_reset;
};

/* One registered environment. */
typedef struct {
  const char *name;           /* "HalfCheetah-v4" */
  const char *summary;        /* one line for `cemrl envs` */
  Env *(*make)(CoreErr *err); /* create an instance; NULL with err on failure */
} EnvEntry;

/* Create an environment by registry name; NULL with a message listing close names if unknown. */
Env *env_make(const char *name, CoreErr *err);

/* Free an instance (NULL is a no-op). */
void env_free(Env *e);

/* Reset: starts an episode, clears the step counter. */
void env_reset(Env *e, uint64_t seed, float *obs);

/* Step with the time limit applied: out->truncated is set at max_episode_steps, and whenever
 * out->status != ENV_OK. Stepping a finished episode without reset is a programming error.
 * A non-finite observation or reward becomes status ENV_ERR_NONFINITE (so truncated). When the
 * task terminates on the limit step, terminated = 1 and truncated = 0 (the task's end wins). */
void env_step(Env *e, const float *act, float *obs, EnvStep *out);

/* The registry: number of entries and entry i. */
int env_registry_count(void);
const EnvEntry *env_registry_at(int i);

/* The registry entry with exactly this name, or NULL. */
const EnvEntry *env_registry_find(const char *name);

/* Create an instance from an entry (registered or a test's local one); sets name from the entry,
 * elapsed_steps = 0 and needs_reset = 1. NULL with err on failure. */
Env *env_make_from(const EnvEntry *entry, CoreErr *err);

/* The registered name closest to `name` (case-insensitive edit distance, or a unique prefix), or
 * NULL if nothing is close enough to suggest. */
const char *env_suggest(const char *name);

#endif
