/* repro_nghf.c — `cemrl repro nghf`: NGHF against NG, HF and SGD on Fashion-MNIST with an
 * expected-error (MBR-like) criterion, spec/papers.md part 2 §2d.
 *
 * Steps, per seed:
 *   1. the "CE model": an MLP 784-128-10 (ReLU [ours]) trained with cross-entropy for 2 epochs on
 *      the first 20k training images (SGD, momentum 0.9, lr 0.05, batch 128 [ours]);
 *   2. from it, 20 updates of each method on ℒ = mean_n Σ_y p(y|x_n)(1 − δ(y, y_n)): a fresh 10k
 *      gradient batch per update (the same batches for every method) whose first 1k examples are
 *      the curvature batch; G is the PSD part of the criterion's output Hessian, F the softmax
 *      Fisher (src/nets/rop.h); CG backtracking on a 2k held-out split of the training file
 *      (images 20000..21999, never trained on); the test split gives the held-out error.
 *   SGD is plain gradient descent on the same batches with the lr picked from a grid by the final
 *   training criterion of the first seed (a tuning that favours SGD).
 * Pass criteria (spec §2d):
 *   1. every CG solve lowers its quadratic monotonically (rises beyond float rounding, 1e-7
 *      relative, are counted), and on a toy problem with F = G, NGHF matches Newton's step: the
 *      spec's NGHF solves with ñ = (F+λ_F)⁻¹g in place of g, so its full solution is
 *      −(G+λ)⁻¹(F+λ_F)⁻¹g ≈ −G⁻²g, not Newton's −G⁻¹g; what does match is its first CG direction,
 *      −ñ = −G⁻¹g. The criterion is read that way (cosine ≥ 0.9999) and the full solution's
 *      cosine is printed beside it;
 *   2. HF, NG and NGHF lower the training criterion more in 20 updates than SGD (seed mean);
 *   3. NGHF's test error at 20 updates ≤ min(NG, HF) + 0.2 % and < max(NG, HF), seed mean.
 * --quick runs a seconds-long version (smaller splits, fewer updates, one seed) that evaluates
 * criteria 1 and 2 and prints criterion 3 as information only.
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
#include "optim/cg.h"
#include "optim/hf.h"
#include "optim/opt.h"

#define NGHF_K 10
#define NGHF_CHUNK 1000
#define NGHF_MAX_SEEDS 10
#define NGHF_MAX_UPDATES 200

enum { M_SGD = 0, M_NG, M_HF, M_NGHF, M_N };
static const char *const method_names[M_N] = {"SGD", "NG", "HF", "NGHF"};

typedef struct {
  int quick;
  int n_seeds;
  uint64_t seed0;
  int updates;
  int n_train, n_dev, n_test;
  int grad_batch, curv_batch;
  int hidden;
  int ce_epochs;
  int rho_solved;          /* --nghf-rho-solved: a variant, not the spec's reading */
} NghfCfg;

/* Fashion-MNIST held in memory as floats and int labels. */
typedef struct {
  int d;
  int n_train, n_dev, n_test;
  float *x_train, *x_dev, *x_test;   /* (n, d) */
  int *y_train, *y_dev, *y_test;     /* (n) */
} NghfData;

/* Everything an update needs; the HF callbacks receive it as user. */
typedef struct {
  const NghfCfg *cfg;
  const NghfData *data;
  NnMlp *eval;             /* max_batch NGHF_CHUNK: criterion evaluations and gradients */
  NnCurv *gcurv;           /* on eval: gradient of the criterion, chunk by chunk */
  NnMlp *cnet;             /* max_batch curv_batch: curvature products */
  NnCurv *ccurv;
  float *theta;            /* (P) parameters being fine-tuned */
  float *grad, *gtmp;      /* (P) */
  float *xg;               /* (grad_batch, d) gathered gradient batch */
  int *yg;                 /* (grad_batch) */
  int64_t *perm;           /* (n_train) */
  size_t P;
} NghfCtx;




static void data_free(NghfData *d) {
  core_free(d->x_train);
  core_free(d->x_test);
  core_free(d->y_train);
  core_free(d->y_test);
  memset(d, 0, sizeof *d);
}


