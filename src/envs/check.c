/* check.c — the environment checker: one pass over two fresh instances (see check.h). */
#include "envs/check.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/rng.h"
#include "envs/rollout.h"

const char *const env_check_verdict_names[] = {"PASS", "FAIL", "SKIP"};

enum {
  N_SPREAD_SEEDS = 32,   /* resets used for finiteness and the spread of the reset distribution */
  N_DISTINCT_SEEDS = 10, /* resets that must all differ */
  N_FINITE_EPISODES = 3, /* random-action episodes that must stay finite */
  ROUND_TRIP_STEPS = 20, /* steps replayed from a saved state */
  SHORT_LIMIT = 3,       /* temporary time limit for the truncation check */
  NO_LIMIT_CAP = 1000    /* episode cap for a task without a time limit */
};

/* Everything one check run needs: two instances and scratch carved from one block. */
typedef struct {
  const EnvEntry *entry;
  uint64_t seed;
  Env *a, *b;
  float *obs_a, *obs_b;  /* (obs_dim) each */
  float *act;            /* (act_dim) */
  float *init;           /* (N_DISTINCT_SEEDS, obs_dim) initial observations */
  float *rec_obs;        /* (ROUND_TRIP_STEPS, obs_dim) */
  float *rec_act;        /* (ROUND_TRIP_STEPS, act_dim) */
  double rec_rew[ROUND_TRIP_STEPS];
  int cap;               /* steps per episode at most */
  EnvCheckReport *rep;
} Checker;

static void add_(EnvCheckReport *rep, const char *name, int verdict, const char *fmt, ...)
    CORE_PRINTF(4, 5);

static void add_(EnvCheckReport *rep, const char *name, int verdict, const char *fmt, ...) {
  CORE_ASSERT(rep->n < ENV_CHECK_MAX);
  EnvCheckItem *it = &rep->item[rep->n++];
  it->name = name;
  it->verdict = verdict;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(it->detail, sizeof it->detail, fmt, ap);
  va_end(ap);
  if (verdict == ENV_CHECK_FAIL) rep->n_fail++;
}

const EnvCheckItem *env_check_find(const EnvCheckReport *rep, const char *name) {
  for (int i = 0; i < rep->n; i++)
    if (!strcmp(rep->item[i].name, name)) return &rep->item[i];
  return NULL;
}

static uint64_t seed_(const Checker *c, uint64_t i) {
  return core_rng_derive(c->seed, CORE_RNG_TEST, i);
}

/* Index of the first non-finite value in x[0..n), or -1. */
static int first_nonfinite_(const float *x, int n) {
  for (int i = 0; i < n; i++)
    if (!isfinite(x[i])) return i;
  return -1;
}

/* FNV-1a over bytes: a fingerprint of a whole trajectory. */
static uint64_t fnv_(uint64_t h, const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ULL;
  return h;
}

static uint64_t fnv_step_(uint64_t h, const float *obs, int obs_dim, const EnvStep *st) {
  h = fnv_(h, obs, sizeof(float) * (size_t)obs_dim);
  h = fnv_(h, &st->reward, sizeof st->reward);
  int flags[3] = {st->terminated, st->truncated, st->status};
  return fnv_(h, flags, sizeof flags);
}

/* ---------------------------------------------------------------- the checks */

static int check_spaces_(Checker *c) {
  const Env *e = c->a;
  char fail[ENV_CHECK_DETAIL_SZ] = "";
  if (e->obs_dim < 1 || e->act_dim < 1)
    snprintf(fail, sizeof fail, "obs_dim %d, act_dim %d: both must be >= 1", e->obs_dim,
             e->act_dim);
  else if (!e->act_low || !e->act_high)
    snprintf(fail, sizeof fail, "act_low or act_high is NULL");
  else if (e->max_episode_steps < 0 || !isfinite(e->dt) || e->dt < 0)
    snprintf(fail, sizeof fail, "max_episode_steps %d, dt %g: need >= 0", e->max_episode_steps,
             e->dt);
  for (int i = 0; !fail[0] && i < e->act_dim; i++)
    if (!isfinite(e->act_low[i]) || !isfinite(e->act_high[i]) || !(e->act_low[i] < e->act_high[i]))
      snprintf(fail, sizeof fail, "action %d bounds [%g, %g]: need finite low < high", i,
               e->act_low[i], e->act_high[i]);
  if (fail[0]) {
    add_(c->rep, "spaces", ENV_CHECK_FAIL, "%s", fail);
    return -1;
  }
  float lo = e->act_low[0], hi = e->act_high[0];
  for (int i = 1; i < e->act_dim; i++) {
    lo = fminf(lo, e->act_low[i]);
    hi = fmaxf(hi, e->act_high[i]);
  }
  add_(c->rep, "spaces", ENV_CHECK_PASS, "obs %d, act %d in [%g, %g], limit %d, dt %g",
       e->obs_dim, e->act_dim, lo, hi, e->max_episode_steps, e->dt);
  return 0;
}

