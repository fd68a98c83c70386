/* test_agents_td3.c — the TD3 / DDPG learner against hand-computed values, its schedules, and
 * the agent's save/load determinism.
 *
 * The hand computations use a double-precision reference forward of the tiny networks below
 * (obs 2, act 1, hidden 3-3, batch 2): actor Linear-tanh-Linear-tanh-Linear-tanh-x max_action,
 * critic heads Linear-leaky-Linear-leaky-Linear on concat(s, a); parameters in nn.Linear order.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>

#include "test_util.h"

#include "agents/agent.h"
#include "agents/td3.h"
#include "core/alloc.h"
#include "core/ckpt.h"
#include "envs/env.h"

#define OBS 2
#define ACT 1
#define H 3
#define B 2
#define MAXA 2.0f

/* ---------------------------------------------------------------- reference forward (double) */

static double ref_act(int kind, double x) {
  if (kind == NN_TANH) return tanh(x);
  return x > 0.0 ? x : (double)NN_LEAKY_RELU_SLOPE * x;
}

/* Linear in -> H -> H -> out with hidden activation `kind`; params in nn.Linear order. */
static void ref_mlp(const float *p, const double *x, int in, int out, int kind, double *y) {
  double h1[H], h2[H];
  const float *W1 = p, *b1 = W1 + H * in, *W2 = b1 + H, *b2 = W2 + H * H, *W3 = b2 + H,
              *b3 = W3 + out * H;
  for (int i = 0; i < H; i++) {
    double s = b1[i];
    for (int j = 0; j < in; j++) s += (double)W1[i * in + j] * x[j];
    h1[i] = ref_act(kind, s);
  }
  for (int i = 0; i < H; i++) {
    double s = b2[i];
    for (int j = 0; j < H; j++) s += (double)W2[i * H + j] * h1[j];
    h2[i] = ref_act(kind, s);
  }
  for (int i = 0; i < out; i++) {
    double s = b3[i];
    for (int j = 0; j < H; j++) s += (double)W3[i * H + j] * h2[j];
    y[i] = s;
  }
}

static double ref_actor(const float *p, const float *s) {
  double x[OBS] = {s[0], s[1]}, y;
  ref_mlp(p, x, OBS, ACT, NN_TANH, &y);
  return tanh(y) * MAXA;
}

static double ref_critic(const float *p, const float *s, double a) {
  double x[OBS + ACT] = {s[0], s[1], a}, y;
  ref_mlp(p, x, OBS + ACT, 1, NN_LEAKY_RELU, &y);
  return y;
}

/* ---------------------------------------------------------------- fixtures */

static Td3Settings td3_settings(int batch) {
  return (Td3Settings){.batch_size = batch, .discount = 0.99, .tau = 0.005, .policy_noise = 0.2,
                       .noise_clip = 0.5, .policy_delay = 2, .expl_noise = 0.1,
                       .start_steps = 0, .buffer_size = 1000, .train_freq = TD3_TRAIN_EPISODE};
}

static NetSettings tiny_net(void) {
  return (NetSettings){.hidden1 = H, .hidden2 = H, .actor_act = AGENT_ACT_TANH,
                       .critic_act = AGENT_ACT_LEAKY_RELU, .layer_norm = 0};
}

static Td3 *tiny_learner(int twin, int opt_kind, double lr, uint64_t seed) {
  Td3Settings s = td3_settings(B);
  NetSettings ns = tiny_net();
  OptSettings o = opt_settings_default(opt_kind);
  o.lr = lr;
  float high[ACT] = {MAXA};
  CoreRng init;
  core_rng_stream(&init, seed, CORE_RNG_INIT, 0);
  CoreErr err;
  Td3 *t = td3_create(&s, &ns, &o, &o, OBS, ACT, high, twin, &init, &err);
  if (!t) fail_msg("td3_create: %s", err.msg);
  return t;
}

/* Deterministic distinct values, so every parameter matters. */
static void fill_pattern(float *p, size_t n, double phase, double amp) {
  for (size_t i = 0; i < n; i++) p[i] = (float)(amp * sin(1.37 * (double)i + phase));
}