static int data_load(const NghfCfg *cfg, NghfData *d, CoreErr *err) {
  memset(d, 0, sizeof *d);
  SupTaskSpec spec = sup_task_spec_default(SUP_TASK_FASHION_MNIST);
  spec.n_train = cfg->n_train + cfg->n_dev;
  spec.n_test = cfg->n_test;
  SupTask *t = sup_task_create(&spec, err);
  if (!t) return err ? err->code : CORE_ERR_IO;
  d->d = t->in_dim;
  d->n_train = cfg->n_train;
  d->n_dev = cfg->n_dev;
  d->n_test = cfg->n_test;
  size_t ntr = (size_t)(cfg->n_train + cfg->n_dev);
  d->x_train = core_malloc(ntr * (size_t)d->d * sizeof(float));
  d->y_train = core_malloc(ntr * sizeof(int));
  d->x_test = core_malloc((size_t)cfg->n_test * d->d * sizeof(float));
  d->y_test = core_malloc((size_t)cfg->n_test * sizeof(int));
  int rc = 0;
  if (!d->x_train || !d->y_train || !d->x_test || !d->y_test ||
      repro_task_dense(t, SUP_TRAIN, 0, (int)ntr, d->x_train, d->y_train) < 0 ||
      repro_task_dense(t, SUP_TEST, 0, cfg->n_test, d->x_test, d->y_test) < 0) {
    rc = core_err_set(err, CORE_ERR_NOMEM, "repro nghf: out of memory for the data");
    data_free(d);
  } else {
    d->x_dev = d->x_train + (size_t)cfg->n_train * d->d;
    d->y_dev = d->y_train + cfg->n_train;
  }
  sup_task_free(t);
  return rc;
}


/* Mean criterion of params on (x, y) in chunks; classification error rate into *err_rate. */
static double evaluate(NnMlp *net, float *params, int loss, const float *x, const int *y, int n,
                       int d, double *err_rate) {
  nn_mlp_bind_params(net, params);
  double total = 0.0;
  long wrong = 0;
  int K = net->out_dim;
  for (int i0 = 0; i0 < n; i0 += net->max_batch) {
    int b = n - i0 < net->max_batch ? n - i0 : net->max_batch;
    const float *z = nn_mlp_forward(net, x + (size_t)i0 * d, b);
    total += nn_curv_loss_value(loss, z, NULL, y + i0, b, K, NULL) * b;
    for (int r = 0; r < b; r++) {
      const float *zr = z + (size_t)r * K;
      int best = 0;
      for (int j = 1; j < K; j++)
        if (zr[j] > zr[best]) best = j;
      wrong += best != y[i0 + r];
    }
  }
  nn_mlp_bind_params(net, NULL);
  if (err_rate) *err_rate = (double)wrong / n;
  return total / n;
}

/* ---------------------------------------------------------------- HF callbacks */

static double cb_loss(void *u, const float *params) {
  NghfCtx *c = u;
  return evaluate(c->eval, (float *)params, NN_CURV_EXPECTED_ERROR, c->xg, c->yg,
                  c->cfg->grad_batch, c->data->d, NULL);
}

static double cb_heldout(void *u, const float *params) {
  NghfCtx *c = u;
  return evaluate(c->eval, (float *)params, NN_CURV_EXPECTED_ERROR, c->data->x_dev, c->data->y_dev,
                  c->data->n_dev, c->data->d, NULL);
}

static void cb_gvp(void *u, const float *v, float *out) {
  nn_curv_product(((NghfCtx *)u)->ccurv, NN_CURV_GAUSS_NEWTON, v, out);
}

static void cb_fvp(void *u, const float *v, float *out) {
  nn_curv_product(((NghfCtx *)u)->ccurv, NN_CURV_FISHER, v, out);
}

static void cb_sqgrad(void *u, float *out) { nn_curv_grad_sq_diag(((NghfCtx *)u)->ccurv, out); }

/* ---------------------------------------------------------------- pieces of a run */

