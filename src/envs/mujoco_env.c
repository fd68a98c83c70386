/* mujoco_env.c — model cache, instance life cycle, the v4 step and reset, state save/restore. */
#include "envs/mujoco_env.h"

#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/log.h"
#include "core/mj.h"

/* ---------------------------------------------------------------- model cache */

/* One compiled model per file path. Keyed by the full path, so pointing CEMRL_MODEL_DIR
 * elsewhere loads the other file instead of silently reusing this one. */
typedef struct EnvMjCached {
  struct EnvMjCached *next;
  mjModel *m;
  int refs;                     /* live instances using m */
  char path[];
} EnvMjCached;

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static EnvMjCached *cache_head;
static int cache_atexit_done;

static void cache_free_unused_locked(void) {
  EnvMjCached **pp = &cache_head;
  while (*pp) {
    EnvMjCached *c = *pp;
    if (c->refs == 0) {
      *pp = c->next;
      mj_deleteModel(c->m);
      core_free(c);
    } else {
      pp = &c->next;
    }
  }
}

void env_mujoco_cleanup(void) {
  pthread_mutex_lock(&cache_mu);
  cache_free_unused_locked();
  pthread_mutex_unlock(&cache_mu);
}

/* At exit another thread may still hold the lock (exit() while it loads): skip, never wait. */
static void cache_cleanup_at_exit(void) {
  if (pthread_mutex_trylock(&cache_mu) != 0) return;
  cache_free_unused_locked();
  pthread_mutex_unlock(&cache_mu);
}

int env_mujoco_cached_models(void) {
  pthread_mutex_lock(&cache_mu);
  int n = 0;
  for (EnvMjCached *c = cache_head; c; c = c->next) n++;
  pthread_mutex_unlock(&cache_mu);
  return n;
}

/* Take a reference on the compiled model of `path`, compiling it on first use. */
static const mjModel *cache_acquire(const char *path, CoreErr *err) {
  pthread_mutex_lock(&cache_mu);
  EnvMjCached *c = cache_head;
  while (c && strcmp(c->path, path)) c = c->next;
  if (!c) {
    /* compile under the lock: 2.2.2's XML parser is not known to be thread-safe, and a second
     * thread asking for the same file should wait for this copy instead of making its own */
    mjModel *m = core_mj_load_xml(path, err);
    size_t len = strlen(path) + 1;
    if (m) c = core_malloc(sizeof *c + len);
    if (m && !c) {
      mj_deleteModel(m);
      core_err_set(err, CORE_ERR_NOMEM, "%s: out of memory caching the model", path);
    }
    if (c) {
      c->m = m;
      c->refs = 0;
      memcpy(c->path, path, len);
      c->next = cache_head;
      cache_head = c;
      if (!cache_atexit_done) {
        cache_atexit_done = 1;
        atexit(cache_cleanup_at_exit);
      }
    }
  }
  if (c) c->refs++;
  pthread_mutex_unlock(&cache_mu);
  return c ? c->m : NULL;
}

static void cache_release(const mjModel *m) {
  pthread_mutex_lock(&cache_mu);
  for (EnvMjCached *c = cache_head; c; c = c->next)
    if (c->m == m) {
      CORE_ASSERT(c->refs > 0);
      c->refs--;
      break;
    }
  pthread_mutex_unlock(&cache_mu);
}

/* ---------------------------------------------------------------- helpers */

double env_mujoco_sq_sum(const float *a, int n) {
  double s = 0.0;
  for (int i = 0; i < n; i++) s += (double)a[i] * (double)a[i];
  return s;
}

/* The warnings with which 2.2.2's mj_checkPos/Vel/Acc announce that they reset the data. */
static int warn_resets(const mjData *d) {
  return d->warning[mjWARN_BADQPOS].number + d->warning[mjWARN_BADQVEL].number +
         d->warning[mjWARN_BADQACC].number;
}

static void warn_clear(mjData *d) {
  d->warning[mjWARN_BADQPOS].number = 0;
  d->warning[mjWARN_BADQVEL].number = 0;
  d->warning[mjWARN_BADQACC].number = 0;
}

/* mj_step n times, guarded: an mju_error inside (e.g. the stack running out) returns -1 instead
 * of ending the process. */
static int substeps(const mjModel *m, mjData *d, int n) {
  jmp_buf jb;
  jmp_buf *prev = core_mj_guard_push(&jb);
  int rc = 0;
  if (setjmp(jb) == 0) {
    for (int k = 0; k < n; k++) mj_step(m, d);
  } else {
    rc = -1;
  }
  core_mj_guard_pop(prev);
  return rc;
}

static double noise(CoreRng *rng, EnvMjNoise kind, double scale) {
  return kind == ENV_MJ_NOISE_NORMAL ? scale * core_rng_normal(rng)
                                     : core_rng_uniform_range(rng, -scale, scale);
}

/* ---------------------------------------------------------------- the vtable */

