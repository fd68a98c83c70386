/* test_envs_tiny.c — the tiny tasks: dynamics against hand-computed steps, and the LQR closed form
 * against episodes in the environment. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include "test_util.h"

#include "core/alloc.h"
#include "core/rng.h"
#include "envs/env.h"
#include "envs/rollout.h"
#include "envs/tiny_lqr.h"
#include "envs/tiny_tasks.h"

/* Make a registered env and check the make worked. */
static Env *make_(const char *name) {
  CoreErr err;
  core_err_clear(&err);
  Env *e = env_make(name, &err);
  if (!e) fail_msg("env_make(%s): %s", name, err.msg);
  return e;
}

/* Put a task into a given state (after a reset, so the wrapper allows stepping). */
static void set_state_(Env *e, double a, double b) {
  float obs[8];
  env_reset(e, 1, obs);
  double s[2] = {a, b};
  assert_int_equal(e->vt->set_state(e, s, 2), 0);
}

/* ---------------------------------------------------------------- Pendulum-v1 */

static void test_pendulum_spaces(void **state) {
  (void)state;
  Env *e = make_("Pendulum-v1");
  assert_int_equal(e->obs_dim, 3);
  assert_int_equal(e->act_dim, 1);
  assert_true(e->act_low[0] == -2.0f && e->act_high[0] == 2.0f);
  assert_int_equal(e->max_episode_steps, 200);
  assert_near(e->dt, 0.05, 0);
  env_free(e);
}

/* th = 0.5, thdot = -0.3, a = 1, by hand (Gym order):
 *   reward   = -(0.25 + 0.1 * 0.09 + 0.001 * 1) = -0.26
 *   newthdot = -0.3 + (15 sin 0.5 + 3 * 1) * 0.05 = 0.2095691539531523
 *   newth    = 0.5 + newthdot * 0.05             = 0.5104784576976577 */
static void test_pendulum_hand_step(void **state) {
  (void)state;
  Env *e = make_("Pendulum-v1");
  set_state_(e, 0.5, -0.3);
  float act[1] = {1.0f}, obs[3];
  EnvStep st;
  env_step(e, act, obs, &st);
  assert_near(st.reward, -0.26, 1e-12);
  assert_near(obs[0], 0.8725108355979643, 1e-7);
  assert_near(obs[1], 0.4885947623175489, 1e-7);
  assert_near(obs[2], 0.2095691539531523, 1e-7);
  double s[2];
  assert_int_equal(e->vt->get_state(e, s, 2), 2);
  assert_near(s[0], 0.5104784576976577, 1e-14);
  assert_near(s[1], 0.2095691539531523, 1e-14);
  assert_int_equal(st.terminated, 0);
  assert_int_equal(st.truncated, 0);
  env_free(e);
}

/* th = 4 (normalised to 4 - 2 pi for the cost), thdot = 7.9, a = 5 clipped to 2:
 *   reward   = -((4 - 2 pi)^2 + 0.1 * 7.9^2 + 0.001 * 4) = -11.457935146920741
 *   newthdot = 7.9 + (15 sin 4 + 6) * 0.05 = 7.632398128519054 (inside +-8)
 *   newth    = 4 + 7.632398128519054 * 0.05 = 4.381619906425953 (not wrapped) */
