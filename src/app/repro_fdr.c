/* repro_fdr.c — `cemrl repro fdr`: Yaida's fluctuation-dissipation relations on a Fashion-MNIST
 * MLP, and the FDR learning-rate schedule (papers.md §3 (d)).
 *
 * The first 10 000 training images standardised, MLP 784-100-100-10 ReLU (Xavier, zero biases),
 * λ = 0.01 on every parameter (SGD's weight decay), batch 100 (100 steps/epoch), η = 0.1,
 * reshuffled every epoch. Three runs from the same initialisation and shuffles:
 *   A  μ = 0, fixed η, 100 epochs: FDR1, Ō_L/Ō_R → 1;
 *   B  μ = 0.5, ν = 0, fixed η, 70 epochs: FDR1' with its (1+μ)/(1−ν) factor, and the negative
 *      control without the (1+μ);
 *   C  μ = 0, the schedule (X = 0.01, Y = 0.1, checked at epoch ends, guard ≥ max(2 epochs, 500
 *      steps) since the last cut), 150 epochs.
 * --fdr2 adds the informative FDR2 check: run A continued at η = 0.1, 0.05, 0.02, 0.01 for 30
 * epochs each, with the full-batch ||∇f||² at every epoch end.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "app/app.h"
#include "app/repro.h"
#include "app/repro_optim.h"
#include "core/alloc.h"
#include "core/rng.h"
#include "optim/fdr.h"
#include "optim/opt.h"

#define FDR_MAX_EPOCHS 400

static const char fdr_usage[] =
    "usage: cemrl repro fdr [--quick] [--seed N] [--fdr2]\n\n"
    "Fluctuation-dissipation relations of SGD (Yaida 2019): MLP 784-100-100-10 on the first\n"
    "10000 Fashion-MNIST images, weight decay 0.01, batch 100, lr 0.1 (papers.md section 3 (d)):\n"
    "the ratio of the half-running averages O_L/O_R at fixed lr with momentum 0 and 0.5, the\n"
    "negative control, and the FDR schedule (X 0.01, Y 0.1). Exits 0 only if every criterion\n"
    "passes.\n\n"
    "  --quick    2000 images, MLP 784-32-10, weight decay 0.05, 50-image batches (seconds)\n"
    "  --seed N   initialisation and shuffling seed (0)\n"
    "  --fdr2     also the informative FDR2 check (lr 0.1, 0.05, 0.02, 0.01; 30 epochs each)\n";

/* The sizes of one version (full or quick). */
typedef struct {
  int64_t n_train, n_test;
  int hidden[2], n_hidden;
  int batch;
  double lr, wd;
  int epochs_a, epochs_b, epochs_c;
  double x, y;             /* schedule */
  int64_t guard;           /* records since the last cut before a check may cut */
  /* criteria windows (epochs) and tolerances */
  int c1_lo, c1_hi;        /* |ratio − 1| <= c1_tol at some epoch in [lo, hi] ... */
  double c1_tol, c1_after; /* ... and <= c1_after at every later epoch of run A */
  int c2_lo, c2_hi;        /* |ratio − 1| <= c2_tol at every epoch in [lo, hi] of run B */
  double c2_tol;
  int c4_lo, c4_hi;        /* first cut in [lo, hi] */
  int c4_min_cuts;
  int fdr2_epochs;
  uint64_t seed;
} FdrSetup;

/* What one run measured, per epoch e = 1..epochs (index 0 unused). */
typedef struct {
  double mu;
  int schedule;
  int epochs;
  double ratio[FDR_MAX_EPOCHS + 1];       /* Ō_L/Ō_R at the epoch end (before any cut) */
  double ratio_nomu[FDR_MAX_EPOCHS + 1];  /* Ō_L over Ō_R without its (1+μ) */
  double lr[FDR_MAX_EPOCHS + 1];          /* the rate used during the epoch */
  double loss[FDR_MAX_EPOCHS + 1];        /* regularised full-batch loss (NaN if not measured) */
  int cut[FDR_MAX_EPOCHS + 1];
  double test_acc;
} FdrRun;

