/* poincare_task.c — the Poincaré embedding task: loss, negatives, training epochs, evaluation. */
#include "envs/poincare_task.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "optim/poincare.h"

/* Rejection draws before a negative is found by a scan instead (only a node whose neighbours
 * cover almost the whole graph needs it). */
#define NEG_MAX_TRIES 64

/* ---------------------------------------------------------------- task */

void poincare_task_free(PoincareTask *t) {
  if (!t) return;
  core_free(t->out_start);
  core_free(t->out);
  core_free(t->nb_start);
  core_free(t->nb);
  core_free(t->deg_cdf);
  core_free(t->n_allowed);
  core_free(t);
}


static int cmp_int_(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}


/* Sort each CSR row and drop duplicates in place; start is rewritten. */
static void csr_sort_unique_(int *start, int *lst, int n) {
  int w = 0;
  for (int i = 0; i < n; i++) {
    int b = start[i], e = start[i + 1];
    qsort(lst + b, (size_t)(e - b), sizeof(int), cmp_int_);
    start[i] = w;
    for (int k = b; k < e; k++)
      if (k == b || lst[k] != lst[k - 1]) lst[w++] = lst[k];
  }
  start[n] = w;
}


PoincareTask *poincare_task_create(const WordnetGraph *g, CoreErr *err) {
  CORE_ASSERT(g);
  if (g->n_edges < 1 || g->n_nodes < 2) {
    core_err_set(err, CORE_ERR_INVALID, "poincare task: the graph has %d nodes and %d edges (an "
                 "embedding needs at least 2 nodes and 1 edge)", g->n_nodes, g->n_edges);
    return NULL;
  }
  int n = g->n_nodes, m = g->n_edges;
  PoincareTask *t = core_calloc(1, sizeof *t);
  if (t) {
    t->g = g;
    t->n = n;
    t->m = m;
    t->out_start = core_calloc((size_t)n + 1, sizeof(int));
    t->out = core_malloc(sizeof(int) * (size_t)m);
    t->nb_start = core_calloc((size_t)n + 1, sizeof(int));
    t->nb = core_malloc(sizeof(int) * 2 * (size_t)m);
    t->deg_cdf = core_malloc(sizeof(double) * (size_t)n);
    t->n_allowed = core_malloc(sizeof(int) * (size_t)n);
  }
  int *fill = core_calloc((size_t)n, sizeof(int));
  if (!t || !t->out_start || !t->out || !t->nb_start || !t->nb || !t->deg_cdf || !t->n_allowed ||
      !fill) {
    core_free(fill);
    poincare_task_free(t);
    core_err_set(err, CORE_ERR_NOMEM, "poincare task: out of memory for %d nodes, %d edges", n, m);
    return NULL;
  }
  /* CSR of N⁺ and of neighbours either way; degrees for the burn-in sampler */
  for (int k = 0; k < m; k++) {
    t->out_start[g->src[k] + 1]++;
    t->nb_start[g->src[k] + 1]++;
    t->nb_start[g->dst[k] + 1]++;
  }
  for (int i = 0; i < n; i++) {
    t->out_start[i + 1] += t->out_start[i];
    t->nb_start[i + 1] += t->nb_start[i];
  }
  double total = 0.0;
  for (int i = 0; i < n; i++) {
    total += pow((double)(t->nb_start[i + 1] - t->nb_start[i]), 0.75);
    t->deg_cdf[i] = total;
  }
  for (int i = 0; i < n; i++) t->deg_cdf[i] /= total;
  t->deg_cdf[n - 1] = 1.0;
  for (int k = 0; k < m; k++) t->out[t->out_start[g->src[k]] + fill[g->src[k]]++] = g->dst[k];
  memset(fill, 0, sizeof(int) * (size_t)n);
  for (int k = 0; k < m; k++) {
    int u = g->src[k], v = g->dst[k];
    t->nb[t->nb_start[u] + fill[u]++] = v;
    t->nb[t->nb_start[v] + fill[v]++] = u;
  }
  core_free(fill);
  csr_sort_unique_(t->out_start, t->out, n);
  csr_sort_unique_(t->nb_start, t->nb, n);
  for (int i = 0; i < n; i++) t->n_allowed[i] = n - 1 - (t->nb_start[i + 1] - t->nb_start[i]);
  return t;
}