static void test_pendulum_clip_and_normalize(void **state) {
  (void)state;
  Env *e = make_("Pendulum-v1");
  set_state_(e, 4.0, 7.9);
  float act[1] = {5.0f}, obs[3];
  EnvStep st;
  env_step(e, act, obs, &st);
  assert_near(st.reward, -11.457935146920741, 1e-12);
  double s[2];
  e->vt->get_state(e, s, 2);
  assert_near(s[1], 7.632398128519054, 1e-13);
  assert_near(s[0], 4.381619906425953, 1e-13);
  /* the speed clip: th = pi/2, thdot = 7.9, u = 2 gives 7.9 + 21 * 0.05 = 8.95 -> 8 */
  set_state_(e, M_PI / 2, 7.9);
  act[0] = 2.0f;
  env_step(e, act, obs, &st);
  e->vt->get_state(e, s, 2);
  assert_near(s[1], 8.0, 0);
  assert_near(s[0], M_PI / 2 + 8.0 * 0.05, 1e-14);
  assert_near(obs[2], 8.0, 0);
  /* a NaN action stays NaN (not silently clipped) and the wrapper cuts the episode */
  set_state_(e, 0.1, 0.0);
  act[0] = NAN;
  env_step(e, act, obs, &st);
  assert_int_equal(st.status, ENV_ERR_NONFINITE);
  assert_int_equal(st.truncated, 1);
  env_free(e);
}

static void test_angle_normalize(void **state) {
  (void)state;
  /* Python: ((x + pi) % (2 pi)) - pi */
  assert_near(tiny_angle_normalize(0.0), 0.0, 0);
  assert_near(tiny_angle_normalize(M_PI), -M_PI, 1e-15);
  assert_near(tiny_angle_normalize(-M_PI), -M_PI, 1e-15);
  assert_near(tiny_angle_normalize(1.5 * M_PI), -0.5 * M_PI, 1e-15);
  assert_near(tiny_angle_normalize(-1.5 * M_PI), 0.5 * M_PI, 1e-15);
  assert_near(tiny_angle_normalize(4.0), 4.0 - 2 * M_PI, 1e-15);
  assert_near(tiny_angle_normalize(-7.0), -7.0 + 2 * M_PI, 1e-15);
}

/* Reset: th ~ U(-pi, pi) then thdot ~ U(-1, 1), from core_rng_stream(seed, CORE_RNG_ENV, 0). */
static void test_pendulum_reset(void **state) {
  (void)state;
  Env *e = make_("Pendulum-v1");
  float obs[3];
  for (uint64_t seed = 0; seed < 50; seed++) {
    CoreRng rng;
    core_rng_stream(&rng, seed, CORE_RNG_ENV, 0);
    double th = core_rng_uniform_range(&rng, -M_PI, M_PI);
    double thdot = core_rng_uniform_range(&rng, -1.0, 1.0);
    env_reset(e, seed, obs);
    assert_true(obs[0] == (float)cos(th) && obs[1] == (float)sin(th) && obs[2] == (float)thdot);
  }
  /* the distribution: over many seeds th covers (-pi, pi) with mean ~0, thdot within [-1, 1) */
  double sum_th = 0, min_th = 10, max_th = -10, max_dot = 0;
  int n = 2000;
  for (int i = 0; i < n; i++) {
    env_reset(e, 1000 + (uint64_t)i, obs);
    double th = atan2(obs[1], obs[0]);
    sum_th += th;
    min_th = fmin(min_th, th);
    max_th = fmax(max_th, th);
    max_dot = fmax(max_dot, fabs(obs[2]));
  }
  assert_true(min_th < -3.0 && max_th > 3.0);
  assert_true(fabs(sum_th / n) < 4 * M_PI / sqrt(3.0 * n));  /* 4 standard errors */
  assert_true(max_dot <= 1.0 && max_dot > 0.99);
  env_free(e);
}

/* ---------------------------------------------------------------- PointMassLQR-v0 */

/* s = (0.5, -0.2), u = 1.5: reward -(0.25 + 0.1 * 2.25) = -0.475, s' = (0.48, -0.05);
 * u = 20 is clipped to 10: reward -(0.25 + 10) and v' = -0.2 + 1. */
