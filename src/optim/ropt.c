/* ropt.c — Riemannian optimizers over products of Poincaré balls (see ropt.h for the rules). */
#include "optim/ropt.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "optim/opt.h"
#include "optim/poincare.h"

const char *const ropt_kind_names[ROPT_NKIND] = {
  [ROPT_RSGD] = "rsgd",
  [ROPT_RADAM] = "radam",
  [ROPT_RAMSGRAD] = "ramsgrad",
  [ROPT_RADAGRAD] = "radagrad",
};
const char *const ropt_manifold_names[ROPT_NMANIFOLD] = {
  [ROPT_BALL] = "poincare",
  [ROPT_EUCLID] = "euclidean",
};
const char *const ropt_update_names[ROPT_NUPDATE] = {
  [ROPT_EXPMAP] = "exp",
  [ROPT_RETRACTION] = "retraction",
};

/* The full object: the public part first, then row scratch. */
typedef struct {
  Ropt pub;
  double *x, *g, *y, *m;   /* (dim) each: one row's point, gradient, new point, momentum */
} RoptImpl;


static int has_momentum(int kind) { return kind == ROPT_RADAM || kind == ROPT_RAMSGRAD; }


int ropt_kind_from_name(const char *name) {
  if (!name) return -1;
  for (int k = 0; k < ROPT_NKIND; k++)
    if (!strcmp(name, ropt_kind_names[k])) return k;
  return -1;
}


RoptSettings ropt_settings_default(int kind) {
  RoptSettings s = {
    .kind = kind,
    .manifold = ROPT_BALL,
    .update = ROPT_EXPMAP,
    .lr = 1e-3,
    .beta1 = 0.9,
    .beta2 = 0.999,
    .eps = 1e-8,
    .proj_eps = POINCARE_PROJ_EPS,
    .max_grad_norm = 0.0,
  };
  return s;
}


int ropt_settings_check(const RoptSettings *s, CoreErr *err) {
  CORE_ASSERT(s);
  if (s->kind < 0 || s->kind >= ROPT_NKIND)
    return core_err_set(err, CORE_ERR_INVALID,
                        "ropt.kind: %d is not a Riemannian optimizer (rsgd, radam, ramsgrad, "
                        "radagrad)", s->kind);
  if (s->manifold < 0 || s->manifold >= ROPT_NMANIFOLD)
    return core_err_set(err, CORE_ERR_INVALID,
                        "ropt.manifold: %d is not a manifold (poincare, euclidean)", s->manifold);
  if (s->update < 0 || s->update >= ROPT_NUPDATE)
    return core_err_set(err, CORE_ERR_INVALID, "ropt.update: %d is not an update (exp, retraction)",
                        s->update);
  /* negated comparisons so that NaN fails */
  if (!(s->lr > 0.0 && isfinite(s->lr)))
    return core_err_set(err, CORE_ERR_INVALID, "ropt.lr: %g must be a finite number > 0", s->lr);
  if (!(s->beta1 >= 0.0 && s->beta1 < 1.0))
    return core_err_set(err, CORE_ERR_INVALID, "ropt.beta1: %g is outside [0, 1) (default 0.9)",
                        s->beta1);
  if (!(s->beta2 >= 0.0 && s->beta2 < 1.0))
    return core_err_set(err, CORE_ERR_INVALID, "ropt.beta2: %g is outside [0, 1) (default 0.999)",
                        s->beta2);
  if (!(s->eps > 0.0 && isfinite(s->eps)))
    return core_err_set(err, CORE_ERR_INVALID, "ropt.eps: %g must be a finite number > 0 "
                        "(default 1e-8)", s->eps);
  if (!(s->proj_eps > 0.0 && s->proj_eps < 1.0))
    return core_err_set(err, CORE_ERR_INVALID, "ropt.proj_eps: %g is outside (0, 1) (N&K use "
                        "1e-5)", s->proj_eps);
  if (!(s->max_grad_norm >= 0.0 && isfinite(s->max_grad_norm)))
    return core_err_set(err, CORE_ERR_INVALID, "ropt.max_grad_norm: %g must be finite and >= 0 "
                        "(0 turns it off)", s->max_grad_norm);
  return CORE_OK;
}


