/* a2grad.c — A2Grad (Deng, Cheng & Lan 2018, arXiv 1810.00553): accelerated SGD whose step is
 * scaled by an adaptive h_k built from the gradients' deviations from their running mean.
 *
 * The two-variable form of the paper's Algorithm 7 (papers.md §5). The model parameters are
 * y_k (the point where the gradient G_k is taken); the optimizer keeps the prox sequence x_k,
 * the running mean g̃_k of the gradients and the accumulator v_k. At step k (0 on the first):
 *   α_k = 2/(k+2), γ_k = 2L/(k+1)
 *   g̃_k = g̃_{k−1} + (G_k − g̃_{k−1})/(k+1)          (so g̃_0 = G_0)
 *   δ_k = G_k − g̃_k
 *   uni: v_k = v_{k−1} + δ_k²,                  h_k = √v_k
 *   inc: v_k = (k/(k+1))² v_{k−1} + δ_k²,        h_k = √v_k
 *   exp: ṽ_k = δ_0² (k = 0) else ρ ṽ_{k−1} + (1−ρ) δ_k²,  v_k = max(ṽ_k, v_{k−1}),
 *        h_k = √((k+1) v_k)
 *   c_k = 1/(γ_k + β h_k)
 *   x_{k+1} = x_k − c_k G_k
 *   y_{k+1} = (1 − α_{k+1}) y_k + α_{k+1} x_{k+1} − (1 − α_{k+1}) α_k c_k G_k
 * with x_0 = y_0 (taken from the parameters on the first step). Per coordinate (default), every
 * square and root is elementwise; per tensor (the reference code), δ_k² is replaced by Σ δ_k²
 * over each segment (opt_set_segments; one segment = the whole vector by default), giving one
 * h and one c per segment. weight_decay adds wd·y_k to G_k.
 *
 * The state is kept in double: g̃ is a mean over the whole run, whose increments (G − g̃)/(k+1)
 * a float would round away in a long run.
 */
#include "optim/opt.h"

#include <math.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core/alloc.h"

#define A2_BLOCK 16

typedef struct {
  Opt base;
  int per_tensor;          /* a2grad_per_tensor */
  int has_vt;              /* exp variant: ṽ is kept besides v */
  double *x;               /* (n) prox sequence x_k */
  double *gbar;            /* (n) running mean of the gradients g̃_k */
  double *v;               /* (n) per coordinate v_k; NULL per tensor */
  double *vt;              /* (n) per coordinate ṽ_k (exp); else NULL */
  int nseg;                /* segments (per tensor); 1 until opt_set_segments */
  size_t *seg;             /* (nseg) segment lengths */
  double *sv;              /* (nseg) per-tensor v_k */
  double *svt;             /* (nseg) per-tensor ṽ_k (exp; zeros otherwise) */
} OptA2Grad;


/* The accumulator update for one Σδ² (per tensor); returns h_k. */
static inline double a2grad_h(int variant, double d2, double *v, double *vt, double decay,
                              double rho, double k) {
  switch (variant) {
  case OPT_A2GRAD_UNI:
    *v += d2;
    return sqrt(*v);
  case OPT_A2GRAD_INC:
    *v = decay * *v + d2;
    return sqrt(*v);
  default: {
    /* exp: the max and the √(k+1) give the monotonicity the paper's proof needs */
    *vt = k == 0.0 ? d2 : rho * *vt + (1.0 - rho) * d2;
    if (*vt > *v) *v = *vt;
    return sqrt((k + 1.0) * *v);
  }
  }
}


/* The per-step constants. */
typedef struct {
  double wd, inv, decay, rho, k1;  /* inv = 1/(k+1), decay = (k/(k+1))², k1 = k + 1 */
  double gamma, beta;
  double alpha1, cy, cg;           /* α_{k+1}, 1 − α_{k+1}, (1 − α_{k+1}) α_k */
  int variant, first;              /* first: k = 0 */
} A2Coef;


/* x[k] = sqrt(x[k]) for a whole block (SSE2: the same correctly rounded sqrt as libm, without
 * the errno path that keeps GCC from vectorizing sqrt). */
static inline void a2grad_sqrt_block(double *x) {
#if defined(__SSE2__)
  for (int k = 0; k < A2_BLOCK; k += 2) _mm_storeu_pd(x + k, _mm_sqrt_pd(_mm_loadu_pd(x + k)));
#else
  for (int k = 0; k < A2_BLOCK; k++) x[k] = sqrt(x[k]);
#endif
}


/* One block of A2_BLOCK coordinates, per coordinate. Loops of a fixed length so that GCC's -O2
 * cost model vectorizes them; the arithmetic is the scalar recurrence of the file comment. */
