/* task_inverted_pendulum.c — InvertedPendulum-v4 (spec/envs.md section 6).
 *   obs (4) = qpos, qvel. r = 1 on every step, the terminal one included.
 *   terminated = obs not all finite or |qpos[1]| > 0.2.
 *   reset: qpos0 + U(-0.01, 0.01), qvel U(-0.01, 0.01).
 */
#include <math.h>

#include "envs/mujoco_env.h"
#include "envs/mujoco_tasks.h"

#define IP_ANGLE_MAX 0.2

int env_inverted_pendulum_is_terminated(const double *qpos, const double *qvel) {
  for (int i = 0; i < 2; i++)
    if (!isfinite(qpos[i]) || !isfinite(qvel[i])) return 1;
  return fabs(qpos[1]) > IP_ANGLE_MAX;
}

static void ip_observe(const EnvMj *e, float *obs) {
  const mjData *d = e->d;
  obs[0] = (float)d->qpos[0];
  obs[1] = (float)d->qpos[1];
  obs[2] = (float)d->qvel[0];
  obs[3] = (float)d->qvel[1];
}

static double ip_reward(EnvMj *e, const float *act, int *terminated) {
  (void)act;
  *terminated = env_inverted_pendulum_is_terminated(e->d->qpos, e->d->qvel);
  return 1.0;
}

static const EnvMjTask ip_task = {
    .name = "InvertedPendulum-v4",
    .xml = "inverted_pendulum.xml",
    .nq = 2, .nv = 2, .nu = 1, .nbody = 3,
    .frame_skip = 2,
    .obs_dim = 4,
    .max_episode_steps = 1000,
    .qpos_noise = ENV_MJ_NOISE_UNIFORM,
    .qvel_noise = ENV_MJ_NOISE_UNIFORM,
    .noise_scale = 0.01,
    .observe = ip_observe,
    .reward = ip_reward,
};

Env *env_make_inverted_pendulum(CoreErr *err) { return env_mujoco_create(&ip_task, err); }
