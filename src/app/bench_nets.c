/* bench_nets.c — `cemrl bench nets`: the networks on the TD3 / CEM-RL shapes, side by side with
 * the references of shared/bench/README.md (PyTorch and the sgemm bound, measured on a Zen 3).
 *
 * Parts:
 *   1. one network forward and forward+backward at batch 100 (critic head 23-400-300-1 leaky
 *      ReLU, actor 17-400-300-6 tanh), GFLOP/s over the sgemm FLOPs counted;
 *   2. a CEM-RL critic update and actor update built from nn_mlp + the Adam of src/optim, with
 *      the same op list as the reference's bound (replay sampling excluded: data are fixed);
 *   3. the single-observation actor forward (policy latency);
 *   4. OpenBLAS sgemm alone on every TD3 shape, checked against a naive double reference.
 * Every time is the median over --repeats repeats, each running the call for --min-time s.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cblas.h>

#include "app/app.h"
#include "app/bench.h"
#include "core/alloc.h"
#include "core/rng.h"
#include "nets/blas.h"
#include "nets/loss.h"
#include "nets/mlp.h"
#include "optim/opt.h"

/* ---------------------------------------------------------------- reference figures */
/* shared/bench/README.md (2-vCPU AMD EPYC Zen 3, OpenBLAS 0.3.21 "Zen", torch 1.13, pass 2). */
#define REF_MACHINE "2 vCPU AMD EPYC Zen 3 (Milan), AVX2 only, OpenBLAS kernel Zen"
static const double ref_bound_critic[2] = {252.0, 321.0};   /* sgemm bound, updates/s, 1|2 thr */
static const double ref_bound_actor[2] = {454.0, 598.0};
/* PyTorch updates/s at its best setting, 1 thread (2 threads oversubscribe and run at 38.1 and
 * 52.7 /s, README §3), so every row is compared with these */
#define REF_TORCH_CRITIC 94.1
#define REF_TORCH_ACTOR 167.1
#define REF_TORCH_POLICY_NOGRAD_US 176.7                   /* policy(state) under no_grad */
#define REF_TORCH_POLICY_GRAD_US 276.3                     /* CEM-RL policy(state), autograd */
#define REF_SGEMV_POLICY_US_LO 9.5                          /* sgemv bound, batch-1 forward */
#define REF_SGEMV_POLICY_US_HI 14.4

/* ---------------------------------------------------------------- options and timing */

typedef struct {
  int threads[4], n_threads;
  int reps;
  double min_time;
  int cpu_clock;          /* time by the calling thread's CPU clock (1 thread only) */
  int sgemm_only, no_sgemm;
  const char *kernels;
} BenchOpts;

/* The clock of the timings: wall time, or the calling thread's CPU time, which a busy shared
 * machine does not inflate (valid when OpenBLAS runs in the calling thread, i.e. 1 thread). */
static clockid_t bench_clock = CLOCK_MONOTONIC;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(bench_clock, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Median seconds per call of fn(ctx): one warm-up call, the first repeat sets the call count
 * (enough for min_time), the others reuse it. */
static double time_call(void (*fn)(void *), void *ctx, const BenchOpts *o) {
  double t[64];
  int reps = o->reps < 64 ? o->reps : 64;
  fn(ctx);
  long calls = 0;
  for (int r = 0; r < reps; r++) {
    double t0 = now_s(), el;
    long k = 0;
    if (r == 0) {
      do {
        fn(ctx);
        k++;
        el = now_s() - t0;
      } while (el < o->min_time);
      calls = k;
    } else {
      for (k = 0; k < calls; k++) fn(ctx);
      el = now_s() - t0;
    }
    t[r] = el / (double)calls;
  }
  qsort(t, (size_t)reps, sizeof t[0], cmp_double);
  return reps % 2 ? t[reps / 2] : 0.5 * (t[reps / 2 - 1] + t[reps / 2]);
}

static void cpu_model(char *buf, size_t n) {
  snprintf(buf, n, "unknown CPU");
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (!f) return;
  char line[512];
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "model name", 10) != 0) continue;
    char *c = strchr(line, ':');
    if (!c) break;
    c++;
    while (*c == ' ' || *c == '\t') c++;
    c[strcspn(c, "\n")] = '\0';
    snprintf(buf, n, "%s", c);
    break;
  }
  fclose(f);
}

