/* poincare_env.h — the WordNet mammal embedding posed as an environment (CEM fitness = −loss).
 *
 * PoincareMammal-v0: one episode places every node of the mammal closure (1,180 nodes) once, in
 * an order drawn from the reset seed. At step t the observation is the one-hot code of node
 * perm[t] (obs_dim = 1,180) and the action a ∈ [−1, 1]^5 is its point: x = a, projected into the
 * ball of radius 1 − 1e-5. Each edge u → v gets 10 uniform negatives drawn at reset exactly as
 * poincare_task_loss(..., seed) draws them; when the last of its 12 nodes is placed the edge's
 * loss ℓ is charged, so the reward of a step is −(1/m)·Σ ℓ over the edges it completes and the
 * return of an episode is −(mean loss per edge) = −poincare_task_loss(embedding, 10, seed).
 * A linear actor without hidden layers on the one-hot observation is exactly an embedding table,
 * so CEM over it searches embeddings directly with fitness −loss. The episode ends
 * (terminated) after the last node; the time limit equals the node count.
 *
 * The task reads Debian's wordnet-base from wordnet_default_dir() ($CEMRL_WORDNET_DIR).
 */
#ifndef CEMRL_ENVS_POINCARE_ENV_H
#define CEMRL_ENVS_POINCARE_ENV_H

#include "envs/env.h"

#define POINCARE_ENV_DIM 5         /* ball dimension of PoincareMammal-v0 */
#define POINCARE_ENV_NEGATIVES 10  /* negatives per edge (the paper) */

/* Create PoincareMammal-v0; NULL with err if the WordNet files are missing or corrupt. */
Env *poincare_env_make_mammal(CoreErr *err);

#endif