/* A fixed minibatch of two transitions; row 1 is terminal when terminal1. */
static void fixed_batch(ReplayBatch *b, float *store, int terminal1) {
  b->batch = B;
  b->obs = store;            /* (B, OBS) */
  b->next_obs = store + 4;   /* (B, OBS) */
  b->act = store + 8;        /* (B, ACT) */
  b->rew = store + 10;       /* (B) */
  b->not_done = store + 12;  /* (B) */
  const float v[14] = {0.3f, -0.8f, 1.1f, 0.4f,    /* obs */
                       -0.5f, 0.9f, 0.7f, -1.2f,   /* next_obs */
                       0.6f, -1.5f,                /* act */
                       1.25f, -0.75f,              /* rew */
                       1.0f, 1.0f};                /* not_done */
  memcpy(store, v, sizeof v);
  if (terminal1) b->not_done[1] = 0.0f;
}

/* Give every network of t known, distinct parameters (targets differ from the online nets). */
static void set_known_params(Td3 *t) {
  fill_pattern(t->actor->params, t->actor_n, 0.1, 0.6);
  fill_pattern(t->actor_target->params, t->actor_n, 0.7, 0.6);
  /* the target actor's output bias: pi'(s') = (1.631, 1.530) on the fixed batch (printed once
   * from the reference), so noise +0.5 crosses max_action 2 on row 0 only */
  t->actor_target->params[t->actor_n - 1] = 1.0f;
  fill_pattern(t->critic_params, t->critic_n, 1.3, 0.5);
  fill_pattern(t->critic_target_params, t->critic_n, 2.9, 0.5);
}

/* ---------------------------------------------------------------- critic target and loss */

static void test_critic_target_and_loss_td3(void **state) {
  (void)state;
  const double lr = 1e-3;
  Td3 *t = tiny_learner(1, OPT_SGD, lr, 1);
  set_known_params(t);
  float store[14];
  ReplayBatch b;
  fixed_batch(&b, store, 0);
  /* row 0: 0.9 is clipped to the noise clip 0.5, and the action then to +max_action;
   * row 1: -0.7 is clipped to -0.5 and the action stays inside the bounds */
  const float noise[B] = {0.9f, -0.7f};

  /* expected, by hand in double */
  const float *p = t->actor_target->params;
  double y[B], q1[B], q2[B], loss = 0.0, qmean = 0.0;
  int picked_head2 = 0, clipped = 0;
  for (int r = 0; r < B; r++) {
    double n = fmax(-0.5, fmin(0.5, noise[r]));
    double a = ref_actor(p, b.next_obs + r * OBS) + n;
    if (a > MAXA) clipped++;
    a = fmax(-MAXA, fmin(MAXA, a));
    double t1 = ref_critic(t->critic_target_params, b.next_obs + r * OBS, a);
    double t2 = ref_critic(t->critic_target_params + t->head_n, b.next_obs + r * OBS, a);
    picked_head2 += t2 < t1;
    y[r] = b.rew[r] + 0.99 * b.not_done[r] * fmin(t1, t2);
    q1[r] = ref_critic(t->critic_params, b.obs + r * OBS, b.act[r]);
    q2[r] = ref_critic(t->critic_params + t->head_n, b.obs + r * OBS, b.act[r]);
    loss += ((q1[r] - y[r]) * (q1[r] - y[r]) + (q2[r] - y[r]) * (q2[r] - y[r])) / B;
    qmean += q1[r] / B;
  }
  assert_int_equal(clipped, 1);                  /* the case is meaningful */
  assert_int_equal(picked_head2, 1);          /* the min picks each head once */

  float *before = malloc(t->critic_n * sizeof(float));
  memcpy(before, t->critic_params, t->critic_n * sizeof(float));
  double got = td3_critic_update_batch(t, &b, noise);
  assert_near(got, loss, 1e-5);
  assert_near(t->critic_loss, loss, 1e-5);
  assert_near(t->q_mean, qmean, 1e-5);
  assert_int_equal(t->critic_updates, 1);

  /* the last bias of head h has dLoss/db = 2 mean(Q_h - y): one SGD step moved both heads */
  double g1 = 0.0, g2 = 0.0;
  for (int r = 0; r < B; r++) g1 += 2.0 * (q1[r] - y[r]) / B, g2 += 2.0 * (q2[r] - y[r]) / B;
  size_t last = t->head_n - 1;
  assert_near(t->critic_grads[last], g1, 1e-5);
  assert_near(t->critic_grads[t->head_n + last], g2, 1e-5);
  assert_near(t->critic_params[last], before[last] - lr * g1, 1e-6);
  assert_near(t->critic_params[t->head_n + last], before[t->head_n + last] - lr * g2, 1e-6);
  /* SGD over the one buffer: every parameter of both heads moved by -lr * its gradient */
  for (size_t i = 0; i < t->critic_n; i++)
    assert_near(t->critic_params[i], before[i] - (float)lr * t->critic_grads[i], 1e-7);
  free(before);
  td3_free(t);
}