static double loadavg(void) {
  double l = -1.0;
  FILE *f = fopen("/proc/loadavg", "r");
  if (f) {
    if (fscanf(f, "%lf", &l) != 1) l = -1.0;
    fclose(f);
  }
  return l;
}

/* ---------------------------------------------------------------- networks */

enum { S_DIM = 17, A_DIM = 6, Q_IN = S_DIM + A_DIM, BATCH = 100 };

static const NnLayerDesc actor_desc[] = {
    {NN_LINEAR, 400, 0, NULL}, {NN_TANH, 0, 0, NULL},   {NN_LINEAR, 300, 0, NULL},
    {NN_TANH, 0, 0, NULL},     {NN_LINEAR, A_DIM, 0, NULL}, {NN_TANH, 0, 0, NULL},
    {NN_SCALE, 0, 1.0f, NULL}};
static const NnLayerDesc critic_desc[] = {{NN_LINEAR, 400, 0, NULL},
                                          {NN_LEAKY_RELU, 0, NN_LEAKY_RELU_SLOPE, NULL},
                                          {NN_LINEAR, 300, 0, NULL},
                                          {NN_LEAKY_RELU, 0, NN_LEAKY_RELU_SLOPE, NULL},
                                          {NN_LINEAR, 1, 0, NULL}};

/* Everything one CEM-RL learner holds: actor, twin critic (one flat vector for both heads, as
 * one Adam steps them), targets, optimizers, and a fixed minibatch. */
typedef struct {
  NnMlp *actor, *actor_t, *q[2], *q_t[2];
  size_t na, nq;                    /* actor params; one critic head's params */
  float *qp, *qg, *qtp;             /* (2 nq) twin critic params, grads, target params */
  Opt *opt_actor, *opt_critic;
  CoreRng rng;
  float *s, *a, *r, *d, *s2;        /* minibatch: (B, S), (B, A), (B), (B), (B, S) */
  float *sa, *a2, *y, *dq, *dsa, *da;
  float *x_single;                  /* one observation */
  /* single-network timing */
  NnMlp *net;
  const float *x;
  const float *dy;
  float *dx;
} Learner;

static void soft_update(float *target, const float *src, size_t n, float tau) {
  for (size_t i = 0; i < n; i++) target[i] += tau * (src[i] - target[i]);
}

/* (B, S) and (B, A) into (B, S + A): the critic input. */
static void concat_sa(float *sa, const float *s, const float *a) {
  for (int b = 0; b < BATCH; b++) {
    memcpy(sa + b * Q_IN, s + b * S_DIM, S_DIM * sizeof(float));
    memcpy(sa + b * Q_IN + S_DIM, a + b * A_DIM, A_DIM * sizeof(float));
  }
}

/* One CEM-RL critic update (es_grad.py --use_td3): target action with clipped noise, twin
 * target Q, twin MSE, one Adam over both heads, soft target update every call. */
static void critic_update(void *ctx) {
  Learner *L = ctx;
  const float *a2 = nn_mlp_forward(L->actor_t, L->s2, BATCH);
  for (int i = 0; i < BATCH * A_DIM; i++) {
    double n = 0.2 * core_rng_normal(&L->rng);
    n = n < -0.5 ? -0.5 : n > 0.5 ? 0.5 : n;
    float v = a2[i] + (float)n;
    L->a2[i] = v < -1.0f ? -1.0f : v > 1.0f ? 1.0f : v;
  }
  concat_sa(L->sa, L->s2, L->a2);
  const float *q1 = nn_mlp_forward(L->q_t[0], L->sa, BATCH);
  const float *q2 = nn_mlp_forward(L->q_t[1], L->sa, BATCH);
  for (int b = 0; b < BATCH; b++)
    L->y[b] = L->r[b] + 0.99f * (1.0f - L->d[b]) * (q1[b] < q2[b] ? q1[b] : q2[b]);
  concat_sa(L->sa, L->s, L->a);
  for (int h = 0; h < 2; h++) {
    const float *q = nn_mlp_forward(L->q[h], L->sa, BATCH);
    nn_loss_mse(q, L->y, BATCH, 1, L->dq);
    nn_mlp_backward(L->q[h], L->dq, NULL, NN_BACKWARD_OVERWRITE);
  }
  opt_step(L->opt_critic, L->qp, L->qg);
  soft_update(L->qtp, L->qp, 2 * L->nq, 0.005f);
}