static void a2grad_block(const A2Coef *c, float *restrict y, const float *restrict grad,
                         double *restrict x, double *restrict gbar, double *restrict v,
                         double *restrict vt) {
  double g[A2_BLOCK], h[A2_BLOCK];
  for (int k = 0; k < A2_BLOCK; k++) g[k] = (double)grad[k] + c->wd * (double)y[k];
  for (int k = 0; k < A2_BLOCK; k++) {
    gbar[k] += (g[k] - gbar[k]) * c->inv;
    double d = g[k] - gbar[k];
    h[k] = d * d;
  }
  switch (c->variant) {
  case OPT_A2GRAD_UNI:
    for (int k = 0; k < A2_BLOCK; k++) {
      v[k] += h[k];
      h[k] = v[k];
    }
    break;
  case OPT_A2GRAD_INC:
    for (int k = 0; k < A2_BLOCK; k++) {
      v[k] = c->decay * v[k] + h[k];
      h[k] = v[k];
    }
    break;
  default:
    if (c->first) {
      for (int k = 0; k < A2_BLOCK; k++) vt[k] = h[k];
    } else {
      for (int k = 0; k < A2_BLOCK; k++) vt[k] = c->rho * vt[k] + (1.0 - c->rho) * h[k];
    }
    for (int k = 0; k < A2_BLOCK; k++) {
      v[k] = vt[k] > v[k] ? vt[k] : v[k];
      h[k] = c->k1 * v[k];
    }
    break;
  }
  a2grad_sqrt_block(h);
  for (int k = 0; k < A2_BLOCK; k++) {
    double s = 1.0 / (c->gamma + c->beta * h[k]);
    x[k] -= s * g[k];
    y[k] = (float)(c->cy * (double)y[k] + c->alpha1 * x[k] - c->cg * s * g[k]);
  }
}


static void a2grad_step(Opt *o, float *y, const float *grads) {
  OptA2Grad *a = (OptA2Grad *)o;
  const OptSettings *st = &o->set;
  const double k = (double)(o->t - 1);
  const double alpha = 2.0 / (k + 2.0), alpha1 = 2.0 / (k + 3.0);
  const A2Coef c = {
    .wd = st->weight_decay,
    .inv = 1.0 / (k + 1.0),
    .decay = (k / (k + 1.0)) * (k / (k + 1.0)),
    .rho = st->rho,
    .k1 = k + 1.0,
    .gamma = 2.0 * st->lips / (k + 1.0),
    .beta = st->beta,
    .alpha1 = alpha1,
    .cy = 1.0 - alpha1,
    .cg = (1.0 - alpha1) * alpha,
    .variant = st->a2grad_variant,
    .first = o->t == 1,
  };
  double *x = a->x, *gbar = a->gbar;

  if (o->t == 1) {
    for (size_t i = 0; i < o->n; i++) x[i] = y[i];
  }
  if (!a->per_tensor) {
    size_t n = o->n, i = 0;
    double *vt = a->vt;
    for (; i + A2_BLOCK <= n; i += A2_BLOCK) {
      a2grad_block(&c, y + i, grads + i, x + i, gbar + i, a->v + i, vt ? vt + i : NULL);
    }
    if (i < n) {
      /* the remainder, on zero-padded copies (a zero coordinate stays zero: g = d = 0) */
      size_t r = n - i;
      float yp[A2_BLOCK] = {0}, gp[A2_BLOCK] = {0};
      double xp[A2_BLOCK] = {0}, bp[A2_BLOCK] = {0}, vp[A2_BLOCK] = {0}, tp[A2_BLOCK] = {0};
      memcpy(yp, y + i, r * sizeof(float));
      memcpy(gp, grads + i, r * sizeof(float));
      memcpy(xp, x + i, r * sizeof(double));
      memcpy(bp, gbar + i, r * sizeof(double));
      memcpy(vp, a->v + i, r * sizeof(double));
      if (vt) memcpy(tp, vt + i, r * sizeof(double));
      a2grad_block(&c, yp, gp, xp, bp, vp, tp);
      memcpy(y + i, yp, r * sizeof(float));
      memcpy(x + i, xp, r * sizeof(double));
      memcpy(gbar + i, bp, r * sizeof(double));
      memcpy(a->v + i, vp, r * sizeof(double));
      if (vt) memcpy(vt + i, tp, r * sizeof(double));
    }
    return;
  }
  size_t i0 = 0;
  for (int s = 0; s < a->nseg; s++) {
    size_t i1 = i0 + a->seg[s];
    /* pass 1: the running means and Σδ² over the segment */
    double d2 = 0.0;
    for (size_t i = i0; i < i1; i++) {
      double g = (double)grads[i] + c.wd * (double)y[i];
      gbar[i] += (g - gbar[i]) * c.inv;
      double d = g - gbar[i];
      d2 += d * d;
    }
    double h = a2grad_h(c.variant, d2, &a->sv[s], &a->svt[s], c.decay, c.rho, k);
    double cs = 1.0 / (c.gamma + c.beta * h);
    /* pass 2: the step with the segment's c (y is unchanged until here, so G is the same) */
    for (size_t i = i0; i < i1; i++) {
      double g = (double)grads[i] + c.wd * (double)y[i];
      x[i] -= cs * g;
      y[i] = (float)(c.cy * (double)y[i] + c.alpha1 * x[i] - c.cg * cs * g);
    }
    i0 = i1;
  }
}


