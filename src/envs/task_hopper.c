/* task_hopper.c — Hopper-v4 (spec/envs.md section 2).
 *   obs (11) = qpos[1:6], clip(qvel[0:6], -10, 10).
 *   r = dx/dt + 1 - 1e-3 * sum(a^2), x = qpos[0]; the alive bonus is paid on the terminal step too
 *   (v4 quirk). terminated = not healthy (env_hopper_is_healthy) on the post-step state.
 *   reset: qpos0 + U(-5e-3, 5e-3), qvel U(-5e-3, 5e-3).
 */
#include "envs/mujoco_env.h"
#include "envs/mujoco_tasks.h"

#define HOP_FORWARD_WEIGHT 1.0
#define HOP_CTRL_COST_WEIGHT 1e-3
#define HOP_HEALTHY_REWARD 1.0
#define HOP_STATE_MAX 100.0
#define HOP_Z_MIN 0.7
#define HOP_ANGLE_MAX 0.2
#define HOP_QVEL_CLIP 10.0

int env_hopper_is_healthy(const double *qpos, const double *qvel) {
  /* strict comparisons: a NaN fails them all, so a non-finite state is unhealthy */
  for (int i = 2; i < 6; i++)
    if (!(-HOP_STATE_MAX < qpos[i] && qpos[i] < HOP_STATE_MAX)) return 0;
  for (int i = 0; i < 6; i++)
    if (!(-HOP_STATE_MAX < qvel[i] && qvel[i] < HOP_STATE_MAX)) return 0;
  if (!(HOP_Z_MIN < qpos[1] && qpos[1] < INFINITY)) return 0;
  return -HOP_ANGLE_MAX < qpos[2] && qpos[2] < HOP_ANGLE_MAX;
}

static void hop_before(EnvMj *e) { e->pre[0] = e->d->qpos[0]; }

static void hop_observe(const EnvMj *e, float *obs) {
  const mjData *d = e->d;
  for (int i = 1; i < 6; i++) *obs++ = (float)d->qpos[i];
  for (int i = 0; i < 6; i++) *obs++ = (float)env_mujoco_clip(d->qvel[i], HOP_QVEL_CLIP);
}

static double hop_reward(EnvMj *e, const float *act, int *terminated) {
  const mjData *d = e->d;
  double vx = (d->qpos[0] - e->pre[0]) / e->base.dt;
  *terminated = !env_hopper_is_healthy(d->qpos, d->qvel);
  return HOP_FORWARD_WEIGHT * vx + HOP_HEALTHY_REWARD -
         HOP_CTRL_COST_WEIGHT * env_mujoco_sq_sum(act, 3);
}

static const EnvMjTask hop_task = {
    .name = "Hopper-v4",
    .xml = "hopper.xml",
    .nq = 6, .nv = 6, .nu = 3, .nbody = 5,
    .frame_skip = 4,
    .obs_dim = 11,
    .max_episode_steps = 1000,
    .qpos_noise = ENV_MJ_NOISE_UNIFORM,
    .qvel_noise = ENV_MJ_NOISE_UNIFORM,
    .noise_scale = 5e-3,
    .before = hop_before,
    .observe = hop_observe,
    .reward = hop_reward,
};

Env *env_make_hopper(CoreErr *err) { return env_mujoco_create(&hop_task, err); }