/* Gather the gradient batch of update u (same for every method of a seed). */
static void gather_batch(NghfCtx *c, uint64_t seed, int u) {
  CoreRng rng;
  core_rng_stream(&rng, seed, CORE_RNG_DATA, 1000 + (uint64_t)u);
  sup_perm_shuffle(c->perm, c->data->n_train, &rng);
  int d = c->data->d;
  for (int r = 0; r < c->cfg->grad_batch; r++) {
    memcpy(c->xg + (size_t)r * d, c->data->x_train + (size_t)c->perm[r] * d, d * sizeof(float));
    c->yg[r] = c->data->y_train[c->perm[r]];
  }
}

/* Criterion and its gradient on the gathered batch at θ (into c->grad). */
static double batch_gradient(NghfCtx *c) {
  int n = c->cfg->grad_batch, d = c->data->d;
  nn_mlp_bind_params(c->eval, c->theta);
  memset(c->grad, 0, c->P * sizeof(float));
  double total = 0.0;
  for (int i0 = 0; i0 < n; i0 += NGHF_CHUNK) {
    int b = n - i0 < NGHF_CHUNK ? n - i0 : NGHF_CHUNK;
    total += nn_curv_set_batch(c->gcurv, c->xg + (size_t)i0 * d, NULL, c->yg + i0, b) * b;
    nn_curv_grad(c->gcurv, c->gtmp);
    float w = (float)b / (float)n;
    for (size_t i = 0; i < c->P; i++) c->grad[i] += w * c->gtmp[i];
  }
  nn_mlp_bind_params(c->eval, NULL);
  return total / n;
}

/* The CE model: cross-entropy SGD (momentum 0.9) from a seeded init into theta. */
static void train_ce(NghfCtx *c, uint64_t seed) {
  const NghfData *D = c->data;
  NnMlp *net = c->eval;
  CoreRng rng;
  core_rng_stream(&rng, seed, CORE_RNG_INIT, 0);
  nn_mlp_bind_params(net, c->theta);
  nn_mlp_init(net, NN_INIT_TORCH, 0.0, &rng);
  OptSettings os = opt_settings_default(OPT_SGD);
  os.lr = 0.05;
  os.momentum = 0.9;
  Opt *opt = opt_create(&os, c->P, NULL);
  CORE_ASSERT(opt);
  const int B = 128, d = D->d;
  float *dz = c->gtmp;   /* (B, K) fits: P >> B·K */
  for (int ep = 0; ep < c->cfg->ce_epochs; ep++) {
    core_rng_stream(&rng, seed, CORE_RNG_DATA, (uint64_t)ep);
    sup_perm_shuffle(c->perm, D->n_train, &rng);
    for (int i0 = 0; i0 + B <= D->n_train; i0 += B) {
      for (int r = 0; r < B; r++) {
        memcpy(c->xg + (size_t)r * d, D->x_train + (size_t)c->perm[i0 + r] * d, d * sizeof(float));
        c->yg[r] = D->y_train[c->perm[i0 + r]];
      }
      const float *z = nn_mlp_forward(net, c->xg, B);
      nn_curv_loss_value(NN_CURV_XENT, z, NULL, c->yg, B, NGHF_K, dz);
      nn_mlp_zero_grad(net);
      nn_mlp_backward(net, dz, NULL, 0);
      opt_step(opt, c->theta, net->grads);
    }
  }
  opt_free(opt);
  nn_mlp_bind_params(net, NULL);
}

/* Figures of one method on one seed. */
typedef struct {
  double train0, train, test_err, dev;
  double secs;
  long products, evals, cg_iters;
  int q_increases, solves, no_step;
  double worst_q_rise;
  double lambda;
} NghfRun;