/* One CEM-RL actor update: loss −mean Q1(s, π(s)); dQ/da through the critic (input gradient
 * only), actor backward, Adam, soft update of the actor target. */
static void actor_update(void *ctx) {
  Learner *L = ctx;
  const float *pa = nn_mlp_forward(L->actor, L->s, BATCH);
  concat_sa(L->sa, L->s, pa);
  nn_mlp_forward(L->q[0], L->sa, BATCH);
  for (int b = 0; b < BATCH; b++) L->dq[b] = -1.0f / BATCH;
  nn_mlp_backward(L->q[0], L->dq, L->dsa, NN_BACKWARD_INPUT_ONLY);
  for (int b = 0; b < BATCH; b++)
    memcpy(L->da + b * A_DIM, L->dsa + b * Q_IN + S_DIM, A_DIM * sizeof(float));
  nn_mlp_backward(L->actor, L->da, NULL, NN_BACKWARD_OVERWRITE);
  opt_step(L->opt_actor, L->actor->params, L->actor->grads);
  soft_update(L->actor_t->params, L->actor->params, L->na, 0.005f);
}

static void policy_forward(void *ctx) {
  Learner *L = ctx;
  nn_mlp_forward(L->actor, L->x_single, 1);
}

static void net_forward(void *ctx) {
  Learner *L = ctx;
  nn_mlp_forward(L->net, L->x, BATCH);
}

static void net_forward_backward(void *ctx) {
  Learner *L = ctx;
  nn_mlp_forward(L->net, L->x, BATCH);
  nn_mlp_backward(L->net, L->dy, L->dx, 0);
}

static void learner_free(Learner *L) {
  nn_mlp_free(L->actor);
  nn_mlp_free(L->actor_t);
  for (int h = 0; h < 2; h++) nn_mlp_free(L->q[h]), nn_mlp_free(L->q_t[h]);
  core_free(L->qp);
  core_free(L->qg);
  core_free(L->qtp);
  opt_free(L->opt_actor);
  opt_free(L->opt_critic);
  float *bufs[] = {L->s, L->a, L->r, L->d, L->s2, L->sa, L->a2, L->y, L->dq, L->dsa, L->da,
                   L->x_single};
  for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) core_free(bufs[i]);
}

