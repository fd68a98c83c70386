/* pool_internal.h — the population pool's private state, shared by pool.c (threads) and
 * cluster.c (MPI ranks). Not part of the agents API. */
#ifndef CEMRL_AGENTS_POOL_INTERNAL_H
#define CEMRL_AGENTS_POOL_INTERNAL_H

#include <pthread.h>

#include "agents/pool.h"
#include "core/rng.h"

/* The policy context of a noisy episode: the actor, the noise, its stream and OU state. */
typedef struct {
  NnMlp *actor;
  const AgentActionNoise *noise;
  CoreRng rng;
  double *ou;               /* (act_dim) */
} PoolNoisyPolicy;

/* One worker's private state: it never touches another worker's env or network. */
typedef struct {
  struct AgentPool *pool;
  Env *env;
  NnMlp *actor;             /* bound to the row being evaluated */
  float *scratch;           /* (env_rollout_scratch_floats) */
  PoolNoisyPolicy noisy;    /* used by noisy episodes; noisy.ou is owned */
} PoolWorker;

/* The transitions of one individual's episode, in step order. */
typedef struct {
  int len;
  float *obs;               /* (T, obs_dim) */
  float *act;               /* (T, act_dim) */
  float *rew;               /* (T) */
  float *next_obs;          /* (T, obs_dim) */
  unsigned char *term;      /* (T) terminated (never truncated) */
} PoolStage;

struct AgentPool {
  int max_pop;
  int n_threads;            /* worker threads started (0: inline) */
  int n_workers;            /* worker states: max(n_threads, 1) */
  int steps_cap;            /* T: the env's time limit */
  int obs_dim, act_dim;
  size_t n_params;
  PoolWorker *workers;      /* (n_workers) */
  PoolStage *stages;        /* (max_pop) */
  float *stage_mem;         /* one block for every stage's floats */
  unsigned char *term_mem;  /* (max_pop, T) */
  pthread_t *tids;          /* (n_threads) */
  int started;              /* threads actually running (for cleanup after a partial start) */
  int sync_ok;              /* mutex and condition variables initialised */
  pthread_mutex_t mu;
  pthread_cond_t cv_work, cv_done;
  /* the current job, read by workers under mu */
  int64_t job;              /* incremented per evaluate call */
  int quit;
  int next;                 /* next individual to hand out */
  int end;                  /* one past the last individual of this process's share */
  int finished;             /* workers done with the current job */
  const float *pop;
  uint64_t seed;
  int64_t gen;
  const AgentActionNoise *noise;   /* NULL: deterministic episodes */
  int same_row;             /* every individual runs row 0 of pop (one actor's evaluation) */
  int64_t eval_first;       /* >= 0: individual i is evaluation episode eval_first + i, reset as
                               env_evaluate resets it; < 0: population reset seeds */
  EnvEpisode *out;
  EnvEpisode *eval_out;     /* (max_pop) episodes of agent_pool_evaluate_actor */
};

/* Evaluate individuals [lo, hi) of the current job (pop, seed, gen, noise, out already set) on
 * this process's worker threads, staging each one's transitions in stages[i]. */
void pool_run_range(AgentPool *p, int lo, int hi);

/* Rank 0 under MPI: send the other ranks their shares of the current job's n_pop individuals;
 * returns the end of rank 0's own share [0, end) (n_pop with one process). cluster.c. */
int cluster_pool_send(AgentPool *p, int n_pop);

/* Rank 0 under MPI: receive the other ranks' episodes into out and their transitions into the
 * stages (no-op with one process). cluster.c. */
void cluster_pool_receive(AgentPool *p, int n_pop);

/* Under MPI: refuse a pool whose rows or stages exceed one message's count (cluster.c). */
int cluster_pool_check(const AgentPool *p, CoreErr *err);

/* Per-individual staging floats: (2 obs_dim + act_dim + 1) * steps_cap. */
size_t pool_stage_floats(const AgentPool *p);

#endif
