/* pool.h — population evaluation on worker threads (CEM, CEM-RL: spec cemrl-td3.md §2 step 4).
 *
 * A pool of `threads` pthread workers is created once per run; each worker owns one Env instance
 * and one actor network, which it binds (no copy) to the population row it evaluates. Every
 * individual runs one episode with deterministic actions clipped to the action bounds, reset
 * with a seed derived from (seed, generation, index) only. Its transitions are staged in its own
 * preallocated slot (one time limit of steps) and appended to the shared replay buffer by the
 * calling thread, in individual-index order, after the parallel part. So fitness, episode
 * lengths and buffer contents are identical for any thread count and any scheduling.
 *
 * OpenBLAS runs single-threaded during an evaluation (the batch-1 forward is sgemv anyway, and
 * BLAS threads inside worker threads would oversubscribe the cores); the caller's BLAS thread
 * count is restored afterwards. Evaluating allocates nothing.
 *
 * Nullable: every CoreErr *err, the replay buffer of agent_pool_evaluate.
 */
#ifndef CEMRL_AGENTS_POOL_H
#define CEMRL_AGENTS_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "agents/replay.h"
#include "agents/settings.h"
#include "core/err.h"
#include "envs/rollout.h"
#include "nets/mlp.h"

typedef struct AgentPool AgentPool;


/* Create a pool for environment env_name with `threads` workers (0 or 1: evaluate inline on the
 * calling thread), actors built from layers (agent_actor_layers), and staging for up to max_pop
 * individuals of one episode each (the env's time limit, which must be set). NULL with err. */
AgentPool *agent_pool_create(const char *env_name, const NnLayerDesc *layers, int n_layers,
                             int max_pop, int threads, CoreErr *err);

/* Stop the workers and free everything (NULL is a no-op). */
void agent_pool_free(AgentPool *p);

/* Parameters of one individual (the actor's n_params): the row length of a population. */
size_t agent_pool_num_params(const AgentPool *p);

/* Worker threads in use (0 when evaluation runs inline). */
int agent_pool_threads(const AgentPool *p);

/* The env instance of worker 0, for its sizes and bounds (read-only; do not step it). */
const Env *agent_pool_env(const AgentPool *p);

/* The reset seed of individual `index` in generation `gen`: a function of (seed, gen, index). */
uint64_t agent_pool_reset_seed(uint64_t seed, int64_t gen, int index);

/* The actor policy the workers run (EnvPolicyFn shape; ctx is an NnMlp*): the deterministic
 * forward, clipped to [act_low, act_high]. Exposed so serial references and evaluations of a
 * single actor use exactly the same action rule. */
void agent_pool_actor_policy(void *ctx, const Env *e, const float *obs, float *act);

/* Evaluate individuals pop (n_pop, n_params) (read only; n_pop <= max_pop), one episode each,
 * individual i reset with agent_pool_reset_seed(seed, gen, i). Writes out[n_pop] and, when rb is
 * not NULL, appends every transition (terminated flag only, time-outs are not terminal) to rb in
 * index order, except the last step of a cut episode (out[i].status != ENV_OK: divergence or
 * non-finite values), whose next observation is not a real successor. Returns the env steps
 * taken (sum of the episode lengths, cut steps included). */
int64_t agent_pool_evaluate(AgentPool *p, const float *pop, int n_pop, uint64_t seed, int64_t gen,
                            ReplayBuffer *rb, EnvEpisode *out);

/* agent_pool_evaluate with action noise (noise NULL: exactly agent_pool_evaluate). A noisy
 * episode of individual i resets with the seed agent_pool_reset_seed(s', gen, i), s' derived
 * from seed for exploration, so it never repeats the noise-free episode, and draws its noise
 * from a stream of that seed alone: still identical for any thread count. */
int64_t agent_pool_evaluate_noisy(AgentPool *p, const float *pop, int n_pop, uint64_t seed,
                                  int64_t gen, const AgentActionNoise *noise, ReplayBuffer *rb,
                                  EnvEpisode *out);

/* Evaluate one actor (params: n_params floats) over `episodes` deterministic episodes, spread over
 * the workers (and MPI ranks) like a population; episode i resets with core_rng_derive(seed,
 * CORE_RNG_EVAL, i), so out equals env_evaluate with agent_pool_actor_policy on one instance.
 * Nothing is staged for a buffer. */
void agent_pool_evaluate_actor(AgentPool *p, const float *params, uint64_t seed, int episodes,
                               EnvEvalStats *out);

#endif
