/* tiny_lqr.c — PointMassLQR-v0 and the Riccati solution of it (see tiny_lqr.h). */
#include "envs/tiny_lqr.h"

#include <math.h>
#include <stdio.h>

#include "core/alloc.h"
#include "core/rng.h"
#include "envs/tiny_tasks.h"

typedef struct {
  Env base;          /* first: an Env* is a TinyLqr* */
  double x, v;       /* the state, in double */
  float low[1], high[1];
} TinyLqr;

/* ---------------------------------------------------------------- closed form */

/* A = [[1, dt], [0, 1]], B = [0, dt], Q = diag(1, 0), R = c. */
static const double lqr_A[2][2] = {{1.0, TINY_LQR_DT}, {0.0, 1.0}};
static const double lqr_B[2] = {0.0, TINY_LQR_DT};

/* Expected s'Ps under the reset distribution: independent zero-mean components, variance w^2/3. */
static double reset_expectation_(double P[2][2]) {
  double var = TINY_LQR_RESET_HALF_WIDTH * TINY_LQR_RESET_HALF_WIDTH / 3.0;
  return (P[0][0] + P[1][1]) * var;
}

/* One step of the cost-to-go for a fixed gain: Pout = Q + c K'K + (A - BK)' P (A - BK). */
/* (C11 cannot pass double[2][2] as const double[2][2] without a cast: these take it non-const.) */
static void gain_backup_(double Pout[2][2], double P[2][2], const double K[2]) {
  double Acl[2][2], PA[2][2];
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 2; j++) Acl[i][j] = lqr_A[i][j] - lqr_B[i] * K[j];
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 2; j++) PA[i][j] = P[i][0] * Acl[0][j] + P[i][1] * Acl[1][j];
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 2; j++) {
      double q = (i == 0 && j == 0) ? 1.0 : 0.0;
      Pout[i][j] =
          q + TINY_LQR_CTRL_COST * K[i] * K[j] + Acl[0][i] * PA[0][j] + Acl[1][i] * PA[1][j];
    }
}

/* The Riccati-optimal gain for cost-to-go P: K = (c + B'PB)^-1 B'PA. */
static void riccati_gain_(double K[2], double P[2][2]) {
  double PB[2] = {P[0][0] * lqr_B[0] + P[0][1] * lqr_B[1], P[1][0] * lqr_B[0] + P[1][1] * lqr_B[1]};
  double s = TINY_LQR_CTRL_COST + lqr_B[0] * PB[0] + lqr_B[1] * PB[1];
  /* B'PA is the row PB' A (P symmetric) */
  for (int j = 0; j < 2; j++) K[j] = (PB[0] * lqr_A[0][j] + PB[1] * lqr_A[1][j]) / s;
}

double tiny_lqr_gain_return(const double K[2]) {
  double P[2][2] = {{0, 0}, {0, 0}}, Pn[2][2];
  for (int t = TINY_LQR_HORIZON - 1; t >= 0; t--) {
    gain_backup_(Pn, P, K);
    for (int i = 0; i < 2; i++)
      for (int j = 0; j < 2; j++) P[i][j] = Pn[i][j];
  }
  return -reset_expectation_(P);
}

void tiny_lqr_solve(TinyLqrSolution *sol) {
  /* backward recursion from P_T = 0: the gain at t is optimal for the remaining T - t steps */
  double P[2][2] = {{0, 0}, {0, 0}}, Pn[2][2];
  for (int t = TINY_LQR_HORIZON - 1; t >= 0; t--) {
    riccati_gain_(sol->K[t], P);
    gain_backup_(Pn, P, sol->K[t]);
    for (int i = 0; i < 2; i++)
      for (int j = 0; j < 2; j++) P[i][j] = Pn[i][j];
  }
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 2; j++) sol->P0[i][j] = P[i][j];
  sol->optimal_return = -reset_expectation_(P);

  /* the DARE by fixed-point iteration (it converges geometrically for this stabilisable pair) */
  double Pi[2][2] = {{0, 0}, {0, 0}};
  for (int it = 0; it < 100000; it++) {
    double K[2];
    riccati_gain_(K, Pi);
    gain_backup_(Pn, Pi, K);
    double change = 0.0, scale = 1.0;
    for (int i = 0; i < 2; i++)
      for (int j = 0; j < 2; j++) {
        change = fmax(change, fabs(Pn[i][j] - Pi[i][j]));
        scale = fmax(scale, fabs(Pn[i][j]));
        Pi[i][j] = Pn[i][j];
      }
    if (change <= 1e-15 * scale) break;
  }
  riccati_gain_(sol->K_inf, Pi);
  sol->stationary_return = tiny_lqr_gain_return(sol->K_inf);

  /* |u_t| is linear in s_0, so its largest value over the reset box is at one of the corners */
  double w = TINY_LQR_RESET_HALF_WIDTH, umax = 0.0;
  for (int c = 0; c < 4; c++) {
    double x = (c & 1) ? w : -w, v = (c & 2) ? w : -w;
    for (int t = 0; t < TINY_LQR_HORIZON; t++) {
      double u = -(sol->K[t][0] * x + sol->K[t][1] * v);
      umax = fmax(umax, fabs(u));
      x += v * TINY_LQR_DT;
      v += u * TINY_LQR_DT;
    }
  }
  sol->max_abs_u = umax;
}

double tiny_lqr_optimal_return_from(const TinyLqrSolution *sol, const float obs0[2]) {
  double x = obs0[0], v = obs0[1];
  return -(sol->P0[0][0] * x * x + 2.0 * sol->P0[0][1] * x * v + sol->P0[1][1] * v * v);
}

