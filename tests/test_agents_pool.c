/* test_agents_pool.c — population evaluation: identical results at any thread count. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>

#include "test_util.h"
#include "agents/pool.h"
#include "core/alloc.h"
#include "core/rng.h"
#include "envs/tiny_tasks.h"

enum { POP = 6, HID = 16, MAXL = 8 };

/* A small tanh actor ending in tanh x act_high, as agent_actor_layers builds it. */
static int actor_layers(const Env *e, NnLayerDesc *l) {
  int n = 0;
  l[n++] = (NnLayerDesc){.kind = NN_LINEAR, .out = HID};
  l[n++] = (NnLayerDesc){.kind = NN_TANH};
  l[n++] = (NnLayerDesc){.kind = NN_LINEAR, .out = HID};
  l[n++] = (NnLayerDesc){.kind = NN_TANH};
  l[n++] = (NnLayerDesc){.kind = NN_LINEAR, .out = e->act_dim};
  l[n++] = (NnLayerDesc){.kind = NN_TANH};
  l[n++] = (NnLayerDesc){.kind = NN_SCALE, .alpha = 1.0f, .scale = e->act_high};
  return n;
}

/* A population of POP differently initialised actors (rows of pop), gaussian-perturbed so the
 * actions sometimes exceed the bounds (the clip is exercised). */
static float *make_population(const Env *e, uint64_t seed, size_t *n_params) {
  NnLayerDesc l[MAXL];
  int nl = actor_layers(e, l);
  NnMlp *net = nn_mlp_create(e->obs_dim, l, nl, 1, NULL);
  assert_non_null(net);
  *n_params = net->n_params;
  float *pop = core_malloc(sizeof(float) * POP * net->n_params);
  for (int i = 0; i < POP; i++) {
    CoreRng rng;
    core_rng_stream(&rng, seed, CORE_RNG_TEST, (uint64_t)i);
    nn_mlp_init(net, NN_INIT_GAUSSIAN, 1.0, &rng);
    memcpy(pop + (size_t)i * net->n_params, net->params, sizeof(float) * net->n_params);
  }
  nn_mlp_free(net);
  return pop;
}

/* Two buffers hold exactly the same rows and counters. */
static void assert_rb_equal(const ReplayBuffer *a, const ReplayBuffer *b) {
  assert_int_equal(a->size, b->size);
  assert_int_equal(a->ptr, b->ptr);
  assert_int_equal(a->added, b->added);
  size_t n = (size_t)a->size;
  assert_memory_equal(a->obs, b->obs, n * a->obs_dim * sizeof(float));
  assert_memory_equal(a->next_obs, b->next_obs, n * a->obs_dim * sizeof(float));
  assert_memory_equal(a->act, b->act, n * a->act_dim * sizeof(float));
  assert_memory_equal(a->rew, b->rew, n * sizeof(float));
  assert_memory_equal(a->not_done, b->not_done, n * sizeof(float));
}

/* The serial reference: one env, one network, individuals in order, rb_add at every step. */
typedef struct {
  ReplayBuffer *rb;
} RefCtx;

static void ref_on_step(void *ctx, const Env *e, const float *obs, const float *act,
                        const EnvStep *st, const float *next_obs) {
  (void)e;
  RefCtx *r = ctx;
  rb_add(r->rb, obs, act, st->reward, next_obs, st->terminated);
}

static void reference_eval(const char *env_name, float *pop, uint64_t seed, int64_t gen,
                           ReplayBuffer *rb, double *fit, int *len) {
  Env *e = env_make(env_name, NULL);
  assert_non_null(e);
  NnLayerDesc l[MAXL];
  int nl = actor_layers(e, l);
  NnMlp *net = nn_mlp_create(e->obs_dim, l, nl, 1, NULL);
  float scratch[64];
  assert_true(env_rollout_scratch_floats(e) <= 64);
  RefCtx rc = {rb};
  for (int i = 0; i < POP; i++) {
    nn_mlp_bind_params(net, pop + (size_t)i * net->n_params);
    EnvRolloutOpts o = {.policy = agent_pool_actor_policy, .policy_ctx = net,
                        .on_step = ref_on_step, .step_ctx = &rc};
    EnvEpisode ep;
    env_rollout(e, agent_pool_reset_seed(seed, gen, i), &o, scratch, &ep);
    fit[i] = ep.ret;
    len[i] = ep.length;
  }
  nn_mlp_free(net);
  env_free(e);
}

