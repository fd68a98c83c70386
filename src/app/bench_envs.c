/* bench_envs.c — `cemrl bench envs`: MuJoCo task speed against the physical limit.
 *
 * For each task, one round is two phases on the same trajectory:
 *   env   env_step with actions from a fixed uniform table, env_reset at each episode end; the
 *         start state of every episode and the episode lengths are recorded;
 *   bare  a plain loop on the same compiled model with a second instance's mjData: each
 *         recorded episode starts with that instance's own reset (same seed, so the same start
 *         state bit for bit), then per step ctrl = the same action and mj_step x frame_skip.
 *         Nothing else.
 * Both phases therefore integrate the very same states (checked bit-for-bit at the end), and
 * the ratio is the wrapper's overhead (observation, reward, termination, divergence checks,
 * mj_rnePostConstraint, the time limit). Rounds alternate env/bare to share the machine's
 * noise; the medians are reported. With --threads N every thread runs its own instance and the
 * phases run concurrently (barriers), giving aggregate steps/s.
 */
#include <errno.h>
#include <math.h>
#include <mujoco/mujoco.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "app/app.h"
#include "app/bench.h"
#include "core/alloc.h"
#include "core/rng.h"
#include "envs/env.h"
#include "envs/mujoco_env.h"

#define BENCH_NACT 4096          /* rows of the cyclic action table */
#define BENCH_MAX_THREADS 64
#define BENCH_MAX_ROUNDS 15

static const char *const default_tasks[] = {
    "HalfCheetah-v4", "Hopper-v4", "Walker2d-v4", "Ant-v4", "Swimmer-v4",
    "InvertedPendulum-v4", "InvertedDoublePendulum-v4", "Reacher-v4", "Humanoid-v4"};


/* CPU time of the calling thread: unlike wall time it does not count the time other processes
 * on a shared machine hold the core, so the env/bare ratio stays meaningful under load. */
static double cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* One thread's instance, the instance whose mjData the bare loop steps, and the recording that
 * links the two phases. */
typedef struct {
  Env *env;
  Env *env_bare;       /* only its reset is used; stepping is mj_step on its mjData */
  const mjModel *m;
  mjData *bare;        /* borrowed from env_bare */
  int frame_skip;
  float *acts;         /* (BENCH_NACT, nu) */
  long *ep_len;        /* (cap) */
  long cap;            /* episodes the arrays hold */
  long steps;          /* env steps of the last env phase */
  long n_ep;
  double t_env, t_bare;           /* wall seconds */
  double c_env, c_bare;           /* thread CPU seconds */
  double contacts;     /* mean d->ncon per env step in the bare phase */
  int identical;       /* bare end state == env end state, bit for bit */
  float obs[512];
  uint64_t seed;       /* seed of the next episode */
  uint64_t seed0;      /* seed of the env phase's first episode */
} BenchWorker;

typedef struct {
  BenchWorker *w;
  int nthreads;
  int rounds;
  double seconds;
  pthread_barrier_t bar;
  double t_env[BENCH_MAX_ROUNDS], t_bare[BENCH_MAX_ROUNDS];   /* phase wall times */
  double c_env[BENCH_MAX_ROUNDS], c_bare[BENCH_MAX_ROUNDS];   /* CPU seconds, all threads */
  long steps[BENCH_MAX_ROUNDS];                                 /* all threads */
} BenchRun;

/* env phase: step for `seconds` (or until the recording is full). The phase ends right after a
 * step, never after a reset, so the env's final data is the end of the recorded trajectory. */
static void phase_env(BenchWorker *w, double seconds) {
  Env *e = w->env;
  int nu = e->act_dim;
  EnvStep st;
  w->n_ep = 0;
  w->steps = 0;
  double t0 = core_clock_seconds(), t_end = t0 + seconds, c0 = cpu_s();
  w->seed0 = w->seed;
  env_reset(e, w->seed++, w->obs);
  long len = 0;
  for (;;) {
    env_step(e, w->acts + (w->steps % BENCH_NACT) * nu, w->obs, &st);
    w->steps++;
    len++;
    int stop = ((w->steps & 31) == 0 && core_clock_seconds() >= t_end) || w->n_ep + 2 >= w->cap;
    if (st.terminated || st.truncated) {
      w->ep_len[w->n_ep++] = len;
      len = 0;
      if (stop) break;
      env_reset(e, w->seed++, w->obs);
    } else if (stop) {
      break;
    }
  }
  if (len > 0) w->ep_len[w->n_ep++] = len;
  w->t_env = core_clock_seconds() - t0;
  w->c_env = cpu_s() - c0;
}

