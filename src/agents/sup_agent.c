/* sup_agent.c — the supervised learner (method "supervised"): minibatch training of an MLP on a
 * supervised task with any src/optim optimizer, as an Agent the trainer runs.
 *
 * The task is the one behind s->env (a "Sup-<Task>-v0" / "SupFit-<Task>-v0" name), built with the
 * sup section's data options. One iterate() is one epoch: the training split in minibatches of
 * sup.batch_size (reshuffled each epoch from CORE_RNG_DATA; the last batch may be short), each a
 * forward, the task's loss, a backward and one optimizer step. total_steps counts training
 * examples seen, so total_steps = epochs x n_train and eval_period = n_train logs every epoch;
 * episodes counts epochs. The trainer's evaluation calls sup_evaluate (the AgentVt hook): the
 * test split's loss and accuracy (the training split when the task has no test examples), with
 * eval_mean = -(test loss), plus the optional full-batch training figures and the diagnostics:
 * Yaida's FDR averages (and schedule) and the vMF concentration of minibatch-gradient directions.
 * The policy is the network itself, so `cemrl eval` runs it on the task's env.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "agents/agent.h"
#include "core/alloc.h"
#include "core/log.h"
#include "envs/sup.h"
#include "envs/sup_env.h"
#include "optim/fdr.h"
#include "optim/vmf.h"

enum {
  ST_TRAIN_LOSS = 0,   /* mean minibatch loss over the last epoch */
  ST_TRAIN_ACC,        /* minibatch accuracy over the last epoch */
  ST_TEST_LOSS,
  ST_TEST_ACC,
  ST_FULL_LOSS,        /* full-batch training loss at the evaluation (full_train_loss) */
  ST_FULL_ACC,
  ST_LR,               /* learning rate in force */
  ST_GRAD_NORM,        /* mean minibatch |g| over the last epoch */
  ST_PARAM_NORM,
  ST_FDR_RATIO,        /* Ō_L/Ō_R since the last cut */
  ST_FDR_CUTS,
  ST_KAPPA,            /* vMF κ̂ of minibatch-gradient directions */
  ST_KAPPA_UNIFORM,    /* its floor for uniform directions */
  ST_GNS,
  ST_GS,
  ST_N
};

static const char *const stat_names[ST_N] = {
    "train_loss", "train_acc", "test_loss", "test_acc", "full_train_loss", "full_train_acc",
    "lr", "grad_norm", "param_norm", "fdr_ratio", "fdr_cuts", "vmf_kappa", "vmf_kappa_uniform",
    "gns", "gs"};

typedef struct {
  Agent base;
  SupTask *task;
  NnMlp *net;                /* max_batch = sup.batch_size */
  Opt *opt;
  Fdr *fdr;                  /* NULL unless sup.fdr */
  VmfAcc *vmf;               /* NULL unless sup.vmf_batches > 0 */
  CoreRng data;              /* epoch shuffles */
  int64_t *perm;             /* (n_train) */
  float *x, *y, *dy;         /* (B, in_dim), (B, y_dim), (B, out_dim) */
  float *gtmp;               /* (n_params) a minibatch gradient with weight decay (vMF), or NULL */
  int64_t *vperm;            /* (n_train) the vMF batches' permutation, or NULL */
  int eval_split;            /* SUP_TEST, or SUP_TRAIN when the task has no test examples */
} SupAgent;

static double norm2_(const float *v, size_t n) {
  double s = 0.0;
  for (size_t i = 0; i < n; i++) s += (double)v[i] * v[i];
  return s;
}

/* ---------------------------------------------------------------- one epoch */

