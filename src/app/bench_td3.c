/* bench_td3.c — `cemrl bench td3`: the TD3 learner (src/agents/td3.h) at HalfCheetah sizes, side
 * by side with PyTorch and the sgemm bound of shared/bench/README.md.
 *
 * Workloads (obs 17, act 6, max_action 1, nets 400-300, batch 100, Adam 1e-3, replay buffer of
 * --buffer random transitions, sampling included as in the references):
 *   TD3 iteration     td3_train: critic update every iteration, actor + both targets every 2nd
 *                     (CEM-RL nets: actor tanh, critic leaky ReLU; and the TD3 paper's ReLU nets)
 *   CEM-RL critic     td3_critic_update + td3_soft_update_critic (target every step, spec §2)
 *   CEM-RL actor      td3_actor_update + td3_soft_update_actor
 *   policy latency    td3_act on one observation
 * Every figure is the median over --repeats timed runs of --seconds each, wall clock; the CPU-time
 * rate (this thread only) is printed too because the machine is shared.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "agents/replay.h"
#include "agents/td3.h"
#include "app/app.h"
#include "app/bench.h"
#include "core/rng.h"
#include "nets/blas.h"

/* ---------------------------------------------------------------- reference figures */
/* shared/bench/README.md, measured on a 2-vCPU AMD EPYC Zen 3 (Milan) with PyTorch 1.13.1 over
 * OpenBLAS 0.3.21 (kernel "Zen"), one thread, quiet pass. */
#define REF_MACHINE "2-vCPU AMD EPYC Zen 3 (Milan), OpenBLAS kernel Zen"
#define REF_TORCH_TD3 89.3             /* TD3 paper code, 400-300, b100, it/s */
#define REF_TORCH_CRITIC 94.1          /* CEM-RL critic updates/s */
#define REF_TORCH_ACTOR 167.1          /* CEM-RL actor updates/s */
#define REF_TORCH_SELECT_US 224.6      /* TD3 select_action, 1 obs */
#define REF_TORCH_NOGRAD_US 176.7      /* actor under no_grad, from_numpy */
#define REF_BOUND_TD3 198.0            /* C sgemm bound, it/s */
#define REF_BOUND_CRITIC 252.0
#define REF_BOUND_ACTOR 454.0

#define OBS 17
#define ACT 6
#define MAX_REPEATS 31

typedef struct {
  double seconds;
  int repeats;
  long buffer;
  int batch, h1, h2;
  int blas_threads;
  int cpu;                   /* ratios from CPU-time rates (a loaded machine) */
  double torch_td3, torch_critic, torch_actor, torch_infer;   /* same-machine, 0 = not given */
  unsigned only;             /* bit set of workloads to run (ONLY_*) */
} Td3BenchOpts;

/* --only names, in the order of the table's rows */
enum { ONLY_TD3 = 1, ONLY_CRITIC = 2, ONLY_ACTOR = 4, ONLY_INFER = 8, ONLY_RELU = 16 };
static const char *const only_names[] = {"td3", "critic", "actor", "infer", "relu"};

/* Parses a comma list of only_names into a bit set; 0 on an unknown name. */
static unsigned parse_only(const char *v) {
  unsigned set = 0;
  char buf[128];
  snprintf(buf, sizeof buf, "%s", v);
  for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    unsigned bit = 0;
    for (unsigned k = 0; k < sizeof only_names / sizeof only_names[0]; k++)
      if (!strcmp(tok, only_names[k])) bit = 1u << k;
    if (!bit) return 0;
    set |= bit;
  }
  return set;
}


static double cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* ---------------------------------------------------------------- workloads */

typedef enum { W_TD3 = 0, W_CRITIC, W_ACTOR, W_INFER } Workload;

typedef struct {
  Td3 *t;
  ReplayBuffer *rb;
  CoreRng rng;
  float obs[OBS], act[ACT];
} Bench;

/* `n` calls of a workload. */
static void run_calls(Bench *b, Workload w, long n) {
  for (long i = 0; i < n; i++) {
    switch (w) {
    case W_TD3:
      /* two iterations per call keep the 1:2 actor/critic ratio of policy delay 2 */
      td3_train(b->t, b->rb, &b->rng, 2);
      break;
    case W_CRITIC:
      td3_critic_update(b->t, b->rb, &b->rng);
      td3_soft_update_critic(b->t);
      break;
    case W_ACTOR:
      td3_actor_update(b->t, b->rb, &b->rng);
      td3_soft_update_actor(b->t);
      break;
    case W_INFER:
      b->obs[i % OBS] += 1e-3f;   /* a new observation every call */
      td3_act(b->t, b->obs, b->act);
      break;
    }
  }
}

