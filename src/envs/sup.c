/* sup.c — the supervised-task interface: storage, batches, losses, accuracy, evaluation. */
#include "envs/sup.h"

#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "envs/sup_internal.h"

const char *const sup_split_names[] = {"train", "test", NULL};
const char *const sup_loss_names[] = {"mse", "xent", "logistic", NULL};
const char *const sup_task_names[] = {"fashion-mnist", "du", "ji-telgarsky", "regress", NULL};

int sup_task_kind_from_name(const char *name) {
  if (!name) return -1;
  for (int k = 0; k < SUP_NTASK; k++)
    if (!strcmp(sup_task_names[k], name)) return k;
  return -1;
}

SupTaskSpec sup_task_spec_default(int kind) {
  SupTaskSpec s;
  memset(&s, 0, sizeof s);
  s.kind = kind;
  switch (kind) {
    case SUP_TASK_FASHION_MNIST: s.standardize = 1; break;
    case SUP_TASK_DU: s.n_train = 200; s.dim = 200; break;
    case SUP_TASK_JI_TELGARSKY: s.n_train = 100; s.dim = 10; s.margin = 0.1; break;
    case SUP_TASK_REGRESS: s.n_train = 10000; s.n_test = 2000; s.dim = 4; break;
    default: break;
  }
  return s;
}

/* ---------------------------------------------------------------- storage */

/* The storage block: per split inputs then targets, then u_bar; 64-byte aligned pieces. */
typedef struct {
  size_t x_off[SUP_NSPLIT], y_off[SUP_NSPLIT], u_off, total;
} SupLayout;

static int layout_add_(size_t *cursor, size_t count, size_t elem, size_t *off) {
  size_t bytes;
  if (core_mul_size(&bytes, count, elem)) return -1;
  *off = *cursor;
  bytes = (bytes + 63) & ~(size_t)63;
  if (*cursor + bytes < *cursor) return -1;
  *cursor += bytes;
  return 0;
}

SupTask *sup_task_alloc_(const SupTaskSpec *spec, int in_dim, int y_dim, int64_t n_train,
                         int64_t n_test, int bytes, int with_u_bar, CoreErr *err) {
  CORE_ASSERT(in_dim > 0 && y_dim > 0 && n_train >= 0 && n_test >= 0);
  const int64_t n[SUP_NSPLIT] = {n_train, n_test};
  SupLayout L = {{0}, {0}, 0, 0};
  size_t cur = 0;
  int bad = 0;
  for (int s = 0; s < SUP_NSPLIT; s++) {
    size_t cells;
    bad |= core_mul_size(&cells, (size_t)n[s], (size_t)in_dim);
    if (!bad) bad |= layout_add_(&cur, cells, bytes ? 1 : sizeof(float), &L.x_off[s]);
    bad |= core_mul_size(&cells, (size_t)n[s], (size_t)y_dim);
    if (!bad) bad |= layout_add_(&cur, cells, sizeof(float), &L.y_off[s]);
  }
  if (!bad) bad |= layout_add_(&cur, with_u_bar ? (size_t)in_dim : 0, sizeof(double), &L.u_off);
  if (bad) {
    core_err_set(err, CORE_ERR_NOMEM, "task %s: data size overflows", sup_task_names[spec->kind]);
    return NULL;
  }
  SupTask *t = core_calloc(1, sizeof *t);
  char *mem = t ? core_malloc(cur ? cur : 1) : NULL;
  if (!mem) {
    core_free(t);
    core_err_set(err, CORE_ERR_NOMEM, "task %s: out of memory for %zu bytes of data",
                 sup_task_names[spec->kind], cur);
    return NULL;
  }
  t->kind = spec->kind;
  t->name = sup_task_names[spec->kind];
  t->in_dim = in_dim;
  t->y_dim = y_dim;
  t->spec = *spec;
  t->mem_ = mem;
  t->x_scale = 1.0f;
  for (int s = 0; s < SUP_NSPLIT; s++) {
    t->n[s] = n[s];
    if (bytes) t->xb[s] = (const uint8_t *)(mem + L.x_off[s]);
    else t->x[s] = (const float *)(mem + L.x_off[s]);
    t->y[s] = (const float *)(mem + L.y_off[s]);
  }
  if (with_u_bar) t->u_bar = (const double *)(mem + L.u_off);
  return t;
}

