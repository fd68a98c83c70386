/* test_envs_generic.c — the generic environment layer: registry and names, the time-limit
 * wrapper, determinism, the rollout runner, and the checker (which must pass on the tiny tasks
 * and fail on deliberately broken local environments). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <fcntl.h>

#include "test_util.h"

#include "core/alloc.h"
#include "core/rng.h"
#include "envs/check.h"
#include "envs/env.h"
#include "envs/rollout.h"

static const char *tiny_names[] = {"Pendulum-v1", "PointMassLQR-v0", "Bandit1D-v0"};

static Env *make_(const char *name) {
  CoreErr err;
  core_err_clear(&err);
  Env *e = env_make(name, &err);
  if (!e) fail_msg("env_make(%s): %s", name, err.msg);
  return e;
}

/* ---------------------------------------------------------------- a local test environment
 *
 * "Walk": obs (x, y), x0, y0 ~ U(-1, 1) from the seed; step x += a0, y = 0.5 y + a1;
 * reward -x^2; terminates when |x| > term_at (if set). A flaw switches on one defect at a time,
 * so each checker item can be shown to fail. It is constructed directly, never registered. */
typedef enum {
  FLAW_NONE = 0,
  FLAW_NAN,          /* observation NaN from step 5 */
  FLAW_NONDET,       /* reset ignores the seed: a process-global counter instead */
  FLAW_SEEDLESS,     /* reset ignores the seed: always the same start */
  FLAW_BOUNDS,       /* act_low > act_high */
  FLAW_BAD_STATE,    /* get_state forgets y */
  FLAW_ALLOC,        /* allocates in step and keeps it until free */
  FLAW_SETS_TRUNC,   /* the task itself sets truncated and a bogus status-free end */
  NFLAW
} Flaw;

typedef struct {
  Env base;
  double x, y;
  int t;
  Flaw flaw;
  void *leak[64];
  int nleak;
  float low[2], high[2];
} Walk;

static Flaw g_flaw;          /* the flaw of the next walk_make_ */
static int g_limit = 50;     /* its time limit */
static double g_term_at;     /* terminate when |x| > this (0: never) */
static uint64_t g_nondet;

static void walk_reset_(Env *e, uint64_t seed, float *obs) {
  Walk *w = (Walk *)e;
  CoreRng rng;
  if (w->flaw == FLAW_NONDET) seed = g_nondet++;
  if (w->flaw == FLAW_SEEDLESS) seed = 42;
  core_rng_stream(&rng, seed, CORE_RNG_ENV, 0);
  w->x = core_rng_uniform_range(&rng, -1, 1);
  w->y = core_rng_uniform_range(&rng, -1, 1);
  w->t = 0;
  obs[0] = (float)w->x;
  obs[1] = (float)w->y;
}

static void walk_step_(Env *e, const float *act, float *obs, EnvStep *out) {
  Walk *w = (Walk *)e;
  w->x += act[0];
  w->y = 0.5 * w->y + act[1];
  w->t++;
  out->reward = -w->x * w->x;
  out->terminated = g_term_at > 0 && fabs(w->x) > g_term_at;
  obs[0] = (float)w->x;
  obs[1] = (float)w->y;
  if (w->flaw == FLAW_NAN && w->t >= 5) obs[1] = NAN;
  if (w->flaw == FLAW_ALLOC && w->nleak < 64) w->leak[w->nleak++] = core_malloc(16);
  if (w->flaw == FLAW_SETS_TRUNC) out->truncated = 1;
}

static int walk_get_state_(const Env *e, double *s, int cap) {
  const Walk *w = (const Walk *)e;
  if (cap < 2) return 2;
  s[0] = w->x;
  s[1] = w->flaw == FLAW_BAD_STATE ? 0.0 : w->y;
  return 2;
}

