/* td3.c — the TD3 / DDPG learner (spec cemrl-td3.md §3): networks, updates, targets, state. */
#include "agents/td3.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "agents/agent.h"
#include "core/alloc.h"
#include "nets/loss.h"

/* ---------------------------------------------------------------- settings */

int td3_settings_check(const Td3Settings *s, CoreErr *err) {
  if (s->batch_size < 1)
    return core_err_set(err, CORE_ERR_INVALID, "td3.batch_size: %d must be >= 1 (100 in the "
                        "reference code)", s->batch_size);
  if (!(s->discount >= 0.0 && s->discount <= 1.0))
    return core_err_set(err, CORE_ERR_INVALID, "td3.discount: %g is outside [0, 1] (0.99 in the "
                        "reference code)", s->discount);
  if (!(s->tau >= 0.0 && s->tau <= 1.0))
    return core_err_set(err, CORE_ERR_INVALID, "td3.tau: %g is outside [0, 1] (0.005 in the "
                        "reference code)", s->tau);
  if (!(s->policy_noise >= 0.0 && isfinite(s->policy_noise)))
    return core_err_set(err, CORE_ERR_INVALID, "td3.policy_noise: %g must be finite and >= 0 "
                        "(0.2 in the reference code)", s->policy_noise);
  if (!(s->noise_clip >= 0.0 && isfinite(s->noise_clip)))
    return core_err_set(err, CORE_ERR_INVALID, "td3.noise_clip: %g must be finite and >= 0 "
                        "(0.5 in the reference code)", s->noise_clip);
  if (s->policy_delay < 1)
    return core_err_set(err, CORE_ERR_INVALID, "td3.policy_delay: %d must be >= 1 (2 in the "
                        "TD3 paper; 1 updates the actor every iteration)", s->policy_delay);
  if (!(s->expl_noise >= 0.0 && isfinite(s->expl_noise)))
    return core_err_set(err, CORE_ERR_INVALID, "td3.expl_noise: %g must be finite and >= 0 "
                        "(0.1 in the reference code)", s->expl_noise);
  if (s->start_steps < 0)
    return core_err_set(err, CORE_ERR_INVALID, "td3.start_steps: %lld must be >= 0",
                        (long long)s->start_steps);
  if (s->buffer_size < 1)
    return core_err_set(err, CORE_ERR_INVALID, "td3.buffer_size: %lld must be >= 1 (1000000 in "
                        "the reference code)", (long long)s->buffer_size);
  if (s->train_freq < 0 || s->train_freq >= TD3_NTRAIN)
    return core_err_set(err, CORE_ERR_INVALID, "td3.train_freq: index %d is not a schedule (use "
                        "\"episode\" or \"step\")", s->train_freq);
  return 0;
}

/* ---------------------------------------------------------------- create / free */

static float *alloc_floats(size_t n) { return core_malloc(n * sizeof(float)); }