/* Finite initial observations and a reset distribution that actually varies. */
static void check_reset_spread_(Checker *c) {
  int n = c->a->obs_dim, bad_seed = -1, bad_i = -1, varying = 0;
  double max_std = 0.0;
  double *mean = core_calloc(2 * (size_t)n, sizeof(double));
  if (!mean) {
    add_(c->rep, "reset obs finite", ENV_CHECK_FAIL, "out of memory");
    return;
  }
  double *m2 = mean + n;
  for (int s = 0; s < N_SPREAD_SEEDS; s++) {
    env_reset(c->a, seed_(c, 100 + (uint64_t)s), c->obs_a);
    int i = first_nonfinite_(c->obs_a, n);
    if (i >= 0 && bad_seed < 0) {
      bad_seed = s;
      bad_i = i;
    }
    for (int k = 0; k < n; k++) {
      double d = c->obs_a[k] - mean[k];
      mean[k] += d / (s + 1);
      m2[k] += d * (c->obs_a[k] - mean[k]);
    }
  }
  for (int k = 0; k < n; k++) {
    double sd = sqrt(m2[k] / (N_SPREAD_SEEDS - 1));
    /* relative to the component's size: seed noise at round-off level is no spread */
    if (sd > 1e-6 * fmax(1.0, fabs(mean[k]))) varying++;
    if (sd > max_std || isnan(sd)) max_std = sd;
  }
  core_free(mean);
  if (bad_seed >= 0)
    add_(c->rep, "reset obs finite", ENV_CHECK_FAIL, "reset %d: obs[%d] is not finite", bad_seed,
         bad_i);
  else
    add_(c->rep, "reset obs finite", ENV_CHECK_PASS, "%d resets, all observations finite",
         N_SPREAD_SEEDS);
  if (bad_seed >= 0)
    add_(c->rep, "reset spread", ENV_CHECK_FAIL, "not measurable: non-finite observations");
  else if (varying > 0)
    add_(c->rep, "reset spread", ENV_CHECK_PASS,
         "%d of %d components vary over %d seeds (largest std %.3g)", varying, n, N_SPREAD_SEEDS,
         max_std);
  else
    add_(c->rep, "reset spread", ENV_CHECK_FAIL,
         "%d of %d components vary over %d seeds (largest std %.3g): reset is degenerate",
         varying, n, N_SPREAD_SEEDS, max_std);
}

/* Same seed, same first observation: after other episodes and on another instance. */
static void check_reset_determinism_(Checker *c) {
  int n = c->a->obs_dim;
  size_t bytes = sizeof(float) * (size_t)n;
  uint64_t s = seed_(c, 1);
  env_reset(c->a, s, c->init);
  /* disturb instance a: another seed and a few steps */
  CoreRng rng;
  core_rng_stream(&rng, c->seed, CORE_RNG_TEST, 2);
  env_reset(c->a, seed_(c, 2), c->obs_a);
  for (int t = 0; t < 3 && !c->a->needs_reset; t++) {
    EnvStep st;
    env_policy_random(&rng, c->a, c->obs_a, c->act);
    env_step(c->a, c->act, c->obs_a, &st);
  }
  env_reset(c->a, s, c->obs_a);
  env_reset(c->b, s, c->obs_b);
  int same_a = !memcmp(c->init, c->obs_a, bytes), same_b = !memcmp(c->init, c->obs_b, bytes);
  if (same_a && same_b)
    add_(c->rep, "reset determinism", ENV_CHECK_PASS,
         "same seed gave identical observations (again after another episode, and on a 2nd "
         "instance)");
  else
    add_(c->rep, "reset determinism", ENV_CHECK_FAIL, "same seed gave a different observation %s",
         !same_a ? "after another episode on the same instance" : "on a second instance");
}

