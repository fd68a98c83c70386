/* repro_abs.c — `cemrl repro abs`: adaptive batch size from the top Hessian eigenvalue (ABS) and
 * its adversarial variant (ABSA) against small- and large-batch SGD, spec/papers.md part 2 §3d.
 *
 * Model: MLP 784-128-128-10 ReLU (PyTorch's default init) on the first 20k Fashion-MNIST training
 * images, pixels scaled to [0, 1] (FGSM's ε and clip act on that scale); the 10k test images give
 * the accuracy. 30 epochs of SGD (momentum 0.9, lr 0.05, × 0.2 at epochs 15 and 25), gradients
 * accumulated over chunks of b0 = 128 (each chunk's mean / r; the chunks left at an epoch's end make
 * one smaller step [ours]). Runs:
 *   BL    B = 128;
 *   LB    B = 4096 (r = 32), lr scaled ×32 but capped at 8·lr0 and warmed up linearly from lr0 over
 *         the first 5 epochs (per step);
 *   ABS   the schedule of src/optim/abs.h: r from 1 to r_max 32, duration 3 epochs, lr cap 8·lr0;
 *   ABSA  ABS plus FGSM examples (γ0 0.2, ε 0.01) in the first ⌊128γ⌋ rows of every chunk.
 * The top Hessian eigenvalue (exact R-op Hv on one random 128-example batch, power iteration, at
 * most 10 products, relative tol 1e-2) is measured after every epoch of every run and logged; ABS
 * and ABSA feed it to their schedule while it still uses it. The lr cap departs from the
 * reference code (which scales without a cap): there is no batch norm here.
 * Pass criteria (spec §3d):
 *   1. ABS and ABSA reach test accuracy >= BL − 0.7 % with <= 0.5 × BL's updates;
 *   2. LB <= BL − 1.5 %;
 *   3. ABSA >= ABS − 0.3 %;
 *   4. at least one eigenvalue-triggered increase in each of ABS and ABSA; otherwise the run
 *      passes only as "duration-driven" and is flagged (a flag, not a failure).
 * --quick: 5k / 2k images, 10 epochs, r_max 8 (LB B = 1024), duration 2. It asserts the
 * phenomenon (criterion 1's update count, 2, and 4 as a requirement) and prints the accuracy
 * margins of 1 and 3 as information.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "app/app.h"
#include "app/repro_optim.h"
#include "core/alloc.h"
#include "core/rng.h"
#include "envs/sup.h"
#include "nets/mlp.h"
#include "nets/rop.h"
#include "optim/abs.h"
#include "optim/cg.h"
#include "optim/eig.h"
#include "optim/opt.h"

#define ABS_K 10
#define ABS_B0 128
#define ABS_MAX_EPOCHS 200
#define ABS_MAX_SEEDS 10
#define ABS_EVAL_CHUNK 1000

enum { R_BL = 0, R_LB, R_ABS, R_ABSA, R_N };
static const char *const run_names[R_N] = {"BL", "LB", "ABS", "ABSA"};

typedef struct {
  int quick;
  int n_train, n_test;
  int epochs;
  int decay[2];
  int r_max;
  int duration;
  int warmup_epochs;
  double lr0, gamma0, eps;
  int n_seeds;
  uint64_t seed0;
} AbsCfg;

typedef struct {
  int d;
  float *x_train, *x_test;   /* (n, d) in [0, 1] */
  int *y_train, *y_test;     /* (n) */
} AbsData;

/* Figures of one run. */
typedef struct {
  double test_acc;
  long updates;
  int eigen_increases, duration_increases;
  double lambda_first, lambda_last;
  int final_batch;
  double secs;
} AbsRun;

typedef struct {
  const AbsCfg *cfg;
  const AbsData *data;
  NnMlp *net;              /* training: max_batch b0 */
  NnMlp *eval;             /* evaluation: max_batch ABS_EVAL_CHUNK */
  NnMlp *hnet;             /* Hessian products: max_batch b0 */
  NnCurv *hcurv;
  float *theta;            /* (P) */
  float *acc;              /* (P) accumulated gradient */
  float *v, *w;            /* (P) power iteration */
  float *xb;               /* (b0, d) the chunk */
  int *yb;                 /* (b0) */
  float *dz;               /* (b0, K) */
  float *dx;               /* (b0, d) input gradient (FGSM) */
  int64_t *perm;           /* (n_train) */
  size_t P;
} AbsCtx;




