/* tiny_pendulum.c — Pendulum-v1 as Gym defines it, in plain C.
 *
 * Facts (gym classic_control/pendulum.py, v1): state (th, thdot) with th = 0 upright;
 *   u = clip(a, -2, 2)
 *   reward = -(angle_normalize(th)^2 + 0.1 thdot^2 + 0.001 u^2)      (pre-step state)
 *   newthdot = clip(thdot + (3g/(2l) sin th + 3/(m l^2) u) dt, -8, 8)
 *   newth = th + newthdot dt                                        (th itself is not wrapped)
 *   obs = (cos th, sin th, thdot) of the new state; never terminates; TimeLimit 200.
 * Reset: th ~ U(-pi, pi), then thdot ~ U(-1, 1).
 */
#include <math.h>
#include <stdio.h>

#include "core/alloc.h"
#include "core/rng.h"
#include "envs/tiny_tasks.h"

typedef struct {
  Env base;             /* first: an Env* is a TinyPendulum* */
  double th, thdot;     /* the state, in double */
  float low[1], high[1];
} TinyPendulum;

double tiny_angle_normalize(double th) {
  /* Python's ((x + pi) % (2 pi)) - pi: the remainder takes the divisor's sign */
  double r = fmod(th + M_PI, 2.0 * M_PI);
  if (r < 0.0) r += 2.0 * M_PI;
  return r - M_PI;
}

static void pendulum_obs_(const TinyPendulum *p, float *obs) {
  obs[0] = (float)cos(p->th);
  obs[1] = (float)sin(p->th);
  obs[2] = (float)p->thdot;
}

static void pendulum_reset_(Env *e, uint64_t seed, float *obs) {
  TinyPendulum *p = (TinyPendulum *)e;
  CoreRng rng;
  core_rng_stream(&rng, seed, CORE_RNG_ENV, 0);
  p->th = core_rng_uniform_range(&rng, -M_PI, M_PI);
  p->thdot = core_rng_uniform_range(&rng, -1.0, 1.0);
  pendulum_obs_(p, obs);
}

static void pendulum_step_(Env *e, const float *act, float *obs, EnvStep *out) {
  TinyPendulum *p = (TinyPendulum *)e;
  const double g = TINY_PENDULUM_G, m = TINY_PENDULUM_M, l = TINY_PENDULUM_L;
  const double dt = TINY_PENDULUM_DT, umax = TINY_PENDULUM_MAX_TORQUE;
  /* comparisons, not fmin/fmax: a NaN action must stay NaN so the wrapper reports it */
  double u = act[0];
  if (u < -umax) u = -umax;
  if (u > umax) u = umax;
  double thn = tiny_angle_normalize(p->th);
  out->reward = -(thn * thn + 0.1 * p->thdot * p->thdot + 0.001 * u * u);
  double newthdot = p->thdot + (3.0 * g / (2.0 * l) * sin(p->th) + 3.0 / (m * l * l) * u) * dt;
  if (newthdot < -TINY_PENDULUM_MAX_SPEED) newthdot = -TINY_PENDULUM_MAX_SPEED;
  if (newthdot > TINY_PENDULUM_MAX_SPEED) newthdot = TINY_PENDULUM_MAX_SPEED;
  p->th = p->th + newthdot * dt;
  p->thdot = newthdot;
  out->terminated = 0;
  out->status = ENV_OK;
  pendulum_obs_(p, obs);
}

static int pendulum_get_state_(const Env *e, double *state, int cap) {
  const TinyPendulum *p = (const TinyPendulum *)e;
  if (cap < 2) return 2;
  state[0] = p->th;
  state[1] = p->thdot;
  return 2;
}

static int pendulum_set_state_(Env *e, const double *state, int n) {
  TinyPendulum *p = (TinyPendulum *)e;
  if (n != 2) return CORE_ERR_INVALID;
  p->th = state[0];
  p->thdot = state[1];
  return 0;
}

static void pendulum_describe_(const Env *e, FILE *f) {
  (void)e;
  fprintf(f, "state          (th, thdot), th = 0 upright\n");
  fprintf(f, "observation    (cos th, sin th, thdot)\n");
  fprintf(f, "max_torque     %g\n", TINY_PENDULUM_MAX_TORQUE);
  fprintf(f, "max_speed      %g\n", TINY_PENDULUM_MAX_SPEED);
  fprintf(f, "dt             %g\n", TINY_PENDULUM_DT);
  fprintf(f, "g m l          %g %g %g\n", TINY_PENDULUM_G, TINY_PENDULUM_M, TINY_PENDULUM_L);
  fprintf(f, "reward         -(normalize(th)^2 + 0.1 thdot^2 + 0.001 u^2), u = clip(a, -2, 2)\n");
  fprintf(f, "reset          th ~ U(-pi, pi), thdot ~ U(-1, 1)\n");
  fprintf(f, "termination    never (time limit %d)\n", TINY_PENDULUM_STEPS);
}

static void pendulum_free_(Env *e) { core_free(e); }

static const EnvVt pendulum_vt = {
    .reset = pendulum_reset_,
    .step = pendulum_step_,
    .free = pendulum_free_,
    .get_state = pendulum_get_state_,
    .set_state = pendulum_set_state_,
    .describe = pendulum_describe_,
};

Env *tiny_pendulum_make(CoreErr *err) {
  TinyPendulum *p = core_calloc(1, sizeof *p);
  if (!p) {
    core_err_set(err, CORE_ERR_NOMEM, "Pendulum-v1: out of memory");
    return NULL;
  }
  p->low[0] = (float)-TINY_PENDULUM_MAX_TORQUE;
  p->high[0] = (float)TINY_PENDULUM_MAX_TORQUE;
  p->base = (Env){.vt = &pendulum_vt,
                  .name = "Pendulum-v1",
                  .obs_dim = 3,
                  .act_dim = 1,
                  .act_low = p->low,
                  .act_high = p->high,
                  .max_episode_steps = TINY_PENDULUM_STEPS,
                  .dt = TINY_PENDULUM_DT,
                  .needs_reset = 1};
  return &p->base;
}