static int walk_set_state_(Env *e, const double *s, int n) {
  Walk *w = (Walk *)e;
  if (n != 2) return CORE_ERR_INVALID;
  w->x = s[0];
  w->y = s[1];
  return 0;
}

static void walk_free_(Env *e) {
  Walk *w = (Walk *)e;
  for (int i = 0; i < w->nleak; i++) core_free(w->leak[i]);
  core_free(w);
}

static const EnvVt walk_vt = {.reset = walk_reset_,
                              .step = walk_step_,
                              .free = walk_free_,
                              .get_state = walk_get_state_,
                              .set_state = walk_set_state_};

static Env *walk_make_(CoreErr *err) {
  Walk *w = core_calloc(1, sizeof *w);
  if (!w) {
    core_err_set(err, CORE_ERR_NOMEM, "Walk: out of memory");
    return NULL;
  }
  w->flaw = g_flaw;
  w->low[0] = w->low[1] = -0.1f;
  w->high[0] = w->high[1] = 0.1f;
  if (g_flaw == FLAW_BOUNDS) w->low[1] = 0.5f;
  w->base = (Env){.vt = &walk_vt, .obs_dim = 2, .act_dim = 2, .act_low = w->low,
                  .act_high = w->high, .max_episode_steps = g_limit, .dt = 0.1};
  return &w->base;
}

static const EnvEntry walk_entry = {"Walk-v0", "local test env", walk_make_};

static Env *walk_(Flaw flaw, int limit, double term_at) {
  g_flaw = flaw;
  g_limit = limit;
  g_term_at = term_at;
  CoreErr err;
  Env *e = env_make_from(&walk_entry, &err);
  assert_non_null(e);
  return e;
}

/* ---------------------------------------------------------------- registry and names */

static void test_registry(void **state) {
  (void)state;
  int n = env_registry_count();
  assert_true(n >= 3);
  for (int i = 0; i < n; i++) {
    const EnvEntry *a = env_registry_at(i);
    assert_non_null(a->name);
    assert_non_null(a->summary);
    assert_non_null(a->make);
    assert_ptr_equal(env_registry_find(a->name), a);
    for (int j = i + 1; j < n; j++) assert_string_not_equal(a->name, env_registry_at(j)->name);
  }
  for (int i = 0; i < 3; i++) {
    Env *e = make_(tiny_names[i]);
    assert_string_equal(e->name, tiny_names[i]);
    assert_int_equal(e->needs_reset, 1);
    assert_int_equal(e->elapsed_steps, 0);
    env_free(e);
  }
  env_free(NULL);
  assert_null(env_registry_find("nope"));
}

static void test_unknown_name(void **state) {
  (void)state;
  CoreErr err;
  core_err_clear(&err);
  assert_null(env_make("Pendulm-v1", &err));
  assert_int_equal(err.code, CORE_ERR_NOTFOUND);
  assert_string_equal(err.msg,
                      "unknown environment 'Pendulm-v1'; did you mean 'Pendulum-v1'? "
                      "(`cemrl envs` lists them)");
  /* case, a missing version suffix, a transposition */
  assert_string_equal(env_suggest("pendulum-v1"), "Pendulum-v1");
  assert_string_equal(env_suggest("Pendulum"), "Pendulum-v1");
  assert_string_equal(env_suggest("PointMassLQR-v1"), "PointMassLQR-v0");
  assert_string_equal(env_suggest("Badnit1D-v0"), "Bandit1D-v0");
  if (env_registry_find("HalfCheetah-v4")) {
    assert_null(env_make("HalfCheeta-v4", &err));
    assert_contains(err.msg, "did you mean 'HalfCheetah-v4'?");
  }
  /* nothing close: no guess */
  assert_null(env_suggest("zzzzzzzz"));
  assert_null(env_make("zzzzzzzz", &err));
  assert_string_equal(err.msg, "unknown environment 'zzzzzzzz' (`cemrl envs` lists them)");
  assert_null(env_make("", &err));
  assert_int_equal(err.code, CORE_ERR_NOTFOUND);
}