static void data_free(AbsData *d) {
  core_free(d->x_train);
  core_free(d->x_test);
  core_free(d->y_train);
  core_free(d->y_test);
  memset(d, 0, sizeof *d);
}


static int data_load(const AbsCfg *cfg, AbsData *d, CoreErr *err) {
  memset(d, 0, sizeof *d);
  SupTaskSpec spec = sup_task_spec_default(SUP_TASK_FASHION_MNIST);
  spec.n_train = cfg->n_train;
  spec.n_test = cfg->n_test;
  spec.standardize = 0;   /* pixels / 255: FGSM works in [0, 1] */
  SupTask *t = sup_task_create(&spec, err);
  if (!t) return err ? err->code : CORE_ERR_IO;
  d->d = t->in_dim;
  d->x_train = core_malloc((size_t)cfg->n_train * d->d * sizeof(float));
  d->y_train = core_malloc((size_t)cfg->n_train * sizeof(int));
  d->x_test = core_malloc((size_t)cfg->n_test * d->d * sizeof(float));
  d->y_test = core_malloc((size_t)cfg->n_test * sizeof(int));
  int rc = 0;
  if (!d->x_train || !d->y_train || !d->x_test || !d->y_test ||
      repro_task_dense(t, SUP_TRAIN, 0, cfg->n_train, d->x_train, d->y_train) < 0 ||
      repro_task_dense(t, SUP_TEST, 0, cfg->n_test, d->x_test, d->y_test) < 0) {
    rc = core_err_set(err, CORE_ERR_NOMEM, "repro abs: out of memory for the data");
    data_free(d);
  }
  sup_task_free(t);
  return rc;
}


/* Test accuracy of theta. */
static double test_accuracy(AbsCtx *c) {
  const AbsData *D = c->data;
  int n = c->cfg->n_test;
  long right = 0;
  nn_mlp_bind_params(c->eval, c->theta);
  for (int i0 = 0; i0 < n; i0 += ABS_EVAL_CHUNK) {
    int b = n - i0 < ABS_EVAL_CHUNK ? n - i0 : ABS_EVAL_CHUNK;
    const float *z = nn_mlp_forward(c->eval, D->x_test + (size_t)i0 * D->d, b);
    for (int r = 0; r < b; r++) {
      const float *zr = z + (size_t)r * ABS_K;
      int best = 0;
      for (int j = 1; j < ABS_K; j++)
        if (zr[j] > zr[best]) best = j;
      right += best == D->y_test[i0 + r];
    }
  }
  nn_mlp_bind_params(c->eval, NULL);
  return (double)right / n;
}


static void hvp(void *u, const float *v, float *out) {
  nn_curv_product(((AbsCtx *)u)->hcurv, NN_CURV_HESSIAN, v, out);
}

/* Top Hessian eigenvalue of the CE loss on one random b0-batch (HessianFlow's rule). */
static double top_eigenvalue(AbsCtx *c, uint64_t seed, int run, int epoch) {
  const AbsData *D = c->data;
  CoreRng rng;
  core_rng_stream(&rng, seed, CORE_RNG_MAIN, (uint64_t)(1000 * run + epoch));
  for (int r = 0; r < ABS_B0; r++) {
    int64_t i = (int64_t)core_rng_below(&rng, (uint64_t)c->cfg->n_train);
    memcpy(c->xb + (size_t)r * D->d, D->x_train + (size_t)i * D->d, D->d * sizeof(float));
    c->yb[r] = D->y_train[i];
  }
  nn_curv_set_batch(c->hcurv, c->xb, NULL, c->yb, ABS_B0);
  OptLinOp H = {hvp, c};
  OptEigResult e = opt_eig_power(&H, c->P, 10, 1e-2, &rng, c->v, c->w);
  return e.lambda;
}

/* FGSM on the first k rows of the chunk: x ← clip(x + ε·sign(∇_x CE), [0, 1]). */
static void fgsm(AbsCtx *c, int k) {
  int d = c->data->d;
  const float *z = nn_mlp_forward(c->net, c->xb, k);
  nn_curv_loss_value(NN_CURV_XENT, z, NULL, c->yb, k, ABS_K, c->dz);
  nn_mlp_backward(c->net, c->dz, c->dx, NN_BACKWARD_INPUT_ONLY);
  float eps = (float)c->cfg->eps;
  for (size_t i = 0; i < (size_t)k * d; i++) {
    float g = c->dx[i], x = c->xb[i];
    x += g > 0.0f ? eps : g < 0.0f ? -eps : 0.0f;
    c->xb[i] = x < 0.0f ? 0.0f : x > 1.0f ? 1.0f : x;
  }
}