/* Fitness and buffer identical at 1, 2 and 3 threads and to the serial reference, over several
 * generations (workers keep their env and network between generations). */
static void check_env_threads(const char *env_name) {
  Env *e = env_make(env_name, NULL);
  assert_non_null(e);
  NnLayerDesc l[MAXL];
  int nl = actor_layers(e, l);
  size_t np;
  float *pop = make_population(e, 11, &np);
  const uint64_t seed = 1234;
  const int n_gen = 3;
  const long cap = (long)POP * e->max_episode_steps * n_gen + 7;

  ReplayBuffer *ref_rb = rb_create(cap, e->obs_dim, e->act_dim, NULL);
  double ref_fit[3][POP];
  int ref_len[3][POP];
  for (int g = 0; g < n_gen; g++)
    reference_eval(env_name, pop, seed, g, ref_rb, ref_fit[g], ref_len[g]);

  const int thread_counts[] = {1, 2, 3, 0};
  for (int tc = 0; tc < 4; tc++) {
    AgentPool *p = agent_pool_create(env_name, l, nl, POP, thread_counts[tc], NULL);
    assert_non_null(p);
    assert_int_equal(agent_pool_num_params(p), np);
    assert_int_equal(agent_pool_threads(p), thread_counts[tc] <= 1 ? 0 : thread_counts[tc]);
    ReplayBuffer *rb = rb_create(cap, e->obs_dim, e->act_dim, NULL);
    for (int g = 0; g < n_gen; g++) {
      EnvEpisode out[POP];
      int64_t steps = agent_pool_evaluate(p, pop, POP, seed, g, rb, out);
      int64_t want_steps = 0;
      for (int i = 0; i < POP; i++) {
        /* bit-identical doubles */
        assert_memory_equal(&out[i].ret, &ref_fit[g][i], sizeof(double));
        assert_int_equal(out[i].length, ref_len[g][i]);
        want_steps += ref_len[g][i];
      }
      assert_int_equal(steps, want_steps);
    }
    assert_rb_equal(rb, ref_rb);
    rb_free(rb);
    agent_pool_free(p);
  }
  /* the test can fail: individuals really differ, and a generation changes the resets */
  assert_true(ref_fit[0][0] != ref_fit[0][1]);
  assert_true(ref_fit[0][0] != ref_fit[1][0]);
  rb_free(ref_rb);
  core_free(pop);
  env_free(e);
}

static void test_threads_pendulum(void **state) {
  (void)state;
  check_env_threads("Pendulum-v1");
}

static void test_threads_lqr(void **state) {
  (void)state;
  check_env_threads("PointMassLQR-v0");
}

/* Actions stored in the buffer are clipped to the bounds (large-weight actors saturate tanh, and
 * the clip must hold even if the scale layer overshoots: check the stored values directly). */
static void test_actions_clipped(void **state) {
  (void)state;
  Env *e = env_make("Pendulum-v1", NULL);
  NnLayerDesc l[MAXL];
  int nl = actor_layers(e, l);
  /* scale by 3 x act_high: the raw output reaches +-6 while the bound is +-2 */
  float big[1] = {3.0f * e->act_high[0]};
  l[nl - 1].scale = big;
  size_t np;
  float *pop = make_population(e, 5, &np);
  AgentPool *p = agent_pool_create("Pendulum-v1", l, nl, POP, 2, NULL);
  ReplayBuffer *rb = rb_create(POP * 200, e->obs_dim, e->act_dim, NULL);
  EnvEpisode out[POP];
  agent_pool_evaluate(p, pop, POP, 3, 0, rb, out);
  int at_bound = 0;
  for (long t = 0; t < rb->size; t++) {
    assert_true(rb->act[t] >= e->act_low[0] && rb->act[t] <= e->act_high[0]);
    at_bound += rb->act[t] == e->act_high[0] || rb->act[t] == e->act_low[0];
  }
  assert_true(at_bound > 0); /* the clip was exercised */
  /* Pendulum never terminates: every stored transition bootstraps (time-outs are not terminal) */
  for (long t = 0; t < rb->size; t++) assert_true(rb->not_done[t] == 1.0f);
  assert_int_equal(rb->size, POP * 200);
  rb_free(rb);
  agent_pool_free(p);
  core_free(pop);
  env_free(e);
}