static int learner_init(Learner *L, CoreErr *err) {
  memset(L, 0, sizeof *L);
  core_rng_stream(&L->rng, 1, CORE_RNG_TEST, 0);
  L->actor = nn_mlp_create(S_DIM, actor_desc, 7, BATCH, err);
  L->actor_t = nn_mlp_create(S_DIM, actor_desc, 7, BATCH, err);
  for (int h = 0; h < 2; h++) {
    L->q[h] = nn_mlp_create(Q_IN, critic_desc, 5, BATCH, err);
    L->q_t[h] = nn_mlp_create(Q_IN, critic_desc, 5, BATCH, err);
  }
  if (!L->actor || !L->actor_t || !L->q[0] || !L->q[1] || !L->q_t[0] || !L->q_t[1]) return -1;
  L->na = L->actor->n_params;
  L->nq = L->q[0]->n_params;
  L->qp = core_malloc(2 * L->nq * sizeof(float));
  L->qg = core_calloc(2 * L->nq, sizeof(float));
  L->qtp = core_malloc(2 * L->nq * sizeof(float));
  size_t sizes[] = {BATCH * S_DIM, BATCH * A_DIM, BATCH,          BATCH,         BATCH * S_DIM,
                    BATCH * Q_IN,  BATCH * A_DIM, BATCH,          BATCH,         BATCH * Q_IN,
                    BATCH * A_DIM, S_DIM};
  float **bufs[] = {&L->s,  &L->a,  &L->r, &L->d,   &L->s2,  &L->sa,
                    &L->a2, &L->y,  &L->dq, &L->dsa, &L->da, &L->x_single};
  for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) {
    *bufs[i] = core_malloc(sizes[i] * sizeof(float));
    if (!*bufs[i]) return core_err_set(err, CORE_ERR_NOMEM, "bench: out of memory");
    core_rng_uniform_fill(&L->rng, *bufs[i], (long)sizes[i], -1.0, 1.0);
  }
  if (!L->qp || !L->qg || !L->qtp) return core_err_set(err, CORE_ERR_NOMEM, "bench: out of memory");
  for (int b = 0; b < BATCH; b++) L->d[b] = 0.0f;
  /* the twin critic lives in one vector: head h is the slice [h nq, (h + 1) nq) */
  for (int h = 0; h < 2; h++) {
    nn_mlp_bind_params(L->q[h], L->qp + h * L->nq);
    nn_mlp_bind_grads(L->q[h], L->qg + h * L->nq);
    nn_mlp_bind_params(L->q_t[h], L->qtp + h * L->nq);
    CoreRng r;
    core_rng_stream(&r, 1, CORE_RNG_INIT, (uint64_t)h + 1);
    nn_mlp_init(L->q[h], NN_INIT_TORCH, 0, &r);
  }
  memcpy(L->qtp, L->qp, 2 * L->nq * sizeof(float));
  CoreRng r;
  core_rng_stream(&r, 1, CORE_RNG_INIT, 0);
  nn_mlp_init(L->actor, NN_INIT_TORCH, 0, &r);
  memcpy(L->actor_t->params, L->actor->params, L->na * sizeof(float));
  OptSettings os = opt_settings_default(OPT_ADAM);
  L->opt_actor = opt_create(&os, L->na, err);
  L->opt_critic = opt_create(&os, 2 * L->nq, err);
  if (!L->opt_actor || !L->opt_critic) return -1;
  return 0;
}

/* ---------------------------------------------------------------- sgemm on the TD3 shapes */

typedef struct {
  const char *op;
  int ta, tb, M, N, K;
  double ref_us;        /* Zen 3, 1 thread (README §2; 0 when the README gives no single figure) */
} Shape;

static const Shape shapes[] = {
    {"fwd hidden 400->300", 0, 1, 100, 300, 400, 372.8},
    {"dX hidden", 0, 0, 100, 400, 300, 367.6},
    {"dW hidden", 1, 0, 300, 400, 100, 387.0},
    {"fwd input critic 23->400", 0, 1, 100, 400, 23, 49.1},
    {"fwd input actor 17->400", 0, 1, 100, 400, 17, 42.1},
    {"dW input critic", 1, 0, 400, 23, 100, 53.4},
    {"fwd Q out 300->1", 0, 1, 100, 1, 300, 10.6},
    {"dX Q out", 0, 0, 100, 300, 1, 15.1},
    {"fwd actor out 300->6", 0, 1, 100, 6, 300, 0},
    {"dW Q out", 1, 0, 1, 300, 100, 0},
    {"dX input critic", 0, 0, 100, 23, 400, 0},
    {"dW input actor", 1, 0, 400, 17, 100, 0},
    {"dW actor out", 1, 0, 6, 300, 100, 0},
    {"dX actor out", 0, 0, 100, 300, 6, 0},
};

typedef struct {
  const Shape *s;
  float *A, *B, *C;
} GemmCtx;

/* Leading dimensions of row-major op(A) (M x K) and op(B) (K x N) as stored. */
static void gemm_call(void *ctx) {
  GemmCtx *g = ctx;
  const Shape *s = g->s;
  int lda = s->ta ? s->M : s->K, ldb = s->tb ? s->K : s->N;
  cblas_sgemm(CblasRowMajor, s->ta ? CblasTrans : CblasNoTrans, s->tb ? CblasTrans : CblasNoTrans,
              s->M, s->N, s->K, 1.0f, g->A, lda, g->B, ldb, 0.0f, g->C, s->N);
}