/* One run: train from the seed's init and fill *out; the epoch log goes to stdout. */
static int run_one(AbsCtx *c, int run, uint64_t seed, AbsRun *out, CoreErr *err) {
  const AbsCfg *cfg = c->cfg;
  const AbsData *D = c->data;
  memset(out, 0, sizeof *out);
  double t0 = core_clock_seconds();
  CoreRng rng;
  core_rng_stream(&rng, seed, CORE_RNG_INIT, 0);
  nn_mlp_bind_params(c->net, c->theta);
  nn_mlp_bind_params(c->hnet, c->theta);
  nn_mlp_init(c->net, NN_INIT_TORCH, 0.0, &rng);

  OptAbsSettings as = opt_abs_settings_default();
  as.b0 = ABS_B0;
  as.r_max = cfg->r_max;
  as.duration = cfg->duration;
  as.gamma0 = run == R_ABSA ? cfg->gamma0 : 0.0;
  as.lr0 = cfg->lr0;
  as.lr_cap = 8.0 * cfg->lr0;
  as.epochs = cfg->epochs;
  as.n_decay = 2;
  as.decay_epochs[0] = cfg->decay[0];
  as.decay_epochs[1] = cfg->decay[1];
  OptAbs *sched = opt_abs_create(&as, err);
  OptSettings os = opt_settings_default(OPT_SGD);
  os.lr = cfg->lr0;
  os.momentum = 0.9;
  Opt *opt = opt_create(&os, c->P, err);
  if (!sched || !opt) {
    opt_abs_free(sched);
    opt_free(opt);
    return -1;
  }
  const int chunks = cfg->n_train / ABS_B0, d = D->d;
  const double lr_big = fmin(cfg->r_max * cfg->lr0, 8.0 * cfg->lr0);
  const long warm_steps = (long)cfg->warmup_epochs * ((chunks + cfg->r_max - 1) / cfg->r_max);
  printf("  %s   (lr: the epoch's last step; gamma: FGSM ratio in force)\n"
         "  epoch  lambda_top  decision   r     B     lr        gamma  updates  test acc\n",
         run_names[run]);
  for (int ep = 0; ep < cfg->epochs; ep++) {
    int r = run == R_BL ? 1 : run == R_LB ? cfg->r_max : opt_abs_ratio(sched);
    int n_adv = run == R_ABSA ? opt_abs_n_adv(sched, ep) : 0;
    double lr_ep = run == R_BL ? cfg->lr0 : run == R_LB ? lr_big : opt_abs_lr(sched, ep);
    if (run == R_BL || run == R_LB)   /* the step decay (opt_abs_lr applies it for ABS) */
      for (int k = 0; k < as.n_decay; k++)
        if (ep >= as.decay_epochs[k]) lr_ep *= as.decay_factor;
    core_rng_stream(&rng, seed, CORE_RNG_DATA, (uint64_t)ep);
    sup_perm_shuffle(c->perm, cfg->n_train, &rng);
    int in_acc = 0;
    double lr_last = lr_ep;   /* the lr of the epoch's last step (LB's warm-up moves it) */
    memset(c->acc, 0, c->P * sizeof(float));
    for (int ch = 0; ch < chunks; ch++) {
      for (int i = 0; i < ABS_B0; i++) {
        int64_t j = c->perm[(size_t)ch * ABS_B0 + i];
        memcpy(c->xb + (size_t)i * d, D->x_train + (size_t)j * d, d * sizeof(float));
        c->yb[i] = D->y_train[j];
      }
      if (n_adv > 0) fgsm(c, n_adv);
      const float *z = nn_mlp_forward(c->net, c->xb, ABS_B0);
      nn_curv_loss_value(NN_CURV_XENT, z, NULL, c->yb, ABS_B0, ABS_K, c->dz);
      nn_mlp_zero_grad(c->net);
      nn_mlp_backward(c->net, c->dz, NULL, 0);
      for (size_t i = 0; i < c->P; i++) c->acc[i] += c->net->grads[i];
      in_acc++;
      if (in_acc == r || ch == chunks - 1) {
        /* the mean of the accumulated chunk means (= each chunk / r for a full step) */
        float inv = 1.0f / (float)in_acc;
        for (size_t i = 0; i < c->P; i++) c->acc[i] *= inv;
        double lr = lr_ep;
        if (run == R_LB && out->updates < warm_steps)   /* Goyal et al.: linear warm-up */
          lr = cfg->lr0 + (lr_big - cfg->lr0) * (double)out->updates / (double)warm_steps;
        opt_set_lr(opt, lr);
        opt_step(opt, c->theta, c->acc);
        lr_last = lr;
        out->updates++;
        in_acc = 0;
        memset(c->acc, 0, c->P * sizeof(float));
      }
    }
    double lam = top_eigenvalue(c, seed, run, ep);
    double acc = test_accuracy(c);
    OptAbsDecision dec = {ep, lam, NAN, OPT_ABS_KEEP, r, r, 1.0, 0.0};
    if (run == R_ABS || run == R_ABSA) {
      dec = opt_abs_epoch_end(sched, ep, opt_abs_wants_eigen(sched) ? lam : NAN);
      out->eigen_increases += dec.cause == OPT_ABS_EIGEN;
      out->duration_increases += dec.cause == OPT_ABS_DURATION;
    }
    if (ep == 0) out->lambda_first = lam;
    out->lambda_last = lam;
    printf("  %5d  %10.4f  %-8s %4d  %5d  %.5f  %.4f  %7ld  %.4f\n", ep, lam,
           run == R_ABS || run == R_ABSA ? opt_abs_cause_names[dec.cause] : "-", r,
           r * ABS_B0, lr_last, n_adv > 0 ? opt_abs_gamma(sched, ep) : 0.0, out->updates, acc);
    if (!isfinite(lam)) {
      core_err_set(err, CORE_ERR_RUNTIME, "repro abs: %s diverged at epoch %d (eigenvalue %g)",
                   run_names[run], ep, lam);
      opt_abs_free(sched);
      opt_free(opt);
      return -1;
    }
    out->test_acc = acc;
    out->final_batch = r * ABS_B0;
  }
  out->secs = core_clock_seconds() - t0;
  printf("  %s: test accuracy %.4f, %ld updates, final batch %d, eigen increases %d, duration "
         "increases %d, %.1f s\n\n", run_names[run], out->test_acc, out->updates, out->final_batch,
         out->eigen_increases, out->duration_increases, out->secs);
  opt_abs_free(sched);
  opt_free(opt);
  return 0;
}