static int sup_iterate(Agent *a, CoreErr *err) {
  SupAgent *sa = (SupAgent *)a;
  const SupTask *t = sa->task;
  NnMlp *net = sa->net;
  const int64_t n = t->n[SUP_TRAIN];
  const int B = net->max_batch;
  if (a->s.sup.shuffle) sup_perm_shuffle(sa->perm, n, &sa->data);
  double loss_sum = 0.0, gnorm_sum = 0.0;
  int64_t correct = 0, steps = 0;
  for (int64_t i0 = 0; i0 < n; i0 += B) {
    int b = (int)(n - i0 < B ? n - i0 : B);
    sup_task_batch(t, SUP_TRAIN, sa->perm + i0, b, sa->x, sa->y);
    nn_mlp_zero_grad(net);
    const float *u = nn_mlp_forward(net, sa->x, b);
    double loss = sup_task_loss(t, u, sa->y, b, sa->dy);
    if (!isfinite(loss))
      return core_err_set(err, CORE_ERR_RUNTIME, "supervised: the training loss became %g at "
                          "epoch %lld, example %lld (diverged: lower sup.opt.lr)", loss,
                          (long long)a->episodes + 1, (long long)i0);
    if (sup_task_has_accuracy(t)) correct += sup_task_correct(t, u, sa->y, b);
    nn_mlp_backward(net, sa->dy, NULL, 0);
    gnorm_sum += sqrt(norm2_(net->grads, net->n_params));
    if (sa->fdr) fdr_observe_sgd(sa->fdr, sa->opt, net->params, net->grads);
    opt_step(sa->opt, net->params, net->grads);
    loss_sum += loss * b;
    steps++;
  }
  /* the FDR schedule checks at epoch ends, as the paper does */
  if (sa->fdr && a->s.sup.fdr_schedule) {
    FdrDecision d = fdr_check(sa->fdr, sa->opt->set.lr);
    if (d.cut) opt_set_lr(sa->opt, d.lr_after);
  }
  a->total_steps += n;
  a->episodes++;
  a->stats[ST_TRAIN_LOSS] = loss_sum / (double)n;
  a->stats[ST_TRAIN_ACC] = sup_task_has_accuracy(t) ? (double)correct / (double)n : NAN;
  a->stats[ST_GRAD_NORM] = gnorm_sum / (double)steps;
  a->stats[ST_LR] = sa->opt->set.lr;
  return 0;
}

static NnMlp *sup_policy(Agent *a) { return ((SupAgent *)a)->net; }

/* ---------------------------------------------------------------- evaluation */

/* Loss, accuracy and gradient of the whole training split (gradient into net->grads, weight
 * decay not included); returns |∇f|² with the optimizer's weight decay added. */
static double full_batch_(SupAgent *sa, double *loss_out, double *acc_out) {
  const SupTask *t = sa->task;
  NnMlp *net = sa->net;
  const int64_t n = t->n[SUP_TRAIN];
  double loss = 0.0;
  int64_t correct = 0;
  nn_mlp_zero_grad(net);
  for (int64_t i0 = 0; i0 < n; i0 += net->max_batch) {
    int b = (int)(n - i0 < net->max_batch ? n - i0 : net->max_batch);
    sup_task_range(t, SUP_TRAIN, i0, b, sa->x, sa->y);
    const float *u = nn_mlp_forward(net, sa->x, b);
    loss += sup_task_loss(t, u, sa->y, b, sa->dy) * b;
    if (sup_task_has_accuracy(t)) correct += sup_task_correct(t, u, sa->y, b);
    /* the chunk's mean gradient weighted by its share b/n sums to the full-batch mean */
    const float w = (float)b / (float)n;
    for (size_t k = 0; k < (size_t)b * t->out_dim; k++) sa->dy[k] *= w;
    nn_mlp_backward(net, sa->dy, NULL, 0);
  }
  *loss_out = loss / (double)n;
  *acc_out = sup_task_has_accuracy(t) ? (double)correct / (double)n : NAN;
  const double wd = sa->opt->set.weight_decay;
  double g2 = 0.0;
  for (size_t i = 0; i < net->n_params; i++) {
    double g = (double)net->grads[i] + wd * net->params[i];
    g2 += g * g;
  }
  return g2;
}

