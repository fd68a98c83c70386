/* agent.h — the interface every method implements, and what the trainer needs of it.
 *
 * An agent owns its environment instances, networks, replay buffer and RNG streams. The trainer
 * (train.h) calls iterate() until the step budget is spent, evaluates policy() every
 * eval_period steps on its own env instance, logs, checkpoints and resumes through save/load.
 * One iterate() is the method's natural unit: an episode (TD3, DDPG: followed by its updates)
 * or a generation (CEM, CEM-RL).
 */
#ifndef CEMRL_AGENTS_AGENT_H
#define CEMRL_AGENTS_AGENT_H

#include <stdint.h>

#include "agents/settings.h"
#include "core/ckpt.h"
#include "core/err.h"
#include "envs/rollout.h"
#include "nets/mlp.h"

#define AGENT_MAX_STATS 16
#define AGENT_ACTOR_MAX_LAYERS 9   /* 2 x (linear, layer norm, activation) + linear, tanh, scale */
#define AGENT_CRITIC_MAX_LAYERS 5  /* 2 x (linear, activation) + linear */

typedef struct Agent Agent;

typedef struct {
  const char *name;
  /* one unit of work; updates total_steps, episodes and the stats; 0 or a CORE_ERR_* code */
  int (*iterate)(Agent *a, CoreErr *err);
  /* the policy to evaluate and save (CEM: the mean actor mu), valid until the next iterate */
  NnMlp *(*policy)(Agent *a);
  /* add every piece of state needed to resume as sections (borrowed until written) */
  int (*save)(const Agent *a, CoreCkptWriter *w, CoreErr *err);
  /* restore from sections; sizes and architecture must match */
  int (*load)(Agent *a, const CoreCkpt *c, CoreErr *err);
  void (*free)(Agent *a);
} AgentVt;

/* An agent's own evaluation, replacing the trainer's env episodes: fill out as an evaluation of
 * returns; 0 or a CORE_ERR_* code. The supervised learner reports -(test loss) and refreshes its
 * stats; CEM and CEM-RL run policy()'s episodes on their worker pool, with the numbers the
 * trainer's own episodes would give. */
typedef int (*AgentEvaluateFn)(Agent *a, uint64_t seed, EnvEvalStats *out, CoreErr *err);

struct Agent {
  const AgentVt *vt;
  AgentSettings s;          /* settings in force (copied) */
  int obs_dim, act_dim;
  int64_t total_steps;      /* env steps counted toward the budget */
  int64_t episodes;         /* training episodes finished */
  int64_t iterations;       /* iterate() calls */
  int n_stats;              /* method-specific columns of progress.csv */
  const char *stat_names[AGENT_MAX_STATS];
  double stats[AGENT_MAX_STATS];   /* refreshed by iterate (NAN when not meaningful yet) */
  AgentEvaluateFn evaluate; /* optional (NULL: the trainer runs policy() on an env instance) */
};

/* Create the agent for s->method on environment s->env; NULL with err. */
Agent *agent_create(const AgentSettings *s, CoreErr *err);

/* Free (NULL is a no-op). */
void agent_free(Agent *a);

/* Save / load the common counters plus the method's state. */
int agent_save(const Agent *a, CoreCkptWriter *w, CoreErr *err);
int agent_load(Agent *a, const CoreCkpt *c, CoreErr *err);

/* The actor network description for an env (obs -> hidden -> act, tanh x max_action): used by
 * every method so CEM, TD3 and CEM-RL actors share one parameter layout. layers must hold
 * AGENT_ACTOR_MAX_LAYERS. */
int agent_actor_layers(const NetSettings *ns, int act_dim, const float *act_high,
                       NnLayerDesc *layers);

/* The critic head description (obs+act -> hidden -> 1). layers must hold AGENT_CRITIC_MAX_LAYERS. */
int agent_critic_layers(const NetSettings *ns, NnLayerDesc *layers);

/* 1 when method evaluates a population (CEM, CEM-TD3, CEM-DDPG): the methods whose evaluations
 * MPI ranks can share (cluster.h). */
int agent_method_has_population(int method);

/* On an MPI rank other than 0: build the population pool that s's method builds on rank 0 and
 * serve rank 0's evaluations until it releases this rank (agent_pool_serve). 0 or an error code
 * (also for a method without a population). */
int agent_serve(const AgentSettings *s, CoreErr *err);

/* Method constructors (agent_create dispatches to them). */
Agent *td3_agent_create(const AgentSettings *s, CoreErr *err);    /* TD3 and DDPG */
Agent *cemrl_agent_create(const AgentSettings *s, CoreErr *err);  /* CEM, CEM-TD3, CEM-DDPG */
Agent *sup_agent_create(const AgentSettings *s, CoreErr *err);    /* supervised learner */
int cemrl_serve(const AgentSettings *s, CoreErr *err);            /* agent_serve of CEM, CEM-RL */

#endif