Td3 *td3_create(const Td3Settings *s, const NetSettings *net, const OptSettings *actor_opt,
                const OptSettings *critic_opt, int obs_dim, int act_dim, const float *act_high,
                int twin, CoreRng *init_rng, CoreErr *err) {
  if (td3_settings_check(s, err)) return NULL;
  if (obs_dim < 1 || act_dim < 1) {
    core_err_set(err, CORE_ERR_INVALID, "td3: obs_dim %d and act_dim %d must be >= 1", obs_dim,
                 act_dim);
    return NULL;
  }
  if (net->hidden1 < 1 || net->hidden2 < 1) {
    core_err_set(err, CORE_ERR_INVALID, "net.hidden1 / net.hidden2: %d / %d must be >= 1",
                 net->hidden1, net->hidden2);
    return NULL;
  }
  for (int j = 0; j < act_dim; j++)
    if (!(act_high[j] > 0.0f && isfinite(act_high[j]))) {
      core_err_set(err, CORE_ERR_INVALID, "td3: action bound %d is %g; the actor needs finite "
                   "bounds +-max_action with max_action > 0", j, (double)act_high[j]);
      return NULL;
    }
  Td3 *t = core_calloc(1, sizeof *t);
  if (!t) {
    core_err_set(err, CORE_ERR_NOMEM, "td3: out of memory");
    return NULL;
  }
  t->s = *s;
  t->twin = twin ? 1 : 0;
  t->n_heads = twin ? 2 : 1;
  t->obs_dim = obs_dim;
  t->act_dim = act_dim;
  t->batch = s->batch_size;
  t->critic_loss = t->q_mean = t->actor_loss = NAN;
  int B = t->batch, D = obs_dim + act_dim;

  t->max_action = alloc_floats((size_t)act_dim);
  if (!t->max_action) goto nomem;
  memcpy(t->max_action, act_high, (size_t)act_dim * sizeof(float));

  /* networks */
  /* agent_actor_layers writes 9 layers with layer_norm (agent.h says 8): leave room */
  NnLayerDesc al[AGENT_ACTOR_MAX_LAYERS], cl[AGENT_CRITIC_MAX_LAYERS];
  int na = agent_actor_layers(net, act_dim, t->max_action, al);
  int nc = agent_critic_layers(net, cl);
  if (!(t->actor = nn_mlp_create(obs_dim, al, na, B, err))) goto fail;
  if (!(t->actor_target = nn_mlp_create(obs_dim, al, na, B, err))) goto fail;
  for (int h = 0; h < t->n_heads; h++) {
    if (!(t->critic[h] = nn_mlp_create(D, cl, nc, B, err))) goto fail;
    if (!(t->critic_target[h] = nn_mlp_create(D, cl, nc, B, err))) goto fail;
  }
  t->actor_n = t->actor->n_params;
  t->head_n = t->critic[0]->n_params;
  t->critic_n = (size_t)t->n_heads * t->head_n;

  /* one parameter, one gradient and one target buffer for all heads */
  t->critic_params = alloc_floats(t->critic_n);
  t->critic_grads = core_calloc(t->critic_n, sizeof(float));
  t->critic_target_params = alloc_floats(t->critic_n);
  if (!t->critic_params || !t->critic_grads || !t->critic_target_params) goto nomem;
  for (int h = 0; h < t->n_heads; h++) {
    nn_mlp_bind_params(t->critic[h], t->critic_params + h * t->head_n);
    nn_mlp_bind_grads(t->critic[h], t->critic_grads + h * t->head_n);
    nn_mlp_bind_params(t->critic_target[h], t->critic_target_params + h * t->head_n);
  }

  /* PyTorch default init in construction order: actor, critic head 1, head 2 */
  nn_mlp_init(t->actor, NN_INIT_TORCH, 0.0, init_rng);
  for (int h = 0; h < t->n_heads; h++) nn_mlp_init(t->critic[h], NN_INIT_TORCH, 0.0, init_rng);
  memcpy(t->actor_target->params, t->actor->params, t->actor_n * sizeof(float));
  memcpy(t->critic_target_params, t->critic_params, t->critic_n * sizeof(float));

  if (!(t->actor_opt = opt_create(actor_opt, t->actor_n, err))) {
    core_err_prefix(err, "actor_opt: ");
    goto fail;
  }
  if (!(t->critic_opt = opt_create(critic_opt, t->critic_n, err))) {
    core_err_prefix(err, "critic_opt: ");
    goto fail;
  }
  /* tensor boundaries for per-tensor optimizers (A2Grad's switch): the actor's, then each
   * critic head's in turn, as the heads sit one after the other in the critic buffer */
  size_t seg[64];
  int n_seg = nn_mlp_param_segments(t->actor, seg, 64);
  CORE_ASSERT(n_seg <= 32);
  if (opt_set_segments(t->actor_opt, seg, n_seg, err)) goto fail;
  n_seg = 0;
  for (int h = 0; h < t->n_heads; h++) n_seg += nn_mlp_param_segments(t->critic[h], seg + n_seg, 32);
  CORE_ASSERT(n_seg <= 64);
  if (opt_set_segments(t->critic_opt, seg, n_seg, err)) goto fail;

  /* minibatch scratch */
  ReplayBuffer dims = {.obs_dim = obs_dim, .act_dim = act_dim};
  if (rb_batch_create(&t->mb, &dims, B, err)) goto fail;
  t->noise = alloc_floats((size_t)B * act_dim);
  t->sa = alloc_floats((size_t)B * D);
  t->sa_next = alloc_floats((size_t)B * D);
  t->y = alloc_floats((size_t)B);
  t->qmin = alloc_floats((size_t)B);
  t->dq = alloc_floats((size_t)B);
  t->dsa = alloc_floats((size_t)B * D);
  t->da = alloc_floats((size_t)B * act_dim);
  if (!t->noise || !t->sa || !t->sa_next || !t->y || !t->qmin || !t->dq || !t->dsa || !t->da)
    goto nomem;
  return t;

nomem:
  core_err_set(err, CORE_ERR_NOMEM, "td3: out of memory");
fail:
  td3_free(t);
  return NULL;
}