/* vMF statistics of vmf_batches disjoint minibatch gradients at the current parameters. */
static void vmf_measure_(SupAgent *sa, uint64_t seed) {
  const SupTask *t = sa->task;
  NnMlp *net = sa->net;
  const int nb = sa->base.s.sup.vmf_batches;
  int b = sa->base.s.sup.vmf_batch_size;
  if (b > net->max_batch) b = net->max_batch;
  if ((int64_t)nb * b > t->n[SUP_TRAIN]) b = (int)(t->n[SUP_TRAIN] / nb);
  if (b < 1) return;
  /* disjoint batches from a permutation of their own (the epoch order is left alone) */
  CoreRng rng;
  core_rng_stream(&rng, seed, CORE_RNG_DATA, 1);
  sup_perm_shuffle(sa->vperm, t->n[SUP_TRAIN], &rng);
  vmf_acc_reset(sa->vmf);
  const double wd = sa->opt->set.weight_decay;
  for (int k = 0; k < nb; k++) {
    sup_task_batch(t, SUP_TRAIN, sa->vperm + (int64_t)k * b, b, sa->x, sa->y);
    nn_mlp_zero_grad(net);
    const float *u = nn_mlp_forward(net, sa->x, b);
    sup_task_loss(t, u, sa->y, b, sa->dy);
    nn_mlp_backward(net, sa->dy, NULL, 0);
    for (size_t i = 0; i < net->n_params; i++)
      sa->gtmp[i] = net->grads[i] + (float)wd * net->params[i];
    vmf_acc_add(sa->vmf, sa->gtmp);
  }
  VmfStats v = vmf_acc_stats(sa->vmf);
  sa->base.stats[ST_KAPPA] = v.kappa;
  sa->base.stats[ST_KAPPA_UNIFORM] = v.kappa_uniform;
  sa->base.stats[ST_GNS] = v.gns;
  sa->base.stats[ST_GS] = v.gs;
}

static int sup_evaluate(Agent *a, uint64_t seed, EnvEvalStats *out, CoreErr *err) {
  (void)err;
  SupAgent *sa = (SupAgent *)a;
  SupEval ev;
  sup_task_evaluate(sa->task, sa->net, sa->eval_split, 0, sa->x, sa->y, &ev);
  a->stats[ST_TEST_LOSS] = ev.loss;
  a->stats[ST_TEST_ACC] = ev.acc;
  a->stats[ST_PARAM_NORM] = sqrt(norm2_(sa->net->params, sa->net->n_params));
  a->stats[ST_LR] = sa->opt->set.lr;
  if (a->s.sup.full_train_loss) {
    double loss, acc;
    double g2 = full_batch_(sa, &loss, &acc);
    a->stats[ST_FULL_LOSS] = loss;
    a->stats[ST_FULL_ACC] = acc;
    if (sa->fdr) fdr_record_full(sa->fdr, g2);
  }
  if (sa->fdr) {
    FdrAverages av = fdr_averages(sa->fdr);
    a->stats[ST_FDR_RATIO] = av.ratio;
    a->stats[ST_FDR_CUTS] = fdr_cuts(sa->fdr);
  }
  if (sa->vmf) vmf_measure_(sa, seed);
  memset(out, 0, sizeof *out);
  out->episodes = (int)(ev.n < 2147483647 ? ev.n : 2147483647);
  out->mean = out->min = out->max = -ev.loss;
  out->std = 0.0;
  out->mean_length = 1.0;
  return 0;
}

/* ---------------------------------------------------------------- checkpoints */

static int sup_save(const Agent *a, CoreCkptWriter *w, CoreErr *err) {
  const SupAgent *sa = (const SupAgent *)a;
  int rc;
  if ((rc = core_ckpt_add_copy(w, "sup.rng", &sa->data, sizeof sa->data, err))) return rc;
  if ((rc = core_ckpt_add_copy(w, "sup.stats", a->stats, sizeof(double) * ST_N, err))) return rc;
  double lr = sa->opt->set.lr;
  if ((rc = core_ckpt_add_copy(w, "sup.lr", &lr, sizeof lr, err))) return rc;
  if ((rc = nn_mlp_save(sa->net, w, "sup.net", err))) return rc;
  if (sa->fdr && (rc = fdr_save(sa->fdr, w, "sup.fdr", err))) return rc;
  return opt_save(sa->opt, w, "sup.opt", err);
}