static void test_critic_target_ddpg(void **state) {
  (void)state;
  Td3 *t = tiny_learner(0, OPT_SGD, 1e-3, 2);
  assert_int_equal(t->n_heads, 1);
  assert_int_equal(t->critic_n, t->head_n);
  assert_null(t->critic[1]);
  set_known_params(t);
  t->actor_target->params[t->actor_n - 1] = 0.3f;
  float store[14];
  ReplayBatch b;
  fixed_batch(&b, store, 1);
  /* DDPG ignores the noise: y = r + gamma * not_done * Q'(s', pi'(s')) */
  const float noise[B] = {0.4f, -0.3f};
  double loss = 0.0;
  for (int r = 0; r < B; r++) {
    double a = ref_actor(t->actor_target->params, b.next_obs + r * OBS);
    double y = b.rew[r] + 0.99 * b.not_done[r] *
                              ref_critic(t->critic_target_params, b.next_obs + r * OBS, a);
    double q = ref_critic(t->critic_params, b.obs + r * OBS, b.act[r]);
    loss += (q - y) * (q - y) / B;
  }
  assert_near(td3_critic_update_batch(t, &b, noise), loss, 1e-5);
  Td3 *u = tiny_learner(0, OPT_SGD, 1e-3, 2);
  set_known_params(u);
  u->actor_target->params[u->actor_n - 1] = 0.3f;
  assert_near(td3_critic_update_batch(u, &b, NULL), loss, 1e-5);
  assert_memory_equal(t->critic_params, u->critic_params, t->critic_n * sizeof(float));
  td3_free(t);
  td3_free(u);
}

/* The sampled update = the batch update with the noise drawn from the same stream. */
static void test_critic_update_stream(void **state) {
  (void)state;
  Td3 *t = tiny_learner(1, OPT_ADAM, 1e-3, 3), *u = tiny_learner(1, OPT_ADAM, 1e-3, 3);
  assert_memory_equal(t->critic_params, u->critic_params, t->critic_n * sizeof(float));
  ReplayBuffer *rb = rb_create(50, OBS, ACT, NULL);
  CoreRng data;
  core_rng_stream(&data, 9, CORE_RNG_TEST, 0);
  for (int i = 0; i < 20; i++) {
    float o[OBS], a[ACT], o2[OBS];
    core_rng_uniform_fill(&data, o, OBS, -1, 1);
    core_rng_uniform_fill(&data, a, ACT, -2, 2);
    core_rng_uniform_fill(&data, o2, OBS, -1, 1);
    rb_add(rb, o, a, core_rng_uniform(&data), o2, i % 7 == 0);
  }
  CoreRng r1, r2;
  core_rng_stream(&r1, 5, CORE_RNG_REPLAY, 0);
  r2 = r1;
  double l1 = td3_critic_update(t, rb, &r1);
  ReplayBatch b;
  assert_int_equal(rb_batch_create(&b, rb, B, NULL), 0);
  rb_sample(rb, &r2, &b);
  float noise[B * ACT];
  core_rng_normal_fill(&r2, noise, B * ACT, 0.0, 0.2);
  double l2 = td3_critic_update_batch(u, &b, noise);
  assert_true(l1 == l2);
  assert_memory_equal(t->critic_params, u->critic_params, t->critic_n * sizeof(float));
  assert_memory_equal(&r1, &r2, sizeof r1);  /* both consumed the same draws */
  assert_int_equal(t->critic_opt->t, 1);     /* one Adam for both heads */
  assert_int_equal(t->critic_opt->n, 2 * t->head_n);
  rb_batch_free(&b);
  rb_free(rb);
  td3_free(t);
  td3_free(u);
}

/* ---------------------------------------------------------------- actor update */

/* -mean Q1(s, pi(s)) over the batch, in double. */
static double ref_actor_loss(const float *actor, const float *critic1, const ReplayBatch *b) {
  double s = 0.0;
  for (int r = 0; r < b->batch; r++)
    s += ref_critic(critic1, b->obs + r * OBS, ref_actor(actor, b->obs + r * OBS));
  return -s / b->batch;
}