/* Different seeds, different first observations. A task with a discrete observation space (a
 * one-hot node, a dataset row) may repeat a first observation by chance, so the check fails only
 * when every seed gives the same one: then the seed is not used. */
static void check_seeds_differ_(Checker *c) {
  int n = c->a->obs_dim;
  size_t bytes = sizeof(float) * (size_t)n;
  for (int s = 0; s < N_DISTINCT_SEEDS; s++)
    env_reset(c->a, seed_(c, 200 + (uint64_t)s), c->init + (size_t)s * n);
  int distinct = 0;
  for (int i = 0; i < N_DISTINCT_SEEDS; i++) {
    int seen = 0;
    for (int j = 0; j < i && !seen; j++)
      seen = !memcmp(c->init + (size_t)i * n, c->init + (size_t)j * n, bytes);
    distinct += !seen;
  }
  if (distinct > 1)
    add_(c->rep, "seeds differ", ENV_CHECK_PASS, "%d seeds gave %d different observations",
         N_DISTINCT_SEEDS, distinct);
  else
    add_(c->rep, "seeds differ", ENV_CHECK_FAIL,
         "%d seeds all gave the same first observation (is the seed used?)", N_DISTINCT_SEEDS);
}

/* Random-action episodes: observations and rewards finite, no cut episodes, no core_malloc
 * growth while stepping. */
static void check_steps_finite_(Checker *c) {
  long live_before = core_alloc_live();
  long steps = 0;
  char fail[ENV_CHECK_DETAIL_SZ] = "";
  for (int ep = 0; ep < N_FINITE_EPISODES && !fail[0]; ep++) {
    CoreRng rng;
    core_rng_stream(&rng, c->seed, CORE_RNG_TEST, 300 + (uint64_t)ep);
    env_reset(c->a, seed_(c, 300 + (uint64_t)ep), c->obs_a);
    for (int t = 0; t < c->cap; t++) {
      EnvStep st;
      env_policy_random(&rng, c->a, c->obs_a, c->act);
      env_step(c->a, c->act, c->obs_a, &st);
      steps++;
      int i = first_nonfinite_(c->obs_a, c->a->obs_dim);
      if (i >= 0)
        snprintf(fail, sizeof fail, "episode %d step %d: obs[%d] = %g", ep, t + 1, i,
                 c->obs_a[i]);
      else if (!isfinite(st.reward))
        snprintf(fail, sizeof fail, "episode %d step %d: reward = %g", ep, t + 1, st.reward);
      else if (st.status != ENV_OK)
        snprintf(fail, sizeof fail, "episode %d step %d: status %s", ep, t + 1,
                 st.status >= 0 && st.status < ENV_NSTATUS ? env_status_names[st.status] : "?");
      if (fail[0] || st.terminated || st.truncated) break;
    }
  }
  long grown = core_alloc_live() - live_before;
  if (fail[0])
    add_(c->rep, "steps finite", ENV_CHECK_FAIL, "%s", fail);
  else
    add_(c->rep, "steps finite", ENV_CHECK_PASS,
         "%d random-action episodes, %ld steps: observations and rewards finite",
         N_FINITE_EPISODES, steps);
  if (grown == 0)
    add_(c->rep, "no alloc in step", ENV_CHECK_PASS, "live core_malloc blocks unchanged over %ld "
         "steps", steps);
  else
    add_(c->rep, "no alloc in step", ENV_CHECK_FAIL, "%ld core_malloc blocks still live after %ld "
         "steps", grown, steps);
}

/* Two instances, same seed, same actions: identical trajectories. Returns the fingerprint (0 on
 * a mismatch, described in msg). */
static uint64_t lockstep_(Checker *c, uint64_t seed, uint64_t act_stream, char *msg, size_t n) {
  int od = c->a->obs_dim;
  CoreRng rng;
  core_rng_stream(&rng, c->seed, CORE_RNG_TEST, act_stream);
  env_reset(c->a, seed, c->obs_a);
  env_reset(c->b, seed, c->obs_b);
  uint64_t h = 0xcbf29ce484222325ULL;
  for (int t = 0; t < c->cap; t++) {
    EnvStep sa, sb;
    env_policy_random(&rng, c->a, c->obs_a, c->act);
    env_step(c->a, c->act, c->obs_a, &sa);
    env_step(c->b, c->act, c->obs_b, &sb);
    if (memcmp(c->obs_a, c->obs_b, sizeof(float) * (size_t)od) || sa.reward != sb.reward ||
        sa.terminated != sb.terminated || sa.truncated != sb.truncated || sa.status != sb.status) {
      snprintf(msg, n, "instances differ at step %d (reward %.17g vs %.17g)", t + 1, sa.reward,
               sb.reward);
      return 0;
    }
    h = fnv_step_(h, c->obs_a, od, &sa);
    if (sa.terminated || sa.truncated) break;
  }
  return h ? h : 1;
}