static void test_lqr_hand_step(void **state) {
  (void)state;
  Env *e = make_("PointMassLQR-v0");
  assert_int_equal(e->obs_dim, 2);
  assert_int_equal(e->max_episode_steps, TINY_LQR_HORIZON);
  set_state_(e, 0.5, -0.2);
  float act[1] = {1.5f}, obs[2];
  EnvStep st;
  env_step(e, act, obs, &st);
  assert_near(st.reward, -0.475, 1e-12);
  double s[2];
  e->vt->get_state(e, s, 2);
  assert_near(s[0], 0.48, 1e-15);
  assert_near(s[1], -0.05, 1e-15);
  assert_true(obs[0] == (float)s[0] && obs[1] == (float)s[1]);
  set_state_(e, 0.5, -0.2);
  act[0] = 20.0f;
  env_step(e, act, obs, &st);
  assert_near(st.reward, -10.25, 1e-12);
  e->vt->get_state(e, s, 2);
  assert_near(s[1], 0.8, 1e-15);
  env_free(e);
}

/* The Riccati solution, checked against an independent computation (a Python script with the
 * same recursion) and against its defining properties. */
static void test_lqr_riccati(void **state) {
  (void)state;
  TinyLqrSolution sol;
  tiny_lqr_solve(&sol);
  /* independent values: P0 = [[8.9842050, 3.5865867], [3.5865867, 2.8636044]],
   * K_0 = (2.7881662, 2.5049457), expected optimal return -3.9492698, max |u| 5.2931119 */
  assert_near(sol.P0[0][0], 8.984205006362902, 1e-9);
  assert_near(sol.P0[0][1], 3.586586729743349, 1e-9);
  assert_near(sol.P0[1][1], 2.863604372701979, 1e-9);
  assert_near(sol.K[0][0], 2.7881662291070577, 1e-9);
  assert_near(sol.K[0][1], 2.5049456997276436, 1e-9);
  assert_near(sol.optimal_return, -3.9492697930216267, 1e-9);
  assert_near(sol.max_abs_u, 5.293111928834701, 1e-9);
  /* the last two actions cannot change a scored state (u_t reaches x at t + 2) */
  for (int t = TINY_LQR_HORIZON - 2; t < TINY_LQR_HORIZON; t++) {
    assert_near(sol.K[t][0], 0.0, 1e-15);
    assert_near(sol.K[t][1], 0.0, 1e-15);
  }
  assert_true(sol.K[TINY_LQR_HORIZON - 3][0] > 0.05);
  /* far from the end the time-varying gain is the stationary one */
  assert_near(sol.K[0][0], sol.K_inf[0], 1e-4);
  assert_near(sol.K[0][1], sol.K_inf[1], 1e-4);
  /* the stationary gain is never better over a finite horizon, and here no worse than 1e-8 */
  assert_true(sol.stationary_return <= sol.optimal_return);
  assert_true(sol.stationary_return > sol.optimal_return - 1e-8);
  /* clipping never binds for the optimal policy */
  assert_true(sol.max_abs_u < TINY_LQR_ACT_MAX);
  /* worse gains are worse, in closed form */
  double half[2] = {0.5 * sol.K_inf[0], 0.5 * sol.K_inf[1]};
  double dbl[2] = {1.5 * sol.K_inf[0], 1.5 * sol.K_inf[1]};
  assert_true(tiny_lqr_gain_return(half) < sol.stationary_return - 0.1);
  assert_true(tiny_lqr_gain_return(dbl) < sol.stationary_return - 0.1);
}

/* Optimality itself: from a fixed start, perturbing any one gain of the optimal sequence lowers
 * the (exactly simulated, unclipped) return. Independent of the Riccati algebra. */
static double simulate_gains_(const double K[][2], double x, double v) {
  double ret = 0.0;
  for (int t = 0; t < TINY_LQR_HORIZON; t++) {
    double u = -(K[t][0] * x + K[t][1] * v);
    ret -= x * x + TINY_LQR_CTRL_COST * u * u;
    x += v * TINY_LQR_DT;
    v += u * TINY_LQR_DT;
  }
  return ret;
}