static void test_actor_update(void **state) {
  (void)state;
  const double lr = 1e-3;
  Td3 *t = tiny_learner(1, OPT_SGD, lr, 4);
  set_known_params(t);
  float store[14];
  ReplayBatch b;
  fixed_batch(&b, store, 1);
  float *actor0 = malloc(t->actor_n * sizeof(float));
  float *critic0 = malloc(t->critic_n * sizeof(float));
  memcpy(actor0, t->actor->params, t->actor_n * sizeof(float));
  memcpy(critic0, t->critic_params, t->critic_n * sizeof(float));
  memset(t->critic_grads, 0, t->critic_n * sizeof(float));

  double want = ref_actor_loss(actor0, critic0, &b);
  double got = td3_actor_update_batch(t, &b);
  assert_near(got, want, 1e-5);
  assert_int_equal(t->actor_updates, 1);

  /* the actor gradient equals a central finite difference of the double-precision loss */
  float *pp = malloc(t->actor_n * sizeof(float));
  for (size_t i = 0; i < t->actor_n; i++) {
    const float h = 1e-3f;
    memcpy(pp, actor0, t->actor_n * sizeof(float));
    pp[i] = actor0[i] + h;
    double lp = ref_actor_loss(pp, critic0, &b);
    pp[i] = actor0[i] - h;
    double lm = ref_actor_loss(pp, critic0, &b);
    double fd = (lp - lm) / ((double)(actor0[i] + h) - (double)(actor0[i] - h));
    assert_near(t->actor->grads[i], fd, 2e-5);
  }
  /* the critic is untouched (parameters and gradients) */
  assert_memory_equal(t->critic_params, critic0, t->critic_n * sizeof(float));
  for (size_t i = 0; i < t->critic_n; i++) assert_true(t->critic_grads[i] == 0.0f);
  /* and Q1(s, pi(s)) went up on that batch */
  double after = ref_actor_loss(t->actor->params, t->critic_params, &b);
  assert_true(after < want);
  /* the actor target is not changed by the update itself */
  free(pp);
  free(actor0);
  free(critic0);
  td3_free(t);
}

/* ---------------------------------------------------------------- soft updates, copies */

static void test_soft_update(void **state) {
  (void)state;
  float src[5] = {1.0f, -2.0f, 0.5f, 3.25f, 1e-3f}, dst[5] = {0.0f, 4.0f, 0.5f, -1.0f, 7.0f};
  float want[5];
  for (int i = 0; i < 5; i++) want[i] = 0.005f * src[i] + 0.995f * dst[i];
  td3_soft_update(dst, src, 5, 0.005);
  assert_memory_equal(dst, want, sizeof want);
  assert_near(dst[1], 0.005 * -2.0 + 0.995 * 4.0, 1e-6);
  /* the vectorised body and the tail agree with the scalar formula bit for bit */
  enum { NV = 37 };
  float vs[NV], vd[NV], vw[NV];
  fill_pattern(vs, NV, 0.3, 2.0);
  fill_pattern(vd, NV, 1.9, 3.0);
  for (int i = 0; i < NV; i++) vw[i] = 0.005f * vs[i] + 0.995f * vd[i];
  td3_soft_update(vd, vs, NV, 0.005);
  assert_memory_equal(vd, vw, sizeof vw);
  /* tau 1 copies, tau 0 keeps */
  td3_soft_update(dst, src, 5, 1.0);
  assert_memory_equal(dst, src, sizeof src);
  float keep[5];
  memcpy(keep, dst, sizeof keep);
  td3_soft_update(dst, want, 5, 0.0);
  assert_memory_equal(dst, keep, sizeof keep);

  /* the learner's soft updates cover both critic heads and the actor */
  Td3 *t = tiny_learner(1, OPT_SGD, 1e-3, 5);
  set_known_params(t);
  float *ct = malloc(t->critic_n * sizeof(float)), *at = malloc(t->actor_n * sizeof(float));
  memcpy(ct, t->critic_target_params, t->critic_n * sizeof(float));
  memcpy(at, t->actor_target->params, t->actor_n * sizeof(float));
  td3_soft_update(ct, t->critic_params, t->critic_n, 0.005);
  td3_soft_update(at, t->actor->params, t->actor_n, 0.005);
  td3_soft_update_critic(t);
  td3_soft_update_actor(t);
  assert_memory_equal(ct, t->critic_target_params, t->critic_n * sizeof(float));
  assert_memory_equal(at, t->actor_target->params, t->actor_n * sizeof(float));
  /* head 2's target really lives in the buffer the target network reads */
  assert_ptr_equal(t->critic_target[1]->params, t->critic_target_params + t->head_n);
  free(ct);
  free(at);

  /* copy_actor_from sets both actor and target; reset_actor_opt forgets the moments */
  float *v = malloc(t->actor_n * sizeof(float));
  fill_pattern(v, t->actor_n, 5.0, 0.3);
  td3_copy_actor_from(t, v);
  assert_memory_equal(t->actor->params, v, t->actor_n * sizeof(float));
  assert_memory_equal(t->actor_target->params, v, t->actor_n * sizeof(float));
  free(v);
  td3_free(t);
}

