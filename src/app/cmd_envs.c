/* cmd_envs.c — `cemrl envs`: list, describe, roll out and check the environments. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <mujoco/mujoco.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "core/alloc.h"
#include "core/rng.h"
#include "envs/check.h"
#include "envs/env.h"
#include "envs/rollout.h"

static const char envs_help[] =
    "usage: cemrl envs [SUBCOMMAND] ...\n"
    "\n"
    "  cemrl envs                      list the environments (sizes, time limit, dt)\n"
    "  cemrl envs info NAME            sizes, bounds and the task's constants (model facts)\n"
    "  cemrl envs rollout NAME --seed S [--actions FILE.csv | --policy zero|random] [--steps N]\n"
    "                                  one episode as CSV on stdout\n"
    "  cemrl envs check NAME [--seed S]\n"
    "                                  run the environment checker; exit 1 if a check fails\n"
    "\n"
    "Each subcommand takes --help.\n";

static const char info_help[] =
    "usage: cemrl envs info NAME\n"
    "\n"
    "Print what an environment is: observation and action sizes, action bounds, time limit,\n"
    "control period, state hooks. For MuJoCo tasks also nq, nv, nu, the timestep, the frame skip\n"
    "and every body's mass; for tiny tasks their constants.\n";

static const char rollout_help[] =
    "usage: cemrl envs rollout NAME --seed S [--actions FILE.csv | --policy zero|random]\n"
    "                               [--steps N]\n"
    "\n"
    "Run one episode and print it as CSV on stdout, one row per step:\n"
    "  step,obs_0..obs_{n-1},act_0..act_{m-1},reward,terminated,truncated\n"
    "where obs_* is the observation the action was chosen in (step 0 = the reset observation),\n"
    "and reward/terminated/truncated are what that step returned.\n"
    "\n"
    "  --seed S          reset seed (required; a non-negative integer)\n"
    "  --policy P        zero (default) or random (uniform in the action bounds, seeded by S)\n"
    "  --actions FILE    take the actions from a CSV file instead of a policy: one row per step,\n"
    "                    exactly act_dim numbers per row separated by commas. Blank lines and\n"
    "                    lines starting with '#' are skipped; the first row may be a header when\n"
    "                    none of its fields is a number. Rows after the episode ends are ignored;\n"
    "                    a file that runs out before the episode ends (or before --steps) is an\n"
    "                    error naming the file and line, exit 2, and nothing is printed.\n"
    "  --steps N         stop after N steps even if the episode goes on (default: its end)\n";

static const char check_help[] =
    "usage: cemrl envs check NAME [--seed S]\n"
    "\n"
    "Check an environment the way users expect: spaces sized with finite bounds low < high,\n"
    "observations and rewards finite, reset-seed determinism, different seeds giving different\n"
    "observations, a non-degenerate reset distribution, step determinism (two instances, same\n"
    "seed and actions), truncation exactly at the time limit, no step before reset, no\n"
    "allocation while stepping, and the get/set_state round trip when the hooks exist.\n"
    "Prints one PASS/FAIL/SKIP line per check; exit 0 if none fails, 1 otherwise.\n"
    "\n"
    "  --seed S          base seed of the checker's episodes (default 0)\n";

/* ---------------------------------------------------------------- small parsers */

/* Parse a non-negative integer that fits uint64; 0 on success. */
static int parse_u64_(const char *s, uint64_t *out) {
  if (!s || !isdigit((unsigned char)s[0])) return -1;
  errno = 0;
  char *end;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end) return -1;
  *out = (uint64_t)v;
  return 0;
}

/* Parse a positive int; 0 on success. */
static int parse_pos_int_(const char *s, int *out) {
  uint64_t v;
  if (parse_u64_(s, &v) || v < 1 || v > 1000000000) return -1;
  *out = (int)v;
  return 0;
}

/* A CSV field as a finite number: whitespace around it allowed; 0 on success. */
static int parse_field_(const char *s, size_t n, double *out) {
  char buf[128];
  while (n > 0 && isspace((unsigned char)s[0])) s++, n--;
  while (n > 0 && isspace((unsigned char)s[n - 1])) n--;
  if (n == 0 || n >= sizeof buf) return -1;
  memcpy(buf, s, n);
  buf[n] = '\0';
  char *end;
  errno = 0;
  double v = strtod(buf, &end);
  if (*end || errno == ERANGE || !isfinite(v)) return -1;
  *out = v;
  return 0;
}