/* Median rate (units of work per second) over the timed runs; *cpu_rate from thread CPU time. */
static double measure(Bench *b, Workload w, const Td3BenchOpts *o, double *cpu_rate) {
  double per_call = w == W_TD3 ? 2.0 : 1.0;   /* iterations per call */
  /* warm-up and calibration: calls per ~0.05 s chunk */
  double t0 = core_clock_seconds();
  long warm = 0;
  while (core_clock_seconds() - t0 < 0.3) run_calls(b, w, 1), warm++;
  long chunk = (long)(warm / 6.0) + 1;
  double rates[MAX_REPEATS], crates[MAX_REPEATS];
  for (int r = 0; r < o->repeats; r++) {
    long calls = 0;
    double s0 = core_clock_seconds(), c0 = cpu_s(), s1;
    do {
      run_calls(b, w, chunk);
      calls += chunk;
      s1 = core_clock_seconds();
    } while (s1 - s0 < o->seconds);
    double c1 = cpu_s();
    rates[r] = per_call * (double)calls / (s1 - s0);
    crates[r] = per_call * (double)calls / (c1 - c0);
  }
  *cpu_rate = median(crates, o->repeats);
  return median(rates, o->repeats);
}

static Td3 *make_learner(const Td3BenchOpts *o, int relu, CoreErr *err) {
  Td3Settings s = {.batch_size = o->batch, .discount = 0.99, .tau = 0.005, .policy_noise = 0.2,
                   .noise_clip = 0.5, .policy_delay = 2, .expl_noise = 0.1,
                   .start_steps = 10000, .buffer_size = o->buffer,
                   .train_freq = TD3_TRAIN_EPISODE};
  NetSettings ns = {.hidden1 = o->h1, .hidden2 = o->h2,
                    .actor_act = relu ? AGENT_ACT_RELU : AGENT_ACT_TANH,
                    .critic_act = relu ? AGENT_ACT_RELU : AGENT_ACT_LEAKY_RELU};
  OptSettings adam = opt_settings_default(OPT_ADAM);
  float high[ACT];
  for (int j = 0; j < ACT; j++) high[j] = 1.0f;
  CoreRng init;
  core_rng_stream(&init, 0, CORE_RNG_INIT, 0);
  return td3_create(&s, &ns, &adam, &adam, OBS, ACT, high, 1, &init, err);
}

/* GEMM FLOPs of one critic update and one actor update (the op list of the README's bound). */
static void update_flops(const Td3 *t, double *critic, double *actor) {
  NnFlops a = nn_mlp_flops(t->actor, t->batch), c = nn_mlp_flops(t->critic[0], t->batch);
  *critic = a.fwd + 2.0 * c.fwd /* targets */ + 2.0 * (c.fwd + c.dw + c.dx_hidden);
  *actor = a.fwd + c.fwd + c.dx_hidden + c.dx_input + a.dw + a.dx_hidden;
}

/* ---------------------------------------------------------------- report */

static void cpu_model(char *buf, size_t n) {
  snprintf(buf, n, "unknown CPU");
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (!f) return;
  char line[512];
  while (fgets(line, sizeof line, f)) {
    if (!strncmp(line, "model name", 10)) {
      char *p = strchr(line, ':');
      if (p) {
        p++;
        while (*p == ' ') p++;
        p[strcspn(p, "\n")] = 0;
        snprintf(buf, n, "%s", p);
      }
      break;
    }
  }
  fclose(f);
}

/* One table row; ratios use r (the wall or the CPU-time rate, see --cpu). */
static void row(const char *name, const char *unit, double c, double cpu, double r, double ref,
                double bound, double here, double gflop) {
  printf("%-30s %9.1f %-5s %9.1f  %8.1f %6.2fx", name, c, unit, cpu, ref, r / ref);
  c = r;
  if (bound > 0)
    printf("  %7.1f %5.2f", bound, c / bound);
  else
    printf("  %7s %5s", "-", "-");
  if (gflop > 0)
    printf("  %6.1f", gflop * c * 1e-9);
  else
    printf("  %6s", "-");
  if (here > 0) printf("  %8.1f %6.2fx", here, c / here);
  printf("\n");
}