/* bare phase: the same episodes and actions through mj_step alone. */
static void phase_bare(BenchWorker *w) {
  const mjModel *m = w->m;
  mjData *d = w->bare;
  int nu = m->nu;
  long s = 0, ncon = 0;
  double t0 = core_clock_seconds(), c0 = cpu_s();
  for (long ep = 0; ep < w->n_ep; ep++) {
    w->env_bare->vt->reset(w->env_bare, w->seed0 + (uint64_t)ep, w->obs);
    for (long k = 0; k < w->ep_len[ep]; k++, s++) {
      const float *a = w->acts + (s % BENCH_NACT) * nu;
      for (int i = 0; i < nu; i++) d->ctrl[i] = a[i];
      for (int f = 0; f < w->frame_skip; f++) mj_step(m, d);
      ncon += d->ncon;
    }
  }
  w->t_bare = core_clock_seconds() - t0;
  w->c_bare = cpu_s() - c0;
  w->contacts = s ? (double)ncon / (double)s : 0.0;
  const mjData *de = (const mjData *)w->env->vt->mj_data(w->env);
  w->identical = memcmp(de->qpos, d->qpos, sizeof(double) * (size_t)m->nq) == 0;
}

/* One round on one thread: the env phases of all threads overlap, then the bare phases. */
typedef struct {
  BenchRun *run;
  BenchWorker *w;
} BenchThreadArg;