/* max over C of |C − C_ref| / (Σ_k |a_ik b_kj|), C_ref in double. */
static double gemm_error(const GemmCtx *g) {
  const Shape *s = g->s;
  double worst = 0.0;
  for (int i = 0; i < s->M; i++)
    for (int j = 0; j < s->N; j++) {
      double acc = 0.0, mag = 0.0;
      for (int k = 0; k < s->K; k++) {
        double a = s->ta ? g->A[(size_t)k * s->M + i] : g->A[(size_t)i * s->K + k];
        double b = s->tb ? g->B[(size_t)j * s->K + k] : g->B[(size_t)k * s->N + j];
        acc += a * b;
        mag += fabs(a * b);
      }
      double e = fabs(g->C[(size_t)i * s->N + j] - acc) / (mag > 0 ? mag : 1.0);
      if (e > worst) worst = e;
    }
  return worst;
}

static int bench_sgemm(const BenchOpts *o, int threads) {
  printf("\n## sgemm alone on the TD3 shapes (row-major; C = op(A)·op(B); %d thread%s; kernel "
         "%s)\n\n", threads, threads > 1 ? "s" : "", nn_blas_corename());
  printf("| op | tA,tB | M | N | K | us/call | GFLOP/s | ref Zen3 us (1 thr) "
         "| max err / ((K+1)·u·Σ|ab|) |\n");
  printf("|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
  CoreRng rng;
  core_rng_stream(&rng, 2, CORE_RNG_TEST, 0);
  int bad = 0;
  for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
    const Shape *s = &shapes[i];
    GemmCtx g = {s, core_malloc((size_t)s->M * s->K * sizeof(float)),
                 core_malloc((size_t)s->K * s->N * sizeof(float)),
                 core_malloc((size_t)s->M * s->N * sizeof(float))};
    if (!g.A || !g.B || !g.C) {
      core_free(g.A), core_free(g.B), core_free(g.C);
      fprintf(stderr, "cemrl bench nets: out of memory\n");
      return 1;
    }
    core_rng_uniform_fill(&rng, g.A, (long)s->M * s->K, -1, 1);
    core_rng_uniform_fill(&rng, g.B, (long)s->K * s->N, -1, 1);
    double t = time_call(gemm_call, &g, o);
    /* a K-term float dot product is within (K + 1)·u·Σ|a·b| of the exact value (u = 2⁻²⁴:
     * K − 1 additions, K products, one spare), whatever the kernel's summation order */
    double e = gemm_error(&g) / ((s->K + 1) * 0x1p-24);
    if (e > 1.0) bad = 1;
    char ref[32] = "-";
    if (s->ref_us > 0) snprintf(ref, sizeof ref, "%.1f", s->ref_us);
    printf("| %s | %c,%c | %d | %d | %d | %.2f | %.1f | %s | %.3f%s |\n", s->op, s->ta ? 'T' : 'N',
           s->tb ? 'T' : 'N', s->M, s->N, s->K, t * 1e6, 2.0 * s->M * s->N * s->K / t * 1e-9, ref,
           e, e > 1.0 ? " WRONG" : "");
    core_free(g.A), core_free(g.B), core_free(g.C);
  }
  if (bad)
    printf("\nsgemm results disagree with the double reference beyond (K+1)·u: kernel broken?\n");
  return bad;
}

/* ---------------------------------------------------------------- the network parts */

static void print_ratio(double ours, double ref) {
  if (ref > 0)
    printf(" %.2fx |", ours / ref);
  else
    printf(" - |");
}

