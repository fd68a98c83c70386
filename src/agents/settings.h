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

typedef enum {
  AGENT_CEMTD3 = 0,
  AGENT_CEMDDPG,
  AGENT_TD3,
  AGENT_DDPG,
  AGENT_CEM,
  AGENT_SUPERVISED,         /* minibatch training on a supervised task (sup_agent.c) */
  AGENT_NMETHOD
} AgentMethod;
/* "cemtd3", "cemddpg", "td3", "ddpg", "cem", "supervised" */
extern const char *const agent_method_names[];

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

/* Action noise of a noisy evaluation (CEM-RL's --n_noisy episodes, spec §2 step 3): the
 * actor's action plus noise, clipped to the bounds. OU: x starts at mu each episode and steps
 * x += theta·(mu − x) + sigma·N(0, 1) before every action (the reference's process, dt = 1). */
typedef enum { AGENT_NOISE_GAUSS = 0, AGENT_NOISE_OU, AGENT_NNOISE } AgentNoiseKind;
extern const char *const agent_noise_names[];   /* "gauss", "ou" */

typedef struct {
  int kind;                 /* AgentNoiseKind */
  double gauss_sigma;       /* 0.1 */
  double ou_theta, ou_sigma, ou_mu;   /* 0.15, 0.2, 0 */
} AgentActionNoise;

/* CEM-RL's generation loop switches (spec §2, §9). */
typedef struct {
  int n_grad;               /* individuals that get gradient steps (5 = N/2) */
  int grad_second_half;     /* 0: the first n_grad ("+e" half, reference); 1: the last n_grad */
  int critic_target_every_step; /* 1: soft-update the critic target after every critic step
                                   (reference); 0: with the actor, TD3-style delay */
  int n_noisy;              /* 0 (reference default): re-run the first n_noisy individuals with
                               action noise each generation, before the evaluation; their
                               transitions go into the buffer and their steps count, their
                               returns are discarded */
  AgentActionNoise noise;   /* the noise of those episodes */
  int importance_mixing;    /* 0 (es_grad.py); 1: es_grad_im.py's reuse of the previous
                               generation's EA individuals (im.h) */
} CemRlSettings;

typedef enum { SUP_ACT_RELU = 0, SUP_ACT_TANH, SUP_ACT_IDENTITY, SUP_NACT } SupActivation;
extern const char *const sup_act_names[];  /* "relu", "tanh", "identity" */
/* NnInitKind names for config tables, NULL-terminated: "torch", "xavier", "he", "gaussian" */
extern const char *const sup_init_names[];

/* The supervised learner (method "supervised"): the task is the one behind env ("Sup-<Task>-v0"
 * or "SupFit-<Task>-v0"); one iterate() is one epoch of minibatch steps over the training split,
 * and the step budget counts training examples seen (epochs x n_train). Evaluation (every
 * eval_period examples; eval_period = n_train logs every epoch) is on the test split:
 * eval_mean = -(test loss). */
typedef struct {
  char data_dir[512];       /* Fashion-MNIST folder ("" = $CEMRL_FASHION_MNIST_DIR or the
                               dataset-fashion-mnist package's) */
  int64_t n_train;          /* training examples (0 = the task's default: all for Fashion-MNIST) */
  int64_t n_test;           /* test examples (0 = the task's default) */
  int64_t data_seed;        /* synthetic tasks: data seed */
  int dim;                  /* synthetic tasks: input width (0 = the task's default) */
  int standardize;          /* Fashion-MNIST: global mean/std of the training subset (1) or /255 */
  int batch_size;           /* 100 */
  int hidden1, hidden2, hidden3;  /* hidden widths in order; 0 ends the list (all 0: a linear
                               model, e.g. multinomial logistic regression) */
  int act;                  /* SupActivation of the hidden layers (relu) */
  int init;                 /* NnInitKind (xavier) */
  double init_std;          /* std of the gaussian init */
  int shuffle;              /* reshuffle the training split every epoch (1) */
  int full_train_loss;      /* also log the full-batch training loss and accuracy at evaluations
                               (and the full-batch |∇f|² for FDR's O_FB) */
  OptSettings opt;          /* the model's optimizer (any src/optim kind) */
  /* diagnostics (src/optim fdr.h, vmf.h), logged per evaluation */
  int fdr;                  /* record Yaida's FDR observables every step (needs opt.kind sgd) */
  int fdr_schedule;         /* cut the learning rate by the FDR test at each epoch end */
  double fdr_x, fdr_y;      /* the schedule's X (0.01) and Y (0.1) */
  int64_t fdr_min_records;  /* the schedule's guard: records since the last cut (500) */
  int vmf_batches;          /* > 0: at each evaluation, this many minibatch gradients at the
                               frozen parameters give the vMF concentration, GNS and GS */
  int vmf_batch_size;       /* their size (64) */
} SupSettings;

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
  SupSettings sup;          /* method "supervised" */
} AgentSettings;

#endif
