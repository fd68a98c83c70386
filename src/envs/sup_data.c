/* sup_data.c — the data of each supervised task: Fashion-MNIST files and three generators. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "envs/idx.h"
#include "envs/sup_internal.h"

/* ---------------------------------------------------------------- Fashion-MNIST */

#define FASHION_CLASSES 10
#define FASHION_SIDE 28
/* A logit range that loses nothing that matters: softmax with a gap of 2·10 gives p > 1 − 2e-8. */
#define FASHION_PRED_BOUND 10.0f

static const char *const fashion_files[SUP_NSPLIT][2] = {
    {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"},
    {"t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"},
};

/* Append the hint on where the files come from to a failed load's message. */
static int fashion_fail_(CoreErr *err, int code) {
  char msg[CORE_ERR_MSG_SZ];
  snprintf(msg, sizeof msg, "%s", err ? err->msg : "");
  return core_err_set(err, code, "Fashion-MNIST: %s (the files come from Debian's "
                      "dataset-fashion-mnist package, in %s; set sup.data_dir or $%s to use "
                      "another folder)", msg, SUP_FASHION_MNIST_DEFAULT_DIR, SUP_FASHION_MNIST_ENV);
}

/* Load one split's images and labels and check that they belong together. */
static int fashion_load_split_(const char *dir, int split, SupIdx *img, SupIdx *lab, CoreErr *err) {
  char path[2][1024];
  for (int f = 0; f < 2; f++) {
    int w = snprintf(path[f], sizeof path[f], "%s/%s", dir, fashion_files[split][f]);
    if (w < 0 || (size_t)w >= sizeof path[f])
      return core_err_set(err, CORE_ERR_INVALID, "Fashion-MNIST: data folder name too long: %s",
                          dir);
  }
  int rc = sup_idx_load(path[0], 3, img, err);
  if (!rc) rc = sup_idx_load(path[1], 1, lab, err);
  if (rc) return fashion_fail_(err, rc);
  if (img->dims[1] != FASHION_SIDE || img->dims[2] != FASHION_SIDE)
    rc = core_err_set(err, CORE_ERR_CORRUPT, "%s: images are %ux%u, expected 28x28", path[0],
                      img->dims[1], img->dims[2]);
  else if (img->dims[0] != lab->dims[0])
    rc = core_err_set(err, CORE_ERR_CORRUPT, "%s has %u images but %s has %u labels", path[0],
                      img->dims[0], path[1], lab->dims[0]);
  for (uint32_t i = 0; !rc && i < lab->dims[0]; i++)
    if (lab->data[i] >= FASHION_CLASSES)
      rc = core_err_set(err, CORE_ERR_CORRUPT, "%s: label %u of item %u is not a class 0..9",
                        path[1], lab->data[i], i);
  return rc;
}

SupTask *sup_fashion_create_(const SupTaskSpec *spec, CoreErr *err) {
  SupTaskSpec s = *spec;
  if (!s.data_dir[0]) {
    const char *env = getenv(SUP_FASHION_MNIST_ENV);
    snprintf(s.data_dir, sizeof s.data_dir, "%s",
             env && *env ? env : SUP_FASHION_MNIST_DEFAULT_DIR);
  }
  SupIdx img[SUP_NSPLIT], lab[SUP_NSPLIT];
  memset(img, 0, sizeof img);
  memset(lab, 0, sizeof lab);
  SupTask *t = NULL;
  int64_t want[SUP_NSPLIT] = {s.n_train, s.n_test};
  int rc = 0;
  for (int sp = 0; sp < SUP_NSPLIT && !rc; sp++) {
    rc = fashion_load_split_(s.data_dir, sp, &img[sp], &lab[sp], err);
    if (rc) break;
    int64_t have = img[sp].dims[0];
    if (want[sp] == 0) want[sp] = have;
    if (want[sp] > have)
      rc = core_err_set(err, CORE_ERR_INVALID, "Fashion-MNIST: n_%s = %lld but %s/%s has only "
                        "%lld examples", sp == SUP_TRAIN ? "train" : "test", (long long)want[sp],
                        s.data_dir, fashion_files[sp][0], (long long)have);
  }
  if (!rc) {
    s.n_train = want[SUP_TRAIN];
    s.n_test = want[SUP_TEST];
    t = sup_task_alloc_(&s, FASHION_SIDE * FASHION_SIDE, 1, want[0], want[1], 1, 0, err);
  }
  if (t) {
    t->loss = SUP_LOSS_XENT;
    t->out_dim = FASHION_CLASSES;
    t->n_classes = FASHION_CLASSES;
    t->pred_bound = FASHION_PRED_BOUND;
    for (int sp = 0; sp < SUP_NSPLIT; sp++) {
      memcpy(sup_xb_(t, sp), img[sp].data, (size_t)want[sp] * t->in_dim);
      float *y = sup_y_(t, sp);
      for (int64_t i = 0; i < want[sp]; i++) y[i] = (float)lab[sp].data[i];
    }
    /* standardise with the global pixel mean and std of the training subset in use */
    if (s.standardize && want[SUP_TRAIN] > 0) {
      const uint8_t *b = t->xb[SUP_TRAIN];
      size_t cells = (size_t)want[SUP_TRAIN] * t->in_dim;
      double sum = 0.0, sq = 0.0;
      for (size_t i = 0; i < cells; i++) {
        sum += b[i];
        sq += (double)b[i] * b[i];
      }
      double mean = sum / cells, var = sq / cells - mean * mean;
      t->x_shift = (float)mean;
      t->x_scale = (float)(1.0 / sqrt(var > 1e-12 ? var : 1e-12));
    } else {
      t->x_shift = 0.0f;
      t->x_scale = 1.0f / 255.0f;
    }
  }
  for (int sp = 0; sp < SUP_NSPLIT; sp++) {
    sup_idx_release(&img[sp]);
    sup_idx_release(&lab[sp]);
  }
  return t;
}

/* ---------------------------------------------------------------- Du et al. */

SupTask *sup_du_create_(const SupTaskSpec *spec, CoreErr *err) {
  if (spec->dim < 2 || spec->n_train < 1) {
    core_err_set(err, CORE_ERR_INVALID, "task du: needs dim >= 2 and n_train >= 1 (got dim %d, "
                 "n_train %lld)", spec->dim, (long long)spec->n_train);
    return NULL;
  }
  SupTask *t = sup_task_alloc_(spec, spec->dim, 1, spec->n_train, spec->n_test, 0, 0, err);
  if (!t) return NULL;
  t->loss = SUP_LOSS_MSE;
  t->out_dim = 1;
  double ymax = 1.0;
  for (int sp = 0; sp < SUP_NSPLIT; sp++) {
    CoreRng rng;
    core_rng_stream(&rng, spec->seed, CORE_RNG_DATA, (uint64_t)sp);
    float *x = sup_x_(t, sp), *y = sup_y_(t, sp);
    const int d = t->in_dim;
    for (int64_t i = 0; i < t->n[sp]; i++) {
      /* a normalised Gaussian is uniform on the sphere */
      float *xi = x + (size_t)i * d;
      double nrm = 0.0;
      for (int j = 0; j < d; j++) {
        xi[j] = (float)core_rng_normal(&rng);
        nrm += (double)xi[j] * xi[j];
      }
      nrm = sqrt(nrm);
      for (int j = 0; j < d; j++) xi[j] = (float)(xi[j] / nrm);
      y[i] = (float)core_rng_normal(&rng);
      if (fabs(y[i]) > ymax) ymax = fabs(y[i]);
    }
  }
  t->pred_bound = (float)ceil(ymax * 1.1);
  return t;
}

/* ---------------------------------------------------------------- Ji & Telgarsky */

/* Spec papers.md §2(d): unit ū; d support vectors s_j = γ0 ū + 0.3 t_j with t_j the unit vectors
 * of a centred simplex spanning ū⊥ (so ū = Σ s_j / (d γ0) lies in their cone: the KKT conditions
 * of the hard-margin SVM hold and ū is its solution); further points with <ū, z> > γ0 + 0.05
 * (N(0, 0.4²) by rejection); everything divided by the largest norm; random signs y, x = y z. */
#define JI_SPREAD 0.3
#define JI_EXTRA_MARGIN 0.05
#define JI_NOISE_STD 0.4
#define JI_PRED_BOUND 20.0f

/* Draw a point z with <ū, z> > γ0 + 0.05 into z (d). */
static void ji_draw_point_(CoreRng *rng, const double *u, int d, double g0, double *z) {
  for (;;) {
    double p = 0.0;
    for (int j = 0; j < d; j++) {
      z[j] = JI_NOISE_STD * core_rng_normal(rng);
      p += z[j] * u[j];
    }
    if (p > g0 + JI_EXTRA_MARGIN) return;
  }
}

SupTask *sup_ji_create_(const SupTaskSpec *spec, CoreErr *err) {
  const int d = spec->dim;
  if (d < 2 || d > 1024 || spec->n_train < d || !(spec->margin > 0 && spec->margin < 1)) {
    core_err_set(err, CORE_ERR_INVALID, "task ji-telgarsky: needs 2 <= dim <= 1024, n_train >= "
                 "dim (the %d support vectors) and margin in (0, 1) (got dim %d, n_train %lld, "
                 "margin %g)", d, d, (long long)spec->n_train, spec->margin);
    return NULL;
  }
  SupTask *t = sup_task_alloc_(spec, d, 1, spec->n_train, spec->n_test, 0, 1, err);
  double *z = core_malloc(sizeof(double) * (size_t)d * 3);
  if (!t || !z) {
    sup_task_free(t);
    core_free(z);
    if (t) core_err_set(err, CORE_ERR_NOMEM, "task ji-telgarsky: out of memory");
    return NULL;
  }
  double *v = z + d, *tj = z + 2 * d;
  t->loss = SUP_LOSS_LOGISTIC;
  t->out_dim = 1;
  t->n_classes = 2;
  t->pred_bound = JI_PRED_BOUND;
  const double g0 = spec->margin;
  CoreRng rng;
  core_rng_stream(&rng, spec->seed, CORE_RNG_DATA, SUP_TRAIN);
  double *u = sup_u_bar_(t), nrm = 0.0;
  for (int j = 0; j < d; j++) {
    u[j] = core_rng_normal(&rng);
    nrm += u[j] * u[j];
  }
  for (int j = 0; j < d; j++) u[j] /= sqrt(nrm);
  /* Householder H = I − 2 v vᵀ/|v|², v = 1/√d − ū, maps 1/√d to ū and 1⊥ onto ū⊥ */
  double vv = 0.0;
  for (int j = 0; j < d; j++) {
    v[j] = 1.0 / sqrt((double)d) - u[j];
    vv += v[j] * v[j];
  }
  /* points in double first (z rows of the two splits), then one common rescale */
  int64_t total = t->n[SUP_TRAIN] + t->n[SUP_TEST];
  double *pts = core_malloc(sizeof(double) * (size_t)total * d);
  if (!pts) {
    sup_task_free(t);
    core_free(z);
    core_err_set(err, CORE_ERR_NOMEM, "task ji-telgarsky: out of memory");
    return NULL;
  }
  const double simplex_norm = sqrt(1.0 - 1.0 / d);  /* |e_j − 1/d| */
  for (int s = 0; s < d; s++) {
    for (int j = 0; j < d; j++) tj[j] = ((j == s) - 1.0 / d) / simplex_norm;
    double dot = 0.0;
    for (int j = 0; j < d; j++) dot += v[j] * tj[j];
    for (int j = 0; j < d; j++) {
      double tj_h = vv > 1e-300 ? tj[j] - 2.0 * dot / vv * v[j] : tj[j];
      pts[(size_t)s * d + j] = g0 * u[j] + JI_SPREAD * tj_h;
    }
  }
  for (int64_t i = d; i < t->n[SUP_TRAIN]; i++) ji_draw_point_(&rng, u, d, g0, pts + (size_t)i * d);
  CoreRng test_rng;
  core_rng_stream(&test_rng, spec->seed, CORE_RNG_DATA, SUP_TEST);
  for (int64_t i = 0; i < t->n[SUP_TEST]; i++)
    ji_draw_point_(&test_rng, u, d, g0, pts + (size_t)(t->n[SUP_TRAIN] + i) * d);
  double maxn = 0.0;
  for (int64_t i = 0; i < t->n[SUP_TRAIN]; i++) {
    double s2 = 0.0;
    for (int j = 0; j < d; j++) s2 += pts[(size_t)i * d + j] * pts[(size_t)i * d + j];
    if (s2 > maxn) maxn = s2;
  }
  maxn = sqrt(maxn);
  /* random signs: y = ±1, x = y z; the margin is measured on the stored floats */
  double gamma = INFINITY;
  for (int sp = 0; sp < SUP_NSPLIT; sp++) {
    CoreRng *r = sp == SUP_TRAIN ? &rng : &test_rng;
    float *x = sup_x_(t, sp), *y = sup_y_(t, sp);
    const double *src = pts + (size_t)(sp == SUP_TRAIN ? 0 : t->n[SUP_TRAIN]) * d;
    for (int64_t i = 0; i < t->n[sp]; i++) {
      float sign = core_rng_uniform(r) < 0.5 ? -1.0f : 1.0f;
      y[i] = sign;
      double m = 0.0;
      for (int j = 0; j < d; j++) {
        x[i * d + j] = (float)(sign * src[(size_t)i * d + j] / maxn);
        m += (double)sign * x[i * d + j] * u[j];
      }
      if (sp == SUP_TRAIN && m < gamma) gamma = m;
    }
  }
  t->gamma = gamma;
  core_free(pts);
  core_free(z);
  return t;
}

/* ---------------------------------------------------------------- smooth regression */

#define REGRESS_DIM 4
#define REGRESS_PRED_BOUND 1.5f   /* |y| <= 0.6 + 0.4 + 0.3 + 0.1 = 1.4 */

SupTask *sup_regress_create_(const SupTaskSpec *spec, CoreErr *err) {
  if (spec->dim != 0 && spec->dim != REGRESS_DIM) {
    core_err_set(err, CORE_ERR_INVALID, "task regress: dim is fixed at %d (got %d)", REGRESS_DIM,
                 spec->dim);
    return NULL;
  }
  SupTaskSpec s = *spec;
  s.dim = REGRESS_DIM;
  SupTask *t = sup_task_alloc_(&s, REGRESS_DIM, 1, s.n_train, s.n_test, 0, 0, err);
  if (!t) return NULL;
  t->loss = SUP_LOSS_MSE;
  t->out_dim = 1;
  t->pred_bound = REGRESS_PRED_BOUND;
  for (int sp = 0; sp < SUP_NSPLIT; sp++) {
    CoreRng rng;
    core_rng_stream(&rng, s.seed, CORE_RNG_DATA, (uint64_t)sp);
    float *x = sup_x_(t, sp), *y = sup_y_(t, sp);
    for (int64_t i = 0; i < t->n[sp]; i++) {
      double v[REGRESS_DIM];
      for (int j = 0; j < REGRESS_DIM; j++) {
        v[j] = core_rng_uniform_range(&rng, -1, 1);
        x[i * REGRESS_DIM + j] = (float)v[j];
      }
      y[i] = (float)(0.6 * sin(M_PI * v[0]) + 0.4 * v[1] * v[2] - 0.3 * v[3] * v[3] + 0.1);
    }
  }
  return t;
}