static int bench_networks(const BenchOpts *o, int threads) {
  CoreErr err;
  core_err_clear(&err);
  Learner L;
  if (learner_init(&L, &err) < 0) {
    learner_free(&L);
    return app_fail(&err);
  }
  int ti = threads >= 2 ? 1 : 0;
  char da[160], dc[160];
  nn_mlp_describe(L.actor, da, sizeof da);
  nn_mlp_describe(L.q[0], dc, sizeof dc);

  /* 1. single networks */
  printf("\n## one network at batch %d (%d thread%s): forward, and forward + full backward "
         "(param grads + dX)\n\n", BATCH, threads, threads > 1 ? "s" : "");
  printf("| net | fwd us | fwd+bwd us | fwd+bwd /s | sgemm GFLOP counted | GFLOP/s |\n");
  printf("|---|---:|---:|---:|---:|---:|\n");
  float *dy = core_malloc(BATCH * 6 * sizeof(float));
  float *dx = core_malloc(BATCH * Q_IN * sizeof(float));
  core_rng_uniform_fill(&L.rng, dy, BATCH * 6, -1, 1);
  struct {
    NnMlp *net;
    const char *desc;
    const float *x;
  } nets[] = {{L.q[0], dc, L.sa}, {L.actor, da, L.s}};
  concat_sa(L.sa, L.s, L.a);
  for (int i = 0; i < 2; i++) {
    L.net = nets[i].net;
    L.x = nets[i].x;
    L.dy = dy;
    L.dx = dx;
    double tf = time_call(net_forward, &L, o);
    double tb = time_call(net_forward_backward, &L, o);
    NnFlops f = nn_mlp_flops(L.net, BATCH);
    double fl = f.fwd + f.dw + f.dx_hidden + f.dx_input;
    printf("| %s | %.1f | %.1f | %.0f | %.4f | %.1f |\n", nets[i].desc, tf * 1e6, tb * 1e6,
           1.0 / tb, fl * 1e-9, fl / tb * 1e-9);
  }
  nn_mlp_zero_grad(L.actor);
  memset(L.qg, 0, 2 * L.nq * sizeof(float));
  core_free(dy);
  core_free(dx);

  /* 2. CEM-RL updates */
  NnFlops fa = nn_mlp_flops(L.actor, BATCH), fq = nn_mlp_flops(L.q[0], BATCH);
  double crit_fl = fa.fwd + 4 * fq.fwd + 2 * (fq.dw + fq.dx_hidden);
  double act_fl = fa.fwd + fq.fwd + (fq.dx_hidden + fq.dx_input) + fa.dw + fa.dx_hidden;
  double tc = time_call(critic_update, &L, o);
  double tact = time_call(actor_update, &L, o);
  printf("\n## CEM-RL updates, batch %d, %d thread%s (nets + Adam of src/optim + soft target "
         "update; replay sampling not included)\n\n", BATCH, threads, threads > 1 ? "s" : "");
  printf("| update | sgemm MFLOP counted | us | updates/s | GFLOP/s | ref PyTorch /s (best, 1 thr) "
         "| vs PyTorch | ref sgemm bound /s (%d thr) | vs bound |\n", threads >= 2 ? 2 : 1);
  printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  printf("| critic (target actor fwd, 2 target Q fwd, 2 Q fwd + param bwd) | %.1f | %.0f | %.1f | "
         "%.1f | %.1f |", crit_fl * 1e-6, tc * 1e6, 1.0 / tc, crit_fl / tc * 1e-9,
         REF_TORCH_CRITIC);
  print_ratio(1.0 / tc, REF_TORCH_CRITIC);
  printf(" %.0f |", ref_bound_critic[ti]);
  print_ratio(1.0 / tc, ref_bound_critic[ti]);
  printf("\n| actor (actor fwd, Q1 fwd, Q1 input-only bwd, actor param bwd) | %.1f | %.0f | %.1f | "
         "%.1f | %.1f |", act_fl * 1e-6, tact * 1e6, 1.0 / tact, act_fl / tact * 1e-9,
         REF_TORCH_ACTOR);
  print_ratio(1.0 / tact, REF_TORCH_ACTOR);
  printf(" %.0f |", ref_bound_actor[ti]);
  print_ratio(1.0 / tact, ref_bound_actor[ti]);
  printf("\n");

  /* 3. policy latency */
  double tp = time_call(policy_forward, &L, o);
  printf("\n## single-observation actor forward (%s; sgemv path), %d thread%s\n\n", da, threads,
         threads > 1 ? "s" : "");
  printf("| us/call | ref PyTorch no_grad .. autograd us | speed-up | ref sgemv bound us |\n");
  printf("|---:|---:|---:|---:|\n");
  printf("| %.2f | %.1f .. %.1f | %.0fx .. %.0fx | %.1f .. %.1f |\n", tp * 1e6,
         REF_TORCH_POLICY_NOGRAD_US, REF_TORCH_POLICY_GRAD_US,
         REF_TORCH_POLICY_NOGRAD_US / (tp * 1e6), REF_TORCH_POLICY_GRAD_US / (tp * 1e6),
         REF_SGEMV_POLICY_US_LO, REF_SGEMV_POLICY_US_HI);
  learner_free(&L);
  return 0;
}

