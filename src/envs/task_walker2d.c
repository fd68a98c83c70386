/* task_walker2d.c — Walker2d-v4 (spec/envs.md section 3).
 *   obs (17) = qpos[1:9], clip(qvel[0:9], -10, 10).
 *   r = dx/dt + 1 - 1e-3 * sum(a^2), x = qpos[0]; alive bonus on the terminal step too (v4).
 *   terminated = not (0.8 < qpos[1] < 2 and -1 < qpos[2] < 1); no state-range or finiteness check.
 *   reset: qpos0 + U(-5e-3, 5e-3), qvel U(-5e-3, 5e-3).
 */
#include "envs/mujoco_env.h"
#include "envs/mujoco_tasks.h"

#define W2D_FORWARD_WEIGHT 1.0
#define W2D_CTRL_COST_WEIGHT 1e-3
#define W2D_HEALTHY_REWARD 1.0
#define W2D_Z_MIN 0.8
#define W2D_Z_MAX 2.0
#define W2D_ANGLE_MAX 1.0
#define W2D_QVEL_CLIP 10.0

int env_walker2d_is_healthy(const double *qpos) {
  return W2D_Z_MIN < qpos[1] && qpos[1] < W2D_Z_MAX && -W2D_ANGLE_MAX < qpos[2] &&
         qpos[2] < W2D_ANGLE_MAX;
}

static void w2d_before(EnvMj *e) { e->pre[0] = e->d->qpos[0]; }

static void w2d_observe(const EnvMj *e, float *obs) {
  const mjData *d = e->d;
  for (int i = 1; i < 9; i++) *obs++ = (float)d->qpos[i];
  for (int i = 0; i < 9; i++) *obs++ = (float)env_mujoco_clip(d->qvel[i], W2D_QVEL_CLIP);
}

static double w2d_reward(EnvMj *e, const float *act, int *terminated) {
  const mjData *d = e->d;
  double vx = (d->qpos[0] - e->pre[0]) / e->base.dt;
  *terminated = !env_walker2d_is_healthy(d->qpos);
  return W2D_FORWARD_WEIGHT * vx + W2D_HEALTHY_REWARD -
         W2D_CTRL_COST_WEIGHT * env_mujoco_sq_sum(act, 6);
}

static const EnvMjTask w2d_task = {
    .name = "Walker2d-v4",
    .xml = "walker2d.xml",
    .nq = 9, .nv = 9, .nu = 6, .nbody = 8,
    .frame_skip = 4,
    .obs_dim = 17,
    .max_episode_steps = 1000,
    .qpos_noise = ENV_MJ_NOISE_UNIFORM,
    .qvel_noise = ENV_MJ_NOISE_UNIFORM,
    .noise_scale = 5e-3,
    .before = w2d_before,
    .observe = w2d_observe,
    .reward = w2d_reward,
};

Env *env_make_walker2d(CoreErr *err) { return env_mujoco_create(&w2d_task, err); }