Ropt *ropt_create(const RoptSettings *s, int rows, int dim, CoreErr *err) {
  if (ropt_settings_check(s, err) < 0) return NULL;
  if (rows < 1 || dim < 1) {
    core_err_set(err, CORE_ERR_INVALID, "ropt: shape (%d, %d) needs rows >= 1 and dim >= 1", rows,
                 dim);
    return NULL;
  }
  size_t n;
  if (core_mul_size(&n, (size_t)rows, (size_t)dim) < 0) {
    core_err_set(err, CORE_ERR_NOMEM, "ropt: shape (%d, %d) overflows", rows, dim);
    return NULL;
  }
  RoptImpl *r = core_calloc(1, sizeof *r);
  double *scratch = core_calloc(4 * (size_t)dim, sizeof(double));
  int64_t *row_t = core_calloc((size_t)rows, sizeof(int64_t));
  float *m = has_momentum(s->kind) ? core_calloc(n, sizeof(float)) : NULL;
  float *v = s->kind != ROPT_RSGD ? core_calloc((size_t)rows, sizeof(float)) : NULL;
  float *vmax = s->kind == ROPT_RAMSGRAD ? core_calloc((size_t)rows, sizeof(float)) : NULL;
  if (!r || !scratch || !row_t || (has_momentum(s->kind) && !m) || (s->kind != ROPT_RSGD && !v) ||
      (s->kind == ROPT_RAMSGRAD && !vmax)) {
    core_free(r);
    core_free(scratch);
    core_free(row_t);
    core_free(m);
    core_free(v);
    core_free(vmax);
    core_err_set(err, CORE_ERR_NOMEM, "ropt: out of memory for (%d, %d) state", rows, dim);
    return NULL;
  }
  r->pub = (Ropt){.set = *s, .rows = rows, .dim = dim, .row_t = row_t, .m = m, .v = v,
                  .vmax = vmax};
  r->x = scratch;
  r->g = scratch + dim;
  r->y = scratch + 2 * dim;
  r->m = scratch + 3 * dim;
  return &r->pub;
}


void ropt_free(Ropt *o) {
  if (!o) return;
  RoptImpl *r = (RoptImpl *)o;
  core_free(r->x);
  core_free(o->row_t);
  core_free(o->m);
  core_free(o->v);
  core_free(o->vmax);
  core_free(r);
}


/* One row's update (see ropt.h): p (dim) and its Euclidean gradient eg (dim). */
static void ropt_row_step(RoptImpl *r, int row, float *p, const float *eg) {
  Ropt *o = &r->pub;
  const RoptSettings *s = &o->set;
  const int d = o->dim, ball = s->manifold == ROPT_BALL;
  double *x = r->x, *g = r->g, *y = r->y, *m = r->m;
  for (int i = 0; i < d; i++) {
    x[i] = p[i];
    g[i] = eg[i];
  }
  if (s->max_grad_norm > 0.0) {
    double gn = 0.0;
    for (int i = 0; i < d; i++) gn += g[i] * g[i];
    gn = sqrt(gn);
    if (gn > s->max_grad_norm)
      for (int i = 0; i < d; i++) g[i] *= s->max_grad_norm / gn;
  }
  if (ball) {
    poincare_project(x, d, s->proj_eps);
    poincare_egrad2rgrad(g, x, d);
  }
  int64_t t = ++o->row_t[row];

  /* the tangent step u, written into y */
  double gg = 0.0;
  for (int i = 0; i < d; i++) gg += g[i] * g[i];
  double lam = ball ? poincare_lambda(x, d) : 1.0;
  double gnorm2 = lam * lam * gg;       /* ‖g‖²_x */
  switch (s->kind) {
  case ROPT_RSGD:
    for (int i = 0; i < d; i++) y[i] = -s->lr * g[i];
    break;
  case ROPT_RADAM:
  case ROPT_RAMSGRAD: {
    float *mrow = o->m + (size_t)row * d;
    for (int i = 0; i < d; i++) m[i] = s->beta1 * mrow[i] + (1.0 - s->beta1) * g[i];
    double v = s->beta2 * o->v[row] + (1.0 - s->beta2) * gnorm2;
    o->v[row] = (float)v;
    if (o->vmax) {
      if (v > o->vmax[row]) o->vmax[row] = (float)v;
      v = o->vmax[row];
    }
    double bc1 = 1.0 - pow(s->beta1, (double)t), bc2 = 1.0 - pow(s->beta2, (double)t);
    double c = -s->lr / bc1 / (sqrt(v / bc2) + s->eps);
    for (int i = 0; i < d; i++) y[i] = c * m[i];
    break;
  }
  case ROPT_RADAGRAD: {
    double v = o->v[row] + gnorm2;
    o->v[row] = (float)v;
    double c = -s->lr / (sqrt(v) + s->eps);
    for (int i = 0; i < d; i++) y[i] = c * g[i];
    break;
  }
  default:
    CORE_ASSERT(0 && "unknown ropt kind");
  }

  /* move: y = exp_x(u) or proj(x + u); then transport the momentum from x to y */
  if (ball) {
    if (s->update == ROPT_EXPMAP) {
      poincare_expmap(y, x, y, d);
      poincare_project(y, d, s->proj_eps);
    } else {
      poincare_retract(y, x, y, d, s->proj_eps);
    }
  } else {
    for (int i = 0; i < d; i++) y[i] += x[i];
  }
  if (has_momentum(s->kind)) {
    float *mrow = o->m + (size_t)row * d;
    if (ball) {
      poincare_transport(g, x, y, m, d);     /* g is free now: the transported momentum */
      for (int i = 0; i < d; i++) mrow[i] = (float)g[i];
    } else {
      for (int i = 0; i < d; i++) mrow[i] = (float)m[i];
    }
  }
  for (int i = 0; i < d; i++) p[i] = (float)y[i];
}