void td3_free(Td3 *t) {
  if (!t) return;
  nn_mlp_free(t->actor);
  nn_mlp_free(t->actor_target);
  for (int h = 0; h < TD3_MAX_HEADS; h++) {
    nn_mlp_free(t->critic[h]);
    nn_mlp_free(t->critic_target[h]);
  }
  core_free(t->critic_params);
  core_free(t->critic_grads);
  core_free(t->critic_target_params);
  opt_free(t->actor_opt);
  opt_free(t->critic_opt);
  if (t->mb.obs || t->mb.act || t->mb.rew || t->mb.next_obs || t->mb.not_done)
    rb_batch_free(&t->mb);
  core_free(t->noise);
  core_free(t->sa);
  core_free(t->sa_next);
  core_free(t->y);
  core_free(t->qmin);
  core_free(t->dq);
  core_free(t->dsa);
  core_free(t->da);
  core_free(t->max_action);
  core_free(t);
}

/* ---------------------------------------------------------------- acting */

void td3_act(Td3 *t, const float *obs, float *act) {
  const float *y = nn_mlp_forward(t->actor, obs, 1);
  memcpy(act, y, (size_t)t->act_dim * sizeof(float));
}

/* ---------------------------------------------------------------- updates */

/* sa (B, obs+act) = [s | a] row by row. */
static void concat_rows(float *sa, const float *s, const float *a, int B, int obs_dim,
                        int act_dim) {
  int D = obs_dim + act_dim;
  for (int r = 0; r < B; r++) {
    memcpy(sa + (size_t)r * D, s + (size_t)r * obs_dim, (size_t)obs_dim * sizeof(float));
    memcpy(sa + (size_t)r * D + obs_dim, a + (size_t)r * act_dim, (size_t)act_dim * sizeof(float));
  }
}

static float clampf(float x, float lo, float hi) { return x < lo ? lo : (x > hi ? hi : x); }

double td3_critic_update_batch(Td3 *t, const ReplayBatch *b, const float *noise) {
  int B = b->batch, O = t->obs_dim, A = t->act_dim, D = O + A;
  CORE_ASSERT(B >= 1 && B <= t->batch);

  /* target actions a~ = clip(pi'(s') + clip(noise, +-c), +-max_action) (TD3); pi'(s') (DDPG) */
  const float *an = nn_mlp_forward(t->actor_target, b->next_obs, B);
  concat_rows(t->sa_next, b->next_obs, an, B, O, A);
  if (t->twin) {
    float c = (float)t->s.noise_clip;
    for (int r = 0; r < B; r++) {
      float *ar = t->sa_next + (size_t)r * D + O;
      for (int j = 0; j < A; j++) {
        float n = noise ? clampf(noise[(size_t)r * A + j], -c, c) : 0.0f;
        ar[j] = clampf(ar[j] + n, -t->max_action[j], t->max_action[j]);
      }
    }
  }

  /* y = r + gamma * not_done * min_h Q'_h(s', a~) */
  for (int h = 0; h < t->n_heads; h++) {
    const float *q = nn_mlp_forward(t->critic_target[h], t->sa_next, B);
    if (h == 0)
      memcpy(t->qmin, q, (size_t)B * sizeof(float));
    else
      for (int r = 0; r < B; r++) t->qmin[r] = q[r] < t->qmin[r] ? q[r] : t->qmin[r];
  }
  float gamma = (float)t->s.discount;
  for (int r = 0; r < B; r++) t->y[r] = b->rew[r] + b->not_done[r] * gamma * t->qmin[r];

  /* loss = sum_h MSE(Q_h(s, a), y); the heads' gradients land in disjoint parts of one buffer,
   * each written whole by its head's backward */
  concat_rows(t->sa, b->obs, b->act, B, O, A);
  double loss = 0.0;
  for (int h = 0; h < t->n_heads; h++) {
    const float *q = nn_mlp_forward(t->critic[h], t->sa, B);
    if (h == 0) {
      double s = 0.0;
      for (int r = 0; r < B; r++) s += q[r];
      t->q_mean = s / B;
    }
    loss += nn_loss_mse(q, t->y, B, 1, t->dq);
    nn_mlp_backward(t->critic[h], t->dq, NULL, NN_BACKWARD_OVERWRITE);
  }
  opt_step(t->critic_opt, t->critic_params, t->critic_grads);
  t->critic_updates++;
  t->critic_loss = loss;
  return loss;
}

double td3_critic_update(Td3 *t, const ReplayBuffer *rb, CoreRng *rng) {
  CORE_ASSERT(rb->size >= 1);
  rb_sample(rb, rng, &t->mb);
  const float *noise = NULL;
  if (t->twin) {
    core_rng_normal_fill(rng, t->noise, (long)t->batch * t->act_dim, 0.0, t->s.policy_noise);
    noise = t->noise;
  }
  return td3_critic_update_batch(t, &t->mb, noise);
}

