/* task_half_cheetah.c — HalfCheetah-v4 (spec/envs.md section 1).
 *   obs (17) = qpos[1:9], qvel[0:9]; no clipping.
 *   r = (qpos[0]_after - qpos[0]_before) / dt - 0.1 * sum(a^2); never terminates.
 *   reset: qpos0 + U(-0.1, 0.1), qvel = 0.1 N(0, 1).
 */
#include "envs/mujoco_env.h"
#include "envs/mujoco_tasks.h"

#define HC_FORWARD_WEIGHT 1.0
#define HC_CTRL_COST_WEIGHT 0.1

static void hc_before(EnvMj *e) { e->pre[0] = e->d->qpos[0]; }

static void hc_observe(const EnvMj *e, float *obs) {
  const mjData *d = e->d;
  for (int i = 1; i < 9; i++) *obs++ = (float)d->qpos[i];
  for (int i = 0; i < 9; i++) *obs++ = (float)d->qvel[i];
}

static double hc_reward(EnvMj *e, const float *act, int *terminated) {
  double vx = (e->d->qpos[0] - e->pre[0]) / e->base.dt;
  *terminated = 0;
  return HC_FORWARD_WEIGHT * vx - HC_CTRL_COST_WEIGHT * env_mujoco_sq_sum(act, 6);
}

static const EnvMjTask hc_task = {
    .name = "HalfCheetah-v4",
    .xml = "half_cheetah.xml",
    .nq = 9, .nv = 9, .nu = 6, .nbody = 8,
    .frame_skip = 5,
    .obs_dim = 17,
    .max_episode_steps = 1000,
    .qpos_noise = ENV_MJ_NOISE_UNIFORM,
    .qvel_noise = ENV_MJ_NOISE_NORMAL,
    .noise_scale = 0.1,
    .before = hc_before,
    .observe = hc_observe,
    .reward = hc_reward,
};

Env *env_make_half_cheetah(CoreErr *err) { return env_mujoco_create(&hc_task, err); }