/* The live parts of a run. */
typedef struct {
  NnMlp *net;
  Opt *opt;
  Fdr *fdr;
  int64_t *perm;
  ReproOptBuf buf;
  CoreRng data;
} FdrState;


static void fdr_state_release(FdrState *s) {
  repro_opt_buf_release(&s->buf);
  core_free(s->perm);
  fdr_free(s->fdr);
  opt_free(s->opt);
  nn_mlp_free(s->net);
  memset(s, 0, sizeof *s);
}


static int fdr_state_init(FdrState *s, const SupTask *t, const FdrSetup *st, double mu,
                          CoreErr *err) {
  memset(s, 0, sizeof *s);
  s->net = repro_opt_mlp(t->in_dim, st->hidden, st->n_hidden, t->out_dim, 500, 0, st->seed, err);
  if (!s->net) return err ? err->code : CORE_ERR_NOMEM;
  OptSettings os = opt_settings_default(OPT_SGD);
  os.lr = st->lr;
  os.momentum = mu;
  os.weight_decay = st->wd;
  FdrSettings fs = fdr_settings_default();
  fs.x = st->x;
  fs.y = st->y;
  fs.min_records = st->guard;
  s->perm = core_malloc((size_t)t->n[SUP_TRAIN] * sizeof(int64_t));
  if (!(s->opt = opt_create(&os, s->net->n_params, err)) || !(s->fdr = fdr_create(&fs, err)) ||
      repro_opt_buf_init(&s->buf, t, s->net->max_batch, err) < 0 || !s->perm) {
    fdr_state_release(s);
    return core_err_set(err, err && err->code ? err->code : CORE_ERR_NOMEM,
                        "%s", err && err->code ? err->msg : "repro fdr: no memory");
  }
  core_rng_stream(&s->data, st->seed, CORE_RNG_DATA, 0);
  return CORE_OK;
}


/* One epoch of SGD with the observables recorded before every step. */
static void fdr_epoch(FdrState *s, const SupTask *t, const FdrSetup *st) {
  const int64_t n = t->n[SUP_TRAIN];
  sup_perm_shuffle(s->perm, n, &s->data);
  for (int64_t i0 = 0; i0 + st->batch <= n; i0 += st->batch) {
    repro_opt_minibatch(t, s->net, &s->buf, s->perm + i0, st->batch);
    fdr_observe_sgd(s->fdr, s->opt, s->net->params, s->net->grads);
    opt_step(s->opt, s->net->params, s->net->grads);
  }
}


/* Regularised full-batch loss f = mean loss + (λ/2)||θ||²; with g2 also ||∇f||² (λθ included). */
static double fdr_full_loss(FdrState *s, const SupTask *t, const FdrSetup *st, double *g2) {
  double loss;
  NnMlp *net = s->net;
  repro_opt_full(t, net, &s->buf, 0, g2 != NULL, &loss, NULL);
  if (g2) {
    double q = 0.0;
    for (size_t i = 0; i < net->n_params; i++) {
      double g = (double)net->grads[i] + st->wd * net->params[i];
      q += g * g;
    }
    *g2 = q;
  }
  return loss + 0.5 * st->wd * repro_opt_norm2(net->params, net->n_params);
}


/* Run r->epochs epochs; with r->schedule, check the FDR test at every epoch end. The state is
 * left in *keep when keep is not NULL (for the FDR2 continuation). */