static void check_step_determinism_(Checker *c) {
  char msg[ENV_CHECK_DETAIL_SZ] = "";
  uint64_t s = seed_(c, 400);
  uint64_t h1 = lockstep_(c, s, 400, msg, sizeof msg);
  if (!h1) {
    add_(c->rep, "step determinism", ENV_CHECK_FAIL, "%s", msg);
    return;
  }
  /* another episode in between must not leak into the next one */
  CoreRng rng;
  core_rng_stream(&rng, c->seed, CORE_RNG_TEST, 401);
  env_reset(c->a, seed_(c, 401), c->obs_a);
  for (int t = 0; t < 7 && !c->a->needs_reset; t++) {
    EnvStep st;
    env_policy_random(&rng, c->a, c->obs_a, c->act);
    env_step(c->a, c->act, c->obs_a, &st);
  }
  uint64_t h2 = lockstep_(c, s, 400, msg, sizeof msg);
  if (!h2)
    add_(c->rep, "step determinism", ENV_CHECK_FAIL, "repeated episode: %s", msg);
  else if (h1 != h2)
    add_(c->rep, "step determinism", ENV_CHECK_FAIL,
         "the same seed and actions gave another trajectory the second time (state leaks "
         "across episodes)");
  else
    add_(c->rep, "step determinism", ENV_CHECK_PASS,
         "two instances, same seed and actions: identical trajectories, twice");
}

/* Run the zero policy until the episode ends; returns the steps taken, sets where flags rose. */
static int run_zero_(Checker *c, uint64_t seed, int *first_trunc, int *term_at, int *trunc_at) {
  env_reset(c->a, seed, c->obs_a);
  *first_trunc = *term_at = *trunc_at = 0;
  int cap = c->a->max_episode_steps + 1;
  for (int t = 1; t <= cap; t++) {
    EnvStep st;
    env_policy_zero(NULL, c->a, c->obs_a, c->act);
    env_step(c->a, c->act, c->obs_a, &st);
    if (st.truncated && !*first_trunc) *first_trunc = t;
    if (st.terminated) *term_at = t;
    if (st.truncated) *trunc_at = t;
    if (st.terminated || st.truncated) return t;
  }
  return cap;
}

static void check_truncation_(Checker *c) {
  const char *name = "truncation at limit";
  int limit = c->a->max_episode_steps;
  if (limit == 0) {
    add_(c->rep, name, ENV_CHECK_SKIP, "no time limit (max_episode_steps = 0)");
    return;
  }
  int first_trunc, term_at, trunc_at;
  int len = run_zero_(c, seed_(c, 500), &first_trunc, &term_at, &trunc_at);
  char full[128];
  if (len > limit || (trunc_at && trunc_at != limit) || (term_at && trunc_at)) {
    add_(c->rep, name, ENV_CHECK_FAIL,
         "limit %d: episode ran %d steps, truncated at %d, terminated at %d", limit, len, trunc_at,
         term_at);
    return;
  }
  if (term_at)
    snprintf(full, sizeof full, "zero-action episode terminated at step %d (limit %d)", term_at,
             limit);
  else
    snprintf(full, sizeof full, "truncated at step %d = limit", trunc_at);
  /* a temporary short limit shows the wrapper cutting tasks that terminate early */
  if (limit > SHORT_LIMIT) {
    c->a->max_episode_steps = SHORT_LIMIT;
    len = run_zero_(c, seed_(c, 501), &first_trunc, &term_at, &trunc_at);
    c->a->max_episode_steps = limit;
    int ok = term_at ? (term_at <= SHORT_LIMIT && !trunc_at) : (trunc_at == SHORT_LIMIT);
    if (!ok) {
      add_(c->rep, name, ENV_CHECK_FAIL, "%s; temporary limit %d: ran %d steps, truncated at %d",
           full, SHORT_LIMIT, len, trunc_at);
      return;
    }
    add_(c->rep, name, ENV_CHECK_PASS, "%s; with a temporary limit of %d: %s at step %d", full,
         SHORT_LIMIT, term_at ? "terminated" : "truncated", term_at ? term_at : trunc_at);
  } else {
    add_(c->rep, name, ENV_CHECK_PASS, "%s", full);
  }
}

