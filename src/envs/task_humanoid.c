/* task_humanoid.c — Humanoid-v4 (spec/envs.md section 9).
 *   obs (376) = qpos[2:24], qvel (23), cinert (14x10), cvel (14x6), qfrc_actuator (23),
 *               cfrc_ext (14x6); world rows included, no clipping.
 *   r = 1.25 vx_com + 5 - 0.1 sum(ctrl^2); v4 has no contact cost. The COM is the mass-weighted
 *   mean of d->xipos over all bodies (stale, as v4), read before and after the step.
 *   terminated = not (1 < qpos[2] < 2); alive bonus on the terminal step too.
 *   reset: qpos0 + U(-0.01, 0.01), qvel U(-0.01, 0.01).
 */
#include "envs/mujoco_env.h"
#include "envs/mujoco_tasks.h"

#define HUM_FORWARD_WEIGHT 1.25
#define HUM_HEALTHY_REWARD 5.0
#define HUM_CTRL_COST_WEIGHT 0.1
#define HUM_Z_MIN 1.0
#define HUM_Z_MAX 2.0

int env_humanoid_is_healthy(const double *qpos) {
  return HUM_Z_MIN < qpos[2] && qpos[2] < HUM_Z_MAX;
}

/* x of the centre of mass from d->xipos. */
static double hum_com_x(const EnvMj *e) {
  const mjModel *m = e->m;
  double mx = 0.0, mass = 0.0;
  for (int b = 0; b < m->nbody; b++) {
    mx += m->body_mass[b] * e->d->xipos[3 * b];
    mass += m->body_mass[b];
  }
  return mx / mass;
}

static void hum_before(EnvMj *e) { e->pre[0] = hum_com_x(e); }

static void hum_observe(const EnvMj *e, float *obs) {
  const mjModel *m = e->m;
  const mjData *d = e->d;
  for (int i = 2; i < m->nq; i++) *obs++ = (float)d->qpos[i];
  for (int i = 0; i < m->nv; i++) *obs++ = (float)d->qvel[i];
  for (int i = 0; i < 10 * m->nbody; i++) *obs++ = (float)d->cinert[i];
  for (int i = 0; i < 6 * m->nbody; i++) *obs++ = (float)d->cvel[i];
  for (int i = 0; i < m->nv; i++) *obs++ = (float)d->qfrc_actuator[i];
  for (int i = 0; i < 6 * m->nbody; i++) *obs++ = (float)d->cfrc_ext[i];
}

static double hum_reward(EnvMj *e, const float *act, int *terminated) {
  (void)act;
  const mjData *d = e->d;
  double vx = (hum_com_x(e) - e->pre[0]) / e->base.dt;
  double ctrl = 0.0;
  for (int i = 0; i < e->m->nu; i++) ctrl += d->ctrl[i] * d->ctrl[i];
  *terminated = !env_humanoid_is_healthy(d->qpos);
  return HUM_FORWARD_WEIGHT * vx + HUM_HEALTHY_REWARD - HUM_CTRL_COST_WEIGHT * ctrl;
}

static const EnvMjTask hum_task = {
    .name = "Humanoid-v4",
    .xml = "humanoid.xml",
    .nq = 24, .nv = 23, .nu = 17, .nbody = 14,
    .frame_skip = 5,
    .obs_dim = 376,
    .max_episode_steps = 1000,
    .qpos_noise = ENV_MJ_NOISE_UNIFORM,
    .qvel_noise = ENV_MJ_NOISE_UNIFORM,
    .noise_scale = 0.01,
    .before = hum_before,
    .observe = hum_observe,
    .reward = hum_reward,
};

Env *env_make_humanoid(CoreErr *err) { return env_mujoco_create(&hum_task, err); }