void ropt_step(Ropt *o, float *params, const float *egrads) {
  CORE_ASSERT(o && params && egrads);
  RoptImpl *r = (RoptImpl *)o;
  o->t++;
  size_t d = (size_t)o->dim;
  for (int i = 0; i < o->rows; i++) ropt_row_step(r, i, params + i * d, egrads + i * d);
}


void ropt_step_rows(Ropt *o, float *params, const float *egrads, const int *rows, int n) {
  CORE_ASSERT(o && params && egrads && (n == 0 || rows) && n >= 0);
  RoptImpl *r = (RoptImpl *)o;
  o->t++;
  size_t d = (size_t)o->dim;
  for (int k = 0; k < n; k++) {
    int i = rows[k];
    CORE_ASSERT(i >= 0 && i < o->rows);
    ropt_row_step(r, i, params + i * d, egrads + i * d);
  }
}


void ropt_set_lr(Ropt *o, double lr) {
  CORE_ASSERT(o && isfinite(lr) && lr >= 0.0);
  o->set.lr = lr;
}


void ropt_reset(Ropt *o) {
  CORE_ASSERT(o);
  size_t rows = (size_t)o->rows;
  o->t = 0;
  memset(o->row_t, 0, rows * sizeof(int64_t));
  if (o->m) memset(o->m, 0, rows * (size_t)o->dim * sizeof(float));
  if (o->v) memset(o->v, 0, rows * sizeof(float));
  if (o->vmax) memset(o->vmax, 0, rows * sizeof(float));
}


/* Add a borrowed section "<prefix>.<field>". */
static int ropt_add(CoreCkptWriter *w, const char *prefix, const char *field, const void *data,
                    size_t size, int copy, CoreErr *err) {
  char name[CORE_CKPT_NAME_MAX + 1];
  int rc = opt_section_name(name, prefix, field, err);
  if (rc < 0) return rc;
  return copy ? core_ckpt_add_copy(w, name, data, size, err)
              : core_ckpt_add(w, name, data, size, err);
}


int ropt_save(const Ropt *o, CoreCkptWriter *w, const char *prefix, CoreErr *err) {
  CORE_ASSERT(o && w && prefix);
  const char *kind = ropt_kind_names[o->set.kind];
  int32_t shape[2] = {o->rows, o->dim};
  size_t rows = (size_t)o->rows;
  int rc = ropt_add(w, prefix, "kind", kind, strlen(kind), 1, err);
  if (rc == 0) rc = ropt_add(w, prefix, "shape", shape, sizeof shape, 1, err);
  if (rc == 0) rc = ropt_add(w, prefix, "t", &o->t, sizeof o->t, 1, err);
  if (rc == 0) rc = ropt_add(w, prefix, "row_t", o->row_t, rows * sizeof(int64_t), 0, err);
  if (rc == 0 && o->m) rc = opt_save_floats(w, prefix, "m", o->m, rows * (size_t)o->dim, err);
  if (rc == 0 && o->v) rc = opt_save_floats(w, prefix, "v", o->v, rows, err);
  if (rc == 0 && o->vmax) rc = opt_save_floats(w, prefix, "vmax", o->vmax, rows, err);
  return rc;
}