static void usage(FILE *f) {
  fprintf(f,
          "usage: cemrl repro abs [--quick] [--seeds N] [--seed S]\n\n"
          "ABS / ABSA (batch size from the top Hessian eigenvalue, FGSM mixing) against B = 128 and\n"
          "B = 4096 SGD on Fashion-MNIST, MLP 784-128-128-10 (spec/papers.md part 2 §3d). Full:\n"
          "20k / 10k images, 30 epochs, 1 seed; --quick: 5k / 2k images, 10 epochs. Needs Debian's\n"
          "dataset-fashion-mnist (or $%s).\n", SUP_FASHION_MNIST_ENV);
}


static int parse_int(const char *s, int lo, int hi, int *out) {
  char *end;
  long v = strtol(s, &end, 10);
  if (*s == '\0' || *end != '\0' || v < lo || v > hi) return -1;
  *out = (int)v;
  return 0;
}


int repro_abs(int argc, char **argv);

int repro_abs(int argc, char **argv) {
  AbsCfg cfg = {0, 20000, 10000, 30, {15, 25}, 32, 3, 5, 0.05, 0.2, 0.01, 1, 0};
  int seed = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      usage(stdout);
      return 0;
    } else if (!strcmp(a, "--quick")) {
      cfg.quick = 1;
    } else if (!strcmp(a, "--seeds") && i + 1 < argc) {
      if (parse_int(argv[++i], 1, ABS_MAX_SEEDS, &cfg.n_seeds) < 0)
        return app_usage_error("repro abs", "--seeds %s: must be an integer in [1, %d]", argv[i],
                               ABS_MAX_SEEDS);
    } else if (!strcmp(a, "--seed") && i + 1 < argc) {
      if (parse_int(argv[++i], 0, 1000000, &seed) < 0)
        return app_usage_error("repro abs", "--seed %s: must be an integer in [0, 1000000]",
                               argv[i]);
    } else {
      return app_usage_error("repro abs", "unknown or incomplete option '%s'", a);
    }
  }
  cfg.seed0 = (uint64_t)seed;
  if (cfg.quick) {
    cfg.n_train = 5000;
    cfg.n_test = 2000;
    cfg.epochs = 10;
    cfg.decay[0] = 5;
    cfg.decay[1] = 8;
    cfg.r_max = 8;
    cfg.duration = 2;
    cfg.warmup_epochs = 2;
  }

  CoreErr err;
  core_err_clear(&err);
  double t_start = core_clock_seconds();
  AbsData D;
  if (data_load(&cfg, &D, &err) < 0) return app_fail(&err);
  printf("repro abs%s: Fashion-MNIST %d train / %d test in [0, 1]; MLP 784-128-128-10 relu; %d "
         "epochs, lr %g momentum 0.9, x0.2 at epochs %d and %d; b0 %d, r_max %d (LB B = %d, "
         "warm-up %d epochs), duration %d, gamma0 %g, eps %g; scaled lr capped at 8 x lr0 "
         "(departure from the reference code: no batch norm); %d seed(s)\n\n",
         cfg.quick ? " --quick" : "", cfg.n_train, cfg.n_test, cfg.epochs, cfg.lr0, cfg.decay[0],
         cfg.decay[1], ABS_B0, cfg.r_max, cfg.r_max * ABS_B0, cfg.warmup_epochs, cfg.duration,
         cfg.gamma0, cfg.eps, cfg.n_seeds);

  static const NnLayerDesc desc[] = {{NN_LINEAR, 128, 0, NULL}, {NN_RELU, 0, 0, NULL},
                                     {NN_LINEAR, 128, 0, NULL}, {NN_RELU, 0, 0, NULL},
                                     {NN_LINEAR, ABS_K, 0, NULL}};
  AbsCtx c;
  memset(&c, 0, sizeof c);
  c.cfg = &cfg;
  c.data = &D;
  int rc = 1;
  c.net = nn_mlp_create(D.d, desc, 5, ABS_B0, &err);
  c.eval = nn_mlp_create(D.d, desc, 5, ABS_EVAL_CHUNK, &err);
  c.hnet = nn_mlp_create(D.d, desc, 5, ABS_B0, &err);
  if (!c.net || !c.eval || !c.hnet) goto out;
  c.hcurv = nn_curv_create(c.hnet, NN_CURV_XENT, &err);
  c.P = c.net->n_params;
  c.theta = core_malloc(c.P * sizeof(float));
  c.acc = core_malloc(c.P * sizeof(float));
  c.v = core_malloc(c.P * sizeof(float));
  c.w = core_malloc(c.P * sizeof(float));
  c.xb = core_malloc((size_t)ABS_B0 * D.d * sizeof(float));
  c.dx = core_malloc((size_t)ABS_B0 * D.d * sizeof(float));
  c.yb = core_malloc((size_t)ABS_B0 * sizeof(int));
  c.dz = core_malloc((size_t)ABS_B0 * ABS_K * sizeof(float));
  c.perm = core_malloc((size_t)cfg.n_train * sizeof(int64_t));
  if (!c.hcurv || !c.theta || !c.acc || !c.v || !c.w || !c.xb || !c.dx || !c.yb || !c.dz ||
      !c.perm) {
    if (!err.msg[0]) core_err_set(&err, CORE_ERR_NOMEM, "repro abs: out of memory");
    goto out;
  }

  AbsRun runs[ABS_MAX_SEEDS][R_N];
  for (int si = 0; si < cfg.n_seeds; si++) {
    uint64_t sd = cfg.seed0 + (uint64_t)si;
    printf("seed %llu\n", (unsigned long long)sd);
    for (int r = 0; r < R_N; r++)
      if (run_one(&c, r, sd, &runs[si][r], &err) < 0) goto out;
  }

  /* ---------------------------------------------------------------- criteria */
  double acc[R_N] = {0}, upd[R_N] = {0};
  int eig_inc[R_N] = {0};
  for (int r = 0; r < R_N; r++)
    for (int si = 0; si < cfg.n_seeds; si++) {
      acc[r] += 100.0 * runs[si][r].test_acc / cfg.n_seeds;
      upd[r] += (double)runs[si][r].updates / cfg.n_seeds;
      eig_inc[r] += runs[si][r].eigen_increases;
    }
  printf("summary over %d seed(s): test accuracy and SGD updates\n", cfg.n_seeds);
  for (int r = 0; r < R_N; r++)
    printf("  %-4s %.2f %%  %8.1f updates (%.3f x BL)  top eigenvalue first/last epoch %.3f / "
           "%.3f\n", run_names[r], acc[r], upd[r], upd[r] / upd[R_BL], runs[0][r].lambda_first,
           runs[0][r].lambda_last);

  int u1a = upd[R_ABS] <= 0.5 * upd[R_BL], u1b = upd[R_ABSA] <= 0.5 * upd[R_BL];
  int a1a = acc[R_ABS] >= acc[R_BL] - 0.7, a1b = acc[R_ABSA] >= acc[R_BL] - 0.7;
  int p2 = acc[R_LB] <= acc[R_BL] - 1.5;
  int p3 = acc[R_ABSA] >= acc[R_ABS] - 0.3;
  int p4 = eig_inc[R_ABS] > 0 && eig_inc[R_ABSA] > 0;
  /* --quick asserts the phenomenon (fewer updates, the large fixed batch falls behind, the
   * eigenvalue rule fires); its 2k-image accuracies are too coarse for the 0.3-0.7 % margins,
   * which it prints as information */
  const char *info = cfg.quick ? "(information in --quick) " : "";