static void *bench_thread(void *arg) {
  BenchThreadArg *a = arg;
  pthread_barrier_wait(&a->run->bar);
  phase_env(a->w, a->run->seconds);
  pthread_barrier_wait(&a->run->bar);
  phase_bare(a->w);
  return NULL;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof(double), cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void worker_free(BenchWorker *w) {
  env_free(w->env);
  env_free(w->env_bare);
  core_free(w->acts);
  core_free(w->ep_len);
  memset(w, 0, sizeof *w);
}

static int worker_init(BenchWorker *w, const char *task, int index, double seconds, CoreErr *err) {
  memset(w, 0, sizeof *w);
  w->env = env_make(task, err);
  if (w->env) w->env_bare = env_make(task, err);
  if (!w->env || !w->env_bare) {
    worker_free(w);
    return err ? err->code : CORE_ERR_RUNTIME;
  }
  if (!w->env->vt->mj_model || !w->env->vt->mj_model(w->env)) {
    worker_free(w);
    return core_err_set(err, CORE_ERR_INVALID, "%s is not a MuJoCo task", task);
  }
  w->m = (const mjModel *)w->env->vt->mj_model(w->env);
  w->frame_skip = (int)lround(w->env->dt / w->m->opt.timestep);
  if (w->env->obs_dim > (int)(sizeof w->obs / sizeof w->obs[0])) {
    worker_free(w);
    return core_err_set(err, CORE_ERR_INVALID, "%s: observation too large for the bench", task);
  }
  w->bare = (mjData *)w->env_bare->vt->mj_data(w->env_bare);
  int nu = w->env->act_dim;
  w->acts = core_malloc(sizeof(float) * BENCH_NACT * (size_t)nu);
  /* episodes per phase are bounded by steps; 200k env steps/s is far above any task here */
  w->cap = (long)(2e5 * seconds) + 16;
  w->ep_len = core_malloc(sizeof(long) * (size_t)w->cap);
  if (!w->acts || !w->ep_len) {
    worker_free(w);
    return core_err_set(err, CORE_ERR_NOMEM, "out of memory for the %s bench", task);
  }
  CoreRng rng;
  core_rng_stream(&rng, 2024, CORE_RNG_TEST, (uint64_t)index);
  for (long k = 0; k < BENCH_NACT; k++)
    for (int i = 0; i < nu; i++)
      w->acts[k * nu + i] = (float)core_rng_uniform_range(&rng, w->env->act_low[i],
                                                          w->env->act_high[i]);
  w->seed = 1000u * (uint64_t)(index + 1);
  return CORE_OK;
}

/* Run `rounds` rounds on nthreads threads; fill per-round aggregate times. */
static int bench_run(BenchRun *run, const char *task, CoreErr *err) {
  for (int i = 0; i < run->nthreads; i++) {
    int rc = worker_init(&run->w[i], task, i, run->seconds, err);
    if (rc != CORE_OK) {
      for (int j = 0; j < i; j++) worker_free(&run->w[j]);
      return rc;
    }
  }
  if (run->nthreads == 1) {
    for (int r = 0; r < run->rounds; r++) {
      phase_env(&run->w[0], run->seconds);
      phase_bare(&run->w[0]);
      run->t_env[r] = run->w[0].t_env;
      run->t_bare[r] = run->w[0].t_bare;
      run->c_env[r] = run->w[0].c_env;
      run->c_bare[r] = run->w[0].c_bare;
      run->steps[r] = run->w[0].steps;
    }
  } else {
    pthread_barrier_init(&run->bar, NULL, (unsigned)run->nthreads);
    pthread_t th[BENCH_MAX_THREADS];
    BenchThreadArg args[BENCH_MAX_THREADS];
    for (int r = 0; r < run->rounds; r++) {
      /* one launch per round; a phase's wall time is its slowest thread's */
      for (int i = 0; i < run->nthreads; i++) {
        args[i] = (BenchThreadArg){run, &run->w[i]};
        if (pthread_create(&th[i], NULL, bench_thread, &args[i]) != 0)
          core_abort(__FILE__, __LINE__, "pthread_create failed");
      }
      for (int i = 0; i < run->nthreads; i++) pthread_join(th[i], NULL);
      double te = 0, tb = 0, ce = 0, cb = 0;
      long steps = 0;
      for (int i = 0; i < run->nthreads; i++) {
        if (run->w[i].t_env > te) te = run->w[i].t_env;
        if (run->w[i].t_bare > tb) tb = run->w[i].t_bare;
        ce += run->w[i].c_env;
        cb += run->w[i].c_bare;
        steps += run->w[i].steps;
      }
      run->c_env[r] = ce;
      run->c_bare[r] = cb;
      run->t_env[r] = te;
      run->t_bare[r] = tb;
      run->steps[r] = steps;
    }
    pthread_barrier_destroy(&run->bar);
  }
  return CORE_OK;
}

typedef struct {
  double env_rate, bare_rate;     /* env steps per wall second (aggregate over threads) */
  double env_cpu_rate;            /* env steps per CPU second of one thread */
  double bare_cpu_rate;           /* bare env steps per CPU second of one thread */
  double overhead;                /* % extra CPU time of env over bare, same trajectory */
  double contacts;
  int identical;
} BenchResult;

static void summarize(BenchRun *run, BenchResult *res) {
  double er[BENCH_MAX_ROUNDS], br[BENCH_MAX_ROUNDS], ov[BENCH_MAX_ROUNDS];
  double cr[BENCH_MAX_ROUNDS], cb[BENCH_MAX_ROUNDS];
  for (int r = 0; r < run->rounds; r++) {
    er[r] = (double)run->steps[r] / run->t_env[r];
    br[r] = (double)run->steps[r] / run->t_bare[r];
    cr[r] = (double)run->steps[r] / run->c_env[r] * run->nthreads;
    cb[r] = (double)run->steps[r] / run->c_bare[r] * run->nthreads;
    ov[r] = 100.0 * (run->c_env[r] / run->c_bare[r] - 1.0);
  }
  res->env_rate = median(er, run->rounds);
  res->bare_rate = median(br, run->rounds);
  res->env_cpu_rate = median(cr, run->rounds) / run->nthreads;
  res->bare_cpu_rate = median(cb, run->rounds) / run->nthreads;
  res->overhead = median(ov, run->rounds);
  res->contacts = run->w[0].contacts;
  res->identical = 1;
  for (int i = 0; i < run->nthreads; i++) res->identical &= run->w[i].identical;
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: cemrl bench envs [--seconds S] [--rounds R] [--threads N] [--tasks A,B,...]\n\n"
          "Env steps/s of the MuJoCo tasks beside a bare mj_step x frame_skip loop over the same\n"
          "trajectory (the physical limit), and the wrapper overhead in %%; once on one thread\n"
          "and once with one instance per thread on N threads (aggregate).\n\n"
          "  --seconds S   length of each env phase (default 0.5; the bare phase replays it)\n"
          "  --rounds R    alternating env/bare rounds, medians reported (default 5, max %d)\n"
          "  --threads N   threads for the parallel run (default: online cores; 1 skips it)\n"
          "  --tasks LIST  comma-separated task names (default: all nine v4 tasks)\n",
          BENCH_MAX_ROUNDS);
}

