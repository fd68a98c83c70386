/* mujoco_tasks.h — the MuJoCo benchmark tasks, each behaving as Gymnasium's v4 task
 * (spec/envs.md). One maker per task, for the registry; the health predicates are public so
 * tests can check the thresholds on constructed states.
 *
 *   HalfCheetah-v4  obs 17, act 6 [-1,1], dt 0.05,  1000 steps, never terminates
 *   Hopper-v4       obs 11, act 3 [-1,1], dt 0.008, 1000 steps
 *   Walker2d-v4     obs 17, act 6 [-1,1], dt 0.008, 1000 steps
 *   Ant-v4          obs 27, act 8 [-1,1], dt 0.05,  1000 steps (no contact forces, v4 default)
 *   Swimmer-v4      obs 8,  act 2 [-1,1], dt 0.04,  1000 steps, never terminates
 *   InvertedPendulum-v4        obs 4,  act 1 [-3,3], dt 0.04, 1000 steps
 *   InvertedDoublePendulum-v4  obs 11, act 1 [-1,1], dt 0.05, 1000 steps
 *   Reacher-v4      obs 11, act 2 [-1,1], dt 0.02,  50 steps, never terminates
 *   Humanoid-v4     obs 376, act 17 [-0.4,0.4], dt 0.015, 1000 steps
 */
#ifndef CEMRL_ENVS_MUJOCO_TASKS_H
#define CEMRL_ENVS_MUJOCO_TASKS_H

#include "core/err.h"
#include "envs/env.h"

/* Create HalfCheetah-v4; NULL with err (naming the model file) on failure. */
Env *env_make_half_cheetah(CoreErr *err);
/* Create Hopper-v4. */
Env *env_make_hopper(CoreErr *err);
/* Create Walker2d-v4. */
Env *env_make_walker2d(CoreErr *err);
/* Create Ant-v4 (27-dim observation, no contact cost). */
Env *env_make_ant(CoreErr *err);
Env *env_make_ant_contact(CoreErr *err);   /* use_contact_forces=True: obs 111 */
/* Create Swimmer-v4. */
Env *env_make_swimmer(CoreErr *err);
/* Create InvertedPendulum-v4. */
Env *env_make_inverted_pendulum(CoreErr *err);
/* Create InvertedDoublePendulum-v4. */
Env *env_make_inverted_double_pendulum(CoreErr *err);
/* Create Reacher-v4. */
Env *env_make_reacher(CoreErr *err);
/* Create Humanoid-v4. */
Env *env_make_humanoid(CoreErr *err);

/* Hopper: every entry of (qpos[2:6], qvel[0:6]) in (-100, 100), 0.7 < qpos[1], |qpos[2]| < 0.2. */
int env_hopper_is_healthy(const double *qpos, const double *qvel);
/* Walker2d: 0.8 < qpos[1] < 2 and -1 < qpos[2] < 1. */
int env_walker2d_is_healthy(const double *qpos);
/* Ant: qpos[15] and qvel[14] all finite and 0.2 <= qpos[2] <= 1 (closed interval). */
int env_ant_is_healthy(const double *qpos, const double *qvel);
/* Humanoid: 1 < qpos[2] < 2. */
int env_humanoid_is_healthy(const double *qpos);
/* InvertedPendulum: terminated if (qpos, qvel) is not all finite or |qpos[1]| > 0.2. */
int env_inverted_pendulum_is_terminated(const double *qpos, const double *qvel);
/* InvertedDoublePendulum: terminated if the tip height z_tip <= 1. */
int env_inverted_double_pendulum_is_terminated(double z_tip);

#endif