static int usage(FILE *f) {
  fprintf(f,
          "usage: cemrl bench td3 [--seconds S] [--repeats R] [--buffer N] [--batch B]\n"
          "                       [--hidden H1,H2] [--blas-threads T] [--cpu]\n"
          "                       [--torch-td3 IT_S] [--torch-critic U_S] [--torch-actor U_S]\n"
          "                       [--torch-infer US] [--only LIST]\n\n"
          "TD3 learner speed at HalfCheetah sizes (obs 17, act 6) vs PyTorch and the sgemm bound\n"
          "of shared/bench/README.md (measured on a Zen 3 machine).\n\n"
          "  --seconds S      length of each timed run (default 2)\n"
          "  --repeats R      timed runs per figure, median reported (default 5, max %d)\n"
          "  --buffer N       replay transitions, random data (default 1000000)\n"
          "  --batch B        minibatch rows (default 100)\n"
          "  --hidden H1,H2   hidden sizes (default 400,300)\n"
          "  --blas-threads T OpenBLAS threads (default 1)\n"
          "  --only LIST      rows to run, comma-separated from td3,critic,actor,infer,relu\n"
          "                   (default all)\n"
          "  --cpu            ratios from CPU-time rates instead of wall clock (for a loaded\n"
          "                   machine; pair with the CPU-time column of torch_td3.py)\n"
          "  --torch-*        PyTorch figures measured on THIS machine (bench/torch_td3.py):\n"
          "                   td3 it/s, cemrl critic and actor updates/s, infer us/call\n"
          "                   (select_action); printed with same-machine ratios\n",
          MAX_REPEATS);
  return f == stdout ? 0 : 2;
}

static int parse_pos(const char *flag, const char *v, double lo, double hi, double *out) {
  char *end;
  double x = strtod(v, &end);
  if (end == v || *end || !(x >= lo && x <= hi))
    return app_usage_error("bench td3", "%s '%s': want a number in [%g, %g]", flag, v, lo, hi);
  *out = x;
  return 0;
}

