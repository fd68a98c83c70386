/* tiny_lqr.h — PointMassLQR-v0 and its closed-form optimum.
 *
 * The task: state s = (x, v), action u (force), dt = 0.1, horizon T = 100 steps, undiscounted:
 *   r_t     = -(x_t^2 + c u_t^2),  c = 0.1      (pre-step state, clipped action)
 *   x_{t+1} = x_t + v_t dt,  v_{t+1} = v_t + u_t dt      i.e. s' = A s + B u
 *   obs     = (x, v); reset x ~ U(-1, 1), then v ~ U(-1, 1); never terminates; TimeLimit T.
 * In matrix form the return is -sum_t (s_t' Q s_t + c u_t^2) with Q = diag(1, 0), and no cost on
 * the final state s_T (the episode is cut before it is scored).
 *
 * The optimum: the backward Riccati recursion from P_T = 0,
 *   K_t = (c + B' P_{t+1} B)^-1 B' P_{t+1} A,
 *   P_t = Q + c K_t'K_t + (A - B K_t)' P_{t+1} (A - B K_t),
 * gives the optimal time-varying policy u_t = -K_t s_t and the optimal return -s_0' P_0 s_0 from
 * s_0;
 * over the reset distribution (independent, zero mean, variance 1/3) the expected optimal return is
 * -(P_0[0][0] + P_0[1][1]) / 3 = -3.94926979. The last two gains are 0: u_t moves x only from
 * t + 2 on, so the final two actions cannot change a scored state.
 * A stationary policy (what a feed-forward actor represents) cannot follow K_t, but it need not:
 * the state has decayed long before the end, and the DARE gain K_inf = (2.788166, 2.504946)
 * returns only 3e-10 less than the optimum (stationary_return vs optimal_return, both exact).
 *
 * Clipping: the action bound is +-10. From any reset state the optimal policy's largest |u| is
 * about 5.29 (max_abs_u, exact: |u_t| is linear in s_0, so its maximum over the reset box sits at
 * a corner), so clipping never binds for the optimal policy and leaves a margin of almost 2x for
 * policies near it. Policies far from it (random actions) do get clipped.
 */
#ifndef CEMRL_ENVS_TINY_LQR_H
#define CEMRL_ENVS_TINY_LQR_H

#include "envs/env.h"

#define TINY_LQR_DT 0.1
#define TINY_LQR_HORIZON 100
#define TINY_LQR_CTRL_COST 0.1        /* c */
#define TINY_LQR_ACT_MAX 10.0         /* action in [-10, 10] */
#define TINY_LQR_RESET_HALF_WIDTH 1.0 /* x, v ~ U(-1, 1) */

/* The closed-form solution of PointMassLQR-v0. */
typedef struct {
  double K[TINY_LQR_HORIZON][2]; /* optimal gain at step t: u_t = -(K[t][0] x + K[t][1] v) */
  double P0[2][2];               /* optimal return from s_0 is -s_0' P0 s_0 */
  double optimal_return;         /* expected optimal return over the reset distribution */
  double K_inf[2];               /* stationary gain from the infinite-horizon Riccati equation */
  double stationary_return;      /* expected return of u = -K_inf s over one episode */
  double max_abs_u;              /* largest |u_t| of the optimal policy from any reset state */
} TinyLqrSolution;

/* Solve the task: backward Riccati recursion, DARE gain, their expected returns. */
void tiny_lqr_solve(TinyLqrSolution *sol);

/* Optimal return of one episode from its first observation obs0 = (x0, v0): -s0' P0 s0. Comparing
 * each episode's return with this (same seeds) removes the reset noise from "how far from optimal"
 * (the return's spread over resets is ~3.7). */
double tiny_lqr_optimal_return_from(const TinyLqrSolution *sol, const float obs0[2]);

/* Expected return over the reset distribution of the stationary policy u = -(K[0] x + K[1] v),
 * ignoring clipping (exact while |u| stays within the action bound). */
double tiny_lqr_gain_return(const double K[2]);

/* Policy callback (EnvPolicyFn shape): the optimal time-varying policy; ctx is a const
 * TinyLqrSolution*, the step index is e->elapsed_steps. */
void tiny_lqr_optimal_policy(void *ctx, const Env *e, const float *obs, float *act);

/* Policy callback: the stationary policy u = -(K[0] x + K[1] v); ctx is a const double[2]. */
void tiny_lqr_gain_policy(void *ctx, const Env *e, const float *obs, float *act);

#endif