/* ---------------------------------------------------------------- list */

static int envs_list_(void) {
  int n = env_registry_count(), status = 0;
  printf("%-28s %4s %4s %6s %8s  %s\n", "name", "obs", "act", "limit", "dt", "summary");
  for (int i = 0; i < n; i++) {
    const EnvEntry *en = env_registry_at(i);
    CoreErr err;
    core_err_clear(&err);
    Env *e = env_make_from(en, &err);
    if (!e) {
      printf("%-28s (unavailable: %s)\n", en->name, err.msg);
      status = 1;
      continue;
    }
    printf("%-28s %4d %4d %6d %8.4g  %s\n", en->name, e->obs_dim, e->act_dim, e->max_episode_steps,
           e->dt, en->summary);
    env_free(e);
  }
  printf("\n`cemrl envs info NAME` describes one; `cemrl envs check NAME` checks it.\n");
  return status;
}

/* ---------------------------------------------------------------- info */

static void print_bounds_(const Env *e) {
  int same = 1;
  for (int i = 1; i < e->act_dim; i++)
    same &= e->act_low[i] == e->act_low[0] && e->act_high[i] == e->act_high[0];
  if (same) {
    printf("action bounds  [%g, %g] for all %d\n", e->act_low[0], e->act_high[0], e->act_dim);
    return;
  }
  for (int i = 0; i < e->act_dim; i++)
    printf("action bounds  %d: [%g, %g]\n", i, e->act_low[i], e->act_high[i]);
}

static void print_mj_model_(const Env *e, const mjModel *m) {
  static const char *integrators[] = {"Euler", "RK4", "implicit"};
  int frame_skip = (int)lround(e->dt / m->opt.timestep);
  printf("\nMuJoCo model\n");
  printf("nq nv nu       %d %d %d\n", m->nq, m->nv, m->nu);
  printf("nbody          %d (with world)\n", m->nbody);
  printf("timestep       %g\n", m->opt.timestep);
  printf("frame_skip     %d  (dt = %g)\n", frame_skip, e->dt);
  int integ = m->opt.integrator;
  printf("integrator     %s\n", integ >= 0 && integ < 3 ? integrators[integ] : "?");
  printf("bodies         name: mass (kg)\n");
  for (int i = 0; i < m->nbody; i++) {
    const char *nm = mj_id2name(m, mjOBJ_BODY, i);
    printf("  %-20s %.4f\n", nm ? nm : "(unnamed)", m->body_mass[i]);
  }
  printf("total mass     %.4f\n", mj_getTotalmass(m));
}

static int envs_info_(int argc, char **argv) {
  if (app_wants_help(argc, argv)) {
    fputs(info_help, stdout);
    return 0;
  }
  if (argc != 2) return app_usage_error("envs info", "expected one environment name");
  CoreErr err;
  core_err_clear(&err);
  Env *e = env_make(argv[1], &err);
  if (!e) return app_fail(&err);
  const EnvEntry *en = env_registry_find(argv[1]);
  printf("name           %s\n", e->name);
  printf("summary        %s\n", en ? en->summary : "");
  printf("observation    %d floats\n", e->obs_dim);
  printf("action         %d floats\n", e->act_dim);
  print_bounds_(e);
  if (e->max_episode_steps > 0)
    printf("time limit     %d steps\n", e->max_episode_steps);
  else
    printf("time limit     none\n");
  printf("dt             %g s\n", e->dt);
  if (e->vt->get_state && e->vt->set_state)
    printf("state hooks    get_state/set_state (%d values)\n", e->vt->get_state(e, NULL, 0));
  else
    printf("state hooks    none\n");
  const mjModel *m = e->vt->mj_model ? e->vt->mj_model(e) : NULL;
  if (m) print_mj_model_(e, m);
  if (e->vt->describe) {
    printf("\nconstants\n");
    fflush(stdout);
    e->vt->describe(e, stdout);
  }
  env_free(e);
  return 0;
}

/* ---------------------------------------------------------------- rollout */

/* Actions read from a CSV file: rows of act_dim numbers. */
typedef struct {
  float *rows;     /* (n, act_dim) */
  int *line;       /* (n) file line of each row, for messages */
  int n;
  int last_line;   /* number of lines in the file */
} ActionsFile;

