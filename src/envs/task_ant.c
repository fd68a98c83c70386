/* task_ant.c — Ant-v4 with its defaults (spec/envs.md section 4): no contact forces; and
 * AntContactForces-v4, Ant-v4 with use_contact_forces=True. (The CEM-RL paper's Ant-v2 had the
 * 111-wide observation, but under mujoco-py 2.0 its 84 contact entries were always zero and its
 * contact cost 0, so Ant-v4's default is the closer match; the variant has live forces.)
 *   obs (27) = qpos[2:15], qvel[0:14]; no clipping. With contact forces (111): then
 *   clip(cfrc_ext, -1, 1) of all 14 bodies (world row included, always 0), 6 values each,
 *   and the reward also subtracts 5e-4 * sum of those squared.
 *   r = vx + 1 - 0.5 * sum(a^2), vx from d->xpos of body `torso` read before and after the step
 *   (stale Cartesian fields, as v4); alive bonus on the terminal step too.
 *   terminated = not (all of qpos, qvel finite and 0.2 <= qpos[2] <= 1).
 *   reset: qpos0 + U(-0.1, 0.1) on all 15 (quaternion not renormalised), qvel = 0.1 N(0, 1).
 */
#include <math.h>

#include "envs/mujoco_env.h"
#include "envs/mujoco_tasks.h"

#define ANT_CTRL_COST_WEIGHT 0.5
#define ANT_HEALTHY_REWARD 1.0
#define ANT_Z_MIN 0.2
#define ANT_Z_MAX 1.0
#define ANT_CONTACT_COST_WEIGHT 5e-4
#define ANT_CONTACT_FORCE_MAX 1.0   /* contact_force_range (-1, 1) */

enum { ANT_ID_TORSO = 0 };

int env_ant_is_healthy(const double *qpos, const double *qvel) {
  for (int i = 0; i < 15; i++)
    if (!isfinite(qpos[i])) return 0;
  for (int i = 0; i < 14; i++)
    if (!isfinite(qvel[i])) return 0;
  return ANT_Z_MIN <= qpos[2] && qpos[2] <= ANT_Z_MAX;
}

static int ant_init(EnvMj *e, CoreErr *err) {
  return env_mujoco_id(e, ANT_ID_TORSO, mjOBJ_BODY, "torso", err);
}

static void ant_before(EnvMj *e) { e->pre[0] = e->d->xpos[3 * e->id[ANT_ID_TORSO]]; }

static void ant_observe(const EnvMj *e, float *obs) {
  const mjData *d = e->d;
  for (int i = 2; i < 15; i++) *obs++ = (float)d->qpos[i];
  for (int i = 0; i < 14; i++) *obs++ = (float)d->qvel[i];
}

static double ant_reward(EnvMj *e, const float *act, int *terminated) {
  const mjData *d = e->d;
  double vx = (d->xpos[3 * e->id[ANT_ID_TORSO]] - e->pre[0]) / e->base.dt;
  *terminated = !env_ant_is_healthy(d->qpos, d->qvel);
  return vx + ANT_HEALTHY_REWARD - ANT_CTRL_COST_WEIGHT * env_mujoco_sq_sum(act, 8);
}

static double clip_force(double f) {
  return f < -ANT_CONTACT_FORCE_MAX ? -ANT_CONTACT_FORCE_MAX
                                    : (f > ANT_CONTACT_FORCE_MAX ? ANT_CONTACT_FORCE_MAX : f);
}

static void ant_contact_observe(const EnvMj *e, float *obs) {
  ant_observe(e, obs);
  const double *f = e->d->cfrc_ext;
  for (int i = 0; i < 14 * 6; i++) obs[27 + i] = (float)clip_force(f[i]);
}

static double ant_contact_reward(EnvMj *e, const float *act, int *terminated) {
  double cost = 0.0;
  const double *f = e->d->cfrc_ext;
  for (int i = 0; i < 14 * 6; i++) cost += clip_force(f[i]) * clip_force(f[i]);
  return ant_reward(e, act, terminated) - ANT_CONTACT_COST_WEIGHT * cost;
}

/* What Ant-v4 and its use_contact_forces=True variant share: model, sizes, schedule, reset. */
#define ANT_TASK_COMMON                                  \
  .xml = "ant.xml", .nq = 15, .nv = 14, .nu = 8, .nbody = 14, \
  .frame_skip = 5, .max_episode_steps = 1000,           \
  .qpos_noise = ENV_MJ_NOISE_UNIFORM, .qvel_noise = ENV_MJ_NOISE_NORMAL, .noise_scale = 0.1, \
  .init = ant_init, .before = ant_before

static const EnvMjTask ant_task = {
    ANT_TASK_COMMON,
    .name = "Ant-v4",
    .obs_dim = 27,
    .observe = ant_observe,
    .reward = ant_reward,
};

static const EnvMjTask ant_contact_task = {
    ANT_TASK_COMMON,
    .name = "AntContactForces-v4",
    .obs_dim = 27 + 14 * 6,
    .observe = ant_contact_observe,
    .reward = ant_contact_reward,
};

Env *env_make_ant(CoreErr *err) { return env_mujoco_create(&ant_task, err); }

Env *env_make_ant_contact(CoreErr *err) { return env_mujoco_create(&ant_contact_task, err); }
