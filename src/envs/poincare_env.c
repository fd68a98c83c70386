/* poincare_env.c — PoincareMammal-v0: place every mammal node, return −(embedding loss). */
#include "envs/poincare_env.h"

#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/rng.h"
#include "envs/poincare_task.h"
#include "optim/poincare.h"

typedef struct {
  Env base;              /* first: an Env* is a PoincareEnv* */
  WordnetGraph *g;
  PoincareTask *task;
  int n, m, k, dim;      /* nodes, edges, negatives, ball dimension */
  float *emb;            /* (n, dim) points placed so far */
  int *perm;             /* (n) node placed at each step */
  int *pos;              /* (n) step at which each node is placed */
  int *cand;             /* (m, k + 1) each edge's hypernym and negatives */
  int *nc;               /* (m) candidates in use per edge */
  int *last;             /* (m) step that places an edge's last node */
  int *bucket_start;     /* (n + 1) the edges completed at step s are */
  int *bucket_edges;     /* (m)     bucket_edges[bucket_start[s] .. bucket_start[s + 1]) */
  int *fill;             /* (n) counting-sort cursors */
  int t;                 /* nodes placed */
  float *low, *high;     /* (dim) action bounds */
} PoincareEnv;


/* The one-hot code of the node shown at step t (the last node once all are placed). */
static void write_obs_(const PoincareEnv *p, float *obs) {
  memset(obs, 0, sizeof(float) * (size_t)p->n);
  obs[p->perm[p->t < p->n ? p->t : p->n - 1]] = 1.0f;
}


static void penv_reset_(Env *e, uint64_t seed, float *obs) {
  PoincareEnv *p = (PoincareEnv *)e;
  const PoincareTask *t = p->task;
  /* the placing order */
  CoreRng rng;
  core_rng_stream(&rng, seed, CORE_RNG_ENV, 0);
  for (int i = 0; i < p->n; i++) p->perm[i] = i;
  for (int i = p->n - 1; i > 0; i--) {
    int j = (int)core_rng_below(&rng, (uint64_t)i + 1);
    int tmp = p->perm[i];
    p->perm[i] = p->perm[j];
    p->perm[j] = tmp;
  }
  for (int i = 0; i < p->n; i++) p->pos[p->perm[i]] = i;
  /* negatives, drawn as poincare_task_loss draws them for this seed */
  CoreRng neg;
  core_rng_stream(&neg, seed, CORE_RNG_DATA, 1);
  for (int k = 0; k < p->m; k++)
    p->nc[k] = poincare_task_candidates(t, &neg, t->g->src[k], t->g->dst[k], p->k, 0,
                                        p->cand + (size_t)k * (p->k + 1));
  /* bucket the edges by the step that places their last node (a counting sort) */
  memset(p->bucket_start, 0, sizeof(int) * ((size_t)p->n + 1));
  for (int k = 0; k < p->m; k++) {
    const int *c = p->cand + (size_t)k * (p->k + 1);
    int last = p->pos[t->g->src[k]];
    for (int j = 0; j < p->nc[k]; j++)
      if (p->pos[c[j]] > last) last = p->pos[c[j]];
    p->last[k] = last;
    p->bucket_start[last + 1]++;
  }
  for (int s = 0; s < p->n; s++) p->bucket_start[s + 1] += p->bucket_start[s];
  memcpy(p->fill, p->bucket_start, sizeof(int) * (size_t)p->n);
  for (int k = 0; k < p->m; k++) p->bucket_edges[p->fill[p->last[k]]++] = k;
  p->t = 0;
  write_obs_(p, obs);
}


static void penv_step_(Env *e, const float *act, float *obs, EnvStep *out) {
  PoincareEnv *p = (PoincareEnv *)e;
  CORE_ASSERT(p->t < p->n);
  /* the node's point: the clipped action, projected into the ball */
  double x[POINCARE_ENV_DIM];
  for (int i = 0; i < p->dim; i++) {
    double a = act[i];
    x[i] = a < -1.0 ? -1.0 : a > 1.0 ? 1.0 : a;
  }
  poincare_project(x, p->dim, POINCARE_PROJ_EPS);
  float *row = p->emb + (size_t)p->perm[p->t] * p->dim;
  for (int i = 0; i < p->dim; i++) row[i] = (float)x[i];
  /* charge the edges this placement completes */
  double sum = 0.0;
  for (int b = p->bucket_start[p->t]; b < p->bucket_start[p->t + 1]; b++) {
    int k = p->bucket_edges[b];
    sum += poincare_task_edge_loss(p->emb, p->dim, ROPT_BALL, p->task->g->src[k],
                                   p->cand + (size_t)k * (p->k + 1), p->nc[k], NULL, 0.0);
  }
  p->t++;
  out->reward = -sum / p->m;
  out->terminated = p->t == p->n;
  out->status = ENV_OK;
  write_obs_(p, obs);
}


