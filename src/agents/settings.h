/* settings.h — typed settings of every method (agents never see JSON: src/app's tables fill these).
 *
 * Defaults are the CEM-RL reference code's (spec cemrl-td3.md §2, §3); the TD3 paper's ReLU
 * networks are a switch (net.actor_act / net.critic_act).
 */
#ifndef CEMRL_AGENTS_SETTINGS_H
#define CEMRL_AGENTS_SETTINGS_H

#include <stdint.h>

#include "agents/cem.h"
#include "optim/opt.h"

typedef enum { AGENT_CEMTD3 = 0, AGENT_CEMDDPG, AGENT_TD3, AGENT_DDPG, AGENT_CEM, AGENT_NMETHOD } AgentMethod;
extern const char *const agent_method_names[];  /* "cemtd3", "cemddpg", "td3", "ddpg", "cem" */

typedef enum { AGENT_ACT_TANH = 0, AGENT_ACT_RELU, AGENT_ACT_LEAKY_RELU, AGENT_NACT } AgentActivation;
extern const char *const agent_activation_names[];  /* "tanh", "relu", "leaky_relu" */

/* Actor and critic shapes. */
typedef struct {
  int hidden1, hidden2;     /* 400, 300 */
  int actor_act;            /* AgentActivation of the actor's hidden layers (tanh) */
  int critic_act;           /* AgentActivation of the critic's hidden layers (leaky_relu) */
  int layer_norm;           /* LayerNorm after each hidden linear of the actor (off) */
} NetSettings;

typedef enum { TD3_TRAIN_EPISODE = 0, TD3_TRAIN_STEP, TD3_NTRAIN } Td3TrainFreq;
extern const char *const td3_train_freq_names[];  /* "episode", "step" */

/* TD3 / DDPG learner settings (also the gradient half of CEM-RL). */
typedef struct {
  int batch_size;           /* 100 */
  double discount;          /* 0.99 */
  double tau;               /* 0.005 soft target update */
  double policy_noise;      /* 0.2 target smoothing std (absolute, not scaled by max_action) */
  double noise_clip;        /* 0.5 */
  int policy_delay;         /* 2 (TD3 baseline); CEM-RL does not use it */
  double expl_noise;        /* 0.1 Gaussian exploration std (absolute) */
  int64_t start_steps;      /* 10000: random actions (TD3) / gate on gradient steps (CEM-RL) */
  int64_t buffer_size;      /* 1000000 */
  int train_freq;           /* Td3TrainFreq: after each episode as many updates as its steps
                               (reference code), or one update per env step */
} Td3Settings;

/* CEM-RL's generation loop switches (spec §2, §9). */
typedef struct {
  int n_grad;               /* individuals that get gradient steps (5 = N/2) */
  int grad_second_half;     /* 0: the first n_grad ("+e" half, reference); 1: the last n_grad */
  int critic_target_every_step; /* 1: soft-update the critic target after every critic step
                                   (reference); 0: with the actor, TD3-style delay */
} CemRlSettings;

/* Everything a run needs. */
typedef struct {
  char env[64];             /* registry name, "HalfCheetah-v4" */
  int method;               /* AgentMethod */
  int64_t seed;
  int64_t total_steps;      /* env-step budget (counted steps, spec §2) */
  int64_t eval_period;      /* evaluate when this many steps passed since the last (5000) */
  int eval_episodes;        /* 10 */
  int threads;              /* worker threads for population evaluation (results independent) */
  int checkpoint_every;     /* write a checkpoint every k evaluations (1) */
  NetSettings net;
  Td3Settings td3;
  CemSettings cem;
  CemRlSettings cemrl;
  OptSettings actor_opt;    /* Adam 1e-3 */
  OptSettings critic_opt;   /* Adam 1e-3 */
} AgentSettings;

#endif