/* An individual with NaN parameters produces NaN actions: its episode is cut at the first step
 * (ENV_ERR_NONFINITE), the cut step is not stored, the step still counts, the others are
 * unaffected, at 1 and 2 threads alike. */
static void test_cut_episode(void **state) {
  (void)state;
  Env *e = env_make("Pendulum-v1", NULL);
  NnLayerDesc l[MAXL];
  int nl = actor_layers(e, l);
  size_t np;
  float *pop = make_population(e, 21, &np);
  for (size_t j = 0; j < np; j++) pop[2 * np + j] = NAN;
  for (int threads = 1; threads <= 2; threads++) {
    AgentPool *p = agent_pool_create("Pendulum-v1", l, nl, POP, threads, NULL);
    ReplayBuffer *rb = rb_create(POP * 200, e->obs_dim, e->act_dim, NULL);
    EnvEpisode out[POP];
    int64_t steps = agent_pool_evaluate(p, pop, POP, 3, 0, rb, out);
    assert_int_equal(out[2].status, ENV_ERR_NONFINITE);
    assert_int_equal(out[2].length, 1);
    assert_true(out[2].truncated && !out[2].terminated);
    for (int i = 0; i < POP; i++)
      if (i != 2) assert_int_equal(out[i].status, ENV_OK);
    assert_int_equal(steps, (POP - 1) * 200 + 1);
    assert_int_equal(rb->size, (POP - 1) * 200);
    for (long t = 0; t < rb->size * e->obs_dim; t++) assert_true(isfinite(rb->next_obs[t]));
    for (long t = 0; t < rb->size; t++) assert_true(isfinite(rb->act[t]) && isfinite(rb->rew[t]));
    rb_free(rb);
    agent_pool_free(p);
  }
  core_free(pop);
  env_free(e);
}

/* The reset seed is a function of (seed, gen, index) only, and distinct across all three. */
static void test_reset_seed(void **state) {
  (void)state;
  uint64_t a = agent_pool_reset_seed(1, 0, 0);
  assert_true(a == agent_pool_reset_seed(1, 0, 0));
  assert_true(a != agent_pool_reset_seed(2, 0, 0));
  assert_true(a != agent_pool_reset_seed(1, 1, 0));
  assert_true(a != agent_pool_reset_seed(1, 0, 1));
  assert_true(agent_pool_reset_seed(1, 1, 0) != agent_pool_reset_seed(1, 0, 1));
}

/* Evaluating allocates nothing (the armed failure is still pending afterwards), and a partial
 * population (n_pop < max_pop) works. */
static void test_no_alloc(void **state) {
  (void)state;
  Env *e = env_make("PointMassLQR-v0", NULL);
  NnLayerDesc l[MAXL];
  int nl = actor_layers(e, l);
  size_t np;
  float *pop = make_population(e, 9, &np);
  for (int threads = 1; threads <= 2; threads++) {
    AgentPool *p = agent_pool_create("PointMassLQR-v0", l, nl, POP, threads, NULL);
    ReplayBuffer *rb = rb_create(POP * 100, e->obs_dim, e->act_dim, NULL);
    EnvEpisode out[POP];
    agent_pool_evaluate(p, pop, POP, 1, 0, rb, out); /* warm up */
    core_alloc_fail_after(1);
    int64_t steps = agent_pool_evaluate(p, pop, 4, 1, 1, NULL, out);
    void *probe = core_malloc(16);
    core_alloc_fail_after(0);
    assert_null(probe); /* the armed failure was not consumed by evaluate */
    assert_int_equal(steps, 4 * 100);
    rb_free(rb);
    agent_pool_free(p);
  }
  core_free(pop);
  env_free(e);
}