static int fdr_run(const SupTask *t, const FdrSetup *st, FdrRun *r, FdrState *keep, CoreErr *err) {
  FdrState s;
  int rc = fdr_state_init(&s, t, st, r->mu, err);
  if (rc < 0) return rc;
  printf("%6s %9s %s %9s %10s\n", "epoch", "ratio", r->mu > 0 ? "ratio w/o (1+mu)" : "", "lr",
         "f (reg.)");
  for (int e = 1; e <= r->epochs; e++) {
    r->lr[e] = s.opt->set.lr;
    fdr_epoch(&s, t, st);
    FdrAverages a = fdr_averages(s.fdr);
    r->ratio[e] = a.ratio;
    r->ratio_nomu[e] = a.o_l / (a.o_r / (1.0 + r->mu));
    r->loss[e] = NAN;
    if (r->schedule) {
      FdrDecision d = fdr_check(s.fdr, s.opt->set.lr);
      r->cut[e] = d.cut;
      if (d.cut) opt_set_lr(s.opt, d.lr_after);
    }
    int show = e <= 3 || e % 5 == 0 || e == r->epochs || r->cut[e];
    if (show || r->schedule) r->loss[e] = fdr_full_loss(&s, t, st, NULL);
    if (show) {
      printf("%6d %9.4f", e, r->ratio[e]);
      if (r->mu > 0) printf(" %16.4f", r->ratio_nomu[e]);
      printf(" %9.4g %10.4f%s\n", r->lr[e], r->loss[e], r->cut[e] ? "   <- cut" : "");
      fflush(stdout);
    }
  }
  SupEval ev;
  sup_task_evaluate(t, s.net, SUP_TEST, 0, s.buf.x, s.buf.y, &ev);
  r->test_acc = ev.acc;
  printf("test accuracy %.4f\n", ev.acc);
  if (keep) {
    *keep = s;
  } else {
    fdr_state_release(&s);
  }
  return CORE_OK;
}


/* FDR2 (informative): continue at each η for st->fdr2_epochs epochs; Ō_FB per η. */
static void fdr_fdr2(FdrState *s, const SupTask *t, const FdrSetup *st) {
  const double etas[4] = {0.1, 0.05, 0.02, 0.01};
  double ofb[4];
  printf("\nFDR2 (informative, not prototyped): run A continued, %d epochs per lr, half-running "
         "average of the epoch-end full-batch |grad f|^2\n", st->fdr2_epochs);
  for (int k = 0; k < 4; k++) {
    opt_set_lr(s->opt, etas[k]);
    fdr_reset(s->fdr);
    for (int e = 1; e <= st->fdr2_epochs; e++) {
      fdr_epoch(s, t, st);
      double g2;
      fdr_full_loss(s, t, st, &g2);
      fdr_record_full(s->fdr, g2);   /* μ = 0: O_FB = (1 − ν)||∇f||² */
    }
    FdrAverages a = fdr_averages(s->fdr);
    ofb[k] = a.full_g2;
    printf("  lr %-5g  O_FB %.5g  O_FB/lr %.5g  ratio O_L/O_R %.4f\n", etas[k], ofb[k],
           ofb[k] / etas[k], a.ratio);
    fflush(stdout);
  }
  int mono = ofb[0] > ofb[1] && ofb[1] > ofb[2] && ofb[2] > ofb[3];
  double slope = (ofb[2] / etas[2]) / (ofb[3] / etas[3]);
  printf("  [INFO] O_FB decreases monotonically with lr: %s\n", mono ? "yes" : "no");
  printf("  [INFO] O_FB/lr at lr 0.02 and 0.01 agree within 30%%: %s (ratio %.3f)\n",
         fabs(slope - 1.0) <= 0.3 ? "yes" : "no", slope);
}