static void actions_free_(ActionsFile *a) {
  core_free(a->rows);
  core_free(a->line);
  a->rows = NULL;
  a->line = NULL;
}

/* Read FILE as rows of act_dim numbers (format in rollout_help); 0 or CORE_ERR_* with err. */
static int actions_load_(ActionsFile *a, const char *path, int act_dim, CoreErr *err) {
  memset(a, 0, sizeof *a);
  FILE *f = fopen(path, "r");
  if (!f) return core_err_set(err, CORE_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  int cap = 0, rc = 0, lineno = 0, seen_row = 0;
  char *buf = NULL;
  size_t bufcap = 0;
  double *vals = core_malloc(sizeof(double) * (size_t)act_dim);
  if (!vals) rc = core_err_set(err, CORE_ERR_NOMEM, "%s: out of memory", path);
  ssize_t len;
  while (rc == 0 && (len = getline(&buf, &bufcap, f)) >= 0) {
    lineno++;
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r')) buf[--len] = '\0';
    const char *p = buf;
    while (isspace((unsigned char)*p)) p++;
    if (!*p || *p == '#') continue;
    /* split on commas; count fields and how many are numbers */
    int nfields = 0, nnum = 0, first_bad = -1;
    const char *fs = buf;
    for (;;) {
      const char *comma = strchr(fs, ',');
      size_t n = comma ? (size_t)(comma - fs) : strlen(fs);
      double v;
      if (parse_field_(fs, n, &v) == 0) {
        if (nfields < act_dim) vals[nfields] = v;
        nnum++;
      } else if (first_bad < 0) {
        first_bad = nfields;
      }
      nfields++;
      if (!comma) break;
      fs = comma + 1;
    }
    if (nfields != act_dim) {
      rc = core_err_set(err, CORE_ERR_PARSE,
                        "%s:%d: %d column%s, but the action has %d (one number per action "
                        "entry, comma-separated)",
                        path, lineno, nfields, nfields == 1 ? "" : "s", act_dim);
      break;
    }
    if (!seen_row && nnum == 0) { /* a header row */
      seen_row = 1;
      continue;
    }
    seen_row = 1;
    if (first_bad >= 0) {
      rc = core_err_set(err, CORE_ERR_PARSE, "%s:%d: column %d is not a finite number", path,
                        lineno, first_bad + 1);
      break;
    }
    if (a->n == cap) {
      int ncap = cap ? 2 * cap : 256;
      float *r = core_malloc(sizeof(float) * (size_t)ncap * (size_t)act_dim);
      int *l = core_malloc(sizeof(int) * (size_t)ncap);
      if (!r || !l) {
        core_free(r);
        core_free(l);
        rc = core_err_set(err, CORE_ERR_NOMEM, "%s: out of memory at line %d", path, lineno);
        break;
      }
      if (a->n) {
        memcpy(r, a->rows, sizeof(float) * (size_t)a->n * (size_t)act_dim);
        memcpy(l, a->line, sizeof(int) * (size_t)a->n);
      }
      core_free(a->rows);
      core_free(a->line);
      a->rows = r;
      a->line = l;
      cap = ncap;
    }
    for (int i = 0; i < act_dim; i++) a->rows[(size_t)a->n * act_dim + i] = (float)vals[i];
    a->line[a->n++] = lineno;
  }
  if (rc == 0 && ferror(f)) rc = core_err_set(err, CORE_ERR_IO, "%s: read error", path);
  a->last_line = lineno;
  free(buf);  /* getline's buffer comes from malloc */
  core_free(vals);
  fclose(f);
  if (rc) actions_free_(a);
  return rc;
}

/* The policy that reads actions row by row. */
static void file_policy_(void *ctx, const Env *e, const float *obs, float *act) {
  const ActionsFile *a = ctx;
  (void)obs;
  int t = e->elapsed_steps;
  CORE_ASSERT(t < a->n);  /* max_steps keeps the runner within the file */
  memcpy(act, a->rows + (size_t)t * e->act_dim, sizeof(float) * (size_t)e->act_dim);
}

/* One recorded episode: (cap, obs_dim) observations, (cap, act_dim) actions, per-step results. */
typedef struct {
  float *obs, *act;
  double *reward;
  int *term, *trunc;
  int n, cap;
} Recording;

static void record_step_(void *ctx, const Env *e, const float *obs, const float *act,
                         const EnvStep *st, const float *next_obs) {
  Recording *r = ctx;
  (void)next_obs;
  CORE_ASSERT(r->n < r->cap);
  memcpy(r->obs + (size_t)r->n * e->obs_dim, obs, sizeof(float) * (size_t)e->obs_dim);
  memcpy(r->act + (size_t)r->n * e->act_dim, act, sizeof(float) * (size_t)e->act_dim);
  r->reward[r->n] = st->reward;
  r->term[r->n] = st->terminated;
  r->trunc[r->n] = st->truncated;
  r->n++;
}

static void print_csv_(const Env *e, const Recording *r) {
  printf("step");
  for (int i = 0; i < e->obs_dim; i++) printf(",obs_%d", i);
  for (int i = 0; i < e->act_dim; i++) printf(",act_%d", i);
  printf(",reward,terminated,truncated\n");
  for (int t = 0; t < r->n; t++) {
    printf("%d", t);
    for (int i = 0; i < e->obs_dim; i++) printf(",%.9g", r->obs[(size_t)t * e->obs_dim + i]);
    for (int i = 0; i < e->act_dim; i++) printf(",%.9g", r->act[(size_t)t * e->act_dim + i]);
    printf(",%.17g,%d,%d\n", r->reward[t], r->term[t], r->trunc[t]);
  }
}

static int envs_rollout_(int argc, char **argv) {
  const char *cmd = "envs rollout";
  if (app_wants_help(argc, argv)) {
    fputs(rollout_help, stdout);
    return 0;
  }
  const char *name = NULL, *actions_path = NULL, *policy = NULL;
  uint64_t seed = 0;
  int have_seed = 0, steps = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int has_val = i + 1 < argc;
    if (!strcmp(a, "--seed")) {
      if (!has_val || parse_u64_(argv[++i], &seed))
        return app_usage_error(cmd, "--seed needs a non-negative integer");
      have_seed = 1;
    } else if (!strcmp(a, "--actions")) {
      if (!has_val) return app_usage_error(cmd, "--actions needs a file");
      actions_path = argv[++i];
    } else if (!strcmp(a, "--policy")) {
      if (!has_val) return app_usage_error(cmd, "--policy needs zero or random");
      policy = argv[++i];
      if (strcmp(policy, "zero") && strcmp(policy, "random"))
        return app_usage_error(cmd, "--policy '%s': expected zero or random", policy);
    } else if (!strcmp(a, "--steps")) {
      if (!has_val || parse_pos_int_(argv[++i], &steps))
        return app_usage_error(cmd, "--steps needs a positive integer");
    } else if (a[0] == '-') {
      return app_usage_error(cmd, "unknown option '%s'", a);
    } else if (!name) {
      name = a;
    } else {
      return app_usage_error(cmd, "unexpected argument '%s'", a);
    }
  }
  if (!name) return app_usage_error(cmd, "expected an environment name");
  if (!have_seed) return app_usage_error(cmd, "--seed S is required");
  if (actions_path && policy) return app_usage_error(cmd, "give --actions or --policy, not both");

  CoreErr err;
  core_err_clear(&err);
  Env *e = env_make(name, &err);
  if (!e) return app_fail(&err);
  int cap = e->max_episode_steps;
  if (steps > 0 && (cap == 0 || steps < cap)) cap = steps;
  if (cap == 0) {
    env_free(e);
    return app_usage_error(cmd, "%s has no time limit; pass --steps N", name);
  }

  ActionsFile af = {0};
  if (actions_path && actions_load_(&af, actions_path, e->act_dim, &err)) {
    env_free(e);
    return app_fail(&err);
  }
  CoreRng rng;
  core_rng_stream(&rng, seed, CORE_RNG_EXPLORE, 0);
  EnvRolloutOpts opts = {.policy = env_policy_zero, .max_steps = cap};
  if (actions_path) {
    opts.policy = file_policy_;
    opts.policy_ctx = &af;
    if (af.n < cap) opts.max_steps = af.n;
  } else if (policy && !strcmp(policy, "random")) {
    opts.policy = env_policy_random;
    opts.policy_ctx = &rng;
  }

  size_t od = (size_t)e->obs_dim, ad = (size_t)e->act_dim, nc = (size_t)cap;
  Recording rec = {.cap = cap};
  rec.obs = core_malloc(sizeof(float) * nc * od);
  rec.act = core_malloc(sizeof(float) * nc * ad);
  rec.reward = core_malloc(sizeof(double) * nc);
  rec.term = core_malloc(sizeof(int) * nc);
  rec.trunc = core_malloc(sizeof(int) * nc);
  float *scratch = core_malloc(sizeof(float) * env_rollout_scratch_floats(e));
  int status = 0;
  if (!rec.obs || !rec.act || !rec.reward || !rec.term || !rec.trunc || !scratch) {
    status = app_fail(&(CoreErr){CORE_ERR_NOMEM, "envs rollout: out of memory"});
  } else if (actions_path && af.n == 0) {
    core_err_set(&err, CORE_ERR_PARSE, "%s:%d: no action rows (the episode needs at least one)",
                 actions_path, af.last_line + 1);
    status = app_fail(&err);
  } else {
    opts.on_step = record_step_;
    opts.step_ctx = &rec;
    EnvEpisode ep;
    env_rollout(e, seed, &opts, scratch, &ep);
    if (actions_path && ep.capped && af.n < cap) {
      /* the file ran out while the episode (and --steps) still wanted actions */
      core_err_set(&err, CORE_ERR_PARSE,
                   "%s:%d: no action row for step %d: the file has %d row%s but the episode "
                   "had not ended (add rows, or pass --steps %d)",
                   actions_path, af.last_line + 1, af.n, af.n, af.n == 1 ? "" : "s", af.n);
      status = app_fail(&err);
    } else {
      print_csv_(e, &rec);
    }
  }
  core_free(rec.obs);
  core_free(rec.act);
  core_free(rec.reward);
  core_free(rec.term);
  core_free(rec.trunc);
  core_free(scratch);
  actions_free_(&af);
  env_free(e);
  return status;
}