int poincare_task_excluded(const PoincareTask *t, int u, int w) {
  if (u == w) return 1;
  const int *lst = t->nb + t->nb_start[u];
  int lo = 0, hi = t->nb_start[u + 1] - t->nb_start[u] - 1;
  while (lo <= hi) {
    int mid = lo + (hi - lo) / 2;
    if (lst[mid] == w) return 1;
    if (lst[mid] < w) lo = mid + 1;
    else hi = mid - 1;
  }
  return 0;
}


/* One draw from the degree^0.75 distribution. */
static int draw_by_degree_(const PoincareTask *t, CoreRng *rng) {
  double r = core_rng_uniform(rng);
  int lo = 0, hi = t->n - 1;
  while (lo < hi) {
    int mid = lo + (hi - lo) / 2;
    if (t->deg_cdf[mid] > r) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}


void poincare_task_negatives(const PoincareTask *t, CoreRng *rng, int u, int k, int by_degree,
                             int *neg) {
  for (int j = 0; j < k; j++) {
    if (t->n_allowed[u] <= 0) {
      neg[j] = -1;
      continue;
    }
    int w = -1;
    for (int tries = 0; tries < NEG_MAX_TRIES && w < 0; tries++) {
      int c = by_degree ? draw_by_degree_(t, rng) : (int)core_rng_below(rng, (uint64_t)t->n);
      if (!poincare_task_excluded(t, u, c)) w = c;
    }
    if (w < 0) {
      /* the next allowed node after a uniform start: valid, if slightly less uniform */
      int c = (int)core_rng_below(rng, (uint64_t)t->n);
      while (poincare_task_excluded(t, u, c)) c = (c + 1) % t->n;
      w = c;
    }
    neg[j] = w;
  }
}


/* Distance between rows a and b under the manifold's distance. */
static double row_dist_(const double *a, const double *b, int dim, int manifold) {
  if (manifold == ROPT_BALL) return poincare_dist(a, b, dim);
  double s = 0.0;
  for (int i = 0; i < dim; i++) s += (a[i] - b[i]) * (a[i] - b[i]);
  return s;
}


/* g = ∂d(a, b)/∂a. */
static void row_dist_grad_(double *g, const double *a, const double *b, int dim, int manifold) {
  if (manifold == ROPT_BALL) {
    poincare_dist_grad(g, a, b, dim);
    return;
  }
  for (int i = 0; i < dim; i++) g[i] = 2.0 * (a[i] - b[i]);
}


static void load_row_(double *x, const float *emb, int row, int dim) {
  const float *r = emb + (size_t)row * dim;
  for (int i = 0; i < dim; i++) x[i] = r[i];
}


double poincare_task_edge_loss(const float *emb, int dim, int manifold, int u, const int *cand,
                               int nc, float *grad, double scale) {
  CORE_ASSERT(dim >= 1 && dim <= POINCARE_TASK_MAX_DIM && nc >= 1 &&
              nc <= POINCARE_TASK_MAX_NEG + 1);
  double ud[POINCARE_TASK_MAX_DIM], cd[POINCARE_TASK_MAX_DIM], gu[POINCARE_TASK_MAX_DIM],
      gc[POINCARE_TASK_MAX_DIM], d[POINCARE_TASK_MAX_NEG + 1];
  load_row_(ud, emb, u, dim);
  double dmin = INFINITY;
  for (int j = 0; j < nc; j++) {
    load_row_(cd, emb, cand[j], dim);
    d[j] = row_dist_(ud, cd, dim, manifold);
    if (d[j] < dmin) dmin = d[j];
  }
  /* log Σ_j e^{−d_j}, shifted by the smallest distance */
  double s = 0.0;
  for (int j = 0; j < nc; j++) s += exp(dmin - d[j]);
  double lse = -dmin + log(s);
  double loss = d[0] + lse;
  if (!grad) return loss;

  /* ∂ℓ/∂d_j = [j = 0] − p_j with p = softmax(−d) */
  for (int i = 0; i < dim; i++) gu[i] = 0.0;
  for (int j = 0; j < nc; j++) {
    double w = ((j == 0) - exp(-d[j] - lse)) * scale;
    if (w == 0.0) continue;
    load_row_(cd, emb, cand[j], dim);
    row_dist_grad_(gc, ud, cd, dim, manifold);
    for (int i = 0; i < dim; i++) gu[i] += w * gc[i];
    row_dist_grad_(gc, cd, ud, dim, manifold);
    float *gr = grad + (size_t)cand[j] * dim;
    for (int i = 0; i < dim; i++) gr[i] += (float)(w * gc[i]);
  }
  float *gr = grad + (size_t)u * dim;
  for (int i = 0; i < dim; i++) gr[i] += (float)gu[i];
  return loss;
}


int poincare_task_candidates(const PoincareTask *t, CoreRng *rng, int u, int v, int k,
                             int by_degree, int *cand) {
  cand[0] = v;
  poincare_task_negatives(t, rng, u, k, by_degree, cand + 1);
  int nc = 1;
  for (int j = 1; j <= k; j++)
    if (cand[j] >= 0) cand[nc++] = cand[j];
  return nc;
}


double poincare_task_loss(const PoincareTask *t, const float *emb, int dim, int manifold, int k,
                          uint64_t seed) {
  CORE_ASSERT(k >= 0 && k <= POINCARE_TASK_MAX_NEG);
  CoreRng rng;
  core_rng_stream(&rng, seed, CORE_RNG_DATA, 1);
  int cand[POINCARE_TASK_MAX_NEG + 1];
  double sum = 0.0;
  for (int e = 0; e < t->m; e++) {
    int nc = poincare_task_candidates(t, &rng, t->g->src[e], t->g->dst[e], k, 0, cand);
    sum += poincare_task_edge_loss(emb, dim, manifold, t->g->src[e], cand, nc, NULL, 0.0);
  }
  return sum / t->m;
}


int poincare_task_eval(const PoincareTask *t, const float *emb, int dim, int manifold, int stride,
                       PoincareEval *out, CoreErr *err) {
  CORE_ASSERT(t && emb && out && stride >= 1 && dim >= 1 && dim <= POINCARE_TASK_MAX_DIM);
  int n = t->n, max_out = 0;
  for (int u = 0; u < n; u++) {
    int np = t->out_start[u + 1] - t->out_start[u];
    if (np > max_out) max_out = np;
  }
  double *dist = core_malloc(sizeof(double) * ((size_t)n + 2 * (size_t)max_out));
  long *cnt = core_malloc(sizeof(long) * 4 * ((size_t)max_out + 1));
  if (!dist || !cnt) {
    core_free(dist);
    core_free(cnt);
    return core_err_set(err, CORE_ERR_NOMEM, "poincare eval: out of memory");
  }
  double *dpos = dist + n;                /* (max_out) d(u, v) of each positive */
  long *less_all = cnt, *le_all = cnt + max_out, *less_pos = cnt + 2 * max_out,
       *le_pos = cnt + 3 * max_out;
  double ud[POINCARE_TASK_MAX_DIM], wd[POINCARE_TASK_MAX_DIM];
  double rank_sum = 0.0, ap_sum = 0.0;
  long pairs = 0;
  int sources = 0, k_src = 0;
  for (int u = 0; u < n; u++) {
    const int *pos = t->out + t->out_start[u];
    int np = t->out_start[u + 1] - t->out_start[u];
    if (np == 0) continue;
    if (k_src++ % stride != 0) continue;
    load_row_(ud, emb, u, dim);
    for (int w = 0; w < n; w++) {
      load_row_(wd, emb, w, dim);
      dist[w] = row_dist_(ud, wd, dim, manifold);
    }
    for (int j = 0; j < np; j++) {
      dpos[j] = dist[pos[j]];
      less_all[j] = le_all[j] = less_pos[j] = le_pos[j] = 0;
    }
    /* one pass over w ≠ u counts, for every positive, the nodes closer than it (and as close) */
    for (int w = 0; w < n; w++) {
      if (w == u) continue;
      double dw = dist[w];
      for (int j = 0; j < np; j++) {
        less_all[j] += dw < dpos[j];
        le_all[j] += dw <= dpos[j];
      }
    }
    for (int j = 0; j < np; j++)
      for (int q = 0; q < np; q++) {
        less_pos[j] += dpos[q] < dpos[j];
        le_pos[j] += dpos[q] <= dpos[j];
      }
    double ap = 0.0;
    for (int j = 0; j < np; j++) {
      rank_sum += 1.0 + (double)(less_all[j] - less_pos[j]);
      ap += (double)le_pos[j] / (double)le_all[j];
    }
    ap_sum += ap / np;
    pairs += np;
    sources++;
  }
  core_free(dist);
  core_free(cnt);
  out->mean_rank = pairs ? rank_sum / (double)pairs : NAN;
  out->map = sources ? ap_sum / sources : NAN;
  out->n_sources = sources;
  out->n_pairs = pairs;
  return CORE_OK;
}