int repro_fdr(int argc, char **argv) {
  ReproOptArgs args;
  int rc = repro_opt_args(argc, argv, fdr_usage, "--fdr2", &args);
  if (rc) return rc == 1 ? 0 : rc;
  FdrSetup st = {
    .n_train = 10000, .n_test = 0, .hidden = {100, 100}, .n_hidden = 2, .batch = 100,
    .lr = 0.1, .wd = 0.01, .epochs_a = 100, .epochs_b = 70, .epochs_c = 150,
    .x = 0.01, .y = 0.1, .guard = 500,
    .c1_lo = 40, .c1_hi = 80, .c1_tol = 0.03, .c1_after = 0.05,
    .c2_lo = 40, .c2_hi = 70, .c2_tol = 0.02,
    .c4_lo = 30, .c4_hi = 80, .c4_min_cuts = 2, .fdr2_epochs = 30, .seed = args.seed,
  };
  if (args.quick) {
    /* a smaller net and a stronger λ equilibrate within a few hundred steps */
    st = (FdrSetup){
      .n_train = 2000, .n_test = 1000, .hidden = {32, 0}, .n_hidden = 1, .batch = 50,
      .lr = 0.1, .wd = 0.05, .epochs_a = 40, .epochs_b = 40, .epochs_c = 60,
      .x = 0.02, .y = 0.1, .guard = 500,
      .c1_lo = 15, .c1_hi = 40, .c1_tol = 0.03, .c1_after = 0.05,
      .c2_lo = 25, .c2_hi = 40, .c2_tol = 0.03,
      .c4_lo = 8, .c4_hi = 40, .c4_min_cuts = 2, .fdr2_epochs = 10, .seed = args.seed,
    };
  }
  const int64_t spe = st.n_train / st.batch;   /* steps per epoch */
  if (st.guard < 2 * spe) st.guard = 2 * spe;  /* max(2 epochs, 500 steps) */
  CoreErr err;
  core_err_clear(&err);
  SupTask *t = repro_opt_fmnist(st.n_train, st.n_test, &err);
  if (!t) return app_fail(&err);
  printf("FDR (Yaida): MLP %d-", t->in_dim);
  for (int h = 0; h < st.n_hidden; h++) printf("%d-", st.hidden[h]);
  printf("%d on %lld Fashion-MNIST images, weight decay %g, batch %d (%lld steps/epoch), "
         "lr %g%s\n", t->out_dim, (long long)t->n[SUP_TRAIN], st.wd, st.batch, (long long)spe,
         st.lr, args.quick ? " [quick]" : "");

  static FdrRun ra, rb, rs;
  memset(&ra, 0, sizeof ra);
  memset(&rb, 0, sizeof rb);
  memset(&rs, 0, sizeof rs);
  ra = (FdrRun){.mu = 0.0, .epochs = st.epochs_a};
  rb = (FdrRun){.mu = 0.5, .epochs = st.epochs_b};
  rs = (FdrRun){.mu = 0.0, .schedule = 1, .epochs = st.epochs_c};
  FdrState keep;
  memset(&keep, 0, sizeof keep);

  printf("\nA: momentum 0, fixed lr, %d epochs\n", ra.epochs);
  if ((rc = fdr_run(t, &st, &ra, args.extra ? &keep : NULL, &err)) < 0) goto fail;
  if (args.extra) {
    fdr_fdr2(&keep, t, &st);
    fdr_state_release(&keep);
  }
  printf("\nB: momentum 0.5, dampening 0, fixed lr, %d epochs\n", rb.epochs);
  if ((rc = fdr_run(t, &st, &rb, NULL, &err)) < 0) goto fail;
  printf("\nC: momentum 0, FDR schedule X %g, Y %g, checked every epoch, guard %lld steps, %d "
         "epochs\n", st.x, st.y, (long long)st.guard, rs.epochs);
  if ((rc = fdr_run(t, &st, &rs, NULL, &err)) < 0) goto fail;

  /* criteria (papers.md §3 (d)) */
  ReproTally tally = {0};
  printf("\ncriteria:\n");
  int first_ok = -1;
  for (int e = st.c1_lo; e <= st.c1_hi && e <= ra.epochs; e++) {
    if (fabs(ra.ratio[e] - 1.0) <= st.c1_tol) {
      first_ok = e;
      break;
    }
  }
  double worst_after = 0.0;
  int worst_after_e = -1;
  for (int e = first_ok > 0 ? first_ok + 1 : ra.epochs + 1; e <= ra.epochs; e++) {
    double d = fabs(ra.ratio[e] - 1.0);
    if (d > worst_after) {
      worst_after = d;
      worst_after_e = e;
    }
  }
  repro_opt_check(&tally, first_ok > 0 && worst_after <= st.c1_after,
                  "1. FDR1, mu 0: |ratio - 1| <= %g at some epoch in [%d, %d] (first: %s%d, "
                  "ratio %.4f) and <= %g thereafter to epoch %d (largest %.4f%s%d)", st.c1_tol,
                  st.c1_lo, st.c1_hi, first_ok > 0 ? "epoch " : "none ", first_ok,
                  first_ok > 0 ? ra.ratio[first_ok] : NAN, st.c1_after, ra.epochs, worst_after,
                  worst_after_e > 0 ? " at epoch " : "", worst_after_e > 0 ? worst_after_e : 0);
  double worst_b = 0.0, worst_nomu = INFINITY;
  int worst_b_e = st.c2_lo;
  for (int e = st.c2_lo; e <= st.c2_hi && e <= rb.epochs; e++) {
    double d = fabs(rb.ratio[e] - 1.0);
    if (d > worst_b) {
      worst_b = d;
      worst_b_e = e;
    }
    double dn = fabs(rb.ratio_nomu[e] - 1.0);
    worst_nomu = dn < worst_nomu ? dn : worst_nomu;
  }
  repro_opt_check(&tally, worst_b <= st.c2_tol,
                  "2. FDR1', mu 0.5: |ratio - 1| <= %g at every epoch in [%d, %d] (largest %.4f at "
                  "epoch %d)", st.c2_tol, st.c2_lo, st.c2_hi, worst_b, worst_b_e);
  repro_opt_check(&tally, worst_nomu > st.c2_tol,
                  "3. negative control: without the (1+mu) factor criterion 2 fails (ratio at "
                  "epoch %d: %.4f; smallest |ratio - 1| in the window %.4f)", st.c2_hi,
                  rb.ratio_nomu[st.c2_hi < rb.epochs ? st.c2_hi : rb.epochs], worst_nomu);
  int cuts = 0, first_cut = -1, last_cut = -1, lr_up = 0, cut_outside = 0;
  for (int e = 1; e <= rs.epochs; e++) {
    if (e > 1 && rs.lr[e] > rs.lr[e - 1]) lr_up = 1;
    if (!rs.cut[e]) continue;
    cuts++;
    if (first_cut < 0) first_cut = e;
    last_cut = e;
    if (!(fabs(rs.ratio[e] - 1.0) < st.x)) cut_outside = 1;
  }
  printf("  schedule: %d cuts at epochs", cuts);
  for (int e = 1; e <= rs.epochs; e++)
    if (rs.cut[e]) printf(" %d (ratio %.4f)", e, rs.ratio[e]);
  double lr_end = rs.lr[rs.epochs] * (rs.cut[rs.epochs] ? 1.0 - st.y : 1.0);
  printf("; lr %g -> %.4g\n", st.lr, lr_end);
  double loss_first = first_cut > 0 ? rs.loss[first_cut] : NAN;
  double loss_end = rs.loss[rs.epochs];
  repro_opt_check(&tally, first_cut >= st.c4_lo && first_cut <= st.c4_hi,
                  "4a. schedule: first cut in epochs [%d, %d] (epoch %d)", st.c4_lo, st.c4_hi,
                  first_cut);
  repro_opt_check(&tally, cuts >= st.c4_min_cuts, "4b. schedule: >= %d cuts within %d epochs (%d)",
                  st.c4_min_cuts, rs.epochs, cuts);
  repro_opt_check(&tally, !lr_up, "4c. schedule: the learning rate never increases");
  repro_opt_check(&tally, cuts > 0 && !cut_outside,
                  "4d. schedule: every cut at |ratio - 1| < X = %g",
                  st.x);
  repro_opt_check(&tally, last_cut > 0 && loss_end <= loss_first,
                  "4e. schedule: regularised full-batch loss after the last cut %.4f (epoch %d) <= "
                  "at the first cut %.4f (epoch %d)", loss_end, rs.epochs, loss_first, first_cut);
  printf("  (test accuracy: A %.4f, B %.4f, C %.4f; proto: ratio 1.069 (ep 40) -> 1.009 (47); "
         "mu 0.5: 0.985-0.997 (25-70); cuts at 47, 61, 70, 75; loss 0.513 at the first cut)\n",
         ra.test_acc, rb.test_acc, rs.test_acc);
  sup_task_free(t);
  return repro_opt_finish(&tally, "repro fdr");
fail:
  sup_task_free(t);
  return app_fail(&err);
}