/* ---------------------------------------------------------------- command */

static void usage(FILE *f) {
  fprintf(f,
          "usage: cemrl bench nets [--threads LIST] [--repeats N] [--min-time S]\n"
          "                        [--clock wall|cpu] [--sgemm-only | --no-sgemm]\n"
          "                        [--kernels LIST]\n\n"
          "Forward/backward of the CEM-RL networks (critic 23-400-300-1 leaky ReLU, actor\n"
          "17-400-300-6 tanh) at batch 100, the CEM-RL critic and actor updates, the batch-1\n"
          "policy forward and OpenBLAS sgemm on every TD3 shape, beside the reference figures of\n"
          "shared/bench/README.md (PyTorch and the sgemm bound on a Zen 3).\n\n"
          "  --threads LIST   OpenBLAS threads, e.g. 1 or 1,2 (default 1)\n"
          "  --repeats N      timed repeats, the median is shown (default 7)\n"
          "  --min-time S     seconds per repeat (default 0.1)\n"
          "  --clock C        wall (default) or cpu: this thread's CPU time, for a busy machine\n"
          "                   (1 thread only)\n"
          "  --sgemm-only     only the sgemm table;  --no-sgemm: skip it\n"
          "  --kernels LIST   rerun for each OPENBLAS_CORETYPE in LIST (\"default\" = unset),\n"
          "                   e.g. default,Haswell,SkylakeX\n");
}

/* Rerun this command once per kernel with OPENBLAS_CORETYPE set (the kernel is chosen when
 * OpenBLAS loads, so it cannot be switched in-process). */
static int run_kernels(int argc, char **argv, const char *list) {
  char **args = calloc((size_t)argc + 3, sizeof *args);
  if (!args) return 1;
  int n = 0;
  args[n++] = "cemrl";
  args[n++] = "bench";
  for (int i = 0; i < argc; i++) {
    if (!strcmp(argv[i], "--kernels")) {
      i++;
      continue;
    }
    args[n++] = argv[i];
  }
  args[n] = NULL;
  char buf[256];
  snprintf(buf, sizeof buf, "%s", list);
  int status_all = 0;
  for (char *save = NULL, *k = strtok_r(buf, ",", &save); k; k = strtok_r(NULL, ",", &save)) {
    printf("\n==================== OPENBLAS_CORETYPE=%s\n", strcmp(k, "default") ? k : "(unset)");
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
      status_all = 1;
      break;
    }
    if (pid == 0) {
      if (strcmp(k, "default"))
        setenv("OPENBLAS_CORETYPE", k, 1);
      else
        unsetenv("OPENBLAS_CORETYPE");
      execv("/proc/self/exe", args);
      perror("cemrl bench nets: exec");
      _exit(127);
    }
    int st = 0;
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) status_all = 1;
  }
  free(args);
  return status_all;
}