/* The wrapper's guard: a fresh instance and a finished episode refuse env_step until reset. */
static void check_guard_(Checker *c, int fresh_guarded) {
  const char *name = "step before reset";
  int first_trunc, term_at, trunc_at;
  if (c->a->max_episode_steps == 0) {
    add_(c->rep, name, fresh_guarded ? ENV_CHECK_PASS : ENV_CHECK_FAIL,
         "a fresh instance %s env_step", fresh_guarded ? "refuses" : "does not refuse");
    return;
  }
  run_zero_(c, seed_(c, 600), &first_trunc, &term_at, &trunc_at);
  int ended_guarded = c->a->needs_reset;
  env_reset(c->a, seed_(c, 600), c->obs_a);
  int reset_clears = !c->a->needs_reset && c->a->elapsed_steps == 0;
  if (fresh_guarded && ended_guarded && reset_clears)
    add_(c->rep, name, ENV_CHECK_PASS,
         "a fresh instance and a finished episode refuse env_step; env_reset clears it");
  else
    add_(c->rep, name, ENV_CHECK_FAIL, "guard: fresh %s, after the end %s, after reset %s",
         fresh_guarded ? "set" : "NOT set", ended_guarded ? "set" : "NOT set",
         reset_clears ? "cleared" : "NOT cleared");
}

/* Step from a saved state on instance e; compare with the recording when `compare`. Returns 0 if
 * identical (or recording), else the 1-based step of the first difference. */
static int replay_(Checker *c, Env *e, float *obs, int k, int len, int compare) {
  int od = c->a->obs_dim, ad = c->a->act_dim;
  for (int t = k; t < len; t++) {
    EnvStep st;
    if (e->needs_reset) return t + 1;  /* ended earlier than the recording did */
    env_step(e, c->rec_act + (size_t)t * ad, obs, &st);
    float *ro = c->rec_obs + (size_t)t * od;
    if (!compare) {
      memcpy(ro, obs, sizeof(float) * (size_t)od);
      c->rec_rew[t] = st.reward;
    } else if (memcmp(ro, obs, sizeof(float) * (size_t)od) || c->rec_rew[t] != st.reward) {
      return t + 1;
    }
  }
  return 0;
}