#define VERDICT(ok) (cfg.quick ? ((ok) ? "would pass" : "would fail") : ((ok) ? "PASS" : "FAIL"))
  printf("\ncriteria (spec/papers.md part 2 §3d):\n");
  printf("  1  ABS  updates %.3f x BL (need <= 0.5)  %s;  %saccuracy %.2f %% (need >= BL - 0.7 = "
         "%.2f)  %s\n", upd[R_ABS] / upd[R_BL], u1a ? "PASS" : "FAIL", info, acc[R_ABS],
         acc[R_BL] - 0.7, VERDICT(a1a));
  printf("  1  ABSA updates %.3f x BL (need <= 0.5)  %s;  %saccuracy %.2f %% (need >= BL - 0.7 = "
         "%.2f)  %s\n", upd[R_ABSA] / upd[R_BL], u1b ? "PASS" : "FAIL", info, acc[R_ABSA],
         acc[R_BL] - 0.7, VERDICT(a1b));
  printf("  2  LB %.2f %% (need <= BL - 1.5 = %.2f)  %s\n", acc[R_LB], acc[R_BL] - 1.5,
         p2 ? "PASS" : "FAIL");
  printf("  3  %sABSA %.2f %% (need >= ABS - 0.3 = %.2f)  %s\n", info, acc[R_ABSA],
         acc[R_ABS] - 0.3, VERDICT(p3));
