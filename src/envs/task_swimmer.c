/* task_swimmer.c — Swimmer-v4 (spec/envs.md section 5).
 *   obs (8) = qpos[2:5], qvel[0:5]; no clipping.
 *   r = (qpos[0]_after - qpos[0]_before) / dt - 1e-4 * sum(a^2); never terminates.
 *   reset: qpos0 + U(-0.1, 0.1), qvel U(-0.1, 0.1).
 */
#include "envs/mujoco_env.h"
#include "envs/mujoco_tasks.h"

#define SWIM_FORWARD_WEIGHT 1.0
#define SWIM_CTRL_COST_WEIGHT 1e-4

static void swim_before(EnvMj *e) { e->pre[0] = e->d->qpos[0]; }

static void swim_observe(const EnvMj *e, float *obs) {
  const mjData *d = e->d;
  for (int i = 2; i < 5; i++) *obs++ = (float)d->qpos[i];
  for (int i = 0; i < 5; i++) *obs++ = (float)d->qvel[i];
}

static double swim_reward(EnvMj *e, const float *act, int *terminated) {
  double vx = (e->d->qpos[0] - e->pre[0]) / e->base.dt;
  *terminated = 0;
  return SWIM_FORWARD_WEIGHT * vx - SWIM_CTRL_COST_WEIGHT * env_mujoco_sq_sum(act, 2);
}

static const EnvMjTask swim_task = {
    .name = "Swimmer-v4",
    .xml = "swimmer.xml",
    .nq = 5, .nv = 5, .nu = 2, .nbody = 4,
    .frame_skip = 4,
    .obs_dim = 8,
    .max_episode_steps = 1000,
    .qpos_noise = ENV_MJ_NOISE_UNIFORM,
    .qvel_noise = ENV_MJ_NOISE_UNIFORM,
    .noise_scale = 0.1,
    .before = swim_before,
    .observe = swim_observe,
    .reward = swim_reward,
};

Env *env_make_swimmer(CoreErr *err) { return env_mujoco_create(&swim_task, err); }
