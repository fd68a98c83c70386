/* settings.c — config tables for AgentSettings. Defaults: CEM-TD3 on HalfCheetah-v4 with the
 * CEM-RL reference code's values (spec cemrl-td3.md §2, §3). */
#include "app/settings.h"

#include <stddef.h>

static const CoreCfgField net_fields[] = {
    CORE_CFG_INT(NetSettings, hidden1, 400, 1, 1 << 16, "width of the first hidden layer"),
    CORE_CFG_INT(NetSettings, hidden2, 300, 1, 1 << 16, "width of the second hidden layer"),
    CORE_CFG_ENUM(NetSettings, actor_act, "tanh", agent_activation_names,
                  "actor hidden activation (CEM-RL: tanh; TD3 paper: relu)"),
    CORE_CFG_ENUM(NetSettings, critic_act, "leaky_relu", agent_activation_names,
                  "critic hidden activation (CEM-RL: leaky_relu; TD3 paper: relu)"),
    CORE_CFG_BOOL(NetSettings, layer_norm, 0, "LayerNorm after each hidden linear of the actor"),
    CORE_CFG_END,
};

static int td3_check(const void *section, CoreCfgCheckCtx *ctx) {
  const Td3Settings *t = section;
  if (t->batch_size > t->buffer_size)
    return core_cfg_reject(ctx, "batch_size", "%d is larger than buffer_size %lld", t->batch_size,
                           (long long)t->buffer_size);
  return 0;
}

static const CoreCfgField td3_fields[] = {
    CORE_CFG_INT(Td3Settings, batch_size, 100, 1, 1 << 16, "minibatch size"),
    CORE_CFG_DOUBLE(Td3Settings, discount, 0.99, 0, 1, "discount factor gamma"),
    CORE_CFG_DOUBLE(Td3Settings, tau, 0.005, 0, 1, "soft target update rate"),
    CORE_CFG_DOUBLE(Td3Settings, policy_noise, 0.2, 0, 10, "target smoothing noise std (TD3)"),
    CORE_CFG_DOUBLE(Td3Settings, noise_clip, 0.5, 0, 10, "target smoothing noise clip (TD3)"),
    CORE_CFG_INT(Td3Settings, policy_delay, 2, 1, 1000,
                 "critic updates per actor and target update (TD3 baseline)"),
    CORE_CFG_DOUBLE(Td3Settings, expl_noise, 0.1, 0, 10, "Gaussian exploration noise std"),
    CORE_CFG_INT64(Td3Settings, start_steps, 10000, 0, 1e12,
                   "random-action steps (TD3/DDPG); gradient gate (CEM-RL)"),
    CORE_CFG_INT64(Td3Settings, buffer_size, 1000000, 1, 1e9, "replay buffer capacity"),
    CORE_CFG_ENUM(Td3Settings, train_freq, "episode", td3_train_freq_names,
                  "updates after each episode (as many as its steps) or one per env step"),
    CORE_CFG_CHECK(td3_check, "batch_size <= buffer_size"),
    CORE_CFG_END,
};

static int cem_check(const void *section, CoreCfgCheckCtx *ctx) {
  const CemSettings *c = section;
  if (c->antithetic && c->pop_size % 2)
    return core_cfg_reject(ctx, "antithetic", "needs an even pop_size (pop_size is %d)",
                           c->pop_size);
  if (c->n_elites > c->pop_size)
    return core_cfg_reject(ctx, "n_elites", "%d is larger than pop_size %d", c->n_elites,
                           c->pop_size);
  return 0;
}

static const CoreCfgField cem_fields[] = {
    CORE_CFG_INT(CemSettings, pop_size, 10, 2, 100000, "population size N"),
    CORE_CFG_INT(CemSettings, n_elites, 0, 0, 100000, "elites K (0: pop_size / 2)"),
    CORE_CFG_DOUBLE(CemSettings, sigma_init, 1e-3, 1e-12, 1e6, "initial variance (not std)"),
    CORE_CFG_DOUBLE(CemSettings, damp, 1e-3, 0, 1e6, "initial variance damping eps0"),
    CORE_CFG_DOUBLE(CemSettings, damp_limit, 1e-5, 0, 1e6, "final damping eps_end"),
    CORE_CFG_DOUBLE(CemSettings, damp_tau, 0.95, 0, 1, "damping decay"),
    CORE_CFG_BOOL(CemSettings, antithetic, 1, "mirrored sampling (needs even pop_size)"),
    CORE_CFG_BOOL(CemSettings, elitism, 0, "keep the previous best as the last individual"),
    CORE_CFG_BOOL(CemSettings, var_over_k, 1,
                  "variance with the reference code's 1/K factor (false: the paper's formula)"),
    CORE_CFG_CHECK(cem_check, "antithetic needs an even pop_size; n_elites <= pop_size"),
    CORE_CFG_END,
};