static void mj_env_reset(Env *base, uint64_t seed, float *obs) {
  EnvMj *e = (EnvMj *)base;
  const EnvMjTask *t = e->task;
  const mjModel *m = e->m;
  mjData *d = e->d;
  CoreRng rng;
  core_rng_stream(&rng, seed, CORE_RNG_ENV, 0);
  /* time, ctrl, act, warmstart and warning counters to zero; qpos = qpos0, qvel = 0 */
  mj_resetData(m, d);
  if (t->reset_noise) {
    t->reset_noise(e, &rng);
  } else {
    /* draw order as Gymnasium: all of qpos, then all of qvel; quaternions not renormalised */
    for (int i = 0; i < m->nq; i++)
      d->qpos[i] = m->qpos0[i] + noise(&rng, t->qpos_noise, t->noise_scale);
    for (int i = 0; i < m->nv; i++) d->qvel[i] = noise(&rng, t->qvel_noise, t->noise_scale);
  }
  mj_forward(m, d);
  t->observe(e, obs);
  memcpy(e->last_obs, obs, sizeof(float) * (size_t)t->obs_dim);
}

static void mj_env_step(Env *base, const float *act, float *obs, EnvStep *out) {
  EnvMj *e = (EnvMj *)base;
  const EnvMjTask *t = e->task;
  const mjModel *m = e->m;
  mjData *d = e->d;
  /* the raw action: MuJoCo clamps its own copy to ctrlrange, d->ctrl keeps the raw values */
  for (int i = 0; i < m->nu; i++) d->ctrl[i] = act[i];
  if (t->before) t->before(e);
  /* cleared, not snapshotted: mj_resetData zeroes the counters before mj_checkAcc counts its
   * own reset, so a snapshot of 1 would look unchanged after a second divergence */
  warn_clear(d);
  int rc = substeps(m, d, t->frame_skip);
  if (rc != 0 || warn_resets(d) > 0) {
    /* MuJoCo reset the data mid-step (or failed): the data is not the next state. Keep the
     * last good observation so nothing downstream trains on a reset pose as a successor. */
    if (rc != 0) core_log(CORE_LOG_WARN, "%s: MuJoCo error during a step: %s", t->name,
                          core_mj_last_error());
    e->n_diverged++;
    memcpy(obs, e->last_obs, sizeof(float) * (size_t)t->obs_dim);
    out->reward = 0.0;
    out->terminated = 0;
    out->status = ENV_ERR_DIVERGED;
    return;
  }
  mj_rnePostConstraint(m, d);
  t->observe(e, obs);
  int terminated = 0;
  double r = t->reward(e, act, &terminated);
  int finite = isfinite(r);
  for (int i = 0; i < t->obs_dim && finite; i++) finite = isfinite(obs[i]);
  if (!finite) {
    e->n_nonfinite++;
    memcpy(obs, e->last_obs, sizeof(float) * (size_t)t->obs_dim);
    out->reward = 0.0;
    out->terminated = 0;
    out->status = ENV_ERR_NONFINITE;
    return;
  }
  memcpy(e->last_obs, obs, sizeof(float) * (size_t)t->obs_dim);
  out->reward = r;
  out->terminated = terminated;
  out->status = ENV_OK;
}

static int state_len(const mjModel *m) { return 1 + m->nq + 2 * m->nv + m->na + 6 * m->nbody; }

static int state_len_short(const mjModel *m) { return 1 + m->nq + m->nv + m->na; }

static int mj_env_get_state(const Env *base, double *s, int cap) {
  const EnvMj *e = (const EnvMj *)base;
  const mjModel *m = e->m;
  const mjData *d = e->d;
  int n = state_len(m);
  if (!s || cap < n) return n;
  double *p = s;
  *p++ = d->time;
  memcpy(p, d->qpos, sizeof(double) * (size_t)m->nq), p += m->nq;
  memcpy(p, d->qvel, sizeof(double) * (size_t)m->nv), p += m->nv;
  memcpy(p, d->act, sizeof(double) * (size_t)m->na), p += m->na;
  memcpy(p, d->qacc_warmstart, sizeof(double) * (size_t)m->nv), p += m->nv;
  memcpy(p, d->xpos, sizeof(double) * 3 * (size_t)m->nbody), p += 3 * m->nbody;
  memcpy(p, d->xipos, sizeof(double) * 3 * (size_t)m->nbody);
  return n;
}

static int mj_env_set_state(Env *base, const double *s, int n) {
  EnvMj *e = (EnvMj *)base;
  const mjModel *m = e->m;
  mjData *d = e->d;
  int full = state_len(m), brief = state_len_short(m);
  if (!s || (n != full && n != brief)) return CORE_ERR_INVALID;
  for (int i = 0; i < n; i++)
    if (!isfinite(s[i])) return CORE_ERR_INVALID;
  const double *p = s;
  d->time = *p++;
  memcpy(d->qpos, p, sizeof(double) * (size_t)m->nq), p += m->nq;
  memcpy(d->qvel, p, sizeof(double) * (size_t)m->nv), p += m->nv;
  memcpy(d->act, p, sizeof(double) * (size_t)m->na), p += m->na;
  if (n == brief) mju_zero(d->qacc_warmstart, m->nv);
  warn_clear(d);
  mj_forward(m, d);
  if (n == full) {
    /* after mj_forward: it recomputes these, the saved values are what the next step reads */
    memcpy(d->qacc_warmstart, p, sizeof(double) * (size_t)m->nv), p += m->nv;
    memcpy(d->xpos, p, sizeof(double) * 3 * (size_t)m->nbody), p += 3 * m->nbody;
    memcpy(d->xipos, p, sizeof(double) * 3 * (size_t)m->nbody);
  }
  e->task->observe(e, e->last_obs);
  return CORE_OK;
}

