/* sup_env.c — the one-step and fitness environments over supervised tasks. */
#include "envs/sup_env.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/rng.h"

typedef struct {
  Env base;                 /* first: an Env* is a SupEnv* */
  const SupTask *task;      /* borrowed, or a cache reference when cached_kind >= 0 */
  int cached_kind;          /* the cache slot to release at free, or -1 */
  int mode;                 /* SupEnvMode */
  int batch;                /* K: examples per episode */
  int t;                    /* examples answered in this episode */
  int64_t *idx;             /* (K) training-example indices of this episode */
  float *x;                 /* (in_dim) the current example's input */
  float *y;                 /* (y_dim) its target */
  float *pred;              /* (out_dim) the clipped action */
  float *low, *high;        /* (out_dim) action bounds */
} SupEnv;

/* ---------------------------------------------------------------- shared tasks */

/* One loaded task per kind for the registered envs: Fashion-MNIST is 55 MB of bytes, and a CEM
 * pool makes one env per worker. The task is read-only, so sharing needs no locking after load. */
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
  SupTask *task;
  int refs;
} cache[SUP_NTASK];

static const SupTask *cache_acquire_(int kind, CoreErr *err) {
  pthread_mutex_lock(&cache_lock);
  if (!cache[kind].task) {
    SupTaskSpec spec = sup_task_spec_default(kind);
    cache[kind].task = sup_task_create(&spec, err);
  }
  const SupTask *t = cache[kind].task;
  if (t) cache[kind].refs++;
  pthread_mutex_unlock(&cache_lock);
  return t;
}

static void cache_release_(int kind) {
  pthread_mutex_lock(&cache_lock);
  CORE_ASSERT(cache[kind].refs > 0);
  if (--cache[kind].refs == 0) {
    sup_task_free(cache[kind].task);
    cache[kind].task = NULL;
  }
  pthread_mutex_unlock(&cache_lock);
}

/* ---------------------------------------------------------------- the environment */

static void load_example_(SupEnv *p, float *obs) {
  sup_task_batch(p->task, SUP_TRAIN, &p->idx[p->t], 1, p->x, p->y);
  memcpy(obs, p->x, sizeof(float) * (size_t)p->task->in_dim);
}

static void sup_reset_(Env *e, uint64_t seed, float *obs) {
  SupEnv *p = (SupEnv *)e;
  CoreRng rng;
  core_rng_stream(&rng, seed, CORE_RNG_ENV, 0);
  const uint64_t n = (uint64_t)p->task->n[SUP_TRAIN];
  for (int k = 0; k < p->batch; k++) p->idx[k] = (int64_t)core_rng_below(&rng, n);
  p->t = 0;
  load_example_(p, obs);
}

static void sup_step_(Env *e, const float *act, float *obs, EnvStep *out) {
  SupEnv *p = (SupEnv *)e;
  const SupTask *t = p->task;
  for (int j = 0; j < t->out_dim; j++) {
    float a = act[j];
    p->pred[j] = a < p->low[j] ? p->low[j] : a > p->high[j] ? p->high[j] : a;
  }
  double loss = sup_task_loss(t, p->pred, p->y, 1, NULL);
  out->reward = -loss / p->batch;
  out->status = ENV_OK;
  p->t++;
  out->terminated = p->t >= p->batch;
  if (out->terminated) memcpy(obs, p->x, sizeof(float) * (size_t)t->in_dim);  /* repeat the last */
  else load_example_(p, obs);
}

static int sup_get_state_(const Env *e, double *state, int cap) {
  const SupEnv *p = (const SupEnv *)e;
  int n = 1 + p->batch;
  if (cap < n) return n;
  state[0] = p->t;
  for (int k = 0; k < p->batch; k++) state[1 + k] = (double)p->idx[k];
  return n;
}

static int sup_set_state_(Env *e, const double *state, int n) {
  SupEnv *p = (SupEnv *)e;
  if (n != 1 + p->batch || state[0] < 0 || state[0] > p->batch) return CORE_ERR_INVALID;
  for (int k = 0; k < p->batch; k++)
    if (state[1 + k] < 0 || state[1 + k] >= (double)p->task->n[SUP_TRAIN]) return CORE_ERR_INVALID;
  p->t = (int)state[0];
  for (int k = 0; k < p->batch; k++) p->idx[k] = (int64_t)state[1 + k];
  /* the current example's target, so a restored episode continues exactly */
  if (p->t < p->batch) sup_task_batch(p->task, SUP_TRAIN, &p->idx[p->t], 1, p->x, p->y);
  return 0;
}