int bench_nets(int argc, char **argv) {
  BenchOpts o = {{1}, 1, 7, 0.1, 0, 0, 0, NULL};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      usage(stdout);
      return 0;
    } else if (!strcmp(a, "--sgemm-only")) {
      o.sgemm_only = 1;
    } else if (!strcmp(a, "--no-sgemm")) {
      o.no_sgemm = 1;
    } else if (i + 1 < argc && !strcmp(a, "--clock")) {
      const char *c = argv[++i];
      if (strcmp(c, "wall") && strcmp(c, "cpu"))
        return app_usage_error("bench nets", "--clock: '%s' must be wall or cpu", c);
      o.cpu_clock = !strcmp(c, "cpu");
    } else if (i + 1 < argc && !strcmp(a, "--kernels")) {
      o.kernels = argv[++i];
    } else if (i + 1 < argc && !strcmp(a, "--threads")) {
      o.n_threads = 0;
      char buf[64];
      snprintf(buf, sizeof buf, "%s", argv[++i]);
      for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char *end;
        long v = strtol(t, &end, 10);
        if (*end || v < 1 || v > 64 || o.n_threads == 4)
          return app_usage_error("bench nets", "--threads: '%s' is not a list of 1..64 (at most 4)",
                                 argv[i]);
        o.threads[o.n_threads++] = (int)v;
      }
    } else if (i + 1 < argc && !strcmp(a, "--repeats")) {
      char *end;
      long v = strtol(argv[++i], &end, 10);
      if (*end || v < 1 || v > 63)
        return app_usage_error("bench nets", "--repeats: '%s' must be an integer in 1..63",
                               argv[i]);
      o.reps = (int)v;
    } else if (i + 1 < argc && !strcmp(a, "--min-time")) {
      char *end;
      double v = strtod(argv[++i], &end);
      if (*end || !(v > 0 && v <= 10))
        return app_usage_error("bench nets", "--min-time: '%s' must be seconds in (0, 10]",
                               argv[i]);
      o.min_time = v;
    } else {
      return app_usage_error("bench nets", "unknown or incomplete option '%s'", a);
    }
  }
  if (o.sgemm_only && o.no_sgemm)
    return app_usage_error("bench nets", "--sgemm-only and --no-sgemm exclude each other");
  if (o.kernels) return run_kernels(argc, argv, o.kernels);
  for (int t = 0; t < o.n_threads; t++)
    if (o.cpu_clock && o.threads[t] > 1)
      return app_usage_error("bench nets", "--clock cpu needs --threads 1 (the CPU time of one "
                             "thread says nothing about %d)", o.threads[t]);
  if (o.cpu_clock) bench_clock = CLOCK_THREAD_CPUTIME_ID;

  char cpu[256];
  cpu_model(cpu, sizeof cpu);
  const char *env = getenv("OPENBLAS_CORETYPE");
  printf("# cemrl bench nets\n\n");
  const char *simd = "";
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  simd = __builtin_cpu_supports("avx512f") ? ", AVX-512"
         : __builtin_cpu_supports("avx2")  ? ", AVX2"
                                           : "";
#endif
  printf("- this machine: %s%s, %ld CPUs online; loadavg %.2f at start\n", cpu, simd,
         sysconf(_SC_NPROCESSORS_ONLN), loadavg());
  printf("- reference machine (shared/bench/README.md): %s; ratios across machines compare "
         "implementations and hardware together\n", REF_MACHINE);
  printf("- OpenBLAS kernel: %s (OPENBLAS_CORETYPE=%s); %s\n", nn_blas_corename(),
         env && env[0] ? env : "unset", nn_blas_config());
  const char *hint = nn_blas_suggest_coretype();
  if (hint)
    printf("- note: OpenBLAS did not recognise this CPU and fell back to the generic %s kernel; "
           "OPENBLAS_CORETYPE=%s selects a faster one\n", nn_blas_corename(), hint);
  printf("- timing: median of %d repeats of >= %.2f s each, %s; FLOPs counted = 2·M·N·K per "
         "sgemm/sgemv (elementwise work not counted)\n", o.reps, o.min_time,
         o.cpu_clock ? "thread CPU time (immune to other processes' load)" : "wall clock");
  fflush(stdout);
  int rc = 0;
  for (int t = 0; t < o.n_threads; t++) {
    nn_blas_set_threads(o.threads[t]);
    if (!o.sgemm_only) rc |= bench_networks(&o, o.threads[t]);
    if (!o.no_sgemm) rc |= bench_sgemm(&o, o.threads[t]);
    fflush(stdout);
  }
  printf("\nloadavg %.2f at end\n", loadavg());
  return rc ? 1 : 0;
}
