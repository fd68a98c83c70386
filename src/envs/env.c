/* env.c — the generic layer: make by name, the time-limit wrapper, name suggestions. */
#include "envs/env.h"

#include <ctype.h>
#include <math.h>
#include <string.h>

const char *const env_status_names[] = {"ok", "diverged", "nonfinite"};

/* ---------------------------------------------------------------- name suggestions */

/* Case-insensitive Levenshtein distance, capped at `cap` (names are short; O(n*m) is fine). */
static int edit_distance_(const char *a, const char *b, int cap) {
  enum { MAXLEN = 64 };
  size_t na = strlen(a), nb = strlen(b);
  if (na >= MAXLEN || nb >= MAXLEN) return cap;
  int prev[MAXLEN + 1], cur[MAXLEN + 1];
  for (size_t j = 0; j <= nb; j++) prev[j] = (int)j;
  for (size_t i = 1; i <= na; i++) {
    cur[0] = (int)i;
    for (size_t j = 1; j <= nb; j++) {
      int sub = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
      int best = prev[j - 1] + sub;
      if (prev[j] + 1 < best) best = prev[j] + 1;
      if (cur[j - 1] + 1 < best) best = cur[j - 1] + 1;
      cur[j] = best;
    }
    memcpy(prev, cur, sizeof(int) * (nb + 1));
  }
  return prev[nb] < cap ? prev[nb] : cap;
}

static int has_prefix_nocase_(const char *s, const char *prefix) {
  for (; *prefix; s++, prefix++)
    if (tolower((unsigned char)*s) != tolower((unsigned char)*prefix)) return 0;
  return 1;
}

const char *env_suggest(const char *name) {
  if (!name || !*name) return NULL;
  int n = env_registry_count();
  /* a unique prefix ("HalfCheetah" for "HalfCheetah-v4") is the most likely intent */
  const char *prefix_hit = NULL;
  int prefix_hits = 0;
  for (int i = 0; i < n; i++)
    if (has_prefix_nocase_(env_registry_at(i)->name, name)) {
      prefix_hit = env_registry_at(i)->name;
      prefix_hits++;
    }
  if (prefix_hits == 1) return prefix_hit;
  /* otherwise the closest name, if the typo is small relative to the name */
  int len = (int)strlen(name), limit = len / 3 > 2 ? len / 3 : 2;
  const char *best = NULL;
  int best_d = limit + 1;
  for (int i = 0; i < n; i++) {
    int d = edit_distance_(name, env_registry_at(i)->name, limit + 1);
    if (d < best_d) {
      best_d = d;
      best = env_registry_at(i)->name;
    }
  }
  return best;
}

/* ---------------------------------------------------------------- make and free */

const EnvEntry *env_registry_find(const char *name) {
  if (!name) return NULL;
  for (int i = 0; i < env_registry_count(); i++)
    if (!strcmp(env_registry_at(i)->name, name)) return env_registry_at(i);
  return NULL;
}

Env *env_make_from(const EnvEntry *entry, CoreErr *err) {
  CORE_ASSERT(entry && entry->make);
  core_err_clear(err);
  Env *e = entry->make(err);
  if (!e) {
    if (err && err->code == CORE_OK) core_err_set(err, CORE_ERR_RUNTIME, "could not create it");
    core_err_prefix(err, "environment '%s': ", entry->name);
    return NULL;
  }
  /* the required hooks are part of the contract; a task without them is a bug */
  CORE_ASSERT(e->vt && e->vt->reset && e->vt->step && e->vt->free);
  e->name = entry->name;
  e->elapsed_steps = 0;
  e->needs_reset = 1;
  return e;
}

Env *env_make(const char *name, CoreErr *err) {
  const EnvEntry *entry = env_registry_find(name);
  if (entry) return env_make_from(entry, err);
  const char *hint = env_suggest(name);
  if (hint)
    core_err_set(err, CORE_ERR_NOTFOUND,
                 "unknown environment '%s'; did you mean '%s'? (`cemrl envs` lists them)",
                 name ? name : "", hint);
  else
    core_err_set(err, CORE_ERR_NOTFOUND, "unknown environment '%s' (`cemrl envs` lists them)",
                 name ? name : "");
  return NULL;
}

void env_free(Env *e) {
  if (!e) return;
  e->vt->free(e);
}

/* ---------------------------------------------------------------- reset and step */

void env_reset(Env *e, uint64_t seed, float *obs) {
  e->vt->reset(e, seed, obs);
  e->elapsed_steps = 0;
  e->needs_reset = 0;
}

void env_step(Env *e, const float *act, float *obs, EnvStep *out) {
  if (e->needs_reset)
    core_abort(__FILE__, __LINE__,
               "env_step on '%s' before env_reset or after its episode ended (step %d); call "
               "env_reset first",
               e->name ? e->name : "?", e->elapsed_steps);
  /* the task fills reward, terminated and status; truncation belongs to this wrapper alone */
  out->reward = 0.0;
  out->terminated = 0;
  out->truncated = 0;
  out->status = ENV_OK;
  e->vt->step(e, act, obs, out);
  e->elapsed_steps++;
  out->terminated = out->terminated != 0;
  out->truncated = 0;
  if (out->status == ENV_OK) {
    int finite = isfinite(out->reward);
    for (int i = 0; i < e->obs_dim && finite; i++) finite = isfinite(obs[i]);
    if (!finite) out->status = ENV_ERR_NONFINITE;
  }
  /* a cut episode (diverged, NaN) is never a real end of the task: truncate so nobody trusts it */
  if (out->status != ENV_OK)
    out->truncated = 1;
  else if (!out->terminated && e->max_episode_steps > 0 && e->elapsed_steps >= e->max_episode_steps)
    out->truncated = 1;
  if (out->terminated || out->truncated) e->needs_reset = 1;
}