float *sup_x_(SupTask *t, int split) { return (float *)t->x[split]; }
uint8_t *sup_xb_(SupTask *t, int split) { return (uint8_t *)t->xb[split]; }
float *sup_y_(SupTask *t, int split) { return (float *)t->y[split]; }
double *sup_u_bar_(SupTask *t) { return (double *)t->u_bar; }

SupTask *sup_task_create(const SupTaskSpec *spec, CoreErr *err) {
  if (!spec || spec->kind < 0 || spec->kind >= SUP_NTASK) {
    core_err_set(err, CORE_ERR_INVALID, "supervised task: unknown kind %d (known: fashion-mnist, "
                 "du, ji-telgarsky, regress)", spec ? spec->kind : -1);
    return NULL;
  }
  if (spec->n_train < 0 || spec->n_test < 0) {
    core_err_set(err, CORE_ERR_INVALID, "task %s: n_train and n_test must be >= 0 (got %lld, %lld)",
                 sup_task_names[spec->kind], (long long)spec->n_train, (long long)spec->n_test);
    return NULL;
  }
  switch (spec->kind) {
    case SUP_TASK_FASHION_MNIST: return sup_fashion_create_(spec, err);
    case SUP_TASK_DU: return sup_du_create_(spec, err);
    case SUP_TASK_JI_TELGARSKY: return sup_ji_create_(spec, err);
    default: return sup_regress_create_(spec, err);
  }
}

void sup_task_free(SupTask *t) {
  if (!t) return;
  core_free(t->mem_);
  core_free(t);
}

/* ---------------------------------------------------------------- batches */

static void copy_row_(const SupTask *t, int split, int64_t i, float *x, float *y) {
  CORE_ASSERT(i >= 0 && i < t->n[split]);
  const size_t d = (size_t)t->in_dim;
  if (t->x[split]) {
    memcpy(x, t->x[split] + (size_t)i * d, d * sizeof(float));
  } else {
    const uint8_t *b = t->xb[split] + (size_t)i * d;
    for (size_t j = 0; j < d; j++) x[j] = ((float)b[j] - t->x_shift) * t->x_scale;
  }
  if (y) memcpy(y, t->y[split] + (size_t)i * t->y_dim, (size_t)t->y_dim * sizeof(float));
}

void sup_task_batch(const SupTask *t, int split, const int64_t *idx, int n, float *x, float *y) {
  CORE_ASSERT(split >= 0 && split < SUP_NSPLIT && n >= 0);
  for (int r = 0; r < n; r++)
    copy_row_(t, split, idx[r], x + (size_t)r * t->in_dim, y ? y + (size_t)r * t->y_dim : NULL);
}

void sup_task_range(const SupTask *t, int split, int64_t i0, int n, float *x, float *y) {
  CORE_ASSERT(split >= 0 && split < SUP_NSPLIT && n >= 0 && i0 >= 0 && i0 + n <= t->n[split]);
  for (int r = 0; r < n; r++)
    copy_row_(t, split, i0 + r, x + (size_t)r * t->in_dim, y ? y + (size_t)r * t->y_dim : NULL);
}

/* ---------------------------------------------------------------- losses */

static int label_of_(const SupTask *t, float y) {
  int c = (int)y;
  CORE_ASSERT((float)c == y && c >= 0 && c < t->out_dim);
  return c;
}

