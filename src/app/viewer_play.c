/* viewer_play.c — the rollout behind `cemrl render` and `cemrl record`. */
#include "app/viewer_play.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agents/train.h"
#include "app/app.h"
#include "core/alloc.h"
#include "envs/mujoco_env.h"
#include "envs/rollout.h"

int viewer_parse_numbers(const char *flag, const char *s, double **out, int *n, CoreErr *err) {
  *out = NULL;
  *n = 0;
  int cap = 1;
  for (const char *c = s; *c; c++) cap += *c == ',';
  double *v = core_malloc(sizeof(double) * (size_t)cap);
  if (!v) return core_err_set(err, CORE_ERR_NOMEM, "%s: out of memory", flag);
  const char *c = s;
  for (int i = 0; i < cap; i++) {
    char *end;
    errno = 0;
    double x = strtod(c, &end);
    while (*end == ' ') end++;
    if (end == c || (*end && *end != ',') || errno == ERANGE || !isfinite(x)) {
      core_free(v);
      return core_err_set(err, CORE_ERR_INVALID,
                          "%s: item %d ('%.*s') is not a finite number; expected a comma-separated "
                          "list such as 0,1.25,0",
                          flag, i + 1, (int)strcspn(c, ","), c);
    }
    v[i] = x;
    c = *end ? end + 1 : end;
  }
  *out = v;
  *n = cap;
  return CORE_OK;
}

/* Build the short state [time 0, qpos, qvel 0, act 0] that set_state accepts. */
static int start_state_make(ViewerPlay *p, const double *qpos, int n_qpos, CoreErr *err) {
  const mjModel *m = p->m;
  if (n_qpos != m->nq)
    return core_err_set(err, CORE_ERR_INVALID,
                        "--qpos: %s has %d position coordinates (nq), got %d values", p->env->name,
                        m->nq, n_qpos);
  p->n_start = 1 + m->nq + m->nv + m->na;
  p->start = core_calloc((size_t)p->n_start, sizeof(double));
  if (!p->start) return core_err_set(err, CORE_ERR_NOMEM, "--qpos: out of memory");
  memcpy(p->start + 1, qpos, sizeof(double) * (size_t)m->nq);
  return CORE_OK;
}

int viewer_play_open(ViewerPlay *p, const ViewerPlayOpts *o, CoreErr *err) {
  memset(p, 0, sizeof *p);
  p->seed = o->seed;
  char env_name[128] = "";
  int rc = CORE_OK;
  if (o->target) {
    char path[4096];
    app_resolve_policy(o->target, path, sizeof path);
    p->net = train_load_policy(path, env_name, sizeof env_name, err);
    if (!p->net) return err ? err->code : CORE_ERR_INVALID;
    p->kind = VIEWER_POLICY_NET;
    /* a long path keeps its informative end (".../run/policy.ckpt") */
    size_t len = strlen(path), room = sizeof p->policy_label - 1;
    if (len <= room) memcpy(p->policy_label, path, len + 1);
    else snprintf(p->policy_label, sizeof p->policy_label, "...%s", path + len - (room - 3));
  } else {
    if (!o->env_name)
      return core_err_set(err, CORE_ERR_INVALID,
                          "give a run directory or policy file, or --env NAME with --policy "
                          "zero|random");
    const char *pol = o->policy ? o->policy : "zero";
    if (!strcmp(pol, "zero")) {
      p->kind = VIEWER_POLICY_ZERO;
    } else if (!strcmp(pol, "random")) {
      p->kind = VIEWER_POLICY_RANDOM;
    } else {
      return core_err_set(err, CORE_ERR_INVALID, "--policy '%s': expected zero or random", pol);
    }
    snprintf(p->policy_label, sizeof p->policy_label, "%s actions", pol);
  }
  if (o->env_name) snprintf(env_name, sizeof env_name, "%s", o->env_name);
  p->env = env_make(env_name, err);
  if (!p->env) {
    rc = err ? err->code : CORE_ERR_NOTFOUND;
    goto fail;
  }
  if (!p->env->vt->mj_model || !p->env->vt->mj_data) {
    rc = core_err_set(err, CORE_ERR_INVALID,
                      "%s has no MuJoCo model to draw; render and record work on the MuJoCo tasks "
                      "(see `cemrl envs`)", env_name);
    goto fail;
  }
  if (p->net && (p->env->obs_dim != p->net->in_dim || p->env->act_dim != p->net->out_dim)) {
    rc = core_err_set(err, CORE_ERR_INVALID, "%s: policy maps %d -> %d but %s has obs %d, act %d",
                      p->policy_label, p->net->in_dim, p->net->out_dim, env_name,
                      p->env->obs_dim, p->env->act_dim);
    goto fail;
  }
  p->m = p->env->vt->mj_model(p->env);
  p->d = p->env->vt->mj_data(p->env);
  p->obs = core_malloc(sizeof(float) * ((size_t)p->env->obs_dim + (size_t)p->env->act_dim));
  if (!p->obs) {
    rc = core_err_set(err, CORE_ERR_NOMEM, "out of memory");
    goto fail;
  }
  p->act = p->obs + p->env->obs_dim;
  if (o->qpos && (rc = start_state_make(p, o->qpos, o->n_qpos, err))) goto fail;
  core_rng_stream(&p->rng, p->seed, CORE_RNG_EXPLORE, 0);
  viewer_play_reset(p);
  return CORE_OK;
fail:
  viewer_play_close(p);
  return rc;
}

void viewer_play_reset(ViewerPlay *p) {
  env_reset(p->env, core_rng_derive(p->seed, CORE_RNG_EVAL, (uint64_t)p->episode), p->obs);
  if (p->start) {
    int rc = p->env->vt->set_state(p->env, p->start, p->n_start);
    CORE_ASSERT(rc == CORE_OK);  /* the values were checked finite and sized for this model */
    /* set_state recomputes the task's observation into the instance; every task with an mjData
     * is an EnvMj (mujoco_env.h), whose last_obs now holds the observation of the pose */
    memcpy(p->obs, ((const EnvMj *)p->env)->last_obs, sizeof(float) * (size_t)p->env->obs_dim);
  }
  p->step = 0;
  p->reward = 0.0;
  p->ret = 0.0;
  p->done = 0;
  p->terminated = 0;
}

void viewer_play_next_episode(ViewerPlay *p) {
  p->episode++;
  viewer_play_reset(p);
}

int viewer_play_step(ViewerPlay *p) {
  CORE_ASSERT(!p->done);
  Env *e = p->env;
  if (p->kind == VIEWER_POLICY_NET) {
    const float *y = nn_mlp_forward(p->net, p->obs, 1);
    for (int j = 0; j < e->act_dim; j++) {
      float a = y[j];
      p->act[j] = a < e->act_low[j] ? e->act_low[j] : a > e->act_high[j] ? e->act_high[j] : a;
    }
  } else if (p->kind == VIEWER_POLICY_RANDOM) {
    env_policy_random(&p->rng, e, p->obs, p->act);
  } else {
    env_policy_zero(NULL, e, p->obs, p->act);
  }
  EnvStep st;
  env_step(e, p->act, p->obs, &st);
  p->step++;
  p->reward = st.reward;
  p->ret += st.reward;
  p->terminated = st.terminated;
  p->done = st.terminated || st.truncated;
  return p->done;
}

void viewer_play_close(ViewerPlay *p) {
  env_free(p->env);
  nn_mlp_free(p->net);
  core_free(p->obs);
  core_free(p->start);
  memset(p, 0, sizeof *p);
}