/* ---------------------------------------------------------------- the time-limit wrapper */

static void test_truncation_at_200(void **state) {
  (void)state;
  Env *e = make_("Pendulum-v1");
  float obs[3], act[1] = {0.5f};
  EnvStep st;
  for (int ep = 0; ep < 2; ep++) {  /* twice: reset clears the counter */
    env_reset(e, 11, obs);
    for (int t = 1; t <= 200; t++) {
      env_step(e, act, obs, &st);
      assert_int_equal(st.terminated, 0);
      assert_int_equal(st.status, ENV_OK);
      if (st.truncated != (t == 200)) fail_msg("truncated = %d at step %d", st.truncated, t);
      assert_int_equal(e->elapsed_steps, t);
      assert_int_equal(e->needs_reset, t == 200);
    }
  }
  env_free(e);
}

static void test_terminated_vs_truncated(void **state) {
  (void)state;
  float obs[2], act[2] = {0.1f, 0.0f};
  EnvStep st;
  /* terminates at step k (x0 + 0.1 k > 0.95) before the limit: terminated, not truncated */
  Env *e = walk_(FLAW_NONE, 50, 0.95);
  env_reset(e, 1, obs);
  int t = 0;
  do {
    env_step(e, act, obs, &st);
    t++;
    if (!st.terminated) assert_int_equal(st.truncated, 0);
  } while (!st.terminated && t < 50);
  assert_int_equal(st.terminated, 1);
  assert_int_equal(st.truncated, 0);
  assert_true(t < 50);
  int k = t;
  assert_int_equal(e->needs_reset, 1);
  env_free(e);
  /* the limit at exactly the terminating step: the task's end wins */
  e = walk_(FLAW_NONE, k, 0.95);
  env_reset(e, 1, obs);
  for (t = 1; t <= k; t++) env_step(e, act, obs, &st);
  assert_int_equal(st.terminated, 1);
  assert_int_equal(st.truncated, 0);
  env_free(e);
  /* the limit one step earlier: truncated, not terminated */
  e = walk_(FLAW_NONE, k - 1, 0.95);
  env_reset(e, 1, obs);
  for (t = 1; t <= k - 1; t++) env_step(e, act, obs, &st);
  assert_int_equal(st.terminated, 0);
  assert_int_equal(st.truncated, 1);
  env_free(e);
  /* a task cannot truncate on its own: the wrapper owns that flag */
  e = walk_(FLAW_SETS_TRUNC, 50, 0);
  env_reset(e, 1, obs);
  env_step(e, act, obs, &st);
  assert_int_equal(st.truncated, 0);
  env_free(e);
  /* the one-step Bandit terminates at its limit of 1 */
  e = make_("Bandit1D-v0");
  float o1[1], a1[1] = {0};
  env_reset(e, 1, o1);
  env_step(e, a1, o1, &st);
  assert_int_equal(st.terminated, 1);
  assert_int_equal(st.truncated, 0);
  env_free(e);
}

static void test_nonfinite_cut(void **state) {
  (void)state;
  Env *e = walk_(FLAW_NAN, 50, 0);
  float obs[2], act[2] = {0, 0};
  EnvStep st;
  env_reset(e, 1, obs);
  for (int t = 1; t <= 4; t++) {
    env_step(e, act, obs, &st);
    assert_int_equal(st.status, ENV_OK);
  }
  env_step(e, act, obs, &st);
  assert_int_equal(st.status, ENV_ERR_NONFINITE);
  assert_string_equal(env_status_names[st.status], "nonfinite");
  assert_int_equal(st.truncated, 1);
  assert_int_equal(st.terminated, 0);
  assert_int_equal(e->needs_reset, 1);
  env_free(e);
}

