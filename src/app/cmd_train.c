/* cmd_train.c — `cemrl train`: run a config into a run directory, or resume one. */
#include <cjson/cJSON.h>
#include <mujoco/mujoco.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "agents/cluster.h"
#include "agents/train.h"
#include "app/app.h"
#include "app/settings.h"
#include "cemrl_version.h"
#include "core/alloc.h"
#include "core/fsutil.h"
#include "core/rundir.h"
#include "nets/blas.h"

#define MAX_SETS 64

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig) {
  (void)sig;
  stop_requested = 1;
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: cemrl train [CONFIG.json] [options]\n"
          "       cemrl train --resume RUN_DIR [--steps N] [--threads N]\n\n"
          "Train a method on an environment. With no CONFIG, the defaults below (CEM-TD3 on\n"
          "HalfCheetah-v4, the CEM-RL paper's settings). Ctrl-C writes a checkpoint and exits 130;\n"
          "--resume continues it with the same numbers as an uninterrupted run.\n\n"
          "options:\n"
          "  --seed S           run seed (same as --set seed=S)\n"
          "  --steps N          env-step budget (--set total_steps=N)\n"
          "  --threads N        population-evaluation threads (results do not change)\n"
          "  --set KEY=VALUE    override any setting, e.g. --set td3.batch_size=256\n"
          "  --out DIR          parent folder of run directories (default: runs)\n"
          "  --name NAME        run directory name (default: METHOD_ENV_sSEED, made unique)\n"
          "  --resume RUN_DIR   continue an interrupted run from its checkpoint\n"
          "  --stop-after-evals K  stop (with a checkpoint) after K evaluations, as Ctrl-C would\n"
          "  --quiet            no progress line\n\n"
          "SIGINT, SIGTERM and SIGUSR1 all stop with a checkpoint. Over MPI (CEM, CEM-TD3,\n"
          "CEM-DDPG): `mpirun -np R --bind-to none cemrl train ...` spreads each population\n"
          "evaluation over R processes with the same numbers as one process; stop it with\n"
          "`kill -USR1 <mpirun pid>` (mpirun forwards SIGUSR1; on Ctrl-C it kills the job after a\n"
          "short grace, so a long generation falls back to the last periodic checkpoint).\n\n"
          "settings (config keys; nested keys as objects, or dotted with --set):\n");
  core_cfg_print_help(app_agent_fields, f);
}

/* The start time (into started; "" when unknown) and the JSON array of earlier resume times
 * (cJSON_Delete it; empty when unknown, NULL when out of memory) of an existing meta.json, so
 * that a resume extends the record instead of replacing it. */
static cJSON *previous_meta(const CoreRunDir *rd, char *started, size_t n) {
  char path[4096], *text = NULL;
  size_t len;
  CoreErr ignore;
  started[0] = '\0';
  cJSON *doc = NULL, *arr = NULL;
  if (!core_rundir_path(rd, "meta.json", path, sizeof path, &ignore) &&
      !core_fs_read_all(path, &text, &len, &ignore))
    doc = cJSON_Parse(text);
  core_free(text);
  const cJSON *st = cJSON_GetObjectItemCaseSensitive(doc, "started_at");
  if (cJSON_IsString(st)) snprintf(started, n, "%s", st->valuestring);
  const cJSON *old = cJSON_GetObjectItemCaseSensitive(doc, "resumed_at");
  arr = cJSON_IsArray(old) ? cJSON_Duplicate(old, 1) : cJSON_CreateArray();
  if (arr && cJSON_IsString(old)) cJSON_AddItemToArray(arr, cJSON_CreateString(old->valuestring));
  cJSON_Delete(doc);
  return arr;
}

/* meta.json: what made this run; a resume keeps started_at and appends to resumed_at. */
static int write_meta(const CoreRunDir *rd, const AgentSettings *s, int resumed, CoreErr *err) {
  char when[64], mj[16], started[64];
  core_time_iso8601(when, sizeof when);
  snprintf(mj, sizeof mj, "%d.%d.%d", mj_version() / 100, (mj_version() / 10) % 10, mj_version() % 10);
  char *resumes = NULL;
  if (resumed) {
    cJSON *arr = previous_meta(rd, started, sizeof started);
    if (arr) {
      cJSON_AddItemToArray(arr, cJSON_CreateString(when));
      resumes = cJSON_PrintUnformatted(arr);
      cJSON_Delete(arr);
    }
    if (!resumes) return core_err_set(err, CORE_ERR_NOMEM, "meta.json: out of memory");
  } else {
    snprintf(started, sizeof started, "%s", when);
  }
  CoreMetaItem items[] = {
      CORE_META_S("cemrl_version", CEMRL_VERSION), CORE_META_S("git", CEMRL_GIT),
      CORE_META_S("env", s->env), CORE_META_S("method", agent_method_names[s->method]),
      CORE_META_I("seed", s->seed), CORE_META_I("threads", s->threads),
      CORE_META_I("mpi_processes", agent_cluster_size()),
      CORE_META_S("blas_config", nn_blas_config()), CORE_META_S("blas_kernel", nn_blas_corename()),
      CORE_META_I("blas_threads", nn_blas_threads()), CORE_META_S("mujoco_version", mj),
      started[0] ? CORE_META_S("started_at", started) : CORE_META_JSON("started_at", "null"),
      CORE_META_JSON("resumed_at", resumes ? resumes : "[]"),
  };
  int rc = core_rundir_write_meta(rd, items, (int)(sizeof items / sizeof items[0]), err);
  cJSON_free(resumes);
  return rc;
}