static void penv_describe_(const Env *e, FILE *f) {
  const PoincareEnv *p = (const PoincareEnv *)e;
  fprintf(f, "graph          WordNet mammal closure (N&K filter): %d nodes, %d edges\n", p->n,
          p->m);
  fprintf(f, "observation    one-hot code of the node to place (%d)\n", p->n);
  fprintf(f, "action         its point in the %d-D Poincare ball: clip to [-1, 1], project to "
          "norm <= 1 - %g\n", p->dim, POINCARE_PROJ_EPS);
  fprintf(f, "episode        every node once, order drawn from the seed; terminates after %d "
          "steps\n", p->n);
  fprintf(f, "reward         -(1/m) * sum of the N&K losses of the edges a step completes "
          "(%d uniform negatives per edge, drawn from the seed)\n", p->k);
  fprintf(f, "return         -(mean loss per edge); a linear actor on the one-hot input is an "
          "embedding table\n");
  fprintf(f, "data           %s/data.noun, index.noun (Debian's wordnet-base)\n",
          wordnet_default_dir());
}


static void penv_free_(Env *e) {
  PoincareEnv *p = (PoincareEnv *)e;
  if (!p) return;
  poincare_task_free(p->task);
  wordnet_graph_free(p->g);
  core_free(p->emb);
  core_free(p->perm);
  core_free(p->pos);
  core_free(p->cand);
  core_free(p->nc);
  core_free(p->last);
  core_free(p->bucket_start);
  core_free(p->bucket_edges);
  core_free(p->fill);
  core_free(p->low);
  core_free(p->high);
  core_free(p);
}


static const EnvVt penv_vt = {
    .reset = penv_reset_,
    .step = penv_step_,
    .free = penv_free_,
    .describe = penv_describe_,
};


Env *poincare_env_make_mammal(CoreErr *err) {
  PoincareEnv *p = core_calloc(1, sizeof *p);
  if (!p) {
    core_err_set(err, CORE_ERR_NOMEM, "PoincareMammal-v0: out of memory");
    return NULL;
  }
  p->g = wordnet_graph_load(NULL, "mammals", err);
  if (!p->g) {
    core_err_prefix(err, "PoincareMammal-v0: ");
    penv_free_(&p->base);
    return NULL;
  }
  p->task = poincare_task_create(p->g, err);
  if (!p->task) {
    penv_free_(&p->base);
    return NULL;
  }
  int n = p->g->n_nodes, m = p->g->n_edges, k = POINCARE_ENV_NEGATIVES, dim = POINCARE_ENV_DIM;
  p->n = n;
  p->m = m;
  p->k = k;
  p->dim = dim;
  p->emb = core_calloc((size_t)n * dim, sizeof(float));
  p->perm = core_malloc(sizeof(int) * (size_t)n);
  p->pos = core_malloc(sizeof(int) * (size_t)n);
  p->cand = core_malloc(sizeof(int) * (size_t)m * (size_t)(k + 1));
  p->nc = core_malloc(sizeof(int) * (size_t)m);
  p->last = core_malloc(sizeof(int) * (size_t)m);
  p->bucket_start = core_malloc(sizeof(int) * ((size_t)n + 1));
  p->bucket_edges = core_malloc(sizeof(int) * (size_t)m);
  p->fill = core_malloc(sizeof(int) * (size_t)n);
  p->low = core_malloc(sizeof(float) * (size_t)dim);
  p->high = core_malloc(sizeof(float) * (size_t)dim);
  if (!p->emb || !p->perm || !p->pos || !p->cand || !p->nc || !p->last || !p->bucket_start ||
      !p->bucket_edges || !p->fill || !p->low || !p->high) {
    penv_free_(&p->base);
    core_err_set(err, CORE_ERR_NOMEM, "PoincareMammal-v0: out of memory");
    return NULL;
  }
  for (int i = 0; i < dim; i++) {
    p->low[i] = -1.0f;
    p->high[i] = 1.0f;
  }
  for (int i = 0; i < n; i++) p->perm[i] = i;
  p->base = (Env){.vt = &penv_vt,
                  .name = "PoincareMammal-v0",
                  .obs_dim = n,
                  .act_dim = dim,
                  .act_low = p->low,
                  .act_high = p->high,
                  .max_episode_steps = n,
                  .dt = 0.0,
                  .needs_reset = 1};
  return &p->base;
}