static void check_state_round_trip_(Checker *c) {
  const char *name = "state round trip";
  const EnvVt *vt = c->a->vt;
  if (!vt->get_state && !vt->set_state) {
    add_(c->rep, name, ENV_CHECK_SKIP, "no get_state/set_state hooks");
    return;
  }
  if (!vt->get_state || !vt->set_state) {
    add_(c->rep, name, ENV_CHECK_FAIL, "only one of get_state/set_state is set");
    return;
  }
  int n = vt->get_state(c->a, NULL, 0);
  if (n < 1) {
    add_(c->rep, name, ENV_CHECK_FAIL, "get_state(cap 0) returned %d, not the length", n);
    return;
  }
  double *s = core_calloc(2 * (size_t)n, sizeof(double));
  if (!s) {
    add_(c->rep, name, ENV_CHECK_FAIL, "out of memory for a state of %d values", n);
    return;
  }
  double *s2 = s + n;
  int ad = c->a->act_dim;
  uint64_t seed = seed_(c, 700);

  /* a reference episode fixes the actions and the length (short tasks end early) */
  CoreRng rng;
  core_rng_stream(&rng, c->seed, CORE_RNG_TEST, 700);
  env_reset(c->a, seed, c->obs_a);
  int len = 0;
  while (len < ROUND_TRIP_STEPS && !c->a->needs_reset) {
    EnvStep st;
    float *a = c->rec_act + (size_t)len * ad;
    env_policy_random(&rng, c->a, c->obs_a, a);
    env_step(c->a, a, c->obs_a, &st);
    len++;
  }
  int k = len / 2;
  char fail[ENV_CHECK_DETAIL_SZ] = "";

  /* save after k steps, record the rest */
  env_reset(c->a, seed, c->obs_a);
  for (int t = 0; t < k && !fail[0]; t++) {
    EnvStep st;
    if (c->a->needs_reset)
      snprintf(fail, sizeof fail, "the same seed and actions ended the episode earlier");
    else
      env_step(c->a, c->rec_act + (size_t)t * ad, c->obs_a, &st);
  }
  int got = fail[0] ? n : vt->get_state(c->a, s, n);
  if (got != n) snprintf(fail, sizeof fail, "get_state returned %d, expected %d", got, n);
  if (!fail[0] && replay_(c, c->a, c->obs_a, k, len, 0))
    snprintf(fail, sizeof fail, "the same seed and actions ended the episode earlier");

  /* restore on the same instance, then on the other one after an unrelated reset */
  for (int pass = 0; pass < 2 && !fail[0]; pass++) {
    Env *e = pass ? c->b : c->a;
    float *obs = pass ? c->obs_b : c->obs_a;
    if (pass) env_reset(e, seed_(c, 701), obs);
    int rc = vt->set_state(e, s, n);
    if (rc != 0) {
      snprintf(fail, sizeof fail, "set_state returned %d on its own state", rc);
      break;
    }
    if (vt->get_state(e, s2, n) != n || memcmp(s, s2, sizeof(double) * (size_t)n)) {
      snprintf(fail, sizeof fail, "get_state after set_state differs from the state set");
      break;
    }
    /* the wrapper's counters are not simulator state: put them where the save was taken */
    e->elapsed_steps = k;
    e->needs_reset = 0;
    int bad = replay_(c, e, obs, k, len, 1);
    if (bad)
      snprintf(fail, sizeof fail, "restored %s differs from the original at step %d",
               pass ? "on a second instance" : "state", bad);
  }
  if (!fail[0] && n > 1 && vt->set_state(c->b, s, n - 1) >= 0)
    snprintf(fail, sizeof fail, "set_state accepted a state of %d values (needs %d)", n - 1, n);
  core_free(s);
  if (fail[0])
    add_(c->rep, name, ENV_CHECK_FAIL, "%s", fail);
  else
    add_(c->rep, name, ENV_CHECK_PASS,
         "%d-value state saved at step %d replays steps %d..%d identically on both instances", n,
         k, k + 1, len);
}

/* ---------------------------------------------------------------- driver */

int env_check(const EnvEntry *entry, uint64_t seed, EnvCheckReport *rep, CoreErr *err) {
  memset(rep, 0, sizeof *rep);
  Checker c = {.entry = entry, .seed = seed, .rep = rep};
  c.a = env_make_from(entry, err);
  c.b = c.a ? env_make_from(entry, err) : NULL;
  if (!c.a || !c.b) {
    add_(rep, "make", ENV_CHECK_FAIL, "%s", err ? err->msg : "could not create two instances");
    env_free(c.a);
    return err && err->code ? err->code : CORE_ERR_RUNTIME;
  }
  int fresh_guarded = c.a->needs_reset && c.b->needs_reset;
  if (check_spaces_(&c) == 0) {
    size_t od = (size_t)c.a->obs_dim, ad = (size_t)c.a->act_dim;
    size_t nf = 2 * od + ad + N_DISTINCT_SEEDS * od + ROUND_TRIP_STEPS * (od + ad);
    float *buf = core_calloc(nf, sizeof(float));
    if (!buf) {
      env_free(c.a);
      env_free(c.b);
      return core_err_set(err, CORE_ERR_NOMEM, "env check: out of memory");
    }
    c.obs_a = buf;
    c.obs_b = c.obs_a + od;
    c.act = c.obs_b + od;
    c.init = c.act + ad;
    c.rec_obs = c.init + N_DISTINCT_SEEDS * od;
    c.rec_act = c.rec_obs + ROUND_TRIP_STEPS * od;
    c.cap = c.a->max_episode_steps > 0 ? c.a->max_episode_steps : NO_LIMIT_CAP;
    check_reset_spread_(&c);
    check_reset_determinism_(&c);
    check_seeds_differ_(&c);
    check_steps_finite_(&c);
    check_step_determinism_(&c);
    check_truncation_(&c);
    check_guard_(&c, fresh_guarded);
    check_state_round_trip_(&c);
    core_free(buf);
  }
  env_free(c.a);
  env_free(c.b);
  return rep->n_fail;
}