static void a2grad_reset(Opt *o) {
  OptA2Grad *a = (OptA2Grad *)o;
  size_t n = o->n;
  memset(a->x, 0, n * sizeof(double));
  memset(a->gbar, 0, n * sizeof(double));
  if (a->v) memset(a->v, 0, n * sizeof(double));
  if (a->vt) memset(a->vt, 0, n * sizeof(double));
  memset(a->sv, 0, (size_t)a->nseg * sizeof(double));
  memset(a->svt, 0, (size_t)a->nseg * sizeof(double));
}


/* Add count doubles as section "<prefix>.<field>" (borrowed). */
static int a2grad_save_doubles(CoreCkptWriter *w, const char *prefix, const char *field,
                               const double *x, size_t count, CoreErr *err) {
  char name[CORE_CKPT_NAME_MAX + 1];
  int rc = opt_section_name(name, prefix, field, err);
  if (rc < 0) return rc;
  return core_ckpt_add(w, name, x, count * sizeof(double), err);
}


/* Find section "<prefix>.<field>" of exactly count elements of elem bytes. */
static int a2grad_find(const CoreCkpt *c, const char *prefix, const char *field, size_t count,
                       size_t elem, const void **data, CoreErr *err) {
  char name[CORE_CKPT_NAME_MAX + 1];
  int rc = opt_section_name(name, prefix, field, err);
  if (rc < 0) return rc;
  size_t size = 0;
  const void *p = core_ckpt_find(c, name, &size);
  if (!p) {
    return core_err_set(err, CORE_ERR_CORRUPT,
                        "%s: section \"%s\" is missing (the checkpoint's a2grad under \"%s\" was "
                        "saved with other settings, e.g. another a2grad_variant or "
                        "a2grad_per_tensor)", core_ckpt_label(c), name, prefix);
  }
  if (size != count * elem) {
    return core_err_set(err, CORE_ERR_INVALID,
                        "%s: section \"%s\" holds %zu bytes but this a2grad needs %zu (%zu "
                        "values; was the network or its tensor split changed?)",
                        core_ckpt_label(c), name, size, count * elem, count);
  }
  *data = p;
  return CORE_OK;
}


static int a2grad_save(const Opt *o, CoreCkptWriter *w, const char *prefix, CoreErr *err) {
  const OptA2Grad *a = (const OptA2Grad *)o;
  int rc = a2grad_save_doubles(w, prefix, "x", a->x, o->n, err);
  if (rc == 0) rc = a2grad_save_doubles(w, prefix, "gbar", a->gbar, o->n, err);
  if (!a->per_tensor) {
    if (rc == 0) rc = a2grad_save_doubles(w, prefix, "v", a->v, o->n, err);
    if (rc == 0 && a->vt) rc = a2grad_save_doubles(w, prefix, "vt", a->vt, o->n, err);
    return rc;
  }
  char name[CORE_CKPT_NAME_MAX + 1];
  if (rc == 0) rc = opt_section_name(name, prefix, "seg", err);
  if (rc == 0) rc = core_ckpt_add(w, name, a->seg, (size_t)a->nseg * sizeof(size_t), err);
  if (rc == 0) rc = a2grad_save_doubles(w, prefix, "sv", a->sv, (size_t)a->nseg, err);
  if (rc == 0 && a->has_vt)
    rc = a2grad_save_doubles(w, prefix, "svt", a->svt, (size_t)a->nseg, err);
  return rc;
}


