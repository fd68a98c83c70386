/* td3.h — the TD3 / DDPG learner: actor, critic, their targets, optimizers and updates.
 *
 * Used by the TD3 and DDPG agents (td3_agent.c) and by CEM-RL's gradient half (cemrl.c). It
 * owns networks, optimizers and minibatch scratch; it owns no env, no replay buffer and no RNG
 * stream (callers pass them in), so one learner serves every schedule of spec cemrl-td3.md §2-3.
 *
 *   actor      obs -> hidden1 -> hidden2 -> act, tanh x max_action (agent_actor_layers)
 *   critic     twin heads (TD3) or one head (DDPG), each concat(obs, act) -> h1 -> h2 -> 1
 *              (agent_critic_layers). The heads' parameters live in ONE buffer
 *              [head 1 | head 2] with ONE gradient buffer, so ONE optimizer steps both heads
 *              (the reference code's single Adam); the critic targets share one buffer likewise.
 *
 * Updates (batch B, from the caller's replay buffer and RNG stream):
 *   critic     a~ = clip(pi_target(s') + clip(N(0, policy_noise^2), +-noise_clip), +-max_action)
 *              per action dimension (DDPG: no noise),
 *              y = r + discount * not_done * min_h Q'_h(s', a~) (DDPG: Q'),
 *              loss = sum_h MSE(Q_h(s, a), y); one critic optimizer step.
 *   actor      loss = -mean Q1(s, pi(s)); dQ/da from the critic's input gradient
 *              (NN_BACKWARD_INPUT_ONLY: the critic's gradients are untouched); one actor step.
 *   targets    theta' <- tau * theta + (1 - tau) * theta' (float arithmetic, as PyTorch's).
 *
 * The critic update reads the target actions from actor_target. td3_copy_actor_from sets actor
 * and actor_target to the same vector, so CEM-RL's critic steps, which all run before the
 * individual's actor steps (spec §2 2b), see exactly the individual's parameters.
 *
 * No allocation after td3_create: updates, soft updates and td3_act use create-time scratch.
 * One learner must not be used by two threads at once (the networks hold activations).
 *
 * Nullable: every CoreErr *err; the noise argument of td3_critic_update_batch.
 */
#ifndef CEMRL_AGENTS_TD3_H
#define CEMRL_AGENTS_TD3_H

#include <stddef.h>
#include <stdint.h>

#include "agents/replay.h"
#include "agents/settings.h"
#include "core/ckpt.h"
#include "core/err.h"
#include "core/rng.h"
#include "nets/mlp.h"
#include "optim/opt.h"

#define TD3_MAX_HEADS 2

typedef struct {
  Td3Settings s;             /* settings in force (copied) */
  int twin;                  /* 1: TD3 (twin heads, target smoothing, delay); 0: DDPG */
  int n_heads;               /* 2 (TD3) or 1 (DDPG) */
  int obs_dim, act_dim;
  int batch;                 /* minibatch rows (s.batch_size) */
  float *max_action;         /* (act_dim) the env's act_high: actor scale and target clip */

  NnMlp *actor;              /* own parameters, (actor_n) */
  NnMlp *actor_target;       /* own parameters, same layout */
  NnMlp *critic[TD3_MAX_HEADS];         /* head h bound to critic_params + h * head_n */
  NnMlp *critic_target[TD3_MAX_HEADS];  /* head h bound to critic_target_params + h * head_n */
  size_t actor_n;            /* actor parameters (the CEM dimension) */
  size_t head_n;             /* parameters of one critic head */
  size_t critic_n;           /* n_heads * head_n */
  float *critic_params;      /* (critic_n) [head 1 | head 2] */
  float *critic_grads;       /* (critic_n) */
  float *critic_target_params;  /* (critic_n) */

  Opt *actor_opt;            /* steps actor->params (actor_n) */
  Opt *critic_opt;           /* steps critic_params (critic_n): both heads at once */

  /* counters (saved) */
  int64_t critic_updates;    /* critic optimizer steps taken */
  int64_t actor_updates;     /* actor optimizer steps taken */
  int64_t total_it;          /* td3_train_step calls (global policy-delay counter) */

  /* last results, NAN before the first update */
  double critic_loss;        /* last td3_critic_update: sum of the heads' MSE */
  double q_mean;             /* last td3_critic_update: mean Q1(s, a) over the batch */
  double actor_loss;         /* last td3_actor_update: -mean Q1(s, pi(s)) */

  /* scratch, sized at create */
  ReplayBatch mb;            /* sampled minibatch (batch rows) */
  float *noise;              /* (batch, act_dim) target-policy noise */
  float *sa;                 /* (batch, obs_dim + act_dim) critic input */
  float *sa_next;            /* (batch, obs_dim + act_dim) target critic input */
  float *y;                  /* (batch) TD target */
  float *qmin;               /* (batch) min over the target heads */
  float *dq;                 /* (batch) dLoss/dQ */
  float *dsa;                /* (batch, obs_dim + act_dim) dLoss/d(critic input) */
  float *da;                 /* (batch, act_dim) dLoss/d(action) */
} Td3;