static float clip_act_(double u) {
  if (u < -TINY_LQR_ACT_MAX) u = -TINY_LQR_ACT_MAX;
  if (u > TINY_LQR_ACT_MAX) u = TINY_LQR_ACT_MAX;
  return (float)u;
}

void tiny_lqr_optimal_policy(void *ctx, const Env *e, const float *obs, float *act) {
  const TinyLqrSolution *sol = ctx;
  int t = e->elapsed_steps;
  CORE_ASSERT(t >= 0 && t < TINY_LQR_HORIZON);
  act[0] = clip_act_(-(sol->K[t][0] * obs[0] + sol->K[t][1] * obs[1]));
}

void tiny_lqr_gain_policy(void *ctx, const Env *e, const float *obs, float *act) {
  const double *K = ctx;
  (void)e;
  act[0] = clip_act_(-(K[0] * obs[0] + K[1] * obs[1]));
}

/* ---------------------------------------------------------------- the environment */

static void lqr_reset_(Env *e, uint64_t seed, float *obs) {
  TinyLqr *p = (TinyLqr *)e;
  CoreRng rng;
  core_rng_stream(&rng, seed, CORE_RNG_ENV, 0);
  double w = TINY_LQR_RESET_HALF_WIDTH;
  p->x = core_rng_uniform_range(&rng, -w, w);
  p->v = core_rng_uniform_range(&rng, -w, w);
  obs[0] = (float)p->x;
  obs[1] = (float)p->v;
}

static void lqr_step_(Env *e, const float *act, float *obs, EnvStep *out) {
  TinyLqr *p = (TinyLqr *)e;
  /* comparisons keep a NaN action NaN, so the wrapper reports it instead of hiding it */
  double u = act[0];
  if (u < -TINY_LQR_ACT_MAX) u = -TINY_LQR_ACT_MAX;
  if (u > TINY_LQR_ACT_MAX) u = TINY_LQR_ACT_MAX;
  out->reward = -(p->x * p->x + TINY_LQR_CTRL_COST * u * u);
  double x = p->x + p->v * TINY_LQR_DT;
  double v = p->v + u * TINY_LQR_DT;
  p->x = x;
  p->v = v;
  out->terminated = 0;
  out->status = ENV_OK;
  obs[0] = (float)p->x;
  obs[1] = (float)p->v;
}

static int lqr_get_state_(const Env *e, double *state, int cap) {
  const TinyLqr *p = (const TinyLqr *)e;
  if (cap < 2) return 2;
  state[0] = p->x;
  state[1] = p->v;
  return 2;
}

static int lqr_set_state_(Env *e, const double *state, int n) {
  TinyLqr *p = (TinyLqr *)e;
  if (n != 2) return CORE_ERR_INVALID;
  p->x = state[0];
  p->v = state[1];
  return 0;
}

static void lqr_describe_(const Env *e, FILE *f) {
  (void)e;
  TinyLqrSolution sol;
  tiny_lqr_solve(&sol);
  fprintf(f, "state          (x, v); observation (x, v)\n");
  fprintf(f, "dynamics       x' = x + v dt, v' = v + u dt, dt = %g\n", TINY_LQR_DT);
  fprintf(f, "reward         -(x^2 + %g u^2), u = clip(a, -%g, %g)\n", TINY_LQR_CTRL_COST,
          TINY_LQR_ACT_MAX, TINY_LQR_ACT_MAX);
  fprintf(f, "reset          x ~ U(-%g, %g), v ~ U(-%g, %g)\n", TINY_LQR_RESET_HALF_WIDTH,
          TINY_LQR_RESET_HALF_WIDTH, TINY_LQR_RESET_HALF_WIDTH, TINY_LQR_RESET_HALF_WIDTH);
  fprintf(f, "termination    never (time limit %d)\n", TINY_LQR_HORIZON);
  fprintf(f, "optimal_return %.8f  (expected, time-varying Riccati gains)\n", sol.optimal_return);
  fprintf(f, "K_0            %.6f %.6f\n", sol.K[0][0], sol.K[0][1]);
  fprintf(f, "K_inf          %.6f %.6f  (stationary; expected return %.8f)\n", sol.K_inf[0],
          sol.K_inf[1], sol.stationary_return);
  fprintf(f, "max_abs_u      %.4f  (optimal policy, any reset state; bound %g)\n", sol.max_abs_u,
          TINY_LQR_ACT_MAX);
}

static void lqr_free_(Env *e) { core_free(e); }

static const EnvVt lqr_vt = {
    .reset = lqr_reset_,
    .step = lqr_step_,
    .free = lqr_free_,
    .get_state = lqr_get_state_,
    .set_state = lqr_set_state_,
    .describe = lqr_describe_,
};

Env *tiny_lqr_make(CoreErr *err) {
  TinyLqr *p = core_calloc(1, sizeof *p);
  if (!p) {
    core_err_set(err, CORE_ERR_NOMEM, "PointMassLQR-v0: out of memory");
    return NULL;
  }
  p->low[0] = (float)-TINY_LQR_ACT_MAX;
  p->high[0] = (float)TINY_LQR_ACT_MAX;
  p->base = (Env){.vt = &lqr_vt,
                  .name = "PointMassLQR-v0",
                  .obs_dim = 2,
                  .act_dim = 1,
                  .act_low = p->low,
                  .act_high = p->high,
                  .max_episode_steps = TINY_LQR_HORIZON,
                  .dt = TINY_LQR_DT,
                  .needs_reset = 1};
  return &p->base;
}