#undef VERDICT
  if (cfg.quick)
    printf("  4  eigenvalue-triggered increases: ABS %d, ABSA %d (need >= 1 each)  %s\n",
           eig_inc[R_ABS], eig_inc[R_ABSA], p4 ? "PASS" : "FAIL");
  else
    printf("  4  eigenvalue-triggered increases: ABS %d, ABSA %d (need >= 1 each)  %s\n",
           eig_inc[R_ABS], eig_inc[R_ABSA],
           p4 ? "PASS" : "FLAGGED: duration-driven (passes only as such, per the spec)");
  int all = u1a && u1b && p2 &&
            (cfg.quick ? p4 : (a1a && a1b && p3));
  printf("\n%s%s (%.0f s)\n", all ? "ALL PASS" : "SOME CRITERIA FAILED",
         all && !p4 ? " (flagged: duration-driven)" : "", core_clock_seconds() - t_start);
  rc = all ? 0 : 1;

out:
  if (rc && err.code) fprintf(stderr, "cemrl repro abs: %s\n", err.msg);
  core_free(c.theta);
  core_free(c.acc);
  core_free(c.v);
  core_free(c.w);
  core_free(c.xb);
  core_free(c.dx);
  core_free(c.yb);
  core_free(c.dz);
  core_free(c.perm);
  nn_curv_free(c.hcurv);
  nn_mlp_free(c.net);
  nn_mlp_free(c.eval);
  nn_mlp_free(c.hnet);
  data_free(&D);
  return rc;
}