/* env_step before env_reset, or after the end, aborts (checked in a child process). */
static int child_aborts_(int after_end) {
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int fd = open("/dev/null", O_WRONLY);
    if (fd >= 0) dup2(fd, 2);
    Env *e = env_make("Pendulum-v1", NULL);
    float obs[3], act[1] = {0};
    EnvStep st;
    if (after_end) {
      env_reset(e, 1, obs);
      for (int t = 0; t < 200; t++) env_step(e, act, obs, &st);
    }
    env_step(e, act, obs, &st);
    _exit(0);  /* reached only if the guard failed */
  }
  int status;
  waitpid(pid, &status, 0);
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

static void test_step_before_reset_aborts(void **state) {
  (void)state;
  assert_true(child_aborts_(0));
  assert_true(child_aborts_(1));
}

/* ---------------------------------------------------------------- determinism */

static void run_random_(Env *e, uint64_t seed, float *obs_log, double *rew_log, int n) {
  CoreRng rng;
  core_rng_stream(&rng, 99, CORE_RNG_TEST, 0);
  float *obs = obs_log;
  env_reset(e, seed, obs);
  for (int t = 0; t < n; t++) {
    float act[8];
    EnvStep st;
    env_policy_random(&rng, e, obs, act);
    obs = obs_log + (size_t)(t + 1) * e->obs_dim;
    env_step(e, act, obs, &st);
    rew_log[t] = st.reward;
  }
}

static void test_same_seed_same_trajectory(void **state) {
  (void)state;
  for (int k = 0; k < 2; k++) {
    Env *a = make_(tiny_names[k]), *b = make_(tiny_names[k]);
    int n = a->max_episode_steps, od = a->obs_dim;
    float *oa = calloc((size_t)(n + 1) * od, sizeof(float));
    float *ob = calloc((size_t)(n + 1) * od, sizeof(float));
    double *ra = calloc((size_t)n, sizeof(double)), *rb = calloc((size_t)n, sizeof(double));
    run_random_(a, 5, oa, ra, n);
    run_random_(b, 5, ob, rb, n);
    assert_memory_equal(oa, ob, sizeof(float) * (size_t)(n + 1) * od);
    assert_memory_equal(ra, rb, sizeof(double) * (size_t)n);
    /* the same instance again, after another episode */
    run_random_(a, 6, ob, rb, n);
    assert_true(memcmp(oa, ob, sizeof(float) * (size_t)od) != 0);  /* another seed differs */
    run_random_(a, 5, ob, rb, n);
    assert_memory_equal(oa, ob, sizeof(float) * (size_t)(n + 1) * od);
    free(oa);
    free(ob);
    free(ra);
    free(rb);
    env_free(a);
    env_free(b);
  }
}

/* ---------------------------------------------------------------- the rollout runner */

typedef struct {
  int calls;
  int chain_ok;
  float prev_next[2];
} StepLog;

static void log_step_(void *ctx, const Env *e, const float *obs, const float *act,
                      const EnvStep *st, const float *next_obs) {
  StepLog *l = ctx;
  (void)act;
  (void)st;
  /* obs of step t+1 is next_obs of step t */
  if (l->calls > 0 && memcmp(l->prev_next, obs, sizeof(float) * (size_t)e->obs_dim))
    l->chain_ok = 0;
  memcpy(l->prev_next, next_obs, sizeof(float) * (size_t)e->obs_dim);
  l->calls++;
}

static void push_policy_(void *ctx, const Env *e, const float *obs, float *act) {
  (void)ctx;
  (void)obs;
  (void)e;
  act[0] = 0.1f;
  act[1] = 0.0f;
}