/* Check learner and agent settings; 0 or CORE_ERR_INVALID naming the field ("td3.tau"). */
int td3_settings_check(const Td3Settings *s, CoreErr *err);

/* Build the learner for an env of obs_dim / act_dim with action bounds +-act_high (act_dim
 * values, copied), twin = 1 for TD3 and 0 for DDPG. Networks get PyTorch's default init
 * (NN_INIT_TORCH) drawn from init_rng in this order: actor, critic head 1, critic head 2; the
 * targets start as copies. Optimizers come from actor_opt / critic_opt (any src/optim kind).
 * NULL with err on bad settings or no memory. */
Td3 *td3_create(const Td3Settings *s, const NetSettings *net, const OptSettings *actor_opt,
                const OptSettings *critic_opt, int obs_dim, int act_dim, const float *act_high,
                int twin, CoreRng *init_rng, CoreErr *err);

/* Free the learner (NULL is a no-op). */
void td3_free(Td3 *t);

/* Deterministic action: act (act_dim) = pi(obs) for one observation obs (obs_dim). */
void td3_act(Td3 *t, const float *obs, float *act);

/* Sample a minibatch from rb with rng, then (TD3 only) draw the target-policy noise from the
 * same rng, (batch, act_dim) normals in row-major order, and run td3_critic_update_batch.
 * Returns the critic loss; t->q_mean gets the batch's mean Q1. rb must hold >= 1 transition. */
double td3_critic_update(Td3 *t, const ReplayBuffer *rb, CoreRng *rng);

/* The critic update on a given minibatch b (b->batch <= t->batch rows). noise (b->batch,
 * act_dim) holds unclipped N(0, policy_noise^2) draws (TD3; clipped here to +-noise_clip), or
 * NULL for none; DDPG ignores it. Returns the loss and sets t->critic_loss and t->q_mean. */
double td3_critic_update_batch(Td3 *t, const ReplayBatch *b, const float *noise);

/* Sample a minibatch from rb with rng and run td3_actor_update_batch; returns the actor loss. */
double td3_actor_update(Td3 *t, const ReplayBuffer *rb, CoreRng *rng);

/* The actor update on a given minibatch (only b->obs is read): loss = -mean Q1(s, pi(s)),
 * gradient through the critic's input into the actor, one actor optimizer step. Returns the
 * loss (before the step) and sets t->actor_loss. The critic's parameters and gradients are
 * not changed. */
double td3_actor_update_batch(Td3 *t, const ReplayBatch *b);

/* Soft-update the critic targets (all heads, one buffer) with tau = t->s.tau. */
void td3_soft_update_critic(Td3 *t);

/* Soft-update the actor target with tau = t->s.tau. */
void td3_soft_update_actor(Td3 *t);

/* Soft update dst <- tau * src + (1 - tau) * dst over n floats, in float arithmetic. */
void td3_soft_update(float *dst, const float *src, size_t n, double tau);

/* Set actor AND actor target to params (t->actor_n floats, copied), e.g. a CEM individual. */
void td3_copy_actor_from(Td3 *t, const float *params);

/* Forget the actor optimizer's state (fresh Adam moments, step count 0): CEM-RL does this for
 * every individual of every generation; the critic optimizer keeps its state. */
void td3_reset_actor_opt(Td3 *t);

/* The TD3 baseline schedule of the paper-era code (sfujim bc98e62, CEM-RL distributed.py):
 * `iterations` iterations, each a critic update; iteration it (0-based, counted within this
 * call) with it % policy_delay == 0 also runs an actor update and soft updates of BOTH targets.
 * DDPG uses delay 1 (actor and targets every iteration). rb must hold >= 1 transition. */
void td3_train(Td3 *t, const ReplayBuffer *rb, CoreRng *rng, int64_t iterations);

/* One iteration on the global counter (sfujim current master, one update per env step):
 * total_it += 1, a critic update, and when total_it % policy_delay == 0 (DDPG: always) an actor
 * update and soft updates of both targets. */
void td3_train_step(Td3 *t, const ReplayBuffer *rb, CoreRng *rng);

/* Add the whole learner as sections "<prefix>.*": actor, actor target, every critic head and
 * critic target head (arch + params), both optimizer states, the counters. Parameter and
 * moment buffers are borrowed: write before the next update. */
int td3_save(const Td3 *t, CoreCkptWriter *w, const char *prefix, CoreErr *err);

/* Restore sections written by td3_save under prefix. Architectures, optimizer kinds and sizes
 * must match (CORE_ERR_INVALID / CORE_ERR_CORRUPT with a message). After an error the learner
 * may be partly loaded: discard it. */
int td3_load(Td3 *t, const CoreCkpt *c, const char *prefix, CoreErr *err);

#endif