static void test_reset_actor_opt(void **state) {
  (void)state;
  Td3 *t = tiny_learner(1, OPT_ADAM, 1e-3, 6), *u = tiny_learner(1, OPT_ADAM, 1e-3, 6);
  float store[14];
  ReplayBatch b;
  fixed_batch(&b, store, 1);
  td3_actor_update_batch(t, &b);
  td3_actor_update_batch(t, &b);
  assert_int_equal(t->actor_opt->t, 2);
  td3_reset_actor_opt(t);
  assert_int_equal(t->actor_opt->t, 0);
  /* after a reset, a step from the same parameters equals a fresh optimizer's first step */
  td3_copy_actor_from(u, t->actor->params);
  td3_actor_update_batch(t, &b);
  td3_actor_update_batch(u, &b);
  assert_memory_equal(t->actor->params, u->actor->params, t->actor_n * sizeof(float));
  td3_free(t);
  td3_free(u);
}

/* ---------------------------------------------------------------- schedules */

static ReplayBuffer *random_buffer(uint64_t seed) {
  ReplayBuffer *rb = rb_create(64, OBS, ACT, NULL);
  CoreRng d;
  core_rng_stream(&d, seed, CORE_RNG_TEST, 0);
  for (int i = 0; i < 40; i++) {
    float o[OBS], a[ACT], o2[OBS];
    core_rng_uniform_fill(&d, o, OBS, -1, 1);
    core_rng_uniform_fill(&d, a, ACT, -2, 2);
    core_rng_uniform_fill(&d, o2, OBS, -1, 1);
    rb_add(rb, o, a, core_rng_normal(&d), o2, 0);
  }
  return rb;
}

static void test_policy_delay(void **state) {
  (void)state;
  Td3 *t = tiny_learner(1, OPT_ADAM, 1e-2, 7);
  ReplayBuffer *rb = random_buffer(1);
  CoreRng rng;
  core_rng_stream(&rng, 1, CORE_RNG_REPLAY, 0);
  float *prev = malloc(t->actor_n * sizeof(float)), *prevt = malloc(t->actor_n * sizeof(float));
  float *prevct = malloc(t->critic_n * sizeof(float));
  /* global counter: the actor and both targets change on every 2nd iteration only */
  for (int it = 1; it <= 6; it++) {
    memcpy(prev, t->actor->params, t->actor_n * sizeof(float));
    memcpy(prevt, t->actor_target->params, t->actor_n * sizeof(float));
    memcpy(prevct, t->critic_target_params, t->critic_n * sizeof(float));
    td3_train_step(t, rb, &rng);
    int changed = memcmp(prev, t->actor->params, t->actor_n * sizeof(float)) != 0;
    int tchanged = memcmp(prevt, t->actor_target->params, t->actor_n * sizeof(float)) != 0;
    int ctchanged = memcmp(prevct, t->critic_target_params, t->critic_n * sizeof(float)) != 0;
    assert_int_equal(changed, it % 2 == 0);
    assert_int_equal(tchanged, it % 2 == 0);
    assert_int_equal(ctchanged, it % 2 == 0);
  }
  assert_int_equal(t->critic_updates, 6);
  assert_int_equal(t->actor_updates, 3);
  assert_int_equal(t->total_it, 6);
  /* the paper schedule counts within the call: iterations 0, 2, 4 of 5 update the actor */
  td3_train(t, rb, &rng, 5);
  assert_int_equal(t->critic_updates, 11);
  assert_int_equal(t->actor_updates, 6);
  /* ... so one iteration per call updates the actor every time */
  td3_train(t, rb, &rng, 1);
  td3_train(t, rb, &rng, 1);
  assert_int_equal(t->actor_updates, 8);
  free(prev);
  free(prevt);
  free(prevct);
  td3_free(t);

  /* DDPG: actor and targets every iteration */
  Td3 *d = tiny_learner(0, OPT_ADAM, 1e-2, 7);
  td3_train(d, rb, &rng, 4);
  assert_int_equal(d->critic_updates, 4);
  assert_int_equal(d->actor_updates, 4);
  td3_train_step(d, rb, &rng);
  assert_int_equal(d->actor_updates, 5);
  td3_free(d);
  rb_free(rb);
}