int bench_td3(int argc, char **argv) {
  Td3BenchOpts o = {.seconds = 2.0, .repeats = 5, .buffer = 1000000, .batch = 100, .h1 = 400,
                    .h2 = 300, .blas_threads = 1, .only = ~0u};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) return usage(stdout);
    if (!strcmp(a, "--cpu")) {
      o.cpu = 1;
      continue;
    }
    if (i + 1 >= argc) return app_usage_error("bench td3", "%s: missing value or unknown flag", a);
    const char *v = argv[++i];
    double x;
    int rc = 0;
    if (!strcmp(a, "--seconds")) {
      if (!(rc = parse_pos(a, v, 0.01, 600, &x))) o.seconds = x;
    } else if (!strcmp(a, "--repeats")) {
      if (!(rc = parse_pos(a, v, 1, MAX_REPEATS, &x))) o.repeats = (int)x;
    } else if (!strcmp(a, "--buffer")) {
      if (!(rc = parse_pos(a, v, 1, 1e8, &x))) o.buffer = (long)x;
    } else if (!strcmp(a, "--batch")) {
      if (!(rc = parse_pos(a, v, 2, 100000, &x))) o.batch = (int)x;
    } else if (!strcmp(a, "--blas-threads")) {
      if (!(rc = parse_pos(a, v, 1, 256, &x))) o.blas_threads = (int)x;
    } else if (!strcmp(a, "--hidden")) {
      if (sscanf(v, "%d,%d", &o.h1, &o.h2) != 2 || o.h1 < 1 || o.h2 < 1)
        return app_usage_error("bench td3", "--hidden '%s': want H1,H2 (e.g. 400,300)", v);
    } else if (!strcmp(a, "--only")) {
      if (!(o.only = parse_only(v)))
        return app_usage_error("bench td3", "--only '%s': want a comma list of td3, critic, "
                               "actor, infer, relu", v);
    } else if (!strcmp(a, "--torch-td3")) {
      rc = parse_pos(a, v, 1e-6, 1e9, &o.torch_td3);
    } else if (!strcmp(a, "--torch-critic")) {
      rc = parse_pos(a, v, 1e-6, 1e9, &o.torch_critic);
    } else if (!strcmp(a, "--torch-actor")) {
      rc = parse_pos(a, v, 1e-6, 1e9, &o.torch_actor);
    } else if (!strcmp(a, "--torch-infer")) {
      rc = parse_pos(a, v, 1e-6, 1e9, &o.torch_infer);
    } else {
      return app_usage_error("bench td3", "unknown flag '%s'", a);
    }
    if (rc) return rc;
  }
  nn_blas_set_threads(o.blas_threads);

  CoreErr err;
  Bench b;
  memset(&b, 0, sizeof b);
  core_rng_stream(&b.rng, 1, CORE_RNG_REPLAY, 0);
  b.rb = rb_create(o.buffer, OBS, ACT, &err);
  if (!b.rb) return app_fail(&err);
  {
    /* random transitions, as the references' buffers */
    CoreRng d;
    core_rng_stream(&d, 2, CORE_RNG_TEST, 0);
    float s[OBS], s2[OBS], a[ACT];
    for (long i = 0; i < o.buffer; i++) {
      core_rng_normal_fill(&d, s, OBS, 0.0, 1.0);
      core_rng_normal_fill(&d, s2, OBS, 0.0, 1.0);
      core_rng_uniform_fill(&d, a, ACT, -1.0, 1.0);
      rb_add(b.rb, s, a, core_rng_normal(&d), s2, core_rng_uniform(&d) < 0.001);
    }
  }
  char cpu[256];
  cpu_model(cpu, sizeof cpu);
  const char *core = nn_blas_corename();
  const char *env_core = getenv("OPENBLAS_CORETYPE");
  printf("cemrl bench td3: obs %d, act %d, nets %d-%d, batch %d, Adam 1e-3, buffer %ld random "
         "transitions\n", OBS, ACT, o.h1, o.h2, o.batch, o.buffer);
  printf("machine: %s; OpenBLAS kernel %s (OPENBLAS_CORETYPE=%s), %d BLAS thread(s)\n", cpu,
         core, env_core ? env_core : "unset", nn_blas_threads());
  const char *better = nn_blas_suggest_coretype();
  if (better)
    printf("note: OpenBLAS fell back to a generic kernel; OPENBLAS_CORETYPE=%s is faster here\n",
           better);
  printf("timing: median of %d runs x %.1f s (wall); 'cpu' = rate over this thread's CPU time; "
         "ratios from %s\n\n", o.repeats, o.seconds, o.cpu ? "CPU time (--cpu)" : "wall clock");
  printf("%-30s %15s %9s  %8s %7s  %7s %5s  %6s  %8s %7s\n", "workload", "C (wall)", "C (cpu)",
         "PyTorch*", "C/ref", "bound*", "C/bnd", "GFLOP/s", "PT here", "C/here");

  double fc, fa, cpu_rate;
  b.t = make_learner(&o, 0, &err);
  if (!b.t) {
    rb_free(b.rb);
    return app_fail(&err);
  }
  update_flops(b.t, &fc, &fa);
  if (o.only & ONLY_TD3) {
    double td3 = measure(&b, W_TD3, &o, &cpu_rate);
    row("TD3 it, tanh/leaky (CEM-RL)", "it/s", td3, cpu_rate, o.cpu ? cpu_rate : td3,
        REF_TORCH_TD3, REF_BOUND_TD3, o.torch_td3, fc + 0.5 * fa);
  }
  if (o.only & ONLY_CRITIC) {
    double crit = measure(&b, W_CRITIC, &o, &cpu_rate);
    row("CEM-RL critic update", "/s", crit, cpu_rate, o.cpu ? cpu_rate : crit, REF_TORCH_CRITIC,
        REF_BOUND_CRITIC, o.torch_critic, fc);
  }
  if (o.only & ONLY_ACTOR) {
    double act = measure(&b, W_ACTOR, &o, &cpu_rate);
    row("CEM-RL actor update", "/s", act, cpu_rate, o.cpu ? cpu_rate : act, REF_TORCH_ACTOR,
        REF_BOUND_ACTOR, o.torch_actor, fa);
  }
  if (o.only & ONLY_INFER) {
    double calls = measure(&b, W_INFER, &o, &cpu_rate);
    double us = 1e6 / calls, rus = 1e6 / (o.cpu ? cpu_rate : calls);
    printf("%-30s %9.2f %-5s %9.2f  %8.1f %6.1fx  %7s %5s  %6s", "actor inference, 1 obs", us,
           "us", 1e6 / cpu_rate, REF_TORCH_SELECT_US, REF_TORCH_SELECT_US / rus, "-", "-", "-");
    if (o.torch_infer > 0) printf("  %8.1f %6.1fx", o.torch_infer, o.torch_infer / rus);
    printf("\n%-30s %9s %-5s %9s  %8.1f %6.1fx   (PyTorch actor under no_grad)\n", "", "", "", "",
           REF_TORCH_NOGRAD_US, REF_TORCH_NOGRAD_US / rus);
  }
  td3_free(b.t);

  if (o.only & ONLY_RELU) {
    b.t = make_learner(&o, 1, &err);
    if (!b.t) {
      rb_free(b.rb);
      return app_fail(&err);
    }
    double td3r = measure(&b, W_TD3, &o, &cpu_rate);
    row("TD3 it, ReLU (TD3 paper nets)", "it/s", td3r, cpu_rate, o.cpu ? cpu_rate : td3r,
        REF_TORCH_TD3, REF_BOUND_TD3, o.torch_td3, fc + 0.5 * fa);
    td3_free(b.t);
  }
  rb_free(b.rb);

  printf("\n* PyTorch 1.13.1 (1 thread) and the C sgemm bound from shared/bench/README.md, "
         "measured on a\n  %s, not on this machine. Ratios > 1: C is faster\n"
         "  (latency: PyTorch us / C us). 'PT here' = --torch-* figures measured on this "
         "machine.\n", REF_MACHINE);
  printf("  GFLOP/s counts the sgemm FLOPs of the README's op list (critic update %.1f MFLOP, "
         "actor %.1f).\n", fc * 1e-6, fa * 1e-6);
  return 0;
}