static const void *mj_env_model(const Env *base) { return ((const EnvMj *)base)->m; }

static void *mj_env_data(Env *base) { return ((EnvMj *)base)->d; }

static void mj_env_free(Env *base) {
  if (!base) return;
  EnvMj *e = (EnvMj *)base;
  if (e->d) mj_deleteData(e->d);
  if (e->m) cache_release(e->m);
  core_free(e);
}

static const EnvVt mj_env_vt = {
    .reset = mj_env_reset,
    .step = mj_env_step,
    .free = mj_env_free,
    .get_state = mj_env_get_state,
    .set_state = mj_env_set_state,
    .mj_model = mj_env_model,
    .mj_data = mj_env_data,
};

/* ---------------------------------------------------------------- creation */

Env *env_mujoco_create(const EnvMjTask *t, CoreErr *err) {
  CORE_ASSERT(t && t->xml && t->observe && t->reward && t->frame_skip > 0 && t->obs_dim > 0);
  char dir[PATH_MAX], path[PATH_MAX + 64];
  if (core_mj_model_dir(dir, sizeof dir, err) != CORE_OK) return NULL;
  snprintf(path, sizeof path, "%s/%s", dir, t->xml);
  const mjModel *m = cache_acquire(path, err);
  if (!m) return NULL;
  if (m->nq != t->nq || m->nv != t->nv || m->nu != t->nu || m->nbody != t->nbody) {
    core_err_set(err, CORE_ERR_INVALID,
                 "%s: model has nq %d, nv %d, nu %d, nbody %d; %s needs %d, %d, %d, %d (is this "
                 "the right file?)",
                 path, m->nq, m->nv, m->nu, m->nbody, t->name, t->nq, t->nv, t->nu, t->nbody);
    cache_release(m);
    return NULL;
  }
  /* one block: the instance, then act_low (nu), act_high (nu), last_obs (obs_dim) */
  size_t nfloat = 2 * (size_t)m->nu + (size_t)t->obs_dim;
  EnvMj *e = core_calloc(1, sizeof *e + nfloat * sizeof(float));
  if (!e) {
    cache_release(m);
    core_err_set(err, CORE_ERR_NOMEM, "%s: out of memory", t->name);
    return NULL;
  }
  float *fl = (float *)(e + 1);
  e->base.vt = &mj_env_vt;
  e->base.name = t->name;
  e->base.obs_dim = t->obs_dim;
  e->base.act_dim = m->nu;
  e->base.act_low = fl;
  e->base.act_high = fl + m->nu;
  e->base.max_episode_steps = t->max_episode_steps;
  e->base.dt = m->opt.timestep * t->frame_skip;
  e->base.needs_reset = 1;
  e->task = t;
  e->m = m;
  e->last_obs = fl + 2 * m->nu;
  for (int i = 0; i < m->nu; i++) {
    /* the action space is the ctrlrange, whether or not MuJoCo enforces it */
    fl[i] = m->actuator_ctrllimited[i] ? (float)m->actuator_ctrlrange[2 * i] : -INFINITY;
    fl[m->nu + i] = m->actuator_ctrllimited[i] ? (float)m->actuator_ctrlrange[2 * i + 1] : INFINITY;
  }
  jmp_buf jb;
  jmp_buf *prev = core_mj_guard_push(&jb);
  if (setjmp(jb) == 0) {
    e->d = mj_makeData(m);
  } else {
    e->d = NULL;
  }
  core_mj_guard_pop(prev);
  if (!e->d) {
    core_err_set(err, CORE_ERR_NOMEM, "%s: MuJoCo could not allocate mjData for %s: %s", t->name,
                 path, core_mj_last_error());
    mj_env_free(&e->base);
    return NULL;
  }
  if (t->init && t->init(e, err) != CORE_OK) {
    core_err_prefix(err, "%s: ", path);
    mj_env_free(&e->base);
    return NULL;
  }
  return &e->base;
}

/* Resolve a named object or fail naming it (task init helpers). */
int env_mujoco_id(EnvMj *e, int slot, int type, const char *name, CoreErr *err) {
  CORE_ASSERT(slot >= 0 && slot < ENV_MJ_MAX_IDS);
  int id = mj_name2id(e->m, type, name);
  if (id < 0)
    return core_err_set(err, CORE_ERR_INVALID, "the model has no %s named '%s' (%s needs it)",
                        type == mjOBJ_SITE ? "site" : "body", name, e->task->name);
  e->id[slot] = id;
  return CORE_OK;
}