/* Fine-tune theta (the CE model, copied in by the caller) with one method for cfg->updates. */
static int finetune(NghfCtx *c, int method, double sgd_lr, uint64_t seed, int verbose,
                    NghfRun *run, CoreErr *err) {
  const NghfCfg *cfg = c->cfg;
  const NghfData *D = c->data;
  memset(run, 0, sizeof *run);
  double t0 = core_clock_seconds();
  OptHf *hf = NULL;
  if (method != M_SGD) {
    int kind = method == M_NG ? OPT_HF_NG : method == M_HF ? OPT_HF_GN : OPT_HF_NGHF;
    OptHfSettings s = opt_hf_settings_default(kind);
    s.nghf_rho_solved = cfg->rho_solved;
    hf = opt_hf_create(&s, c->P, err);
    if (!hf) return -1;
  }
  OptHfProblem pb = {c, cb_loss, cb_heldout, cb_gvp, cb_fvp, cb_sqgrad};
  for (int u = 0; u < cfg->updates; u++) {
    gather_batch(c, seed, u);
    double l0 = batch_gradient(c);
    if (method == M_SGD) {
      float lr = (float)sgd_lr;
      for (size_t i = 0; i < c->P; i++) c->theta[i] -= lr * c->grad[i];
      if (verbose) printf("    %-4s update %2d  L(batch) %.5f\n", method_names[method], u + 1, l0);
      continue;
    }
    /* curvature batch: the first curv_batch examples of the gradient batch, at θ */
    nn_curv_set_batch(c->ccurv, c->xg, NULL, c->yg, cfg->curv_batch);
    OptHfStats st;
    if (opt_hf_update(hf, &pb, c->theta, c->grad, l0, &st, err) < 0) {
      opt_hf_free(hf);
      return -1;
    }
    run->q_increases += st.q_increases;
    run->solves += method == M_NGHF ? 2 : 1;
    if (st.worst_q_rise > run->worst_q_rise) run->worst_q_rise = st.worst_q_rise;
    run->cg_iters += st.cg_iters + st.ng_iters;
    run->no_step += st.alpha == 0.0;
    if (verbose)
      printf("    %-4s update %2d  L %.5f -> %.5f  rho %7.3f  lambda %.3g  alpha %.3g  cg %2d%s  "
             "chosen %2d  products %ld\n", method_names[method], u + 1, st.loss0, st.loss1,
             st.rho, st.lambda, st.alpha, st.cg_iters,
             method == M_NGHF ? "+ng" : "", st.chosen_iter, st.products);
  }
  if (hf) {
    run->products = opt_hf_products(hf);
    run->evals = opt_hf_evals(hf);
    run->lambda = opt_hf_lambda(hf);
    opt_hf_free(hf);
  }
  run->secs = core_clock_seconds() - t0;
  run->train = evaluate(c->eval, c->theta, NN_CURV_EXPECTED_ERROR, D->x_train, D->y_train,
                        D->n_train, D->d, NULL);
  run->dev = evaluate(c->eval, c->theta, NN_CURV_EXPECTED_ERROR, D->x_dev, D->y_dev, D->n_dev,
                      D->d, NULL);
  evaluate(c->eval, c->theta, NN_CURV_EXPECTED_ERROR, D->x_test, D->y_test, D->n_test, D->d,
           &run->test_err);
  return 0;
}

/* ---------------------------------------------------------------- F = G toy */

typedef struct {
  NnMlp *net;
  NnCurv *curv;
  float *x;
  int *y;
  int n;
} ToyCtx;

static double toy_loss(void *u, const float *params) {
  ToyCtx *t = u;
  return evaluate(t->net, (float *)params, NN_CURV_XENT, t->x, t->y, t->n, t->net->in_dim, NULL);
}

static void toy_gvp(void *u, const float *v, float *out) {
  nn_curv_product(((ToyCtx *)u)->curv, NN_CURV_GAUSS_NEWTON, v, out);
}

static void toy_fvp(void *u, const float *v, float *out) {
  nn_curv_product(((ToyCtx *)u)->curv, NN_CURV_FISHER, v, out);
}

static double cosine(const float *a, const float *b, size_t n) {
  double ab = 0.0, aa = 0.0, bb = 0.0;
  for (size_t i = 0; i < n; i++) {
    ab += (double)a[i] * b[i];
    aa += (double)a[i] * a[i];
    bb += (double)b[i] * b[i];
  }
  return ab / sqrt(aa * bb + 1e-300);
}

/* A small softmax-CE problem (F = G exactly): the cosine between NGHF's step and the damped
 * Newton step −(G+λ)⁻¹g, with one GN-CG iteration (*first) and with a full solve (*full). */
