/* tiny_tasks.h — small plain-C tasks for fast regression tests of the agents.
 *
 *   Pendulum-v1      Gym's classic swing-up (facts below), 200 steps.
 *   PointMassLQR-v0  a 1-D point mass with quadratic cost whose optimal return is known in closed
 *                    form (tiny_lqr.h), 100 steps.
 *   Bandit1D-v0      a one-step task: observe a target c ~ U(-1, 1), act a, reward 1 - (a - c)^2.
 *
 * Every tiny task draws its reset from core_rng_stream(seed, CORE_RNG_ENV, 0), keeps its state in
 * double, clips the action to its bounds before use, and has get_state/set_state.
 */
#ifndef CEMRL_ENVS_TINY_TASKS_H
#define CEMRL_ENVS_TINY_TASKS_H

#include "envs/env.h"

/* Pendulum-v1 (gym/envs/classic_control/pendulum.py, v1). */
#define TINY_PENDULUM_MAX_TORQUE 2.0
#define TINY_PENDULUM_MAX_SPEED 8.0
#define TINY_PENDULUM_DT 0.05
#define TINY_PENDULUM_G 10.0
#define TINY_PENDULUM_M 1.0
#define TINY_PENDULUM_L 1.0
#define TINY_PENDULUM_STEPS 200

/* Bandit1D-v0. */
#define TINY_BANDIT_TARGET_MAX 1.0   /* c ~ U(-1, 1) */
#define TINY_BANDIT_ACT_MAX 1.0      /* a in [-1, 1]; the optimal a = c never clips */

/* Create Pendulum-v1: obs (cos th, sin th, thdot), act torque in [-2, 2]. */
Env *tiny_pendulum_make(CoreErr *err);

/* Create PointMassLQR-v0: obs (x, v), act force in [-TINY_LQR_ACT_MAX, TINY_LQR_ACT_MAX]. */
Env *tiny_lqr_make(CoreErr *err);

/* Create Bandit1D-v0: obs (c), act (a); terminates after one step. */
Env *tiny_bandit_make(CoreErr *err);

/* Gym's angle_normalize: th mapped into [-pi, pi). */
double tiny_angle_normalize(double th);

#endif