static int sup_load(Agent *a, const CoreCkpt *c, CoreErr *err) {
  SupAgent *sa = (SupAgent *)a;
  int rc;
  CoreRng rng;
  double stats[ST_N], lr;
  if ((rc = core_ckpt_read_rngs(c, "sup.rng", &rng, 1, err))) return rc;
  if ((rc = core_ckpt_read(c, "sup.stats", stats, sizeof stats, err))) return rc;
  if ((rc = core_ckpt_read(c, "sup.lr", &lr, sizeof lr, err))) return rc;
  /* the FDR schedule only ever lowers the configured rate */
  if (!isfinite(lr) || lr < 0.0)
    return core_err_set(err, CORE_ERR_CORRUPT, "%s: section 'sup.lr': learning rate %g is not a "
                        "finite number >= 0", core_ckpt_label(c), lr);
  if ((rc = nn_mlp_load(sa->net, c, "sup.net", err))) return rc;
  if ((rc = opt_load(sa->opt, c, "sup.opt", err))) return rc;
  if (sa->fdr) {
    if (core_ckpt_find(c, "sup.fdr.state", NULL)) {
      if ((rc = fdr_load(sa->fdr, c, "sup.fdr", err))) return rc;
    } else {
      /* checkpoints of earlier versions, or of a run with sup.fdr off */
      core_log(CORE_LOG_WARN, "%s: no FDR records in the checkpoint; the FDR averages restart "
               "from this point", core_ckpt_label(c));
    }
  }
  sa->data = rng;
  memcpy(a->stats, stats, sizeof stats);
  opt_set_lr(sa->opt, lr);
  return 0;
}

static void sup_free(Agent *a) {
  SupAgent *sa = (SupAgent *)a;
  sup_task_free(sa->task);
  nn_mlp_free(sa->net);
  opt_free(sa->opt);
  fdr_free(sa->fdr);
  vmf_acc_free(sa->vmf);
  core_free(sa->perm);
  core_free(sa->x);
  core_free(sa->gtmp);
  core_free(sa->vperm);
  core_free(sa);
}

static const AgentVt sup_vt = {"supervised", sup_iterate, sup_policy, sup_save, sup_load,
                               sup_free};

/* ---------------------------------------------------------------- create */

static int check_settings_(const AgentSettings *s, CoreErr *err) {
  const SupSettings *p = &s->sup;
  if (p->fdr && p->opt.kind != OPT_SGD)
    return core_err_set(err, CORE_ERR_INVALID, "sup.fdr: the FDR observables are defined for SGD "
                        "(sup.opt.kind \"sgd\"), not \"%s\"", opt_kind_names[p->opt.kind]);
  if (p->fdr_schedule && !p->fdr)
    return core_err_set(err, CORE_ERR_INVALID, "sup.fdr_schedule needs sup.fdr = true");
  if (p->fdr && p->opt.nesterov)
    return core_err_set(err, CORE_ERR_INVALID, "sup.fdr: FDR1' does not cover Nesterov momentum");
  int h[3] = {p->hidden1, p->hidden2, p->hidden3};
  for (int k = 1; k < 3; k++)
    if (h[k] > 0 && h[k - 1] == 0)
      return core_err_set(err, CORE_ERR_INVALID, "sup.hidden%d is set but sup.hidden%d is 0 (list "
                          "hidden widths in order)", k + 1, k);
  return 0;
}