double sup_task_loss(const SupTask *t, const float *pred, const float *y, int n, float *dpred) {
  CORE_ASSERT(n > 0);
  const int D = t->out_dim;
  double total = 0.0;
  const double inv_n = 1.0 / n;
  for (int r = 0; r < n; r++) {
    const float *u = pred + (size_t)r * D;
    const float *yr = y + (size_t)r * t->y_dim;
    float *du = dpred ? dpred + (size_t)r * D : NULL;
    switch (t->loss) {
      case SUP_LOSS_MSE: {
        double s = 0.0;
        for (int j = 0; j < D; j++) {
          double e = (double)u[j] - yr[j];
          s += e * e;
          if (du) du[j] = (float)(2.0 * e / D * inv_n);
        }
        total += s / D;
        break;
      }
      case SUP_LOSS_XENT: {
        int c = label_of_(t, yr[0]);
        double mx = u[0];
        for (int j = 1; j < D; j++) mx = u[j] > mx ? u[j] : mx;
        double z = 0.0;
        for (int j = 0; j < D; j++) z += exp((double)u[j] - mx);
        double lse = mx + log(z), uc = u[c];
        total += lse - uc;
        if (du)
          for (int j = 0; j < D; j++)
            du[j] = (float)((exp((double)u[j] - lse) - (j == c)) * inv_n);
        break;
      }
      default: { /* logistic: softplus(−s), s = y·u, computed without overflow */
        double s = (double)yr[0] * u[0];
        total += s > 0 ? log1p(exp(-s)) : -s + log1p(exp(s));
        if (du) du[0] = (float)(-(double)yr[0] / (1.0 + exp(s)) * inv_n);
        break;
      }
    }
  }
  return total * inv_n;
}

int sup_task_has_accuracy(const SupTask *t) { return t->loss != SUP_LOSS_MSE; }

int sup_task_correct(const SupTask *t, const float *pred, const float *y, int n) {
  if (!sup_task_has_accuracy(t)) return -1;
  int ok = 0;
  for (int r = 0; r < n; r++) {
    const float *u = pred + (size_t)r * t->out_dim;
    const float *yr = y + (size_t)r * t->y_dim;
    if (t->loss == SUP_LOSS_XENT) {
      int best = 0;
      for (int j = 1; j < t->out_dim; j++)
        if (u[j] > u[best]) best = j;
      ok += best == label_of_(t, yr[0]);
    } else {
      ok += (double)yr[0] * u[0] > 0;
    }
  }
  return ok;
}

void sup_task_evaluate(const SupTask *t, NnMlp *net, int split, int64_t max_n, float *x, float *y,
                       SupEval *out) {
  CORE_ASSERT(net->in_dim == t->in_dim && net->out_dim == t->out_dim);
  int64_t n = t->n[split];
  if (max_n > 0 && max_n < n) n = max_n;
  double loss = 0.0;
  int64_t correct = 0;
  for (int64_t i0 = 0; i0 < n; i0 += net->max_batch) {
    int b = (int)(n - i0 < net->max_batch ? n - i0 : net->max_batch);
    sup_task_range(t, split, i0, b, x, y);
    const float *u = nn_mlp_forward(net, x, b);
    loss += sup_task_loss(t, u, y, b, NULL) * b;
    if (sup_task_has_accuracy(t)) correct += sup_task_correct(t, u, y, b);
  }
  out->n = n;
  out->loss = n ? loss / (double)n : NAN;
  out->acc = n && sup_task_has_accuracy(t) ? (double)correct / (double)n : NAN;
}

double sup_task_fitness(const SupTask *t, NnMlp *net, float *params, const float *x,
                        const float *y, int n) {
  CORE_ASSERT(n > 0 && n <= net->max_batch);
  nn_mlp_bind_params(net, params);
  const float *u = nn_mlp_forward(net, x, n);
  double loss = sup_task_loss(t, u, y, n, NULL);
  nn_mlp_bind_params(net, NULL);
  return -loss;
}

void sup_perm_shuffle(int64_t *perm, int64_t n, CoreRng *rng) {
  for (int64_t i = 0; i < n; i++) perm[i] = i;
  for (int64_t i = n - 1; i > 0; i--) {
    int64_t j = (int64_t)core_rng_below(rng, (uint64_t)i + 1);
    int64_t tmp = perm[i];
    perm[i] = perm[j];
    perm[j] = tmp;
  }
}