static int toy_newton(double *first, double *full, CoreErr *err) {
  static const NnLayerDesc d[] = {{NN_LINEAR, 8, 0, NULL}, {NN_TANH, 0, 0, NULL},
                                  {NN_LINEAR, 3, 0, NULL}};
  const int n = 64, in = 6;
  const double lam = 1e-2;
  ToyCtx t = {0};
  t.net = nn_mlp_create(in, d, 3, n, err);
  if (!t.net) return -1;
  t.curv = nn_curv_create(t.net, NN_CURV_XENT, err);
  size_t P = t.net->n_params;
  float *mem = core_calloc(5 * P + (size_t)n * in, sizeof(float));
  t.y = core_malloc((size_t)n * sizeof(int));
  OptCg *cg = opt_cg_create(P, 1000, err);
  int rc = -1;
  if (!t.curv || !mem || !t.y || !cg) goto done;
  float *theta = mem, *g = mem + P, *newton = mem + 2 * P, *step = mem + 3 * P, *keep = mem + 4 * P;
  t.x = mem + 5 * P;
  t.n = n;
  CoreRng rng;
  core_rng_stream(&rng, 7, CORE_RNG_TEST, 0);
  nn_mlp_bind_params(t.net, theta);
  nn_mlp_init(t.net, NN_INIT_XAVIER, 0.0, &rng);
  core_rng_normal_fill(&rng, t.x, (long)n * in, 0.0, 1.0);
  for (int i = 0; i < n; i++) t.y[i] = (int)core_rng_below(&rng, 3);
  double l0 = nn_curv_set_batch(t.curv, t.x, NULL, t.y, n);
  nn_curv_grad(t.curv, g);
  /* Newton's (damped GN) step by a long CG solve */
  OptLinOp G = {toy_gvp, &t};
  OptCgSettings cs = opt_cg_settings_default(1000);
  cs.damping = lam;
  cs.progress_eps = 0.0;
  cs.save_gamma = 0.0;
  opt_cg_solve(cg, &G, g, newton, &cs);
  memcpy(keep, theta, P * sizeof(float));
  for (int pass = 0; pass < 2; pass++) {
    OptHfSettings s = opt_hf_settings_default(OPT_HF_NGHF);
    s.lambda0 = lam;
    s.lambda_f = lam;
    s.ng_iters = 1000;          /* ñ = (F + λ)⁻¹g solved exactly */
    s.cg_iters = pass == 0 ? 1 : 1000;
    s.progress_eps = 0.0;
    s.lm_adapt = 0;
    s.backtrack = 0;
    s.ls_max = 400;             /* the step's length is far off Newton's: allow a long search */
    OptHf *hf = opt_hf_create(&s, P, err);
    if (!hf) goto done;
    OptHfProblem pb = {&t, toy_loss, NULL, toy_gvp, toy_fvp, NULL};
    nn_mlp_bind_params(t.net, theta);
    nn_curv_set_batch(t.curv, t.x, NULL, t.y, n);
    OptHfStats st;
    opt_hf_update(hf, &pb, theta, g, l0, &st, NULL);
    opt_hf_free(hf);
    for (size_t i = 0; i < P; i++) step[i] = theta[i] - keep[i];
    double cs_ = st.alpha > 0.0 ? cosine(step, newton, P) : 0.0;
    if (pass == 0) *first = cs_;
    else *full = cs_;
    memcpy(theta, keep, P * sizeof(float));
  }
  rc = 0;
done:
  opt_cg_free(cg);
  core_free(t.y);
  core_free(mem);
  nn_curv_free(t.curv);
  nn_mlp_free(t.net);
  return rc;
}

/* ---------------------------------------------------------------- command */

static void usage(FILE *f) {
  fprintf(f,
          "usage: cemrl repro nghf [--quick] [--seeds N] [--seed S] [--updates U] [--verbose]\n"
          "                        [--nghf-rho-solved]\n\n"
          "NGHF vs NG, HF and SGD fine-tuning a cross-entropy MLP 784-128-10 with an expected-error\n"
          "criterion on Fashion-MNIST (spec/papers.md part 2 §2d). Full: 20k train, 10k gradient /\n"
          "1k curvature batches, 20 updates, 3 seeds. --quick: 3k train, 8 updates, 1 seed, criteria\n"
          "1-2 only. --verbose logs every update. --nghf-rho-solved is a variant, not the spec's\n"
          "reading: NGHF's LM ratio takes the quadratic CG minimised (with ñ) as its model.\n"
          "Needs Debian's dataset-fashion-mnist (or $%s).\n",
          SUP_FASHION_MNIST_ENV);
}