double td3_actor_update_batch(Td3 *t, const ReplayBatch *b) {
  int B = b->batch, O = t->obs_dim, A = t->act_dim, D = O + A;
  CORE_ASSERT(B >= 1 && B <= t->batch);

  /* loss = -mean Q1(s, pi(s)) */
  const float *a = nn_mlp_forward(t->actor, b->obs, B);
  concat_rows(t->sa, b->obs, a, B, O, A);
  const float *q = nn_mlp_forward(t->critic[0], t->sa, B);
  double s = 0.0;
  for (int r = 0; r < B; r++) s += q[r];
  double loss = -s / B;

  /* dLoss/da through the critic's input (its own gradients untouched), then into the actor */
  float g = -1.0f / (float)B;
  for (int r = 0; r < B; r++) t->dq[r] = g;
  nn_mlp_backward(t->critic[0], t->dq, t->dsa, NN_BACKWARD_INPUT_ONLY);
  for (int r = 0; r < B; r++)
    memcpy(t->da + (size_t)r * A, t->dsa + (size_t)r * D + O, (size_t)A * sizeof(float));
  nn_mlp_backward(t->actor, t->da, NULL, NN_BACKWARD_OVERWRITE);
  opt_step(t->actor_opt, t->actor->params, t->actor->grads);
  t->actor_updates++;
  t->actor_loss = loss;
  return loss;
}

double td3_actor_update(Td3 *t, const ReplayBuffer *rb, CoreRng *rng) {
  CORE_ASSERT(rb->size >= 1);
  rb_sample(rb, rng, &t->mb);
  return td3_actor_update_batch(t, &t->mb);
}

/* ---------------------------------------------------------------- targets, actor state */

/* 16 floats at a time through GCC vector extensions, with AVX-512 and AVX2 clones chosen at load
 * time (as nets/ew.c does): -O2 alone leaves the loop scalar. Contraction is off in ISO C mode,
 * so every clone and the scalar tail give the same bits as a * src + b * dst element by element. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(CEMRL_NO_CLONES)
#define TD3_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define TD3_CLONES
#endif

typedef float Td3V16 __attribute__((vector_size(64)));

TD3_CLONES void td3_soft_update(float *dst, const float *src, size_t n, double tau) {
  /* PyTorch: target.copy_(tau * param + (1 - tau) * target), scalars cast to float */
  float a = (float)tau, b = (float)(1.0 - tau);
  Td3V16 va = (Td3V16){0} + a, vb = (Td3V16){0} + b;
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    Td3V16 x, y;
    memcpy(&x, src + i, sizeof x);
    memcpy(&y, dst + i, sizeof y);
    y = va * x + vb * y;
    memcpy(dst + i, &y, sizeof y);
  }
  for (; i < n; i++) dst[i] = a * src[i] + b * dst[i];
}

void td3_soft_update_critic(Td3 *t) {
  td3_soft_update(t->critic_target_params, t->critic_params, t->critic_n, t->s.tau);
}

void td3_soft_update_actor(Td3 *t) {
  td3_soft_update(t->actor_target->params, t->actor->params, t->actor_n, t->s.tau);
}

void td3_copy_actor_from(Td3 *t, const float *params) {
  memcpy(t->actor->params, params, t->actor_n * sizeof(float));
  memcpy(t->actor_target->params, params, t->actor_n * sizeof(float));
}

void td3_reset_actor_opt(Td3 *t) { opt_reset(t->actor_opt); }

/* ---------------------------------------------------------------- schedules */

/* Actor update on the minibatch the critic just used (sfujim's train samples once per
 * iteration), then both targets. */
static void actor_and_targets(Td3 *t) {
  td3_actor_update_batch(t, &t->mb);
  td3_soft_update_critic(t);
  td3_soft_update_actor(t);
}

void td3_train(Td3 *t, const ReplayBuffer *rb, CoreRng *rng, int64_t iterations) {
  int64_t delay = t->twin ? t->s.policy_delay : 1;
  for (int64_t it = 0; it < iterations; it++) {
    td3_critic_update(t, rb, rng);
    if (it % delay == 0) actor_and_targets(t);
  }
}

void td3_train_step(Td3 *t, const ReplayBuffer *rb, CoreRng *rng) {
  int64_t delay = t->twin ? t->s.policy_delay : 1;
  t->total_it++;
  td3_critic_update(t, rb, rng);
  if (t->total_it % delay == 0) actor_and_targets(t);
}