static void sup_describe_(const Env *e, FILE *f) {
  const SupEnv *p = (const SupEnv *)e;
  const SupTask *t = p->task;
  fprintf(f, "task           %s (%s loss), %lld train / %lld test examples\n", t->name,
          sup_loss_names[t->loss], (long long)t->n[SUP_TRAIN], (long long)t->n[SUP_TEST]);
  fprintf(f, "observation    the input x of a random training example (%d values)\n", t->in_dim);
  fprintf(f, "action         the prediction (%d values), clipped to [-%g, %g]\n", t->out_dim,
          t->pred_bound, t->pred_bound);
  if (p->mode == SUP_ENV_STEP) {
    fprintf(f, "reward         -loss(prediction, target)\n");
    fprintf(f, "termination    after 1 step\n");
  } else {
    fprintf(f, "reward         -loss(prediction, target) / %d per step\n", p->batch);
    fprintf(f, "termination    after %d steps (one batch): return = -(mean batch loss)\n",
            p->batch);
  }
  if (t->kind == SUP_TASK_JI_TELGARSKY) fprintf(f, "max_margin     %.6g\n", t->gamma);
}

static void sup_free_(Env *e) {
  SupEnv *p = (SupEnv *)e;
  core_free(p->idx);
  core_free(p->x);
  if (p->cached_kind >= 0) cache_release_(p->cached_kind);
  core_free(p);
}

static const EnvVt sup_vt = {
    .reset = sup_reset_,
    .step = sup_step_,
    .free = sup_free_,
    .get_state = sup_get_state_,
    .set_state = sup_set_state_,
    .describe = sup_describe_,
};

Env *sup_env_create(const SupTask *task, int mode, int batch, CoreErr *err) {
  CORE_ASSERT(task && mode >= 0 && mode < SUP_ENV_NMODE);
  if (mode == SUP_ENV_STEP) batch = 1;
  if (batch < 1 || batch > 1000000 || task->n[SUP_TRAIN] < 1) {
    core_err_set(err, CORE_ERR_INVALID, "supervised env: needs a batch in 1..1000000 and a "
                 "non-empty training split (batch %d, %lld examples)", batch,
                 (long long)task->n[SUP_TRAIN]);
    return NULL;
  }
  SupEnv *p = core_calloc(1, sizeof *p);
  if (p) {
    p->idx = core_malloc(sizeof(int64_t) * (size_t)batch);
    /* one float block: x, y, pred, low, high */
    p->x = core_malloc(sizeof(float) * (size_t)(task->in_dim + task->y_dim + 3 * task->out_dim));
  }
  if (!p || !p->idx || !p->x) {
    if (p) {
      core_free(p->idx);
      core_free(p->x);
    }
    core_free(p);
    core_err_set(err, CORE_ERR_NOMEM, "supervised env: out of memory");
    return NULL;
  }
  p->task = task;
  p->cached_kind = -1;
  p->mode = mode;
  p->batch = batch;
  p->y = p->x + task->in_dim;
  p->pred = p->y + task->y_dim;
  p->low = p->pred + task->out_dim;
  p->high = p->low + task->out_dim;
  for (int j = 0; j < task->out_dim; j++) {
    p->low[j] = -task->pred_bound;
    p->high[j] = task->pred_bound;
  }
  p->base = (Env){.vt = &sup_vt,
                  .name = "supervised",
                  .obs_dim = task->in_dim,
                  .act_dim = task->out_dim,
                  .act_low = p->low,
                  .act_high = p->high,
                  .max_episode_steps = batch,
                  .dt = 0.0,
                  .needs_reset = 1};
  return &p->base;
}

const SupTask *sup_env_task(const Env *e) {
  return e && e->vt == &sup_vt ? ((const SupEnv *)e)->task : NULL;
}

/* ---------------------------------------------------------------- registered names */

static const struct {
  const char *step_name, *fit_name;
  int kind;
} sup_env_names[] = {
    {"Sup-FashionMNIST-v0", "SupFit-FashionMNIST-v0", SUP_TASK_FASHION_MNIST},
    {"Sup-Regress-v0", "SupFit-Regress-v0", SUP_TASK_REGRESS},
    {"Sup-Du-v0", "SupFit-Du-v0", SUP_TASK_DU},
    {"Sup-JiTelgarsky-v0", "SupFit-JiTelgarsky-v0", SUP_TASK_JI_TELGARSKY},
};

