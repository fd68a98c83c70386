/* repro_vmf.c — `cemrl repro vmf`: the concentration κ̂ of minibatch-gradient directions falls
 * during SGD toward (but stays above) the uniform floor, and the gradient stochasticity tracks
 * κ̂ more closely than it tracks the gradient-norm stochasticity (Lee, Cho & Kang;
 * papers.md §4 (d)).
 *
 * The first 20 000 Fashion-MNIST training images standardised, MLP 784-100-100-10 ReLU (Xavier,
 * zero biases), plain SGD η = 0.1, batch 64, 15 epochs. At init and after every epoch, at frozen
 * θ: 100 disjoint minibatches of 64 (a fresh permutation each time), their gradients → κ̂
 * (Banerjee), R̄, GNS, GS. The floor is κ̂ of 100 Gaussian directions in R^p.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "app/app.h"
#include "app/repro.h"
#include "app/repro_optim.h"
#include "core/alloc.h"
#include "core/rng.h"
#include "optim/opt.h"
#include "optim/vmf.h"

#define VMF_MAX_CKPT 64

static const char vmf_usage[] =
    "usage: cemrl repro vmf [--quick] [--seed N]\n\n"
    "Directional statistics of SGD minibatch gradients (Lee, Cho & Kang 2018): MLP\n"
    "784-100-100-10 on the first 20000 Fashion-MNIST images, SGD lr 0.1, batch 64, 15 epochs;\n"
    "at init and after each epoch the vMF concentration of 100 minibatch-gradient directions,\n"
    "GNS and GS (papers.md section 4 (d)). Exits 0 only if every criterion passes.\n\n"
    "  --quick    3000 images, MLP 784-32-10, 10 epochs, 40 batches of 32 (seconds)\n"
    "  --seed N   initialisation and shuffling seed (0)\n";

typedef struct {
  int64_t n_train;
  int hidden[2], n_hidden;
  int batch, epochs;       /* SGD */
  int nb, vb;              /* checkpoint: nb minibatches of vb */
  double lr;
  uint64_t seed;
} VmfSetup;

/* Statistics of nb disjoint minibatch gradients at the current parameters. */
static VmfStats vmf_measure(const SupTask *t, NnMlp *net, ReproOptBuf *buf, VmfAcc *acc,
                            int64_t *perm, const VmfSetup *st, CoreRng *rng) {
  vmf_acc_reset(acc);
  sup_perm_shuffle(perm, t->n[SUP_TRAIN], rng);
  for (int i = 0; i < st->nb; i++) {
    repro_opt_minibatch(t, net, buf, perm + (int64_t)i * st->vb, st->vb);
    vmf_acc_add(acc, net->grads);
  }
  return vmf_acc_stats(acc);
}