static void test_lqr_optimality_by_perturbation(void **state) {
  (void)state;
  static TinyLqrSolution sol, pert;
  tiny_lqr_solve(&sol);
  double x0 = 0.7, v0 = -0.4;
  double best = simulate_gains_((const double(*)[2])sol.K, x0, v0);
  /* -s0' P0 s0 is the optimal return from s0 */
  double pred = -(sol.P0[0][0] * x0 * x0 + 2 * sol.P0[0][1] * x0 * v0 + sol.P0[1][1] * v0 * v0);
  assert_near(best, pred, 1e-10);
  CoreRng rng;
  core_rng_stream(&rng, 5, CORE_RNG_TEST, 0);
  for (int trial = 0; trial < 200; trial++) {
    pert = sol;
    int t = (int)core_rng_below(&rng, TINY_LQR_HORIZON - 1);
    pert.K[t][core_rng_below(&rng, 2)] += core_rng_uniform_range(&rng, -0.3, 0.3);
    assert_true(simulate_gains_((const double(*)[2])pert.K, x0, v0) <= best + 1e-12);
  }
}

typedef struct {
  float obs0[2];
  int have;
} FirstObs;

static void first_obs_(void *ctx, const Env *e, const float *obs, const float *act,
                       const EnvStep *st, const float *next_obs) {
  FirstObs *f = ctx;
  (void)act;
  (void)st;
  (void)next_obs;
  if (e->elapsed_steps == 1) {
    f->obs0[0] = obs[0];
    f->obs0[1] = obs[1];
    f->have = 1;
  }
}

/* The closed form against the environment: the optimal gains applied in the env give, per
 * episode, -s0' P0 s0, and on average the expected optimal return within sampling error; the
 * stationary gain matches its own closed form; a worse gain returns less in every episode. */
static void test_lqr_closed_form_in_env(void **state) {
  (void)state;
  static TinyLqrSolution sol;
  tiny_lqr_solve(&sol);
  Env *e = make_("PointMassLQR-v0");
  float scratch[8];
  assert_true(env_rollout_scratch_floats(e) <= 8);
  const int n = 2000;
  double sum_opt = 0, sum2_opt = 0, sum_stat = 0, sum2_stat = 0, worst_gap = 0;
  double half[2] = {0.5 * sol.K_inf[0], 0.5 * sol.K_inf[1]};
  double sum_half = 0;
  for (int i = 0; i < n; i++) {
    uint64_t seed = core_rng_derive(77, CORE_RNG_EVAL, (uint64_t)i);
    FirstObs f = {0};
    EnvRolloutOpts opt = {.policy = tiny_lqr_optimal_policy, .policy_ctx = &sol,
                          .on_step = first_obs_, .step_ctx = &f};
    EnvEpisode ep;
    env_rollout(e, seed, &opt, scratch, &ep);
    assert_int_equal(ep.length, TINY_LQR_HORIZON);
    assert_true(ep.truncated && !ep.terminated && f.have);
    double pred = tiny_lqr_optimal_return_from(&sol, f.obs0);
    /* float observations round the state at ~1e-7: the return follows to ~1e-5 */
    worst_gap = fmax(worst_gap, fabs(ep.ret - pred));
    sum_opt += ep.ret;
    sum2_opt += ep.ret * ep.ret;

    EnvRolloutOpts stat = {.policy = tiny_lqr_gain_policy, .policy_ctx = sol.K_inf};
    EnvEpisode es;
    env_rollout(e, seed, &stat, scratch, &es);
    sum_stat += es.ret;
    sum2_stat += es.ret * es.ret;

    EnvRolloutOpts worse = {.policy = tiny_lqr_gain_policy, .policy_ctx = half};
    EnvEpisode ew;
    env_rollout(e, seed, &worse, scratch, &ew);
    assert_true(ew.ret < ep.ret);
    sum_half += ew.ret;
  }
  print_message("LQR: largest |return - (-s0'P0 s0)| over %d episodes: %.3g\n", n, worst_gap);
  assert_true(worst_gap < 1e-4);
  double mean = sum_opt / n, sd = sqrt((sum2_opt - n * mean * mean) / (n - 1));
  double se = sd / sqrt((double)n);
  print_message("LQR optimal: mean return %.4f (closed form %.4f), sd %.3f, se %.4f\n", mean,
                sol.optimal_return, sd, se);
  assert_true(fabs(mean - sol.optimal_return) < 4 * se);
  double mstat = sum_stat / n, sdst = sqrt((sum2_stat - n * mstat * mstat) / (n - 1));
  assert_true(fabs(mstat - sol.stationary_return) < 4 * sdst / sqrt((double)n));
  double mhalf = sum_half / n;
  print_message("LQR half gain: mean %.4f (closed form %.4f)\n", mhalf, tiny_lqr_gain_return(half));
  assert_true(mhalf < mean - 0.1);
  env_free(e);
}

