/* mujoco_env.h — the shared base of the MuJoCo benchmark tasks (Gymnasium v4 behaviour).
 *
 * Model and instance, as MuJoCo's mjModel/mjData: each task's MJCF file is compiled once per
 * path (cached under a mutex) and shared read-only by every instance; an instance owns its
 * mjData, so instances step in parallel on threads without locks.
 *
 * One step (spec/envs.md section 0): ctrl = the raw action (MuJoCo clamps a local copy to
 * ctrlrange), mj_step x frame_skip, mj_rnePostConstraint once, then observation, reward and
 * termination from mjData as it is (Cartesian fields stay stale, as in v4). A MuJoCo
 * bad-qpos/qvel/qacc reset inside the substeps (2.2.2's mj_check* reset the data) is reported
 * as ENV_ERR_DIVERGED; a non-finite observation or reward as ENV_ERR_NONFINITE. On either cut
 * the step returns the last good observation and reward 0, and the wrapper truncates.
 *
 * State for get_state/set_state (doubles):
 *   full  [time, qpos(nq), qvel(nv), act(na), qacc_warmstart(nv), xpos(nbody,3), xipos(nbody,3)]
 *   short [time, qpos(nq), qvel(nv), act(na)]  (set_state only: the rest is recomputed)
 * The full form restores bit-exactly, including the stale Cartesian fields some rewards read.
 */
#ifndef CEMRL_ENVS_MUJOCO_ENV_H
#define CEMRL_ENVS_MUJOCO_ENV_H

#include <mujoco/mujoco.h>

#include "core/err.h"
#include "core/rng.h"
#include "envs/env.h"

typedef struct EnvMj EnvMj;

/* How reset noise is drawn: U(-scale, scale) or scale * N(0, 1). */
typedef enum { ENV_MJ_NOISE_UNIFORM = 0, ENV_MJ_NOISE_NORMAL } EnvMjNoise;

#define ENV_MJ_MAX_IDS 4   /* model ids a task resolves at creation (bodies, sites) */
#define ENV_MJ_MAX_PRE 4   /* pre-step values a task keeps for its reward */

/* A task: the facts of one benchmark. Static data, one per task file. */
typedef struct {
  const char *name;             /* registry name, "HalfCheetah-v4" */
  const char *xml;              /* model file inside the model directory, "half_cheetah.xml" */
  int nq, nv, nu, nbody;        /* the model must have exactly these (guards a swapped file) */
  int frame_skip;
  int obs_dim;
  int max_episode_steps;        /* TimeLimit: 1000, Reacher 50 */
  EnvMjNoise qpos_noise, qvel_noise;
  double noise_scale;           /* reset_noise_scale */
  /* optional: resolve named ids into e->id[] after loading; 0 or a CORE_ERR_* code */
  int (*init)(EnvMj *e, CoreErr *err);
  /* optional: the whole reset noise after mj_resetData (Reacher's goal); NULL = default */
  void (*reset_noise)(EnvMj *e, CoreRng *rng);
  /* optional: keep in e->pre[] what the reward needs from the pre-step state */
  void (*before)(EnvMj *e);
  /* observation of the current data into obs[obs_dim] */
  void (*observe)(const EnvMj *e, float *obs);
  /* reward of the step just taken (act[nu] raw); set *terminated */
  double (*reward)(EnvMj *e, const float *act, int *terminated);
} EnvMjTask;

/* An instance. Env is the first member, so an EnvMj* is an Env*. */
struct EnvMj {
  Env base;
  const EnvMjTask *task;        /* borrowed; static */
  const mjModel *m;             /* borrowed from the model cache; shared, read-only */
  mjData *d;                    /* owned */
  float *last_obs;              /* (obs_dim) last finite observation, returned on a cut step */
  int id[ENV_MJ_MAX_IDS];       /* task-resolved model ids */
  double pre[ENV_MJ_MAX_PRE];   /* task scratch filled by before() */
  long n_diverged;              /* steps cut by a MuJoCo reset, over the instance's life */
  long n_nonfinite;             /* steps cut by a non-finite observation or reward */
};

/* Create an instance of a task: loads (or reuses) its compiled model, checks the dimensions,
 * makes the mjData. NULL with err naming the file on failure. Call env_reset before stepping. */
Env *env_mujoco_create(const EnvMjTask *task, CoreErr *err);

/* Free every cached model no instance uses any more (tests call it before exit so the leak
 * checker is quiet; it also runs at exit). Models still in use stay. */
void env_mujoco_cleanup(void);

/* Number of compiled models in the cache (tests). */
int env_mujoco_cached_models(void);

/* Resolve the model object `name` of mjtObj `type` into e->id[slot]; CORE_ERR_INVALID naming it
 * if the model lacks it (for a task's init hook). */
int env_mujoco_id(EnvMj *e, int slot, int type, const char *name, CoreErr *err);

/* sum(a^2) over n raw action entries, in double. */
double env_mujoco_sq_sum(const float *a, int n);

/* Clip x to [-lim, lim]. */
static inline double env_mujoco_clip(double x, double lim) {
  return x < -lim ? -lim : (x > lim ? lim : x);
}

#endif
