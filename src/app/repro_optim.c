/* repro_optim.c — shared pieces of the optimizer reproductions. */
#include "app/repro_optim.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "core/alloc.h"
#include "core/rng.h"

int repro_opt_args(int argc, char **argv, const char *usage, const char *extra_flag,
                   ReproOptArgs *a) {
  *a = (ReproOptArgs){0};
  char cmd[64];
  snprintf(cmd, sizeof cmd, "repro %s", argv[0]);
  for (int i = 1; i < argc; i++) {
    const char *s = argv[i];
    if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
      fputs(usage, stdout);
      return 1;
    } else if (!strcmp(s, "--quick")) {
      a->quick = 1;
    } else if (extra_flag && !strcmp(s, extra_flag)) {
      a->extra = 1;
    } else if (!strcmp(s, "--seed")) {
      if (i + 1 >= argc) return app_usage_error(cmd, "--seed needs a value");
      char *end = NULL;
      errno = 0;
      unsigned long long v = strtoull(argv[++i], &end, 10);
      if (errno || !end || *end || argv[i][0] == '-' || !argv[i][0])
        return app_usage_error(cmd, "--seed: '%s' is not a non-negative integer", argv[i]);
      a->seed = (uint64_t)v;
    } else {
      return app_usage_error(cmd, "unknown option '%s'", s);
    }
  }
  return 0;
}


int repro_task_dense(const SupTask *t, int split, int64_t i0, int n, float *x, int *y) {
  float *yf = core_malloc((size_t)n * sizeof(float));
  if (!yf) return -1;
  sup_task_range(t, split, i0, n, x, yf);
  for (int i = 0; i < n; i++) y[i] = (int)yf[i];
  core_free(yf);
  return 0;
}

SupTask *repro_opt_fmnist(int64_t n_train, int64_t n_test, CoreErr *err) {
  SupTaskSpec sp = sup_task_spec_default(SUP_TASK_FASHION_MNIST);
  sp.n_train = n_train;
  sp.n_test = n_test;
  sp.standardize = 1;
  return sup_task_create(&sp, err);
}


NnMlp *repro_opt_mlp(int in, const int *hidden, int n_hidden, int out, int max_batch, int zero_init,
                     uint64_t seed, CoreErr *err) {
  NnLayerDesc desc[32];
  int nl = 0;
  CORE_ASSERT(n_hidden >= 0 && 2 * n_hidden + 1 <= 32);
  for (int h = 0; h < n_hidden; h++) {
    desc[nl++] = (NnLayerDesc){.kind = NN_LINEAR, .out = hidden[h]};
    desc[nl++] = (NnLayerDesc){.kind = NN_RELU};
  }
  desc[nl++] = (NnLayerDesc){.kind = NN_LINEAR, .out = out};
  NnMlp *net = nn_mlp_create(in, desc, nl, max_batch, err);
  if (!net) return NULL;
  if (!zero_init) {
    CoreRng rng;
    core_rng_stream(&rng, seed, CORE_RNG_INIT, 0);
    nn_mlp_init(net, NN_INIT_XAVIER, 0.0, &rng);
  }
  return net;
}


int repro_opt_buf_init(ReproOptBuf *b, const SupTask *t, int max_batch, CoreErr *err) {
  b->x = core_malloc((size_t)max_batch * t->in_dim * sizeof(float));
  b->y = core_malloc((size_t)max_batch * t->y_dim * sizeof(float));
  b->dy = core_malloc((size_t)max_batch * t->out_dim * sizeof(float));
  if (!b->x || !b->y || !b->dy) {
    repro_opt_buf_release(b);
    return core_err_set(err, CORE_ERR_NOMEM, "repro: no memory for batches of %d", max_batch);
  }
  return CORE_OK;
}


void repro_opt_buf_release(ReproOptBuf *b) {
  core_free(b->x);
  core_free(b->y);
  core_free(b->dy);
  *b = (ReproOptBuf){0};
}


double repro_opt_minibatch(const SupTask *t, NnMlp *net, ReproOptBuf *buf, const int64_t *idx,
                           int b) {
  sup_task_batch(t, SUP_TRAIN, idx, b, buf->x, buf->y);
  nn_mlp_zero_grad(net);
  const float *u = nn_mlp_forward(net, buf->x, b);
  double loss = sup_task_loss(t, u, buf->y, b, buf->dy);
  nn_mlp_backward(net, buf->dy, NULL, 0);
  return loss;
}


void repro_opt_full(const SupTask *t, NnMlp *net, ReproOptBuf *buf, int64_t n, int want_grad,
                    double *loss, double *acc) {
  if (n <= 0 || n > t->n[SUP_TRAIN]) n = t->n[SUP_TRAIN];
  double sum = 0.0;
  int64_t correct = 0;
  if (want_grad) nn_mlp_zero_grad(net);
  for (int64_t i0 = 0; i0 < n; i0 += net->max_batch) {
    int b = (int)(n - i0 < net->max_batch ? n - i0 : net->max_batch);
    sup_task_range(t, SUP_TRAIN, i0, b, buf->x, buf->y);
    const float *u = nn_mlp_forward(net, buf->x, b);
    sum += sup_task_loss(t, u, buf->y, b, want_grad ? buf->dy : NULL) * b;
    correct += sup_task_correct(t, u, buf->y, b);
    if (want_grad) {
      /* each chunk's mean gradient weighted by its share b/n adds up to the full mean */
      const float w = (float)b / (float)n;
      for (size_t k = 0; k < (size_t)b * t->out_dim; k++) buf->dy[k] *= w;
      nn_mlp_backward(net, buf->dy, NULL, 0);
    }
  }
  *loss = sum / (double)n;
  if (acc) *acc = (double)correct / (double)n;
}


double repro_opt_norm2(const float *x, size_t n) {
  double s = 0.0;
  for (size_t i = 0; i < n; i++) s += (double)x[i] * x[i];
  return s;
}


void repro_opt_check(ReproTally *t, int pass, const char *fmt, ...) {
  printf("  [%s] ", pass ? "PASS" : "FAIL");
  va_list ap;
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  putchar('\n');
  t->total++;
  t->failed += !pass;
}


int repro_opt_finish(const ReproTally *t, const char *name) {
  if (t->failed == 0) {
    printf("%s: all %d criteria passed\n", name, t->total);
    return 0;
  }
  printf("%s: %d of %d criteria FAILED\n", name, t->failed, t->total);
  return 1;
}
