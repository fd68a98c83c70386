/* cmd_eval.c — `cemrl eval`: run a saved policy deterministically and report returns. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "agents/train.h"
#include "app/app.h"
#include "core/rng.h"
#include "envs/sup_env.h"

/* A run directory means its policy.ckpt; anything else is taken as a policy file. */
int app_resolve_policy(const char *arg, char *path, size_t n) {
  struct stat st;
  if (stat(arg, &st) == 0 && S_ISDIR(st.st_mode)) {
    snprintf(path, n, "%s/%s", arg, TRAIN_POLICY_FILE);
    return 1;
  }
  snprintf(path, n, "%s", arg);
  return 0;
}

int cmd_eval(int argc, char **argv) {
  const char *target = NULL;
  long episodes = 10;
  long long seed = 100;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      printf("usage: cemrl eval RUN_DIR|POLICY.ckpt [--episodes N] [--seed S]\n\n"
             "Run the saved policy (a run's policy.ckpt) without exploration noise, actions\n"
             "clipped to the bounds; episode i resets from a seed derived from (S, i).\n"
             "On a supervised env (Sup-*, SupFit-*) the episodes draw training examples, so\n"
             "the policy's loss (and accuracy) on the whole test and training splits follow,\n"
             "on the env's registered task (default data options: a run trained with other\n"
             "sup.n_train / n_test / dim / data_seed is scored on the default data).\n"
             "  --episodes N   episodes (default 10)\n"
             "  --seed S       evaluation seed (default 100, distinct from training evaluations)\n");
      return 0;
    }
    if ((!strcmp(argv[i], "--episodes") || !strcmp(argv[i], "--seed"))) {
      if (i + 1 >= argc) return app_usage_error("eval", "%s needs a value", argv[i]);
      char *end;
      long long v = strtoll(argv[i + 1], &end, 10);
      if (!*argv[i + 1] || *end || v < (argv[i][2] == 'e' ? 1 : 0))
        return app_usage_error("eval", "%s: '%s' is not a valid number", argv[i], argv[i + 1]);
      if (argv[i][2] == 'e') episodes = (long)v;
      else seed = v;
      i++;
    } else if (argv[i][0] == '-') {
      return app_usage_error("eval", "unknown option '%s'", argv[i]);
    } else if (!target) {
      target = argv[i];
    } else {
      return app_usage_error("eval", "more than one policy given");
    }
  }
  if (!target) return app_usage_error("eval", "give a run directory or a policy file");
  char path[4096], env_name[128];
  app_resolve_policy(target, path, sizeof path);
  CoreErr err;
  core_err_clear(&err);
  NnMlp *net = train_load_policy(path, env_name, sizeof env_name, &err);
  if (!net) return app_fail(&err);
  Env *env = env_make(env_name, &err);
  if (!env) {
    nn_mlp_free(net);
    return app_fail(&err);
  }
  if (env->obs_dim != net->in_dim || env->act_dim != net->out_dim) {
    core_err_set(&err, CORE_ERR_INVALID, "%s: policy maps %d -> %d but %s has obs %d, act %d",
                 path, net->in_dim, net->out_dim, env_name, env->obs_dim, env->act_dim);
    env_free(env);
    nn_mlp_free(net);
    return app_fail(&err);
  }
  EnvEvalStats st;
  train_evaluate_policy(net, env, (uint64_t)seed, (int)episodes, &st);
  printf("%s on %s: %d episodes, return %.2f +- %.2f (min %.2f, max %.2f), mean length %.1f\n",
         path, env_name, st.episodes, st.mean, st.std, st.min, st.max, st.mean_length);
  int rc = 0;
  if (sup_env_task_kind(env_name, NULL) >= 0) {
    /* episodes sample the training split; the held-out figure is the one to report */
    for (int split = SUP_TEST; split >= SUP_TRAIN && !rc; split--) {
      SupEval ev;
      if ((rc = sup_env_evaluate_policy(net, env_name, split, &ev, &err))) break;
      if (ev.n == 0) {
        printf("%s split: empty\n", sup_split_names[split]);
        continue;
      }
      printf("%s split: %lld examples, loss %.6g", sup_split_names[split], (long long)ev.n,
             ev.loss);
      if (isfinite(ev.acc)) printf(", accuracy %.2f%%", 100.0 * ev.acc);
      printf("\n");
    }
  }
  env_free(env);
  nn_mlp_free(net);
  return rc ? app_fail(&err) : 0;
}