/* One actor's evaluation spread over the pool (in chunks of POP when there are more episodes)
 * equals env_evaluate on a single instance with the same policy rule: every statistic, exactly. */
static void test_evaluate_actor(void **state) {
  (void)state;
  Env *e = env_make("Pendulum-v1", NULL);
  assert_non_null(e);
  size_t n_params;
  float *pop = make_population(e, 7, &n_params);
  NnLayerDesc l[MAXL];
  int nl = actor_layers(e, l);
  NnMlp *net = nn_mlp_create(e->obs_dim, l, nl, 1, NULL);
  memcpy(net->params, pop + 2 * n_params, sizeof(float) * n_params);
  float scratch[256];
  assert_true(env_rollout_scratch_floats(e) <= 256);
  EnvRolloutOpts ro = {.policy = agent_pool_actor_policy, .policy_ctx = net};
  const int episodes[] = {1, POP, 2 * POP + 3}, threads[] = {0, 2, 3};
  for (int k = 0; k < 3; k++) {
    EnvEvalStats ref;
    env_evaluate(e, 99, episodes[k], &ro, scratch, &ref);
    for (int t = 0; t < 3; t++) {
      AgentPool *p = agent_pool_create("Pendulum-v1", l, nl, POP, threads[t], NULL);
      assert_non_null(p);
      EnvEvalStats got;
      agent_pool_evaluate_actor(p, pop + 2 * n_params, 99, episodes[k], &got);
      assert_int_equal(got.episodes, episodes[k]);
      /* field by field (not the padding), doubles bit for bit */
      const double g[] = {got.mean, got.std, got.min, got.max, got.mean_length};
      const double r[] = {ref.mean, ref.std, ref.min, ref.max, ref.mean_length};
      assert_memory_equal(g, r, sizeof g);
      assert_int_equal(got.n_terminated, ref.n_terminated);
      assert_int_equal(got.n_truncated, ref.n_truncated);
      assert_int_equal(got.n_cut, ref.n_cut);
      agent_pool_free(p);
    }
  }
  nn_mlp_free(net);
  core_free(pop);
  env_free(e);
}

/* Bad input: unknown env (message suggests a name), max_pop < 1, negative threads; a create that
 * fails on any allocation frees what it got. */
static void test_errors(void **state) {
  (void)state;
  Env *e = env_make("Pendulum-v1", NULL);
  NnLayerDesc l[MAXL];
  int nl = actor_layers(e, l);
  CoreErr err;
  core_err_clear(&err);
  assert_null(agent_pool_create("Pendulum-v2", l, nl, 4, 1, &err));
  assert_int_equal(err.code, CORE_ERR_NOTFOUND);
  assert_contains(err.msg, "Pendulum-v1");
  assert_null(agent_pool_create("Pendulum-v1", l, nl, 0, 1, &err));
  assert_contains(err.msg, "max_pop");
  assert_null(agent_pool_create("Pendulum-v1", l, nl, 4, -1, &err));
  assert_contains(err.msg, "threads");
  /* an actor whose output width does not match the env's actions */
  NnLayerDesc bad[2] = {{.kind = NN_LINEAR, .out = 3}, {.kind = NN_TANH}};
  assert_null(agent_pool_create("Pendulum-v1", bad, 2, 4, 2, &err));
  assert_contains(err.msg, "actions");
  long live = core_alloc_live();
  int created = 0;
  for (long k = 1; k < 200 && !created; k++) {
    core_alloc_fail_after(k);
    AgentPool *p = agent_pool_create("Pendulum-v1", l, nl, 4, 2, NULL);
    core_alloc_fail_after(0);
    if (p) {
      created = 1;
      agent_pool_free(p);
    }
    assert_int_equal(core_alloc_live(), live);
  }
  assert_true(created);
  env_free(e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_threads_pendulum), cmocka_unit_test(test_threads_lqr),
      cmocka_unit_test(test_actions_clipped),  cmocka_unit_test(test_cut_episode),
      cmocka_unit_test(test_reset_seed),       cmocka_unit_test(test_evaluate_actor),
      cmocka_unit_test(test_no_alloc),         cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