int repro_vmf(int argc, char **argv) {
  ReproOptArgs args;
  int rc = repro_opt_args(argc, argv, vmf_usage, NULL, &args);
  if (rc) return rc == 1 ? 0 : rc;
  VmfSetup st = {.n_train = 20000, .hidden = {100, 100}, .n_hidden = 2, .batch = 64,
                 .epochs = 15, .nb = 100, .vb = 64, .lr = 0.1, .seed = args.seed};
  if (args.quick) {
    st = (VmfSetup){.n_train = 3000, .hidden = {32, 0}, .n_hidden = 1, .batch = 32, .epochs = 10,
                    .nb = 40, .vb = 32, .lr = 0.1, .seed = args.seed};
  }
  CoreErr err;
  core_err_clear(&err);
  SupTask *t = repro_opt_fmnist(st.n_train, args.quick ? 1000 : 0, &err);
  if (!t) return app_fail(&err);
  NnMlp *net = repro_opt_mlp(t->in_dim, st.hidden, st.n_hidden, t->out_dim, 500, 0, st.seed, &err);
  OptSettings os = opt_settings_default(OPT_SGD);
  os.lr = st.lr;
  Opt *o = net ? opt_create(&os, net->n_params, &err) : NULL;
  VmfAcc *acc = net ? vmf_acc_create(net->n_params, &err) : NULL;
  int64_t *perm = core_malloc((size_t)t->n[SUP_TRAIN] * sizeof(int64_t));
  int64_t *vperm = core_malloc((size_t)t->n[SUP_TRAIN] * sizeof(int64_t));
  float *gauss = net ? core_malloc(net->n_params * sizeof(float)) : NULL;
  ReproOptBuf buf = {0};
  if (!net || !o || !acc || !perm || !vperm || !gauss ||
      repro_opt_buf_init(&buf, t, net->max_batch, &err) < 0) {
    if (!err.code) core_err_set(&err, CORE_ERR_NOMEM, "repro vmf: no memory");
    rc = app_fail(&err);
    goto done;
  }
  const size_t p = net->n_params;
  if ((int64_t)st.nb * st.vb > t->n[SUP_TRAIN]) {
    rc = app_usage_error("repro vmf", "%d batches of %d need more than %lld examples", st.nb,
                         st.vb, (long long)t->n[SUP_TRAIN]);
    goto done;
  }
  printf("vMF directions of SGD gradients (Lee, Cho & Kang): MLP %d-", t->in_dim);
  for (int h = 0; h < st.n_hidden; h++) printf("%d-", st.hidden[h]);
  printf("%d (p = %zu) on %lld Fashion-MNIST images, SGD lr %g, batch %d, %d epochs; %d "
         "gradients of batch %d per checkpoint%s\n", t->out_dim, p,
         (long long)t->n[SUP_TRAIN], st.lr, st.batch, st.epochs, st.nb, st.vb,
         args.quick ? " [quick]" : "");

  /* the floor: κ̂ of nb Gaussian (uniform) directions in R^p */
  CoreRng grng;
  core_rng_stream(&grng, st.seed, CORE_RNG_MAIN, 7);
  vmf_acc_reset(acc);
  for (int i = 0; i < st.nb; i++) {
    core_rng_normal_fill(&grng, gauss, (long)p, 0.0, 1.0);
    vmf_acc_add(acc, gauss);
  }
  double floor_ = vmf_acc_stats(acc).kappa;
  printf("uniform floor: kappa of %d Gaussian directions = %.4g (p/sqrt(n) = %.4g)\n\n", st.nb,
         floor_, (double)p / sqrt((double)st.nb));

  CoreRng drng, vrng;
  core_rng_stream(&drng, st.seed, CORE_RNG_DATA, 0);
  core_rng_stream(&vrng, st.seed, CORE_RNG_DATA, 1);
  double kappa[VMF_MAX_CKPT], gs[VMF_MAX_CKPT], gns[VMF_MAX_CKPT];
  int nc = 0;
  const int64_t n = t->n[SUP_TRAIN];
  const int steps = (int)(n / st.batch);
  printf("%5s %11s %8s %8s %9s %9s %9s %8s\n", "epoch", "kappa", "k/floor", "Rbar", "GNS", "GS",
         "loss", "test acc");
  for (int e = 0; e <= st.epochs; e++) {
    if (e > 0) {
      sup_perm_shuffle(perm, n, &drng);
      for (int k = 0; k < steps; k++) {
        repro_opt_minibatch(t, net, &buf, perm + (int64_t)k * st.batch, st.batch);
        opt_step(o, net->params, net->grads);
      }
    }
    VmfStats v = vmf_measure(t, net, &buf, acc, vperm, &st, &vrng);
    double loss;
    SupEval ev;
    repro_opt_full(t, net, &buf, 0, 0, &loss, NULL);
    sup_task_evaluate(t, net, SUP_TEST, 0, buf.x, buf.y, &ev);
    kappa[nc] = v.kappa;
    gs[nc] = v.gs;
    gns[nc] = v.gns;
    nc++;
    printf("%5d %11.4g %8.2f %8.4f %9.4f %9.4f %9.4f %8.4f\n", e, v.kappa, v.kappa / floor_, v.rbar,
           v.gns, v.gs, loss, ev.acc);
    fflush(stdout);
  }

  /* criteria (papers.md §4 (d)) */
  ReproTally tally = {0};
  double last5 = 0.0;
  int nlast = nc - 1 < 5 ? nc - 1 : 5;
  for (int i = nc - nlast; i < nc; i++) last5 += kappa[i] / nlast;
  double min_kappa = INFINITY;
  for (int i = 0; i < nc; i++) min_kappa = kappa[i] < min_kappa ? kappa[i] : min_kappa;
  double rho_k = vmf_spearman(gs, kappa, nc), rho_n = vmf_spearman(gs, gns, nc);
  printf("\nSpearman(GS, kappa) = %+.3f, Spearman(GS, GNS) = %+.3f\n\ncriteria:\n", rho_k, rho_n);
  repro_opt_check(&tally, last5 <= 0.35 * kappa[0],
                  "mean kappa over the last %d checkpoints %.4g <= 0.35 x kappa(init) %.4g = %.4g "
                  "(ratio %.3f)", nlast, last5, kappa[0], 0.35 * kappa[0], last5 / kappa[0]);
  repro_opt_check(&tally, min_kappa > floor_,
                  "every kappa > the uniform floor %.4g (smallest %.4g, %.2fx the floor)", floor_,
                  min_kappa, min_kappa / floor_);
  repro_opt_check(&tally, fabs(rho_k) >= 0.8,
                  "|Spearman(GS, kappa)| = %.3f >= 0.8", fabs(rho_k));
  repro_opt_check(&tally, fabs(rho_k) > fabs(rho_n) || (isnan(rho_n) && !isnan(rho_k)),
                  "|Spearman(GS, kappa)| = %.3f > |Spearman(GS, GNS)| = %.3f", fabs(rho_k),
                  fabs(rho_n));
  printf("  (proto, full run: kappa 2.32e5 (init) -> 8.8e4 (1) -> 2.5e4-4.6e4 (9-15); floor "
         "9.0e3; Spearman(GS, kappa) -1.00, (GS, GNS) +0.44)\n");
  rc = repro_opt_finish(&tally, "repro vmf");
done:
  repro_opt_buf_release(&buf);
  core_free(gauss);
  core_free(perm);
  core_free(vperm);
  vmf_acc_free(acc);
  opt_free(o);
  nn_mlp_free(net);
  sup_task_free(t);
  return rc;
}
