/* cemrl.h — CEM, CEM-TD3 and CEM-DDPG agents (cemrl.c): what tests and tools may look at.
 *
 * The agents themselves are created through agent_create / cemrl_agent_create (agent.h). One
 * iterate() is one generation of spec cemrl-td3.md §2: ask, gradient phase, evaluation, tell.
 * A probe callback sees the loop at fixed points, so tests can check the schedule (step counts,
 * untouched mirror half, fresh actor optimizer) without the agent exposing its internals.
 *
 * Streams from s->seed: CORE_RNG_INIT (network init: the actor first, so mu0 is the same fresh
 * actor for CEM and CEM-RL), CORE_RNG_POPULATION (CEM sampling, inside Cem), CORE_RNG_REPLAY
 * (minibatches and TD3 target noise); the reset seed of individual i in generation g is
 * agent_pool_reset_seed(seed, g, i).
 */
#ifndef CEMRL_AGENTS_CEMRL_H
#define CEMRL_AGENTS_CEMRL_H

#include <stddef.h>
#include <stdint.h>

#include "agents/agent.h"
#include "agents/cem.h"
#include "agents/replay.h"
#include "agents/td3.h"

/* Where in a generation the probe is called. */
typedef enum {
  CEMRL_AT_ASKED = 0,   /* population sampled, nothing else done yet */
  CEMRL_AT_GRAD_START,  /* individual copied into actor and actor target, actor optimizer reset */
  CEMRL_AT_GRAD_END,    /* individual's critic and actor steps done, actor written back */
  CEMRL_AT_EVALUATE,    /* gradient phase over, just before the population is evaluated */
  CEMRL_AT_TOLD,        /* cem_tell done, counters and stats updated */
  CEMRL_NAT
} CemRlPoint;

/* What the probe sees (all borrowed for the call). */
typedef struct {
  int point;                 /* CemRlPoint */
  int64_t gen;               /* generation, 0-based */
  int index;                 /* the individual at GRAD_START / GRAD_END, else -1 */
  const float *pop;          /* (pop_size, n_params) the population as it is now */
  int pop_size;
  size_t n_params;
  const Cem *cem;
  const Td3 *td3;            /* NULL for plain CEM */
  const CoreRng *replay_rng; /* the minibatch / target-noise stream as it is now */
  int64_t total_steps;       /* counted env steps before this generation (after it at TOLD) */
  int64_t grad_budget;       /* env steps of the previous generation: this gradient phase's
                                actor_steps (0 when the phase does not run) */
  int64_t critic_updates;    /* GRAD_END: critic steps this individual got */
  int64_t actor_updates;     /* GRAD_END: actor steps this individual got */
} CemRlProbe;

typedef void (*CemRlProbeFn)(void *ctx, const CemRlProbe *p);

/* Call fn(ctx, ...) at every CemRlPoint of the following generations (NULL to stop). */
void cemrl_agent_set_probe(Agent *a, CemRlProbeFn fn, void *ctx);

/* The agent's CEM state, TD3 learner (NULL for plain CEM) and replay buffer (NULL for plain
 * CEM), read-only. */
const Cem *cemrl_agent_cem(const Agent *a);
const Td3 *cemrl_agent_td3(const Agent *a);
const ReplayBuffer *cemrl_agent_replay(const Agent *a);

#endif
