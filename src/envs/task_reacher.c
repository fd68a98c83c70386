/* task_reacher.c — Reacher-v4 (spec/envs.md section 8).
 *   obs (11) = cos(qpos[0:2]), sin(qpos[0:2]), qpos[2:4], qvel[0:2],
 *              xpos(fingertip) - xpos(target) (after the step, stale as v4).
 *   r = -||xpos(fingertip) - xpos(target)|| - sum(a^2), the distance taken BEFORE the step (from
 *   the xpos left by the previous step or the reset). Never terminates; TimeLimit 50.
 *   reset: qpos = qpos0 + U(-0.1, 0.1) (4); goal ~ U(-0.2, 0.2)^2 redrawn until ||goal|| < 0.2,
 *   qpos[2:4] = goal; qvel = U(-0.005, 0.005) (4), then qvel[2:4] = 0.
 */
#include <math.h>

#include "envs/mujoco_env.h"
#include "envs/mujoco_tasks.h"

#define REACHER_QPOS_NOISE 0.1
#define REACHER_QVEL_NOISE 0.005
#define REACHER_GOAL_RANGE 0.2
#define REACHER_CTRL_COST_WEIGHT 1.0

enum { REACHER_ID_TIP = 0, REACHER_ID_TARGET = 1 };

static void reacher_reset_noise(EnvMj *e, CoreRng *rng) {
  const mjModel *m = e->m;
  mjData *d = e->d;
  for (int i = 0; i < 4; i++)
    d->qpos[i] = m->qpos0[i] + core_rng_uniform_range(rng, -REACHER_QPOS_NOISE, REACHER_QPOS_NOISE);
  double gx, gy;
  do {
    gx = core_rng_uniform_range(rng, -REACHER_GOAL_RANGE, REACHER_GOAL_RANGE);
    gy = core_rng_uniform_range(rng, -REACHER_GOAL_RANGE, REACHER_GOAL_RANGE);
  } while (!(sqrt(gx * gx + gy * gy) < REACHER_GOAL_RANGE));
  d->qpos[2] = gx;
  d->qpos[3] = gy;
  for (int i = 0; i < 4; i++)
    d->qvel[i] = core_rng_uniform_range(rng, -REACHER_QVEL_NOISE, REACHER_QVEL_NOISE);
  d->qvel[2] = d->qvel[3] = 0.0;
}

static int reacher_init(EnvMj *e, CoreErr *err) {
  int rc = env_mujoco_id(e, REACHER_ID_TIP, mjOBJ_BODY, "fingertip", err);
  return rc ? rc : env_mujoco_id(e, REACHER_ID_TARGET, mjOBJ_BODY, "target", err);
}

static double reacher_dist(const EnvMj *e) {
  const double *tip = e->d->xpos + 3 * e->id[REACHER_ID_TIP];
  const double *tgt = e->d->xpos + 3 * e->id[REACHER_ID_TARGET];
  double dx = tip[0] - tgt[0], dy = tip[1] - tgt[1], dz = tip[2] - tgt[2];
  return sqrt(dx * dx + dy * dy + dz * dz);
}

static void reacher_before(EnvMj *e) { e->pre[0] = reacher_dist(e); }

static void reacher_observe(const EnvMj *e, float *obs) {
  const mjData *d = e->d;
  const double *tip = d->xpos + 3 * e->id[REACHER_ID_TIP];
  const double *tgt = d->xpos + 3 * e->id[REACHER_ID_TARGET];
  for (int i = 0; i < 2; i++) *obs++ = (float)cos(d->qpos[i]);
  for (int i = 0; i < 2; i++) *obs++ = (float)sin(d->qpos[i]);
  for (int i = 2; i < 4; i++) *obs++ = (float)d->qpos[i];
  for (int i = 0; i < 2; i++) *obs++ = (float)d->qvel[i];
  for (int k = 0; k < 3; k++) *obs++ = (float)(tip[k] - tgt[k]);
}

static double reacher_reward(EnvMj *e, const float *act, int *terminated) {
  *terminated = 0;
  return -e->pre[0] - REACHER_CTRL_COST_WEIGHT * env_mujoco_sq_sum(act, 2);
}

static const EnvMjTask reacher_task = {
    .name = "Reacher-v4",
    .xml = "reacher.xml",
    .nq = 4, .nv = 4, .nu = 2, .nbody = 5,
    .frame_skip = 2,
    .obs_dim = 11,
    .max_episode_steps = 50,
    .init = reacher_init,
    .reset_noise = reacher_reset_noise,
    .before = reacher_before,
    .observe = reacher_observe,
    .reward = reacher_reward,
};

Env *env_make_reacher(CoreErr *err) { return env_mujoco_create(&reacher_task, err); }