Agent *sup_agent_create(const AgentSettings *s, CoreErr *err) {
  int kind = sup_env_task_kind(s->env, NULL);
  if (kind < 0) {
    core_err_set(err, CORE_ERR_INVALID, "env: method \"supervised\" trains on a supervised task: "
                 "use Sup-FashionMNIST-v0, Sup-Regress-v0, Sup-Du-v0 or Sup-JiTelgarsky-v0 (or "
                 "their SupFit- twins), not '%s'", s->env);
    return NULL;
  }
  if (check_settings_(s, err)) return NULL;
  for (int k = 0; k < NN_NINIT; k++)  /* the config's names follow NnInitKind */
    CORE_ASSERT(sup_init_names[k] && !strcmp(sup_init_names[k], nn_init_kind_names[k]));
  SupAgent *sa = core_calloc(1, sizeof *sa);
  if (!sa) {
    core_err_set(err, CORE_ERR_NOMEM, "supervised agent: out of memory");
    return NULL;
  }
  Agent *a = &sa->base;
  a->vt = &sup_vt;
  a->evaluate = sup_evaluate;
  a->s = *s;
  a->n_stats = ST_N;
  for (int i = 0; i < ST_N; i++) {
    a->stat_names[i] = stat_names[i];
    a->stats[i] = NAN;
  }
  /* the task with the sup section's data options */
  const SupSettings *p = &s->sup;
  SupTaskSpec spec = sup_task_spec_default(kind);
  if (p->data_dir[0]) snprintf(spec.data_dir, sizeof spec.data_dir, "%s", p->data_dir);
  if (p->n_train > 0) spec.n_train = p->n_train;
  if (p->n_test > 0) spec.n_test = p->n_test;
  if (p->dim > 0) spec.dim = p->dim;
  spec.seed = (uint64_t)p->data_seed;
  spec.standardize = p->standardize;
  if (!(sa->task = sup_task_create(&spec, err))) goto fail;
  const SupTask *t = sa->task;
  if (t->n[SUP_TRAIN] < 1) {
    core_err_set(err, CORE_ERR_INVALID, "sup.n_train: the task has no training examples");
    goto fail;
  }
  sa->eval_split = t->n[SUP_TEST] > 0 ? SUP_TEST : SUP_TRAIN;
  a->obs_dim = t->in_dim;
  a->act_dim = t->out_dim;

  /* the network: hidden linear + activation layers, then a linear output (logits / values) */
  NnLayerDesc layers[7];
  int nl = 0;
  const int h[3] = {p->hidden1, p->hidden2, p->hidden3};
  for (int k = 0; k < 3 && h[k] > 0; k++) {
    layers[nl++] = (NnLayerDesc){.kind = NN_LINEAR, .out = h[k]};
    if (p->act != SUP_ACT_IDENTITY)
      layers[nl++] = (NnLayerDesc){.kind = p->act == SUP_ACT_TANH ? NN_TANH : NN_RELU};
  }
  layers[nl++] = (NnLayerDesc){.kind = NN_LINEAR, .out = t->out_dim};
  if (!(sa->net = nn_mlp_create(t->in_dim, layers, nl, p->batch_size, err))) goto fail;
  CoreRng init;
  core_rng_stream(&init, (uint64_t)s->seed, CORE_RNG_INIT, 0);
  nn_mlp_init(sa->net, p->init, p->init_std, &init);
  if (!(sa->opt = opt_create(&p->opt, sa->net->n_params, err))) {
    core_err_prefix(err, "sup.opt: ");
    goto fail;
  }
  /* tensor boundaries for optimizers that work per tensor */
  size_t seg[32];
  int n_seg = nn_mlp_param_segments(sa->net, seg, 32);
  CORE_ASSERT(n_seg <= 32);
  if (opt_set_segments(sa->opt, seg, n_seg, err)) goto fail;
  core_rng_stream(&sa->data, (uint64_t)s->seed, CORE_RNG_DATA, 0);
  if (p->fdr) {
    FdrSettings fs = fdr_settings_default();
    fs.x = p->fdr_x;
    fs.y = p->fdr_y;
    fs.min_records = p->fdr_min_records;
    if (!(sa->fdr = fdr_create(&fs, err))) {
      core_err_prefix(err, "sup.fdr: ");
      goto fail;
    }
  }
  const int64_t n = t->n[SUP_TRAIN];
  const int B = p->batch_size;
  sa->perm = core_malloc(sizeof(int64_t) * (size_t)n);
  sa->x = core_malloc(sizeof(float) * (size_t)B * (t->in_dim + t->y_dim + t->out_dim));
  if (!sa->perm || !sa->x) {
    core_err_set(err, CORE_ERR_NOMEM, "supervised agent: out of memory");
    goto fail;
  }
  sa->y = sa->x + (size_t)B * t->in_dim;
  sa->dy = sa->y + (size_t)B * t->y_dim;
  for (int64_t i = 0; i < n; i++) sa->perm[i] = i;
  if (p->vmf_batches > 0) {
    sa->gtmp = core_malloc(sizeof(float) * sa->net->n_params);
    sa->vperm = core_malloc(sizeof(int64_t) * (size_t)n);
    if (!sa->gtmp || !sa->vperm || !(sa->vmf = vmf_acc_create(sa->net->n_params, err))) {
      if (!sa->gtmp || !sa->vperm)
        core_err_set(err, CORE_ERR_NOMEM, "supervised agent: out of memory");
      goto fail;
    }
  }
  return a;
fail:
  sup_free(a);
  return NULL;
}