int sup_env_task_kind(const char *env_name, int *mode) {
  if (!env_name) return -1;
  for (size_t i = 0; i < sizeof sup_env_names / sizeof sup_env_names[0]; i++) {
    int m = !strcmp(env_name, sup_env_names[i].step_name)  ? SUP_ENV_STEP
            : !strcmp(env_name, sup_env_names[i].fit_name) ? SUP_ENV_FIT
                                                            : -1;
    if (m >= 0) {
      if (mode) *mode = m;
      return sup_env_names[i].kind;
    }
  }
  return -1;
}

static Env *make_cached_(int kind, int mode, CoreErr *err) {
  const SupTask *t = cache_acquire_(kind, err);
  if (!t) return NULL;
  Env *e = sup_env_create(t, mode, SUP_ENV_FIT_BATCH, err);
  if (!e) {
    cache_release_(kind);
    return NULL;
  }
  ((SupEnv *)e)->cached_kind = kind;
  return e;
}

Env *sup_env_make_fashion(CoreErr *err) {
  return make_cached_(SUP_TASK_FASHION_MNIST, SUP_ENV_STEP, err);
}
Env *sup_env_make_fashion_fit(CoreErr *err) {
  return make_cached_(SUP_TASK_FASHION_MNIST, SUP_ENV_FIT, err);
}
Env *sup_env_make_regress(CoreErr *err) {
  return make_cached_(SUP_TASK_REGRESS, SUP_ENV_STEP, err);
}
Env *sup_env_make_regress_fit(CoreErr *err) {
  return make_cached_(SUP_TASK_REGRESS, SUP_ENV_FIT, err);
}
Env *sup_env_make_du(CoreErr *err) { return make_cached_(SUP_TASK_DU, SUP_ENV_STEP, err); }
Env *sup_env_make_du_fit(CoreErr *err) { return make_cached_(SUP_TASK_DU, SUP_ENV_FIT, err); }
Env *sup_env_make_ji(CoreErr *err) {
  return make_cached_(SUP_TASK_JI_TELGARSKY, SUP_ENV_STEP, err);
}
Env *sup_env_make_ji_fit(CoreErr *err) {
  return make_cached_(SUP_TASK_JI_TELGARSKY, SUP_ENV_FIT, err);
}

int sup_env_evaluate_policy(NnMlp *policy, const char *env_name, int split, SupEval *out,
                            CoreErr *err) {
  int kind = sup_env_task_kind(env_name, NULL);
  if (kind < 0)
    return core_err_set(err, CORE_ERR_INVALID, "'%s' is not a supervised env (Sup-<Task>-v0)",
                        env_name ? env_name : "");
  if (split < 0 || split >= SUP_NSPLIT)
    return core_err_set(err, CORE_ERR_INVALID, "split %d is not train (0) or test (1)", split);
  const SupTask *t = cache_acquire_(kind, err);
  if (!t) return err ? err->code : CORE_ERR_IO;
  int rc = 0;
  float *buf = NULL;
  if (policy->in_dim != t->in_dim || policy->out_dim != t->out_dim) {
    rc = core_err_set(err, CORE_ERR_INVALID, "policy maps %d -> %d but %s has obs %d, act %d",
                      policy->in_dim, policy->out_dim, env_name, t->in_dim, t->out_dim);
    goto done;
  }
  const int B = policy->max_batch;
  buf = core_malloc(sizeof(float) * (size_t)B * (t->in_dim + t->y_dim + t->out_dim));
  if (!buf) {
    rc = core_err_set(err, CORE_ERR_NOMEM, "out of memory");
    goto done;
  }
  float *x = buf, *y = x + (size_t)B * t->in_dim, *pred = y + (size_t)B * t->y_dim;
  const int64_t n = t->n[split];
  const float lim = t->pred_bound;
  double loss = 0.0;
  int64_t correct = 0;
  for (int64_t i0 = 0; i0 < n; i0 += B) {
    int b = (int)(n - i0 < B ? n - i0 : B);
    sup_task_range(t, split, i0, b, x, y);
    const float *u = nn_mlp_forward(policy, x, b);
    for (size_t k = 0; k < (size_t)b * t->out_dim; k++)
      pred[k] = u[k] < -lim ? -lim : u[k] > lim ? lim : u[k];
    loss += sup_task_loss(t, pred, y, b, NULL) * b;
    if (sup_task_has_accuracy(t)) correct += sup_task_correct(t, pred, y, b);
  }
  out->n = n;
  out->loss = n ? loss / (double)n : NAN;
  out->acc = n && sup_task_has_accuracy(t) ? (double)correct / (double)n : NAN;
done:
  core_free(buf);
  cache_release_(kind);
  return rc;
}