/* ---------------------------------------------------------------- save / load */

/* "<prefix>.<field>" into out (CORE_CKPT_NAME_MAX + 1 bytes). */
static int name_of(char *out, const char *prefix, const char *field, CoreErr *err) {
  int n = snprintf(out, CORE_CKPT_NAME_MAX + 1, "%s.%s", prefix, field);
  if (n < 0 || n > CORE_CKPT_NAME_MAX)
    return core_err_set(err, CORE_ERR_INVALID, "td3: checkpoint prefix '%s' is too long "
                        "(section names hold at most %d bytes)", prefix, CORE_CKPT_NAME_MAX);
  return 0;
}

static const char *const head_fields[TD3_MAX_HEADS] = {"critic1", "critic2"};
static const char *const head_target_fields[TD3_MAX_HEADS] = {"critic1_t", "critic2_t"};

int td3_save(const Td3 *t, CoreCkptWriter *w, const char *prefix, CoreErr *err) {
  char nm[CORE_CKPT_NAME_MAX + 1];
  int rc;
  int64_t counters[4] = {t->critic_updates, t->actor_updates, t->total_it, t->n_heads};
  if ((rc = name_of(nm, prefix, "counters", err))) return rc;
  if ((rc = core_ckpt_add_copy(w, nm, counters, sizeof counters, err))) return rc;
  if ((rc = name_of(nm, prefix, "actor", err)) || (rc = nn_mlp_save(t->actor, w, nm, err)))
    return rc;
  if ((rc = name_of(nm, prefix, "actor_t", err)) ||
      (rc = nn_mlp_save(t->actor_target, w, nm, err)))
    return rc;
  for (int h = 0; h < t->n_heads; h++) {
    if ((rc = name_of(nm, prefix, head_fields[h], err)) ||
        (rc = nn_mlp_save(t->critic[h], w, nm, err)))
      return rc;
    if ((rc = name_of(nm, prefix, head_target_fields[h], err)) ||
        (rc = nn_mlp_save(t->critic_target[h], w, nm, err)))
      return rc;
  }
  if ((rc = name_of(nm, prefix, "actor_opt", err)) || (rc = opt_save(t->actor_opt, w, nm, err)))
    return rc;
  if ((rc = name_of(nm, prefix, "critic_opt", err)) ||
      (rc = opt_save(t->critic_opt, w, nm, err)))
    return rc;
  return 0;
}

int td3_load(Td3 *t, const CoreCkpt *c, const char *prefix, CoreErr *err) {
  char nm[CORE_CKPT_NAME_MAX + 1];
  int rc;
  int64_t counters[4];
  if ((rc = name_of(nm, prefix, "counters", err))) return rc;
  if ((rc = core_ckpt_read(c, nm, counters, sizeof counters, err))) return rc;
  if (counters[3] != t->n_heads)
    return core_err_set(err, CORE_ERR_INVALID, "%s: section %s: the checkpoint's critic has %lld "
                        "head(s), this learner %d (TD3 has 2, DDPG 1: use the method that wrote "
                        "it)", core_ckpt_label(c), nm, (long long)counters[3], t->n_heads);
  if (counters[0] < 0 || counters[1] < 0 || counters[2] < 0)
    return core_err_set(err, CORE_ERR_CORRUPT, "%s: section %s: negative update counters",
                        core_ckpt_label(c), nm);
  if ((rc = name_of(nm, prefix, "actor", err)) || (rc = nn_mlp_load(t->actor, c, nm, err)))
    return rc;
  if ((rc = name_of(nm, prefix, "actor_t", err)) ||
      (rc = nn_mlp_load(t->actor_target, c, nm, err)))
    return rc;
  for (int h = 0; h < t->n_heads; h++) {
    if ((rc = name_of(nm, prefix, head_fields[h], err)) ||
        (rc = nn_mlp_load(t->critic[h], c, nm, err)))
      return rc;
    if ((rc = name_of(nm, prefix, head_target_fields[h], err)) ||
        (rc = nn_mlp_load(t->critic_target[h], c, nm, err)))
      return rc;
  }
  if ((rc = name_of(nm, prefix, "actor_opt", err)) || (rc = opt_load(t->actor_opt, c, nm, err)))
    return rc;
  if ((rc = name_of(nm, prefix, "critic_opt", err)) ||
      (rc = opt_load(t->critic_opt, c, nm, err)))
    return rc;
  t->critic_updates = counters[0];
  t->actor_updates = counters[1];
  t->total_it = counters[2];
  return 0;
}
