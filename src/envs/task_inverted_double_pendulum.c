/* task_inverted_double_pendulum.c — InvertedDoublePendulum-v4 (spec/envs.md section 7).
 *   obs (11) = qpos[0], sin(qpos[1:3]), cos(qpos[1:3]), clip(qvel, -10, 10),
 *              clip(qfrc_constraint, -10, 10).
 *   r = 10 - (0.01 x_tip^2 + (z_tip - 2)^2) - (1e-3 qvel[1]^2 + 5e-3 qvel[2]^2), with the tip from
 *   d->site_xpos of `tip` after the step (stale, as v4); the alive 10 is paid on the terminal step.
 *   terminated = z_tip <= 1.
 *   reset: qpos0 + U(-0.1, 0.1), qvel = 0.1 N(0, 1).
 */
#include <math.h>

#include "envs/mujoco_env.h"
#include "envs/mujoco_tasks.h"

#define IDP_ALIVE_BONUS 10.0
#define IDP_Z_TERMINATE 1.0
#define IDP_CLIP 10.0

enum { IDP_ID_TIP = 0 };

int env_inverted_double_pendulum_is_terminated(double z_tip) { return z_tip <= IDP_Z_TERMINATE; }

static int idp_init(EnvMj *e, CoreErr *err) {
  return env_mujoco_id(e, IDP_ID_TIP, mjOBJ_SITE, "tip", err);
}

static void idp_observe(const EnvMj *e, float *obs) {
  const mjData *d = e->d;
  *obs++ = (float)d->qpos[0];
  for (int i = 1; i < 3; i++) *obs++ = (float)sin(d->qpos[i]);
  for (int i = 1; i < 3; i++) *obs++ = (float)cos(d->qpos[i]);
  for (int i = 0; i < 3; i++) *obs++ = (float)env_mujoco_clip(d->qvel[i], IDP_CLIP);
  for (int i = 0; i < 3; i++) *obs++ = (float)env_mujoco_clip(d->qfrc_constraint[i], IDP_CLIP);
}

static double idp_reward(EnvMj *e, const float *act, int *terminated) {
  (void)act;
  const mjData *d = e->d;
  const double *tip = d->site_xpos + 3 * e->id[IDP_ID_TIP];
  double x = tip[0], z = tip[2], v1 = d->qvel[1], v2 = d->qvel[2];
  double dist_penalty = 0.01 * x * x + (z - 2.0) * (z - 2.0);
  double vel_penalty = 1e-3 * v1 * v1 + 5e-3 * v2 * v2;
  *terminated = env_inverted_double_pendulum_is_terminated(z);
  return IDP_ALIVE_BONUS - dist_penalty - vel_penalty;
}

static const EnvMjTask idp_task = {
    .name = "InvertedDoublePendulum-v4",
    .xml = "inverted_double_pendulum.xml",
    .nq = 3, .nv = 3, .nu = 1, .nbody = 4,
    .frame_skip = 5,
    .obs_dim = 11,
    .max_episode_steps = 1000,
    .qpos_noise = ENV_MJ_NOISE_UNIFORM,
    .qvel_noise = ENV_MJ_NOISE_NORMAL,
    .noise_scale = 0.1,
    .init = idp_init,
    .observe = idp_observe,
    .reward = idp_reward,
};

Env *env_make_inverted_double_pendulum(CoreErr *err) { return env_mujoco_create(&idp_task, err); }