static const CoreCfgField noise_fields[] = {
    CORE_CFG_ENUM(AgentActionNoise, kind, "gauss", agent_noise_names,
                  "action noise: gauss (N(0, gauss_sigma²)) or ou (Ornstein-Uhlenbeck)"),
    CORE_CFG_DOUBLE(AgentActionNoise, gauss_sigma, 0.1, 0, 100, "Gaussian noise std"),
    CORE_CFG_DOUBLE(AgentActionNoise, ou_theta, 0.15, 0, 2, "OU mean reversion per step"),
    CORE_CFG_DOUBLE(AgentActionNoise, ou_sigma, 0.2, 0, 100, "OU noise std per step"),
    CORE_CFG_DOUBLE(AgentActionNoise, ou_mu, 0, -100, 100, "OU mean (and start)"),
    CORE_CFG_END,
};

static const CoreCfgField cemrl_fields[] = {
    CORE_CFG_INT(CemRlSettings, n_grad, 5, 0, 100000, "individuals given gradient steps"),
    CORE_CFG_BOOL(CemRlSettings, grad_second_half, 0,
                  "give gradient steps to the last n_grad instead of the first ('+e') half"),
    CORE_CFG_BOOL(CemRlSettings, critic_target_every_step, 1,
                  "soft-update the critic target after every critic step (CEM-RL code)"),
    CORE_CFG_INT(CemRlSettings, n_noisy, 0, 0, 100000,
                 "re-run the first n_noisy individuals with action noise each generation "
                 "(buffer and step count only; reference --n_noisy)"),
    CORE_CFG_SECTION(CemRlSettings, noise, noise_fields, "noise of the n_noisy episodes"),
    CORE_CFG_BOOL(CemRlSettings, importance_mixing, 0,
                  "reuse previous EA individuals by importance mixing (es_grad_im.py)"),
    CORE_CFG_END,
};

static int opt_check(const void *section, CoreCfgCheckCtx *ctx) {
  const OptSettings *o = section;
  if (o->nesterov && (o->momentum <= 0 || o->dampening != 0))
    return core_cfg_reject(ctx, "nesterov", "needs momentum > 0 and dampening 0");
  return 0;
}

#define OPT_FIELDS(name)                                                                      \
  static const CoreCfgField name[] = {                                                        \
      CORE_CFG_ENUM(OptSettings, kind, "adam", opt_kind_names, "update rule"),                \
      CORE_CFG_DOUBLE(OptSettings, lr, 1e-3, 1e-12, 1e3, "learning rate"),                   \
      CORE_CFG_DOUBLE(OptSettings, weight_decay, 0, 0, 1e3, "L2 weight decay"),               \
      CORE_CFG_DOUBLE(OptSettings, momentum, 0, 0, 1, "SGD momentum"),                        \
      CORE_CFG_DOUBLE(OptSettings, dampening, 0, 0, 1, "SGD dampening"),                     \
      CORE_CFG_BOOL(OptSettings, nesterov, 0, "SGD Nesterov momentum"),                       \
      CORE_CFG_DOUBLE(OptSettings, beta1, 0.9, 0, 0.999999, "Adam beta1"),                    \
      CORE_CFG_DOUBLE(OptSettings, beta2, 0.999, 0, 0.999999999, "Adam beta2"),               \
      CORE_CFG_DOUBLE(OptSettings, eps, 1e-8, 1e-30, 1, "Adam epsilon"),                      \
      CORE_CFG_ENUM(OptSettings, a2grad_variant, "uni", opt_a2grad_variant_names,             \
                    "A2Grad accumulator: uni, inc or exp"),                                   \
      CORE_CFG_BOOL(OptSettings, a2grad_per_tensor, 0,                                        \
                    "A2Grad: one adaptive scale per tensor (reference code), not per coordinate"), \
      CORE_CFG_DOUBLE(OptSettings, lips, 10, 1e-12, 1e12, "A2Grad smoothness constant L"),     \
      CORE_CFG_DOUBLE(OptSettings, beta, 10, 0, 1e12, "A2Grad beta (adaptive term weight)"),   \
      CORE_CFG_DOUBLE(OptSettings, rho, 0.5, 0, 0.999999, "A2Grad-exp averaging rho"),         \
      CORE_CFG_CHECK(opt_check, "nesterov needs momentum > 0 and dampening 0"),               \
      CORE_CFG_END,                                                                           \
  }