int cmd_train(int argc, char **argv) {
  const char *config = NULL, *out_root = "runs", *name = NULL, *resume = NULL;
  const char *sets[MAX_SETS];
  static const struct { const char *flag, *key; } shorthand[3] = {
      {"--seed", "seed"}, {"--steps", "total_steps"}, {"--threads", "threads"}};
  char set_buf[3][64];
  int n_sets = 0, quiet = 0;
  long long stop_after = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      usage(stdout);
      return 0;
    }
    int takes_value = !strcmp(a, "--seed") || !strcmp(a, "--steps") || !strcmp(a, "--threads") ||
                      !strcmp(a, "--set") || !strcmp(a, "--out") || !strcmp(a, "--name") ||
                      !strcmp(a, "--resume") || !strcmp(a, "--stop-after-evals");
    if (takes_value && i + 1 >= argc) return app_usage_error("train", "%s needs a value", a);
    if (n_sets >= MAX_SETS - 3) return app_usage_error("train", "too many --set options");
    int slot = -1;  /* --seed, --steps and --threads are shorthands for --set KEY=N */
    for (int k = 0; k < 3; k++)
      if (!strcmp(a, shorthand[k].flag)) slot = k;
    if (slot >= 0) {
      char *end;
      strtoll(argv[i + 1], &end, 10);
      if (!*argv[i + 1] || *end)
        return app_usage_error("train", "%s: '%s' is not an integer", a, argv[i + 1]);
      snprintf(set_buf[slot], sizeof set_buf[slot], "%s=%s", shorthand[slot].key, argv[++i]);
      sets[n_sets++] = set_buf[slot];
    } else if (!strcmp(a, "--set")) {
      if (!strchr(argv[i + 1], '='))
        return app_usage_error("train", "--set '%s': expected KEY=VALUE", argv[i + 1]);
      sets[n_sets++] = argv[++i];
    } else if (!strcmp(a, "--out")) {
      out_root = argv[++i];
    } else if (!strcmp(a, "--name")) {
      name = argv[++i];
    } else if (!strcmp(a, "--resume")) {
      resume = argv[++i];
    } else if (!strcmp(a, "--stop-after-evals")) {
      char *end;
      stop_after = strtoll(argv[++i], &end, 10);
      if (*end || stop_after < 1)
        return app_usage_error("train", "--stop-after-evals: '%s' is not a positive integer", argv[i]);
    } else if (!strcmp(a, "--quiet")) {
      quiet = 1;
    } else if (a[0] == '-') {
      return app_usage_error("train", "unknown option '%s'", a);
    } else if (!config) {
      config = a;
    } else {
      return app_usage_error("train", "more than one config given ('%s', '%s')", config, a);
    }
  }
  if (resume && config)
    return app_usage_error("train", "--resume takes its config from the run directory; drop '%s'",
                           config);
  CoreErr err;
  core_err_clear(&err);
  AgentSettings s;
  CoreRunDir rd;
  char cfg_path[CORE_PATH_MAX + 32];
  if (resume) {
    for (int k = 0; k < n_sets; k++)
      if (strncmp(sets[k], "total_steps=", 12) && strncmp(sets[k], "threads=", 8))
        return app_usage_error("train", "with --resume only --steps and --threads may change "
                               "(got '%s')", sets[k]);
    struct stat st;
    if (stat(resume, &st) != 0 || !S_ISDIR(st.st_mode)) {
      core_err_set(&err, CORE_ERR_NOTFOUND, "--resume %s: no such run directory", resume);
      return app_fail(&err);
    }
    if (core_rundir_open(&rd, resume, &err)) return app_fail(&err);
    snprintf(cfg_path, sizeof cfg_path, "%s/config.resolved.json", rd.path);
    char ckpt_path[CORE_PATH_MAX + 32];
    snprintf(ckpt_path, sizeof ckpt_path, "%s/%s", rd.path, TRAIN_CHECKPOINT_FILE);
    if (!core_fs_exists(cfg_path) || !core_fs_exists(ckpt_path)) {
      core_err_set(&err, CORE_ERR_NOTFOUND, "%s: not a resumable run directory (it needs "
                   "config.resolved.json and %s, written by `cemrl train`)", rd.path,
                   TRAIN_CHECKPOINT_FILE);
      return app_fail(&err);
    }
    if (core_cfg_load_file_set(app_agent_fields, &s, cfg_path, sets, n_sets, &err))
      return app_fail(&err);
  } else {
    int rc = config ? core_cfg_load_file_set(app_agent_fields, &s, config, sets, n_sets, &err)
                    : core_cfg_load_string(app_agent_fields, &s, "{}", "<defaults>", sets, n_sets,
                                           &err);
    if (rc) return app_fail(&err);
  }
  /* check the env name and method settings before making a directory */
  Env *probe = env_make(s.env, &err);
  if (!probe) return app_fail(&err);
  env_free(probe);
  if (agent_cluster_size() > 1) {
    if (!agent_method_has_population(s.method)) {
      core_err_set(&err, CORE_ERR_INVALID, "method \"%s\" evaluates no population, so it cannot "
                   "run on %d MPI processes; start it without mpirun (or with -np 1)",
                   agent_method_names[s.method], agent_cluster_size());
      return app_fail(&err);
    }
    if (agent_cluster_rank() != 0) {
      /* rank 0 decides when to stop (signals reach it too) and then releases this rank */
      signal(SIGINT, SIG_IGN);
      signal(SIGTERM, SIG_IGN);
      signal(SIGUSR1, SIG_IGN);
      return agent_serve(&s, &err) ? app_fail(&err) : 0;
    }
  }
  if (!resume) {
    char run_name[256];
    if (name) snprintf(run_name, sizeof run_name, "%s", name);
    else snprintf(run_name, sizeof run_name, "%s_%s_s%lld", agent_method_names[s.method], s.env,
                  (long long)s.seed);
    if (core_rundir_create(&rd, out_root, run_name, &err)) return app_fail(&err);
  }
  /* a resume that the checkpoint refuses must leave the run directory as it was */
  char *old_cfg = NULL, *old_meta = NULL;
  size_t old_cfg_n = 0, old_meta_n = 0;
  if (resume) {
    char meta_path[CORE_PATH_MAX + 32];
    snprintf(meta_path, sizeof meta_path, "%s/meta.json", rd.path);
    CoreErr ignore;
    if (core_fs_read_all(cfg_path, &old_cfg, &old_cfg_n, &ignore)) old_cfg = NULL;
    if (core_fs_read_all(meta_path, &old_meta, &old_meta_n, &ignore)) old_meta = NULL;
  }
  char *json = core_cfg_to_json(app_agent_fields, &s);
  int rc = json ? core_rundir_write_text(&rd, "config.resolved.json", json, &err)
                : core_err_set(&err, CORE_ERR_NOMEM, "out of memory");
  /* one BLAS thread: parallelism comes from population workers, and results stay identical */
  nn_blas_set_threads(1);
  if (!rc) rc = write_meta(&rd, &s, resume != NULL, &err);
  if (rc) {
    core_free(json);
    core_free(old_cfg);
    core_free(old_meta);
    return app_fail(&err);
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGUSR1, &sa, NULL);  /* the signal mpirun forwards to its processes */
  fprintf(stderr, "cemrl: %s %s on %s, seed %lld, %lld steps -> %s\n",
          resume ? "resuming" : "training", agent_method_names[s.method], s.env,
          (long long)s.seed, (long long)s.total_steps, rd.path);
  TrainOpts o = {.run_dir = rd.path, .resume = resume != NULL, .stop_after_evals = stop_after,
                 .stop = &stop_requested, .config_json = json, .progress_tty = quiet ? 0 : -1,
                 .progress_out = quiet ? fopen("/dev/null", "w") : NULL};
  TrainResult r;
  rc = train_run(&s, &o, &r, &err);
  if (quiet && o.progress_out) fclose(o.progress_out);
  core_free(json);
  if (resume && (rc == CORE_ERR_INVALID || rc == CORE_ERR_CORRUPT)) {
    CoreErr ignore;
    if (old_cfg) core_rundir_write_text(&rd, "config.resolved.json", old_cfg, &ignore);
    if (old_meta) core_rundir_write_text(&rd, "meta.json", old_meta, &ignore);
  }
  core_free(old_cfg);
  core_free(old_meta);
  if (rc) return app_fail(&err);
  printf("done: %lld steps, %d evaluations, last evaluation %.2f, %.1f s; results in %s\n",
         (long long)r.steps, r.evaluations, r.last_eval_mean, r.wall_seconds, rd.path);
  return 0;
}