static void test_rollout_runner(void **state) {
  (void)state;
  Env *e = walk_(FLAW_NONE, 50, 0.95);
  float scratch[6];
  assert_int_equal(env_rollout_scratch_floats(e), 6);
  StepLog log = {.chain_ok = 1};
  EnvRolloutOpts opt = {.policy = push_policy_, .on_step = log_step_, .step_ctx = &log};
  EnvEpisode ep;
  env_rollout(e, 1, &opt, scratch, &ep);
  /* the same episode by hand */
  float obs[2], act[2] = {0.1f, 0.0f};
  EnvStep st;
  double ret = 0;
  int len = 0;
  env_reset(e, 1, obs);
  do {
    env_step(e, act, obs, &st);
    ret += st.reward;
    len++;
  } while (!st.terminated && !st.truncated);
  assert_int_equal(ep.length, len);
  assert_true(ep.ret == ret);
  assert_int_equal(ep.terminated, 1);
  assert_int_equal(ep.truncated, 0);
  assert_int_equal(ep.capped, 0);
  assert_int_equal(log.calls, len);
  assert_true(log.chain_ok);
  /* a cap below the episode's end */
  opt.max_steps = 3;
  env_rollout(e, 1, &opt, scratch, &ep);
  assert_int_equal(ep.length, 3);
  assert_int_equal(ep.capped, 1);
  assert_int_equal(ep.terminated + ep.truncated, 0);
  env_free(e);
  /* evaluation: the time limit ends Pendulum episodes; stats over seeds */
  e = make_("Pendulum-v1");
  float sc[7];
  EnvRolloutOpts zero = {.policy = env_policy_zero};
  EnvEvalStats ev;
  env_evaluate(e, 3, 5, &zero, sc, &ev);
  assert_int_equal(ev.episodes, 5);
  assert_int_equal(ev.n_truncated, 5);
  assert_near(ev.mean_length, 200, 0);
  assert_true(ev.min <= ev.mean && ev.mean <= ev.max && ev.std > 0);
  /* episode i used the seed core_rng_derive(3, CORE_RNG_EVAL, i) */
  env_rollout(e, core_rng_derive(3, CORE_RNG_EVAL, 0), &zero, sc, &ep);
  assert_true(ep.ret >= ev.min && ep.ret <= ev.max);
  env_free(e);
}

/* ---------------------------------------------------------------- the checker */

static void expect_verdict_(const EnvCheckReport *rep, const char *name, int verdict) {
  const EnvCheckItem *it = env_check_find(rep, name);
  if (!it) fail_msg("no check named '%s'", name);
  if (it->verdict != verdict)
    fail_msg("check '%s': %s (%s), expected %s", name, env_check_verdict_names[it->verdict],
             it->detail, env_check_verdict_names[verdict]);
}

static const char *all_checks[] = {"spaces",           "reset obs finite",  "reset spread",
                                   "reset determinism", "seeds differ",     "steps finite",
                                   "no alloc in step",  "step determinism", "truncation at limit",
                                   "step before reset", "state round trip"};

static void test_checker_passes_tiny(void **state) {
  (void)state;
  for (int k = 0; k < 3; k++) {
    EnvCheckReport rep;
    CoreErr err;
    int rc = env_check(env_registry_find(tiny_names[k]), 0, &rep, &err);
    for (int i = 0; i < rep.n; i++)
      if (rep.item[i].verdict != ENV_CHECK_PASS)
        print_error("%s: %s %s: %s\n", tiny_names[k], env_check_verdict_names[rep.item[i].verdict],
                    rep.item[i].name, rep.item[i].detail);
    assert_int_equal(rc, 0);
    assert_int_equal(rep.n, 11);
    for (int i = 0; i < 11; i++) expect_verdict_(&rep, all_checks[i], ENV_CHECK_PASS);
  }
}

static EnvCheckReport check_walk_(Flaw flaw) {
  g_flaw = flaw;
  g_limit = 50;
  g_term_at = 0;
  EnvCheckReport rep;
  CoreErr err;
  core_err_clear(&err);
  int rc = env_check(&walk_entry, 0, &rep, &err);
  assert_int_equal(rc, rep.n_fail);
  return rep;
}