static int a2grad_load(Opt *o, const CoreCkpt *c, const char *prefix, CoreErr *err) {
  OptA2Grad *a = (OptA2Grad *)o;
  size_t n = o->n, ns = (size_t)a->nseg, d = sizeof(double);
  const void *x = NULL, *gbar = NULL, *v = NULL, *vt = NULL, *seg = NULL;
  int rc = a2grad_find(c, prefix, "x", n, d, &x, err);
  if (rc == 0) rc = a2grad_find(c, prefix, "gbar", n, d, &gbar, err);
  if (!a->per_tensor) {
    if (rc == 0) rc = a2grad_find(c, prefix, "v", n, d, &v, err);
    if (rc == 0 && a->vt) rc = a2grad_find(c, prefix, "vt", n, d, &vt, err);
  } else {
    if (rc == 0) rc = a2grad_find(c, prefix, "seg", ns, sizeof(size_t), &seg, err);
    if (rc == 0 && memcmp(seg, a->seg, ns * sizeof(size_t)) != 0) {
      rc = core_err_set(err, CORE_ERR_INVALID,
                        "%s: the a2grad under \"%s\" was saved with other tensor boundaries than "
                        "this optimizer's %d segments", core_ckpt_label(c), prefix, a->nseg);
    }
    if (rc == 0) rc = a2grad_find(c, prefix, "sv", ns, d, &v, err);
    if (rc == 0 && a->has_vt) rc = a2grad_find(c, prefix, "svt", ns, d, &vt, err);
  }
  if (rc < 0) return rc;
  memcpy(a->x, x, n * d);
  memcpy(a->gbar, gbar, n * d);
  if (!a->per_tensor) {
    memcpy(a->v, v, n * d);
    if (a->vt) memcpy(a->vt, vt, n * d);
  } else {
    memcpy(a->sv, v, ns * d);
    if (a->has_vt) memcpy(a->svt, vt, ns * d);
  }
  return CORE_OK;
}


static int a2grad_set_segments(Opt *o, const size_t *len, int count, CoreErr *err) {
  OptA2Grad *a = (OptA2Grad *)o;
  if (!a->per_tensor) return CORE_OK;   /* per coordinate: boundaries do not matter */
  size_t *seg = core_calloc((size_t)count, sizeof(size_t));
  double *sv = core_calloc(2 * (size_t)count, sizeof(double));
  if (!seg || !sv) {
    core_free(seg);
    core_free(sv);
    return core_err_set(err, CORE_ERR_NOMEM, "a2grad: no memory for %d segments", count);
  }
  memcpy(seg, len, (size_t)count * sizeof(size_t));
  core_free(a->seg);
  core_free(a->sv);
  a->seg = seg;
  a->sv = sv;
  a->svt = sv + count;
  a->nseg = count;
  o->t = 0;
  a2grad_reset(o);
  return CORE_OK;
}


static void a2grad_free(Opt *o) {
  OptA2Grad *a = (OptA2Grad *)o;
  core_free(a->x);
  core_free(a->seg);
  core_free(a->sv);
  core_free(a);
}


static const OptVt a2grad_vt = {
  .name = "a2grad",
  .step = a2grad_step,
  .reset = a2grad_reset,
  .save = a2grad_save,
  .load = a2grad_load,
  .free = a2grad_free,
  .set_segments = a2grad_set_segments,
};


Opt *opt_a2grad_create(const OptSettings *st, size_t n, CoreErr *err) {
  CORE_ASSERT(st && st->kind == OPT_A2GRAD);
  int per_tensor = st->a2grad_per_tensor != 0, has_vt = st->a2grad_variant == OPT_A2GRAD_EXP;
  size_t nbuf = per_tensor ? 2 : (has_vt ? 4 : 3), count;
  if (core_mul_size(&count, nbuf, n)) {
    core_err_set(err, CORE_ERR_NOMEM, "a2grad: state for n = %zu overflows", n);
    return NULL;
  }
  OptA2Grad *a = core_calloc(1, sizeof *a);
  double *state = core_calloc(count ? count : 1, sizeof(double));
  size_t *seg = core_calloc(1, sizeof(size_t));
  double *sv = core_calloc(2, sizeof(double));
  if (!a || !state || !seg || !sv) {
    core_free(a);
    core_free(state);
    core_free(seg);
    core_free(sv);
    core_err_set(err, CORE_ERR_NOMEM, "a2grad: no memory for %zu doubles of state", count);
    return NULL;
  }
  a->base = (Opt){.vt = &a2grad_vt, .set = *st, .n = n, .t = 0};
  a->per_tensor = per_tensor;
  a->has_vt = has_vt;
  a->x = state;
  a->gbar = state + n;
  a->v = per_tensor ? NULL : state + 2 * n;
  a->vt = !per_tensor && has_vt ? state + 3 * n : NULL;
  a->nseg = 1;
  seg[0] = n;
  a->seg = seg;
  a->sv = sv;
  a->svt = sv + 1;
  return &a->base;
}