int bench_envs(int argc, char **argv) {
  double seconds = 0.5;
  int rounds = 5;
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  int nthreads = ncpu > 0 ? (int)ncpu : 1;
  const char *tasks[32];
  int ntasks = 0;
  char tasklist[1024] = "";
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      usage(stdout);
      return 0;
    }
    if (i + 1 >= argc) return app_usage_error("bench envs", "option '%s' needs a value", a);
    const char *v = argv[++i];
    char *end;
    errno = 0;
    if (!strcmp(a, "--seconds")) {
      seconds = strtod(v, &end);
      if (*end || errno || !(seconds > 0 && seconds <= 600))
        return app_usage_error("bench envs", "--seconds '%s': want a number in (0, 600]", v);
    } else if (!strcmp(a, "--rounds")) {
      long r = strtol(v, &end, 10);
      if (*end || r < 1 || r > BENCH_MAX_ROUNDS)
        return app_usage_error("bench envs", "--rounds '%s': want 1..%d", v, BENCH_MAX_ROUNDS);
      rounds = (int)r;
    } else if (!strcmp(a, "--threads")) {
      long t = strtol(v, &end, 10);
      if (*end || t < 1 || t > BENCH_MAX_THREADS)
        return app_usage_error("bench envs", "--threads '%s': want 1..%d", v, BENCH_MAX_THREADS);
      nthreads = (int)t;
    } else if (!strcmp(a, "--tasks")) {
      snprintf(tasklist, sizeof tasklist, "%s", v);
    } else {
      return app_usage_error("bench envs", "unknown option '%s'", a);
    }
  }
  if (tasklist[0]) {
    for (char *save = NULL, *tok = strtok_r(tasklist, ",", &save); tok && ntasks < 32;
         tok = strtok_r(NULL, ",", &save))
      tasks[ntasks++] = tok;
  } else {
    for (size_t i = 0; i < sizeof default_tasks / sizeof default_tasks[0]; i++)
      tasks[ntasks++] = default_tasks[i];
  }

  BenchWorker *workers = core_calloc((size_t)nthreads, sizeof *workers);
  BenchRun *run = core_calloc(1, sizeof *run);
  if (!workers || !run) {
    core_free(workers);
    core_free(run);
    fprintf(stderr, "cemrl bench envs: out of memory\n");
    return 1;
  }
  printf("cemrl bench envs: MuJoCo %s, %ld online cores, %d round(s) of %.1f s per phase\n",
         mj_versionString(), ncpu, rounds, seconds);
  printf("env steps/s (each = frame_skip mj_step). 1T/NT columns: per wall second; cpu: per CPU\n"
         "second of the stepping thread (what one core gives when other load takes turns on it);\n"
         "ovh = env CPU time / bare CPU time - 1 on the same trajectory; mj_step/s = bare cpu x "
         "fs\n\n");
  printf("%-26s %2s %5s | %8s %8s %8s %8s %9s %6s | %8s %8s %6s\n", "task", "fs", "con", "env 1T",
         "bare 1T", "env cpu", "bare cpu", "mj_step/s", "ovh 1T", "env NT", "bare NT", "ovh NT");
  int rc = 0;
  for (int t = 0; t < ntasks; t++) {
    CoreErr err;
    core_err_clear(&err);
    BenchResult one, many = {0};
    memset(run, 0, sizeof *run);
    run->w = workers;
    run->rounds = rounds;
    run->seconds = seconds;
    run->nthreads = 1;
    if (bench_run(run, tasks[t], &err) != CORE_OK) {
      rc = app_fail(&err);
      continue;
    }
    summarize(run, &one);
    int fs = workers[0].frame_skip;
    worker_free(&workers[0]);
    if (nthreads > 1) {
      memset(run, 0, sizeof *run);
      run->w = workers;
      run->rounds = rounds;
      run->seconds = seconds;
      run->nthreads = nthreads;
      if (bench_run(run, tasks[t], &err) != CORE_OK) {
        rc = app_fail(&err);
        continue;
      }
      summarize(run, &many);
      for (int i = 0; i < nthreads; i++) worker_free(&workers[i]);
    }
    printf("%-26s %2d %5.2f | %8.0f %8.0f %8.0f %8.0f %9.0f %5.1f%% |", tasks[t], fs,
           one.contacts, one.env_rate, one.bare_rate, one.env_cpu_rate, one.bare_cpu_rate,
           one.bare_cpu_rate * fs, one.overhead);
    if (nthreads > 1)
      printf(" %8.0f %8.0f %5.1f%%", many.env_rate, many.bare_rate, many.overhead);
    else
      printf(" %8s %8s %6s", "-", "-", "-");
    printf("%s\n", one.identical && (nthreads == 1 || many.identical)
                       ? ""
                       : "  (bare end state differs from env: check)");
    fflush(stdout);
  }
  if (nthreads > 1)
    printf("\nNT = %d threads, one instance each; rates are aggregate.\n", nthreads);
  printf("con = contacts per env step in this random-action workload (mujoco-testspeed's\n"
         "lying-on-the-floor workload has more). Reference, shared/bench/README.md §4 (Zen 3,\n"
         "mujoco-testspeed, quiet): half_cheetah 73 605 mj_step/s = 14 721 env steps/s, hopper\n"
         "23 830 = 5 958.\n");
  core_free(workers);
  core_free(run);
  env_mujoco_cleanup();
  return rc;
}