/* Find "<prefix>.<field>" of exactly size bytes: CORE_ERR_CORRUPT if missing or sized wrong. */
static int ropt_find(const CoreCkpt *c, const char *prefix, const char *field, size_t size,
                     const void **data, CoreErr *err) {
  char name[CORE_CKPT_NAME_MAX + 1];
  int rc = opt_section_name(name, prefix, field, err);
  if (rc < 0) return rc;
  size_t got = 0;
  const void *p = core_ckpt_find(c, name, &got);
  if (!p)
    return core_err_set(err, CORE_ERR_CORRUPT, "%s: section \"%s\" is missing (no Riemannian "
                        "optimizer state under \"%s\")", core_ckpt_label(c), name, prefix);
  if (got != size)
    return core_err_set(err, CORE_ERR_CORRUPT, "%s: section \"%s\" holds %zu bytes, expected %zu",
                        core_ckpt_label(c), name, got, size);
  *data = p;
  return CORE_OK;
}


int ropt_load(Ropt *o, const CoreCkpt *c, const char *prefix, CoreErr *err) {
  CORE_ASSERT(o && c && prefix);
  const char *label = core_ckpt_label(c);
  char name[CORE_CKPT_NAME_MAX + 1];
  size_t size = 0, rows = (size_t)o->rows, n = rows * (size_t)o->dim;

  /* kind, by name */
  int rc = opt_section_name(name, prefix, "kind", err);
  if (rc < 0) return rc;
  const char *saved = core_ckpt_find(c, name, &size);
  if (!saved)
    return core_err_set(err, CORE_ERR_CORRUPT, "%s: section \"%s\" is missing (no Riemannian "
                        "optimizer state under \"%s\")", label, name, prefix);
  const char *kind = ropt_kind_names[o->set.kind];
  if (size != strlen(kind) || memcmp(saved, kind, size) != 0)
    return core_err_set(err, CORE_ERR_INVALID, "%s: section \"%s\" is \"%.*s\" but this optimizer "
                        "is \"%s\" (the kind must match the checkpoint's)", label, name,
                        size > 32 ? 32 : (int)size, saved, kind);

  /* shape */
  const void *p = NULL;
  rc = ropt_find(c, prefix, "shape", 2 * sizeof(int32_t), &p, err);
  if (rc < 0) return rc;
  int32_t shape[2];
  memcpy(shape, p, sizeof shape);
  if (shape[0] != o->rows || shape[1] != o->dim)
    return core_err_set(err, CORE_ERR_INVALID, "%s: section \"%s.shape\" is (%d, %d) but this "
                        "optimizer is (%d, %d) (was the embedding resized?)", label, prefix,
                        (int)shape[0], (int)shape[1], o->rows, o->dim);

  /* every buffer found and sized before any is copied */
  const void *tp = NULL, *rtp = NULL, *mp = NULL, *vp = NULL, *vmp = NULL;
  rc = ropt_find(c, prefix, "t", sizeof(int64_t), &tp, err);
  if (rc == 0) rc = ropt_find(c, prefix, "row_t", rows * sizeof(int64_t), &rtp, err);
  if (rc == 0 && o->m) rc = opt_find_floats(c, prefix, "m", n, &mp, err);
  if (rc == 0 && o->v) rc = opt_find_floats(c, prefix, "v", rows, &vp, err);
  if (rc == 0 && o->vmax) rc = opt_find_floats(c, prefix, "vmax", rows, &vmp, err);
  if (rc < 0) return rc;
  int64_t t;
  memcpy(&t, tp, sizeof t);
  if (t < 0)
    return core_err_set(err, CORE_ERR_CORRUPT, "%s: section \"%s.t\": step count %lld is negative",
                        label, prefix, (long long)t);
  for (size_t i = 0; i < rows; i++) {
    int64_t ti;
    memcpy(&ti, (const char *)rtp + i * sizeof ti, sizeof ti);
    if (ti < 0 || ti > t)
      return core_err_set(err, CORE_ERR_CORRUPT, "%s: section \"%s.row_t\": row %zu has step "
                          "count %lld outside [0, %lld]", label, prefix, i, (long long)ti,
                          (long long)t);
  }
  o->t = t;
  memcpy(o->row_t, rtp, rows * sizeof(int64_t));
  if (o->m) memcpy(o->m, mp, n * sizeof(float));
  if (o->v) memcpy(o->v, vp, rows * sizeof(float));
  if (o->vmax) memcpy(o->vmax, vmp, rows * sizeof(float));
  return CORE_OK;
}