/* ---------------------------------------------------------------- learner save / load */

static void test_learner_save_load(void **state) {
  (void)state;
  Td3 *t = tiny_learner(1, OPT_ADAM, 1e-2, 8), *u = tiny_learner(1, OPT_ADAM, 1e-2, 99);
  ReplayBuffer *rb = random_buffer(2);
  CoreRng rng;
  core_rng_stream(&rng, 2, CORE_RNG_REPLAY, 0);
  td3_train(t, rb, &rng, 7);
  CoreErr err;
  CoreCkptWriter *w = core_ckpt_writer_create();
  assert_int_equal(td3_save(t, w, "learner", &err), 0);
  void *buf;
  size_t size;
  assert_int_equal(core_ckpt_write_buffer(w, &buf, &size, &err), 0);
  core_ckpt_writer_free(w);
  CoreCkpt *c = core_ckpt_load_buffer(buf, size, "mem", &err);
  assert_non_null(c);
  assert_int_equal(td3_load(u, c, "learner", &err), 0);
  assert_memory_equal(t->actor->params, u->actor->params, t->actor_n * sizeof(float));
  assert_memory_equal(t->actor_target->params, u->actor_target->params,
                      t->actor_n * sizeof(float));
  assert_memory_equal(t->critic_params, u->critic_params, t->critic_n * sizeof(float));
  assert_memory_equal(t->critic_target_params, u->critic_target_params,
                      t->critic_n * sizeof(float));
  assert_int_equal(u->critic_updates, 7);
  assert_int_equal(u->actor_updates, 4);
  assert_int_equal(u->actor_opt->t, t->actor_opt->t);
  /* continuing both gives the same numbers (the Adam moments came along) */
  CoreRng r2 = rng;
  td3_train(t, rb, &rng, 3);
  td3_train(u, rb, &r2, 3);
  assert_memory_equal(t->actor->params, u->actor->params, t->actor_n * sizeof(float));
  assert_memory_equal(t->critic_params, u->critic_params, t->critic_n * sizeof(float));

  /* a DDPG learner refuses a TD3 checkpoint with a message */
  Td3 *d = tiny_learner(0, OPT_ADAM, 1e-2, 8);
  assert_int_equal(td3_load(d, c, "learner", &err), CORE_ERR_INVALID);
  assert_contains(err.msg, "head");
  /* a missing prefix is a clean error */
  assert_true(td3_load(d, c, "other", &err) < 0);
  td3_free(d);
  core_ckpt_free(c);
  core_free(buf);
  rb_free(rb);
  td3_free(t);
  td3_free(u);
}

/* ---------------------------------------------------------------- layer norm actor */

/* With net.layer_norm the actor has 9 layers (agent_actor_layers): the learner builds it, the
 * parameter count includes the LN gains and biases, and an update runs. */
static void test_layer_norm_actor(void **state) {
  (void)state;
  Td3Settings s = td3_settings(B);
  NetSettings ns = tiny_net();
  ns.layer_norm = 1;
  OptSettings o = opt_settings_default(OPT_ADAM);
  float high[ACT] = {MAXA};
  CoreRng init;
  core_rng_stream(&init, 1, CORE_RNG_INIT, 0);
  CoreErr err;
  Td3 *t = td3_create(&s, &ns, &o, &o, OBS, ACT, high, 1, &init, &err);
  if (!t) fail_msg("td3_create: %s", err.msg);
  assert_int_equal(t->actor->n_layers, 9);
  size_t plain = (size_t)(H * OBS + H) + (H * H + H) + (ACT * H + ACT);
  assert_int_equal(t->actor_n, plain + 4 * H);
  float store[14];
  ReplayBatch b;
  fixed_batch(&b, store, 1);
  float *before = malloc(t->actor_n * sizeof(float));
  memcpy(before, t->actor->params, t->actor_n * sizeof(float));
  assert_true(isfinite(td3_actor_update_batch(t, &b)));
  assert_memory_not_equal(before, t->actor->params, t->actor_n * sizeof(float));
  free(before);
  td3_free(t);
}