static void test_checker_fails_broken(void **state) {
  (void)state;
  long live = core_alloc_live();
  /* the flawless local env passes everything: the failures below come from the flaws */
  EnvCheckReport rep = check_walk_(FLAW_NONE);
  assert_int_equal(rep.n_fail, 0);
  for (int i = 0; i < 11; i++) expect_verdict_(&rep, all_checks[i], ENV_CHECK_PASS);

  rep = check_walk_(FLAW_NAN);
  expect_verdict_(&rep, "steps finite", ENV_CHECK_FAIL);
  assert_contains(env_check_find(&rep, "steps finite")->detail, "step 5: obs[1]");
  expect_verdict_(&rep, "reset obs finite", ENV_CHECK_PASS);

  rep = check_walk_(FLAW_NONDET);
  expect_verdict_(&rep, "reset determinism", ENV_CHECK_FAIL);
  expect_verdict_(&rep, "step determinism", ENV_CHECK_FAIL);

  rep = check_walk_(FLAW_SEEDLESS);
  expect_verdict_(&rep, "seeds differ", ENV_CHECK_FAIL);
  expect_verdict_(&rep, "reset spread", ENV_CHECK_FAIL);
  expect_verdict_(&rep, "reset determinism", ENV_CHECK_PASS);

  rep = check_walk_(FLAW_BOUNDS);
  expect_verdict_(&rep, "spaces", ENV_CHECK_FAIL);
  assert_contains(env_check_find(&rep, "spaces")->detail, "action 1 bounds [0.5, 0.1]");
  assert_int_equal(rep.n, 1);  /* nothing else can run with broken spaces */

  rep = check_walk_(FLAW_BAD_STATE);
  expect_verdict_(&rep, "state round trip", ENV_CHECK_FAIL);
  expect_verdict_(&rep, "step determinism", ENV_CHECK_PASS);

  rep = check_walk_(FLAW_ALLOC);
  expect_verdict_(&rep, "no alloc in step", ENV_CHECK_FAIL);
  assert_int_equal(core_alloc_live(), live);
}

/* No time limit: truncation is skipped, the rest still runs (episodes are capped). */
static void test_checker_no_limit(void **state) {
  (void)state;
  g_flaw = FLAW_NONE;
  g_limit = 0;
  g_term_at = 0;
  EnvCheckReport rep;
  CoreErr err;
  assert_int_equal(env_check(&walk_entry, 1, &rep, &err), 0);
  expect_verdict_(&rep, "truncation at limit", ENV_CHECK_SKIP);
  expect_verdict_(&rep, "step determinism", ENV_CHECK_PASS);
}

/* A make that fails gives an error and a failed "make" check. */
static Env *failing_make_(CoreErr *err) {
  core_err_set(err, CORE_ERR_IO, "model.xml: cannot open");
  return NULL;
}

static void test_checker_make_fails(void **state) {
  (void)state;
  const EnvEntry bad = {"Bad-v0", "fails", failing_make_};
  EnvCheckReport rep;
  CoreErr err;
  core_err_clear(&err);
  assert_int_equal(env_check(&bad, 0, &rep, &err), CORE_ERR_IO);
  assert_string_equal(err.msg, "environment 'Bad-v0': model.xml: cannot open");
  expect_verdict_(&rep, "make", ENV_CHECK_FAIL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_registry),
      cmocka_unit_test(test_unknown_name),
      cmocka_unit_test(test_truncation_at_200),
      cmocka_unit_test(test_terminated_vs_truncated),
      cmocka_unit_test(test_nonfinite_cut),
      cmocka_unit_test(test_step_before_reset_aborts),
      cmocka_unit_test(test_same_seed_same_trajectory),
      cmocka_unit_test(test_rollout_runner),
      cmocka_unit_test(test_checker_passes_tiny),
      cmocka_unit_test(test_checker_fails_broken),
      cmocka_unit_test(test_checker_no_limit),
      cmocka_unit_test(test_checker_make_fails),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
