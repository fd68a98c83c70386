/* sup_env.h — supervised tasks posed as environments, so every RL method can run on them.
 *
 * Two modes over a task's TRAINING split (sup.h):
 *   step ("Sup-<Task>-v0")     one-step episodes: reset shows the input x of a random training
 *                              example, the action is the prediction (act_dim = out_dim, bounds
 *                              ±task->pred_bound), the reward is −loss(prediction, y), and the
 *                              episode terminates. TD3/DDPG learn regression as a bandit.
 *   fit ("SupFit-<Task>-v0")   the CEM fitness mode: an episode walks through a batch of
 *                              SUP_ENV_FIT_BATCH random training examples, one per step, and
 *                              pays −loss/K per step, so an episode's return is −(mean loss of
 *                              the batch) for the parameters being evaluated. CEM evolves the
 *                              network's weights with it.
 * Reset seed s draws the example indices from core_rng_stream(s, CORE_RNG_ENV, 0) (uniform, with
 * replacement). Actions are clipped to the bounds before the loss. Stepping allocates nothing.
 * The registered instances use the task's default spec (sup_task_spec_default) and share one
 * loaded task per kind (reference-counted; freed with the last instance).
 *
 * Registered: Sup-FashionMNIST-v0, Sup-Regress-v0, Sup-Du-v0, Sup-JiTelgarsky-v0 and their
 * SupFit- twins.
 *
 * Nullable: every CoreErr *err.
 */
#ifndef CEMRL_ENVS_SUP_ENV_H
#define CEMRL_ENVS_SUP_ENV_H

#include "envs/env.h"
#include "envs/sup.h"

typedef enum { SUP_ENV_STEP = 0, SUP_ENV_FIT, SUP_ENV_NMODE } SupEnvMode;

#define SUP_ENV_FIT_BATCH 100

/* An environment posing task (borrowed: it must outlive the env) in mode, with episodes of
 * `batch` examples in fit mode (ignored in step mode). NULL with err. */
Env *sup_env_create(const SupTask *task, int mode, int batch, CoreErr *err);

/* The task behind a supervised env, or NULL for any other env. */
const SupTask *sup_env_task(const Env *e);

/* The task kind (SupTaskKind) of a registered supervised env name ("Sup-FashionMNIST-v0",
 * "SupFit-Regress-v0", ...), or -1 if the name is not one. *mode (nullable) gets its mode. */
int sup_env_task_kind(const char *env_name, int *mode);

/* Evaluate a policy network (obs -> act) of a registered supervised env on a split of the env's
 * task: predictions clipped to the env's action bounds as the env clips them, then the task's
 * mean loss and accuracy (the figures a TD3 or CEM actor reaches: test MSE, test accuracy).
 * Allocates its buffers per call. CORE_ERR_INVALID if env_name is not a supervised env or the
 * network's widths do not match it. */
int sup_env_evaluate_policy(NnMlp *policy, const char *env_name, int split, SupEval *out,
                            CoreErr *err);

/* Registry constructors (registry.c): step and fit mode of each task. */
Env *sup_env_make_fashion(CoreErr *err);
Env *sup_env_make_fashion_fit(CoreErr *err);
Env *sup_env_make_regress(CoreErr *err);
Env *sup_env_make_regress_fit(CoreErr *err);
Env *sup_env_make_du(CoreErr *err);
Env *sup_env_make_du_fit(CoreErr *err);
Env *sup_env_make_ji(CoreErr *err);
Env *sup_env_make_ji_fit(CoreErr *err);

#endif