/* ---------------------------------------------------------------- check */

static int envs_check_(int argc, char **argv) {
  const char *cmd = "envs check";
  if (app_wants_help(argc, argv)) {
    fputs(check_help, stdout);
    return 0;
  }
  const char *name = NULL;
  uint64_t seed = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--seed")) {
      if (i + 1 >= argc || parse_u64_(argv[++i], &seed))
        return app_usage_error(cmd, "--seed needs a non-negative integer");
    } else if (argv[i][0] == '-') {
      return app_usage_error(cmd, "unknown option '%s'", argv[i]);
    } else if (!name) {
      name = argv[i];
    } else {
      return app_usage_error(cmd, "unexpected argument '%s'", argv[i]);
    }
  }
  if (!name) return app_usage_error(cmd, "expected an environment name");
  CoreErr err;
  core_err_clear(&err);
  const EnvEntry *en = env_registry_find(name);
  if (!en) {
    env_make(name, &err);  /* fills the "unknown environment ...; did you mean" message */
    return app_fail(&err);
  }
  EnvCheckReport rep;
  int rc = env_check(en, seed, &rep, &err);
  int skipped = 0;
  for (int i = 0; i < rep.n; i++) {
    const EnvCheckItem *it = &rep.item[i];
    skipped += it->verdict == ENV_CHECK_SKIP;
    printf("%s  %-20s %s\n", env_check_verdict_names[it->verdict], it->name, it->detail);
  }
  printf("%s: %d checks, %d failed, %d skipped\n", name, rep.n, rep.n_fail, skipped);
  if (rc < 0) return app_fail(&err);
  return rep.n_fail ? 1 : 0;
}

/* ---------------------------------------------------------------- dispatch */

int cmd_envs(int argc, char **argv) {
  if (argc < 2 || !strcmp(argv[1], "list")) {
    if (argc >= 2 && app_wants_help(argc, argv)) {
      fputs(envs_help, stdout);
      return 0;
    }
    return envs_list_();
  }
  const char *sub = argv[1];
  if (!strcmp(sub, "-h") || !strcmp(sub, "--help")) {
    fputs(envs_help, stdout);
    return 0;
  }
  if (!strcmp(sub, "info")) return envs_info_(argc - 1, argv + 1);
  if (!strcmp(sub, "rollout")) return envs_rollout_(argc - 1, argv + 1);
  if (!strcmp(sub, "check")) return envs_check_(argc - 1, argv + 1);
  return app_usage_error("envs", "unknown subcommand '%s' (list, info, rollout, check)", sub);
}