/* ---------------------------------------------------------------- Bandit1D-v0 */

static void test_bandit(void **state) {
  (void)state;
  Env *e = make_("Bandit1D-v0");
  float obs[1], act[1];
  EnvStep st;
  env_reset(e, 3, obs);
  CoreRng rng;
  core_rng_stream(&rng, 3, CORE_RNG_ENV, 0);
  double c = core_rng_uniform_range(&rng, -1.0, 1.0);
  assert_true(obs[0] == (float)c);
  act[0] = obs[0];
  env_step(e, act, obs, &st);
  assert_near(st.reward, 1.0, 1e-12);
  assert_int_equal(st.terminated, 1);
  assert_int_equal(st.truncated, 0);
  /* a = 0.25 by hand: 1 - (0.25 - c)^2 */
  env_reset(e, 3, obs);
  act[0] = 0.25f;
  env_step(e, act, obs, &st);
  assert_near(st.reward, 1.0 - (0.25 - c) * (0.25 - c), 1e-12);
  /* a = 3 clips to 1 */
  env_reset(e, 3, obs);
  act[0] = 3.0f;
  env_step(e, act, obs, &st);
  assert_near(st.reward, 1.0 - (1.0 - c) * (1.0 - c), 1e-12);
  /* the zero policy earns 1 - E[c^2] = 2/3 on average */
  float scratch[4];
  EnvRolloutOpts opt = {.policy = env_policy_zero};
  EnvEvalStats ev;
  env_evaluate(e, 9, 4000, &opt, scratch, &ev);
  assert_true(fabs(ev.mean - 2.0 / 3.0) < 4 * ev.std / sqrt(4000.0));
  assert_near(ev.mean_length, 1.0, 0);
  assert_int_equal(ev.n_terminated, 4000);
  assert_int_equal(ev.n_truncated, 0);
  env_free(e);
}

/* Every tiny task frees everything it took. */
static void test_tiny_no_leak(void **state) {
  (void)state;
  long live = core_alloc_live();
  const char *names[] = {"Pendulum-v1", "PointMassLQR-v0", "Bandit1D-v0"};
  for (int i = 0; i < 3; i++) env_free(make_(names[i]));
  assert_int_equal(core_alloc_live(), live);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pendulum_spaces),
      cmocka_unit_test(test_pendulum_hand_step),
      cmocka_unit_test(test_pendulum_clip_and_normalize),
      cmocka_unit_test(test_angle_normalize),
      cmocka_unit_test(test_pendulum_reset),
      cmocka_unit_test(test_lqr_hand_step),
      cmocka_unit_test(test_lqr_riccati),
      cmocka_unit_test(test_lqr_optimality_by_perturbation),
      cmocka_unit_test(test_lqr_closed_form_in_env),
      cmocka_unit_test(test_bandit),
      cmocka_unit_test(test_tiny_no_leak),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