/* ---------------------------------------------------------------- settings errors */

static void test_settings_errors(void **state) {
  (void)state;
  CoreErr err;
  Td3Settings s = td3_settings(10);
  assert_int_equal(td3_settings_check(&s, &err), 0);
  s.tau = 1.5;
  assert_int_equal(td3_settings_check(&s, &err), CORE_ERR_INVALID);
  assert_contains(err.msg, "td3.tau");
  s = td3_settings(0);
  assert_int_equal(td3_settings_check(&s, &err), CORE_ERR_INVALID);
  assert_contains(err.msg, "td3.batch_size");
  s = td3_settings(10);
  s.policy_delay = 0;
  assert_int_equal(td3_settings_check(&s, &err), CORE_ERR_INVALID);
  assert_contains(err.msg, "td3.policy_delay");
  s = td3_settings(10);
  s.train_freq = 7;
  assert_int_equal(td3_settings_check(&s, &err), CORE_ERR_INVALID);
  assert_contains(err.msg, "td3.train_freq");

  /* bad optimizer settings name the optimizer */
  s = td3_settings(10);
  NetSettings ns = tiny_net();
  OptSettings good = opt_settings_default(OPT_ADAM), bad = good;
  bad.lr = -1.0;
  float high[ACT] = {1.0f};
  CoreRng init;
  core_rng_stream(&init, 1, CORE_RNG_INIT, 0);
  long live = core_alloc_live();
  assert_null(td3_create(&s, &ns, &good, &bad, OBS, ACT, high, 1, &init, &err));
  assert_contains(err.msg, "critic_opt");
  assert_int_equal(core_alloc_live(), live);   /* nothing leaked on the failure path */
  float zero[ACT] = {0.0f};
  assert_null(td3_create(&s, &ns, &good, &good, OBS, ACT, zero, 1, &init, &err));
  assert_contains(err.msg, "bound");
}

/* ---------------------------------------------------------------- the agent */

static AgentSettings agent_settings(int method) {
  AgentSettings s;
  memset(&s, 0, sizeof s);
  snprintf(s.env, sizeof s.env, "Pendulum-v1");
  s.method = method;
  s.seed = 11;
  s.total_steps = 100000;
  s.eval_period = 5000;
  s.eval_episodes = 10;
  s.threads = 1;
  s.net = (NetSettings){.hidden1 = 16, .hidden2 = 16, .actor_act = AGENT_ACT_TANH,
                        .critic_act = AGENT_ACT_LEAKY_RELU};
  s.td3 = td3_settings(32);
  s.td3.start_steps = 300;
  s.td3.buffer_size = 5000;
  s.actor_opt = opt_settings_default(OPT_ADAM);
  s.critic_opt = opt_settings_default(OPT_ADAM);
  return s;
}

/* Every byte of the agent's state, through its checkpoint. */
static void agent_bytes(const Agent *a, void **buf, size_t *size) {
  CoreErr err;
  CoreCkptWriter *w = core_ckpt_writer_create();
  if (agent_save(a, w, &err)) fail_msg("agent_save: %s", err.msg);
  if (core_ckpt_write_buffer(w, buf, size, &err)) fail_msg("write: %s", err.msg);
  core_ckpt_writer_free(w);
}

static void run_episodes(Agent *a, int n) {
  CoreErr err;
  for (int i = 0; i < n; i++)
    if (a->vt->iterate(a, &err)) fail_msg("iterate: %s", err.msg);
}