OPT_FIELDS(opt_fields);

static int sup_check(const void *section, CoreCfgCheckCtx *ctx) {
  const SupSettings *p = section;
  if (p->hidden2 > 0 && p->hidden1 == 0)
    return core_cfg_reject(ctx, "hidden2", "is set but hidden1 is 0 (list hidden widths in order)");
  if (p->hidden3 > 0 && p->hidden2 == 0)
    return core_cfg_reject(ctx, "hidden3", "is set but hidden2 is 0 (list hidden widths in order)");
  if (p->fdr_schedule && !p->fdr)
    return core_cfg_reject(ctx, "fdr_schedule", "needs fdr = true");
  if (p->fdr && p->opt.kind != OPT_SGD)
    return core_cfg_reject(ctx, "fdr", "the FDR observables need opt.kind \"sgd\"");
  return 0;
}

static const CoreCfgField sup_fields[] = {
    CORE_CFG_STRING(SupSettings, data_dir, "",
                    "Fashion-MNIST folder (\"\": $CEMRL_FASHION_MNIST_DIR or the package's)"),
    CORE_CFG_INT64(SupSettings, n_train, 0, 0, 1e9, "training examples (0: the task's default)"),
    CORE_CFG_INT64(SupSettings, n_test, 0, 0, 1e9, "test examples (0: the task's default)"),
    CORE_CFG_INT64(SupSettings, data_seed, 0, 0, 9007199254740992.0, "synthetic tasks: data seed"),
    CORE_CFG_INT(SupSettings, dim, 0, 0, 1 << 16, "synthetic tasks: input width (0: default)"),
    CORE_CFG_BOOL(SupSettings, standardize, 1,
                  "Fashion-MNIST: global mean/std of the training subset (false: pixels/255)"),
    CORE_CFG_INT(SupSettings, batch_size, 100, 1, 1 << 16, "minibatch size"),
    CORE_CFG_INT(SupSettings, hidden1, 100, 0, 1 << 16, "first hidden width (0: linear model)"),
    CORE_CFG_INT(SupSettings, hidden2, 0, 0, 1 << 16, "second hidden width (0: none)"),
    CORE_CFG_INT(SupSettings, hidden3, 0, 0, 1 << 16, "third hidden width (0: none)"),
    CORE_CFG_ENUM(SupSettings, act, "relu", sup_act_names, "hidden activation"),
    CORE_CFG_ENUM(SupSettings, init, "xavier", sup_init_names, "weight initialisation"),
    CORE_CFG_DOUBLE(SupSettings, init_std, 0.01, 0, 1e3, "std of the gaussian init"),
    CORE_CFG_BOOL(SupSettings, shuffle, 1, "reshuffle the training split every epoch"),
    CORE_CFG_BOOL(SupSettings, full_train_loss, 0,
                  "log the full-batch training loss and accuracy at each evaluation"),
    CORE_CFG_SECTION(SupSettings, opt, opt_fields, "the model's optimizer"),
    CORE_CFG_BOOL(SupSettings, fdr, 0, "log Yaida's FDR observables (opt.kind sgd)"),
    CORE_CFG_BOOL(SupSettings, fdr_schedule, 0, "cut the learning rate by the FDR test per epoch"),
    CORE_CFG_DOUBLE(SupSettings, fdr_x, 0.01, 1e-9, 10, "FDR schedule: cut when |ratio - 1| < X"),
    CORE_CFG_DOUBLE(SupSettings, fdr_y, 0.1, 1e-9, 0.999999, "FDR schedule: lr *= 1 - Y"),
    CORE_CFG_INT64(SupSettings, fdr_min_records, 500, 0, 1e12,
                   "FDR schedule: steps since the last cut before the next check"),
    CORE_CFG_INT(SupSettings, vmf_batches, 0, 0, 100000,
                 "minibatch gradients per evaluation for the vMF statistics (0: off)"),
    CORE_CFG_INT(SupSettings, vmf_batch_size, 64, 1, 1 << 16, "their batch size"),
    CORE_CFG_CHECK(sup_check, "hidden widths in order; fdr needs sgd; fdr_schedule needs fdr"),
    CORE_CFG_END,
};