static int parse_int(const char *s, int lo, int hi, int *out) {
  char *end;
  long v = strtol(s, &end, 10);
  if (*s == '\0' || *end != '\0' || v < lo || v > hi) return -1;
  *out = (int)v;
  return 0;
}

int repro_nghf(int argc, char **argv);

int repro_nghf(int argc, char **argv) {
  NghfCfg cfg = {0, 3, 0, 20, 20000, 2000, 10000, 10000, 1000, 128, 2, 0};
  int verbose = 0, seeds_set = 0, updates_set = 0, seed = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      usage(stdout);
      return 0;
    } else if (!strcmp(a, "--quick")) {
      cfg.quick = 1;
    } else if (!strcmp(a, "--verbose")) {
      verbose = 1;
    } else if (!strcmp(a, "--nghf-rho-solved")) {
      cfg.rho_solved = 1;
    } else if (!strcmp(a, "--seeds") && i + 1 < argc) {
      if (parse_int(argv[++i], 1, NGHF_MAX_SEEDS, &cfg.n_seeds) < 0)
        return app_usage_error("repro nghf", "--seeds %s: must be an integer in [1, %d]", argv[i],
                               NGHF_MAX_SEEDS);
      seeds_set = 1;
    } else if (!strcmp(a, "--seed") && i + 1 < argc) {
      if (parse_int(argv[++i], 0, 1000000, &seed) < 0)
        return app_usage_error("repro nghf", "--seed %s: must be an integer in [0, 1000000]",
                               argv[i]);
    } else if (!strcmp(a, "--updates") && i + 1 < argc) {
      if (parse_int(argv[++i], 1, NGHF_MAX_UPDATES, &cfg.updates) < 0)
        return app_usage_error("repro nghf", "--updates %s: must be an integer in [1, %d]",
                               argv[i], NGHF_MAX_UPDATES);
      updates_set = 1;
    } else {
      return app_usage_error("repro nghf", "unknown or incomplete option '%s'", a);
    }
  }
  cfg.seed0 = (uint64_t)seed;
  if (cfg.quick) {
    cfg.n_train = 3000;
    cfg.n_dev = 500;
    cfg.n_test = 2000;
    cfg.grad_batch = 3000;
    cfg.curv_batch = 300;
    if (!updates_set) cfg.updates = 8;
    if (!seeds_set) cfg.n_seeds = 1;
  }

  CoreErr err;
  core_err_clear(&err);
  double t_start = core_clock_seconds();
  NghfData D;
  if (data_load(&cfg, &D, &err) < 0) return app_fail(&err);
  printf("repro nghf%s: Fashion-MNIST %d train / %d held-out (backtracking) / %d test; MLP "
         "784-%d-10 relu; CE model %d epochs; %d updates; gradient batch %d, curvature batch %d; "
         "%d seed(s)%s\n", cfg.quick ? " --quick" : "", D.n_train, D.n_dev, D.n_test, cfg.hidden,
         cfg.ce_epochs, cfg.updates, cfg.grad_batch, cfg.curv_batch, cfg.n_seeds,
         cfg.rho_solved ? "\nVARIANT --nghf-rho-solved: NGHF's rho uses the solved quadratic "
                          "(not the spec's reading)" : "");

  NnLayerDesc desc[] = {{NN_LINEAR, cfg.hidden, 0, NULL}, {NN_RELU, 0, 0, NULL},
                        {NN_LINEAR, NGHF_K, 0, NULL}};
  NghfCtx c;
  memset(&c, 0, sizeof c);
  c.cfg = &cfg;
  c.data = &D;
  c.eval = nn_mlp_create(D.d, desc, 3, NGHF_CHUNK, &err);
  c.cnet = nn_mlp_create(D.d, desc, 3, cfg.curv_batch, &err);
  int rc = 1;
  if (!c.eval || !c.cnet) goto out;
  c.gcurv = nn_curv_create(c.eval, NN_CURV_EXPECTED_ERROR, &err);
  c.ccurv = nn_curv_create(c.cnet, NN_CURV_EXPECTED_ERROR, &err);
  c.P = c.eval->n_params;
  float *ce_model = core_malloc(c.P * sizeof(float));
  c.theta = core_malloc(c.P * sizeof(float));
  c.grad = core_malloc(c.P * sizeof(float));
  c.gtmp = core_malloc(c.P * sizeof(float));
  c.xg = core_malloc((size_t)cfg.grad_batch * D.d * sizeof(float));
  c.yg = core_malloc((size_t)cfg.grad_batch * sizeof(int));
  c.perm = core_malloc((size_t)D.n_train * sizeof(int64_t));
  if (!c.gcurv || !c.ccurv || !ce_model || !c.theta || !c.grad || !c.gtmp || !c.xg || !c.yg ||
      !c.perm) {
    if (!err.msg[0]) core_err_set(&err, CORE_ERR_NOMEM, "repro nghf: out of memory");
    core_free(ce_model);
    goto out;
  }
  nn_mlp_bind_params(c.cnet, c.theta);

  /* SGD learning rates tried on the first seed; the best final training criterion wins */
  static const double lr_grid[] = {0.3, 1.0, 3.0, 10.0, 30.0};
  const int n_grid = (int)(sizeof lr_grid / sizeof lr_grid[0]);
  double sgd_lr = lr_grid[0];
  NghfRun runs[NGHF_MAX_SEEDS][M_N];
  double ce_test_err[NGHF_MAX_SEEDS], ce_train[NGHF_MAX_SEEDS];

  for (int si = 0; si < cfg.n_seeds; si++) {
    uint64_t sd = cfg.seed0 + (uint64_t)si;
    double t0 = core_clock_seconds();
    train_ce(&c, sd);
    memcpy(ce_model, c.theta, c.P * sizeof(float));
    ce_train[si] = evaluate(c.eval, c.theta, NN_CURV_EXPECTED_ERROR, D.x_train, D.y_train,
                            D.n_train, D.d, NULL);
    evaluate(c.eval, c.theta, NN_CURV_EXPECTED_ERROR, D.x_test, D.y_test, D.n_test, D.d,
             &ce_test_err[si]);
    printf("\nseed %llu: CE model in %.1f s: train criterion %.5f, test error %.2f %%\n",
           (unsigned long long)sd, core_clock_seconds() - t0, ce_train[si], 100.0 * ce_test_err[si]);
    if (si == 0) {
      double best = INFINITY;
      printf("  SGD lr grid (final train criterion):");
      for (int k = 0; k < n_grid; k++) {
        NghfRun r;
        memcpy(c.theta, ce_model, c.P * sizeof(float));
        if (finetune(&c, M_SGD, lr_grid[k], sd, 0, &r, &err) < 0) goto out_free;
        printf(" %g:%.5f", lr_grid[k], r.train);
        if (r.train < best) best = r.train, sgd_lr = lr_grid[k];
      }
      printf("  -> lr %g%s\n", sgd_lr,
             sgd_lr == lr_grid[0] || sgd_lr == lr_grid[n_grid - 1] ? " (at the grid's edge)" : "");
    }
    for (int m = 0; m < M_N; m++) {
      memcpy(c.theta, ce_model, c.P * sizeof(float));
      NghfRun *r = &runs[si][m];
      if (finetune(&c, m, sgd_lr, sd, verbose, r, &err) < 0) goto out_free;
      r->train0 = ce_train[si];
      printf("  %-4s train criterion %.5f -> %.5f  held-out %.5f  test error %.2f %%  "
             "%5.1f s  products %4ld  evals %4ld  cg iters %4ld  no-step updates %d\n",
             method_names[m], ce_train[si], r->train, r->dev, 100.0 * r->test_err, r->secs,
             r->products, r->evals, r->cg_iters, r->no_step);
    }
  }

  /* ---------------------------------------------------------------- criteria */
  double mean_train[M_N] = {0}, mean_err[M_N] = {0};
  int rises = 0, solves = 0;
  double worst = 0.0;
  for (int m = 0; m < M_N; m++)
    for (int si = 0; si < cfg.n_seeds; si++) {
      mean_train[m] += runs[si][m].train / cfg.n_seeds;
      mean_err[m] += 100.0 * runs[si][m].test_err / cfg.n_seeds;
      rises += runs[si][m].q_increases;
      solves += runs[si][m].solves;
      if (runs[si][m].worst_q_rise > worst) worst = runs[si][m].worst_q_rise;
    }
  double cos_first = 0.0, cos_full = 0.0;
  if (toy_newton(&cos_first, &cos_full, &err) < 0) goto out_free;

  printf("\nsummary over %d seed(s), %d updates (train criterion = expected 0/1 error on the %d "
         "training images):\n", cfg.n_seeds, cfg.updates, D.n_train);
  double ce_mean = 0.0;
  for (int si = 0; si < cfg.n_seeds; si++) ce_mean += ce_train[si] / cfg.n_seeds;
  for (int m = 0; m < M_N; m++)
    printf("  %-4s train criterion %.5f (reduction %.5f)   test error %.2f %%\n", method_names[m],
           mean_train[m], ce_mean - mean_train[m], mean_err[m]);

  int pass1a = rises == 0, pass1b = cos_first >= 0.9999;
  int pass2 = mean_train[M_HF] < mean_train[M_SGD] && mean_train[M_NG] < mean_train[M_SGD] &&
              mean_train[M_NGHF] < mean_train[M_SGD];
  double lo = fmin(mean_err[M_NG], mean_err[M_HF]), hi = fmax(mean_err[M_NG], mean_err[M_HF]);
  int pass3 = mean_err[M_NGHF] <= lo + 0.2 && mean_err[M_NGHF] < hi;

  printf("\ncriteria (spec/papers.md part 2 §2d):\n");
  printf("  1a every CG solve lowers its quadratic: %d rises beyond rounding in %d solves "
         "(largest relative rise %.2g)  need 0  %s\n", rises, solves, worst,
         pass1a ? "PASS" : "FAIL");
  printf("  1b F = G toy (softmax CE): cos(NGHF first CG direction, Newton step) = %.6f  need >= "
         "0.9999  %s\n     (full NGHF solve: cos %.4f with Newton; the spec's update is "
         "−(G+λ)⁻¹(F+λ_F)⁻¹g, not Newton's)\n", cos_first, pass1b ? "PASS" : "FAIL", cos_full);
  printf("  2  train criterion after %d updates: SGD %.5f; HF %.5f, NG %.5f, NGHF %.5f  need each "
         "< SGD  %s\n", cfg.updates, mean_train[M_SGD], mean_train[M_HF], mean_train[M_NG],
         mean_train[M_NGHF], pass2 ? "PASS" : "FAIL");
  if (cfg.quick) {
    printf("  3  (information in --quick) test error: NGHF %.2f %%, NG %.2f %%, HF %.2f %%; full "
           "criterion: NGHF <= min + 0.2 and < max  %s\n", mean_err[M_NGHF], mean_err[M_NG],
           mean_err[M_HF], pass3 ? "would pass" : "would fail");
  } else {
    printf("  3  test error over %d seeds: NGHF %.2f %%; NG %.2f %%, HF %.2f %%  need <= %.2f and "
           "< %.2f  %s%s\n", cfg.n_seeds, mean_err[M_NGHF], mean_err[M_NG], mean_err[M_HF],
           lo + 0.2, hi, pass3 ? "PASS" : "FAIL",
           pass3 ? " (consistent with the paper)" : "");
  }
  int all = pass1a && pass1b && pass2 && (cfg.quick || pass3);
  printf("\n%s%s (%.0f s)\n", all ? "ALL PASS" : "SOME CRITERIA FAILED",
         cfg.rho_solved ? " [variant --nghf-rho-solved]" : "", core_clock_seconds() - t_start);
  rc = all ? 0 : 1;

out_free:
  core_free(ce_model);
out:
  if (rc && err.code) fprintf(stderr, "cemrl repro nghf: %s\n", err.msg);
  core_free(c.theta);
  core_free(c.grad);
  core_free(c.gtmp);
  core_free(c.xg);
  core_free(c.yg);
  core_free(c.perm);
  nn_curv_free(c.gcurv);
  nn_curv_free(c.ccurv);
  nn_mlp_free(c.eval);
  nn_mlp_free(c.cnet);
  data_free(&D);
  return rc;
}