static void check_resume(int method, int train_freq) {
  AgentSettings s = agent_settings(method);
  s.td3.train_freq = train_freq;
  CoreErr err;
  Agent *a = td3_agent_create(&s, &err);
  if (!a) fail_msg("create: %s", err.msg);
  assert_int_equal(a->n_stats, 5);
  assert_true(isnan(a->stats[0]));
  run_episodes(a, 2);   /* k = 2 (the second one passes start_steps) */
  assert_int_equal(a->total_steps, 400);
  assert_int_equal(a->episodes, 2);
  assert_false(isnan(a->stats[0]));
  assert_false(isnan(a->stats[1]));

  void *buf;
  size_t size;
  agent_bytes(a, &buf, &size);
  CoreCkpt *c = core_ckpt_load_buffer(buf, size, "mem", &err);
  assert_non_null(c);
  AgentSettings s2 = s;
  s2.seed = 12345;  /* everything must come from the checkpoint, not from the seed */
  Agent *b = td3_agent_create(&s2, &err);
  assert_non_null(b);
  b->s.seed = s.seed;  /* the trainer restores settings from the run's config */
  assert_int_equal(agent_load(b, c, &err), 0);
  core_ckpt_free(c);
  core_free(buf);

  run_episodes(a, 2);   /* m = 2 */
  run_episodes(b, 2);
  assert_int_equal(b->total_steps, 800);
  NnMlp *pa = a->vt->policy(a), *pb = b->vt->policy(b);
  assert_int_equal(pa->n_params, pb->n_params);
  assert_memory_equal(pa->params, pb->params, pa->n_params * sizeof(float));
  for (int i = 0; i < a->n_stats; i++) assert_true(a->stats[i] == b->stats[i]);
  /* and the whole state (critics, targets, moments, buffer, streams) is byte-identical */
  void *ba, *bb;
  size_t sa, sb;
  agent_bytes(a, &ba, &sa);
  agent_bytes(b, &bb, &sb);
  assert_int_equal(sa, sb);
  assert_memory_equal(ba, bb, sa);
  core_free(ba);
  core_free(bb);
  agent_free(a);
  agent_free(b);
}

static void test_agent_resume_td3(void **state) {
  (void)state;
  check_resume(AGENT_TD3, TD3_TRAIN_EPISODE);
}

static void test_agent_resume_ddpg_step(void **state) {
  (void)state;
  check_resume(AGENT_DDPG, TD3_TRAIN_STEP);
}

/* The random phase, the buffer and the two schedules' update counts. */
static void test_agent_schedule(void **state) {
  (void)state;
  CoreErr err;
  AgentSettings s = agent_settings(AGENT_TD3);
  s.td3.start_steps = 300;
  Agent *a = td3_agent_create(&s, &err);
  assert_non_null(a);
  assert_string_equal(a->vt->name, "td3");
  run_episodes(a, 1);
  /* "episode": 200 iterations after the first episode even though it was all random */
  assert_int_equal(a->stats[4], 200.0);
  assert_true(a->stats[3] < 0.0);
  agent_free(a);

  s = agent_settings(AGENT_DDPG);
  s.td3.train_freq = TD3_TRAIN_STEP;
  s.td3.start_steps = 300;
  a = td3_agent_create(&s, &err);
  assert_non_null(a);
  assert_string_equal(a->vt->name, "ddpg");
  run_episodes(a, 1);
  assert_true(isnan(a->stats[0]));  /* "step": no update before start_steps */
  run_episodes(a, 1);
  assert_false(isnan(a->stats[0]));
  agent_free(a);

  /* same seed, same numbers */
  s = agent_settings(AGENT_TD3);
  Agent *x = td3_agent_create(&s, &err), *y = td3_agent_create(&s, &err);
  run_episodes(x, 2);
  run_episodes(y, 2);
  void *bx, *by;
  size_t sx, sy;
  agent_bytes(x, &bx, &sx);
  agent_bytes(y, &by, &sy);
  assert_int_equal(sx, sy);
  assert_memory_equal(bx, by, sx);
  core_free(bx);
  core_free(by);
  agent_free(x);
  agent_free(y);

  /* errors */
  s = agent_settings(AGENT_TD3);
  snprintf(s.env, sizeof s.env, "Pendulm-v1");
  assert_null(td3_agent_create(&s, &err));
  assert_true(err.code < 0);
  s = agent_settings(AGENT_CEM);
  assert_null(td3_agent_create(&s, &err));
  assert_contains(err.msg, "method");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_critic_target_and_loss_td3),
      cmocka_unit_test(test_critic_target_ddpg),
      cmocka_unit_test(test_critic_update_stream),
      cmocka_unit_test(test_actor_update),
      cmocka_unit_test(test_soft_update),
      cmocka_unit_test(test_reset_actor_opt),
      cmocka_unit_test(test_policy_delay),
      cmocka_unit_test(test_learner_save_load),
      cmocka_unit_test(test_layer_norm_actor),
      cmocka_unit_test(test_settings_errors),
      cmocka_unit_test(test_agent_resume_td3),
      cmocka_unit_test(test_agent_resume_ddpg_step),
      cmocka_unit_test(test_agent_schedule),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