static int agent_check(const void *section, CoreCfgCheckCtx *ctx) {
  const AgentSettings *s = section;
  if ((s->method == AGENT_CEMTD3 || s->method == AGENT_CEMDDPG) && s->cemrl.n_grad > s->cem.pop_size)
    return core_cfg_reject(ctx, "cemrl.n_grad", "%d is larger than cem.pop_size %d",
                           s->cemrl.n_grad, s->cem.pop_size);
  if (s->cemrl.n_noisy > 0 && s->method != AGENT_CEMTD3 && s->method != AGENT_CEMDDPG)
    return core_cfg_reject(ctx, "cemrl.n_noisy", "noisy episodes only feed the replay buffer of "
                           "cemtd3 / cemddpg; method %s has none (set it to 0)",
                           agent_method_names[s->method]);
  if (s->cemrl.importance_mixing && s->method != AGENT_CEM && s->method != AGENT_CEMTD3 &&
      s->method != AGENT_CEMDDPG)
    return core_cfg_reject(ctx, "cemrl.importance_mixing", "mixes CEM populations; method %s "
                           "has none (set it to false)", agent_method_names[s->method]);
  if (s->cemrl.n_noisy > s->cem.pop_size)
    return core_cfg_reject(ctx, "cemrl.n_noisy", "%d is larger than cem.pop_size %d",
                           s->cemrl.n_noisy, s->cem.pop_size);
  return 0;
}

const CoreCfgField app_agent_fields[] = {
    CORE_CFG_STRING(AgentSettings, env, "HalfCheetah-v4", "environment (`cemrl envs` lists them)"),
    CORE_CFG_ENUM(AgentSettings, method, "cemtd3", agent_method_names, "method"),
    CORE_CFG_INT64(AgentSettings, seed, 0, 0, 9007199254740992.0, "run seed (derives every stream)"),
    CORE_CFG_INT64(AgentSettings, total_steps, 1000000, 1, 1e12, "env-step budget"),
    CORE_CFG_INT64(AgentSettings, eval_period, 5000, 1, 1e12,
                   "evaluate the policy every this many steps"),
    CORE_CFG_INT(AgentSettings, eval_episodes, 10, 1, 100000, "episodes per evaluation"),
    CORE_CFG_INT(AgentSettings, threads, 1, 1, 256,
                 "worker threads for population evaluation (results do not depend on it)"),
    CORE_CFG_INT(AgentSettings, checkpoint_every, 10, 1, 1000000,
                 "write a checkpoint every k evaluations (and on exit)"),
    CORE_CFG_SECTION(AgentSettings, net, net_fields, "actor and critic networks"),
    CORE_CFG_SECTION(AgentSettings, td3, td3_fields, "TD3 / DDPG learner"),
    CORE_CFG_SECTION(AgentSettings, cem, cem_fields, "sep-CEM population"),
    CORE_CFG_SECTION(AgentSettings, cemrl, cemrl_fields, "CEM-RL generation loop"),
    CORE_CFG_SECTION(AgentSettings, actor_opt, opt_fields, "actor optimizer"),
    CORE_CFG_SECTION(AgentSettings, critic_opt, opt_fields, "critic optimizer"),
    CORE_CFG_SECTION(AgentSettings, sup, sup_fields, "supervised learner (method supervised)"),
    CORE_CFG_CHECK(agent_check, "cemrl.n_grad <= cem.pop_size"),
    CORE_CFG_END,
};

void app_settings_defaults(AgentSettings *s) { core_cfg_defaults(app_agent_fields, s); }
