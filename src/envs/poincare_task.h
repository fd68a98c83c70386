/* poincare_task.h — Poincaré embeddings of a hierarchy (Nickel & Kiela 2017; the experiment of
 * Bécigneul & Ganea 2019; spec papers.md part 2 §4a, §4e, §4f).
 *
 * Each node of a closure graph (wordnet.h) gets a point of the ball 𝔹^dim (one row of an
 * (n, dim) float buffer). For an edge u → v (v a hypernym of u) and K sampled negatives v'_k
 * (nodes that are neither u nor a graph neighbour of u in either direction), the loss is the
 * cross-entropy over logits −d:
 *   ℓ(u, v) = d(u, v) + log(e^{−d(u,v)} + Σ_k e^{−d(u,v'_k)}),
 * reported per positive edge. d is the Poincaré distance, or the squared Euclidean distance for
 * the Euclidean baseline (manifold ROPT_EUCLID).
 *
 * Training lives in src/agents/poincare_train.h (envs trains nothing); this file is the task:
 * the graph's adjacency, negative sampling, the loss and its gradient, and the evaluation. It
 * uses only the inline metric of optim/poincare.h, so src/envs does not link the optim library.
 *
 * Evaluation (§4f, reconstruction on the training edges, directed adjacency u → hypernyms):
 *   rank(u, v) = 1 + #{w ∉ N⁺(u), w ≠ u : d(u, w) < d(u, v)}, mean rank over all edges;
 *   MAP = mean over u with N⁺(u) ≠ ∅ of the average precision of N⁺(u) among all w ≠ u sorted by
 *   d(u, ·), ties counted as sklearn's average_precision_score counts them.
 *
 * Nullable: every CoreErr *err.
 */
#ifndef CEMRL_ENVS_POINCARE_TASK_H
#define CEMRL_ENVS_POINCARE_TASK_H

#include <stdint.h>

#include "core/err.h"
#include "core/rng.h"
#include "envs/wordnet.h"
#include "optim/ropt.h"   /* the RoptManifold constants only (no link to optim) */

#define POINCARE_TASK_MAX_DIM 256   /* embedding dimension at most */
#define POINCARE_TASK_MAX_NEG 255   /* negatives per edge at most */

/* The graph in the forms training needs; immutable after create, shareable across threads. */
typedef struct {
  const WordnetGraph *g;   /* borrowed; must outlive the task */
  int n, m;                /* nodes, edges */
  int *out_start, *out;    /* (n + 1), (m): N⁺(u), sorted */
  int *nb_start, *nb;      /* (n + 1), (2m): neighbours in either direction, sorted */
  double *deg_cdf;         /* (n) cumulative degree^0.75 (burn-in negatives), last = 1 */
  int *n_allowed;          /* (n) how many valid negatives each node has */
} PoincareTask;

/* Build the task of graph g (borrowed). NULL with err if g has no edges, or on no memory. */
PoincareTask *poincare_task_create(const WordnetGraph *g, CoreErr *err);

/* Free (NULL is a no-op). */
void poincare_task_free(PoincareTask *t);

/* 1 if w is u itself or a neighbour of u (in either direction): never a negative for u. */
int poincare_task_excluded(const PoincareTask *t, int u, int w);

/* Draw k negatives for u into neg (k): uniform over nodes (by_degree 0) or ∝ degree^0.75
 * (by_degree 1), redrawing excluded nodes. A node with no valid negative gets -1s. */
void poincare_task_negatives(const PoincareTask *t, CoreRng *rng, int u, int k, int by_degree,
                             int *neg);

/* The candidates of edge (u, v) into cand (k + 1): v first, then the valid ones of k negatives
 * drawn as poincare_task_negatives does; returns their number (1 + k unless u has none). */
int poincare_task_candidates(const PoincareTask *t, CoreRng *rng, int u, int v, int k,
                             int by_degree, int *cand);

/* Loss ℓ(u, cand[0]) with negatives cand[1..nc) on embedding emb (n, dim); when grad (n, dim) is
 * not NULL adds scale·∂ℓ/∂emb into the rows u and cand[*] (Euclidean gradients). manifold picks
 * the distance (ROPT_BALL Poincaré, ROPT_EUCLID squared Euclidean). Allocates nothing. */
double poincare_task_edge_loss(const float *emb, int dim, int manifold, int u, const int *cand,
                               int nc, float *grad, double scale);

/* Mean loss over every edge with k negatives each drawn from core_rng_stream(seed,
 * CORE_RNG_DATA, 1) (uniform): the fitness objective (fitness = −loss) of an embedding. */
double poincare_task_loss(const PoincareTask *t, const float *emb, int dim, int manifold, int k,
                          uint64_t seed);

/* Reconstruction figures. */
typedef struct {
  double mean_rank;        /* mean over evaluated edges of rank(u, v) (1 is perfect) */
  double map;              /* mean average precision over evaluated sources */
  int n_sources;           /* sources evaluated */
  long n_pairs;            /* edges evaluated */
} PoincareEval;

/* Evaluate emb (n, dim) on the sources u with N⁺(u) ≠ ∅ whose rank among them is a multiple of
 * stride (1: all; 100: every 100th, for the noun closure). Returns 0 or CORE_ERR_NOMEM. */
int poincare_task_eval(const PoincareTask *t, const float *emb, int dim, int manifold, int stride,
                       PoincareEval *out, CoreErr *err);

#endif
