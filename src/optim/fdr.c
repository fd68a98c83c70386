/* fdr.c — FDR observables, half-running averages with bounded memory, and the FDR schedule. */
#include "optim/fdr.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"

#define FDR_NQ 4           /* per-step quantities: o_l, o_r, o_fb, v2 */

/* Half-running averages of nq quantities over records ⌊t/2⌋+1..t. cum[j·nq + q] is the sum of
 * quantity q over records 1..j·w (cum[0..nq) = 0); bins merge pairwise when cap is reached. */
typedef struct {
  int nq, cap;
  double *cum;             /* (cap + 1, nq) cumulative sums at the bin boundaries */
  int nb;                  /* boundaries 1..nb are filled */
  int64_t w;               /* bin width, records */
  int64_t t;               /* records */
  double tot[FDR_NQ];      /* sums over records 1..t */
} FdrHalf;

struct Fdr {
  FdrSettings set;
  FdrHalf step;            /* nq = FDR_NQ */
  FdrHalf full;            /* nq = 1: full-batch ||∇f||² */
  int cuts;
  void *mem_;              /* the one allocation both cum arrays point into */
};


static void half_reset(FdrHalf *h) {
  memset(h->cum, 0, (size_t)h->nq * sizeof(double));
  memset(h->tot, 0, sizeof h->tot);
  h->nb = 0;
  h->w = 1;
  h->t = 0;
}


static void half_add(FdrHalf *h, const double *x) {
  h->t++;
  for (int q = 0; q < h->nq; q++) h->tot[q] += x[q];
  if (h->t % h->w) return;
  if (h->nb == h->cap) {
    /* keep every other boundary: bins of twice the width */
    for (int j = 1; j <= h->cap / 2; j++) {
      memcpy(h->cum + (size_t)j * h->nq, h->cum + (size_t)(2 * j) * h->nq,
             (size_t)h->nq * sizeof(double));
    }
    h->nb = h->cap / 2;
    h->w *= 2;
    if (h->t % h->w) return;
  }
  h->nb++;
  memcpy(h->cum + (size_t)h->nb * h->nq, h->tot, (size_t)h->nq * sizeof(double));
}


/* Averages over the window into out[nq]; returns the window length (0: out is NaN). */
static int64_t half_mean(const FdrHalf *h, double *out) {
  int64_t s0 = h->t / 2, j0 = (s0 + h->w - 1) / h->w;
  CORE_ASSERT(j0 <= h->nb);
  int64_t count = h->t - j0 * h->w;
  for (int q = 0; q < h->nq; q++) {
    out[q] = count > 0 ? (h->tot[q] - h->cum[(size_t)j0 * h->nq + q]) / (double)count : NAN;
  }
  return count;
}


FdrSettings fdr_settings_default(void) {
  return (FdrSettings){.x = 0.01, .y = 0.1, .check_every = 0, .min_records = 500,
                       .capacity = 65536};
}


int fdr_settings_check(const FdrSettings *s, CoreErr *err) {
  CORE_ASSERT(s);
  if (!(s->x > 0.0 && isfinite(s->x))) {
    return core_err_set(err, CORE_ERR_INVALID,
                        "fdr.x: %g must be a finite number > 0 (the paper uses 0.01)", s->x);
  }
  if (!(s->y > 0.0 && s->y < 1.0)) {
    return core_err_set(err, CORE_ERR_INVALID,
                        "fdr.y: %g is outside (0, 1) (a cut multiplies the learning rate by 1 - y; "
                        "the paper uses 0.1)", s->y);
  }
  if (s->check_every < 0) {
    return core_err_set(err, CORE_ERR_INVALID,
                        "fdr.check_every: %lld must be >= 0 (0: checks only when asked)",
                        (long long)s->check_every);
  }
  if (s->min_records < 1) {
    return core_err_set(err, CORE_ERR_INVALID,
                        "fdr.min_records: %lld must be >= 1 (ours: 500)",
                        (long long)s->min_records);
  }
  if (s->capacity < 8 || s->capacity > (1 << 26)) {
    return core_err_set(err, CORE_ERR_INVALID,
                        "fdr.capacity: %d is outside [8, 2^26] (the default is 65536)",
                        s->capacity);
  }
  return CORE_OK;
}


Fdr *fdr_create(const FdrSettings *s, CoreErr *err) {
  CORE_ASSERT(s);
  if (fdr_settings_check(s, err) < 0) return NULL;
  int cap = s->capacity + (s->capacity & 1);   /* even, so that bins halve evenly */
  size_t count = (size_t)(cap + 1) * (FDR_NQ + 1);
  Fdr *f = core_calloc(1, sizeof *f);
  double *mem = core_calloc(count, sizeof(double));
  if (!f || !mem) {
    core_free(f);
    core_free(mem);
    core_err_set(err, CORE_ERR_NOMEM, "fdr: no memory for %d bins", cap);
    return NULL;
  }
  f->set = *s;
  f->mem_ = mem;
  f->step = (FdrHalf){.nq = FDR_NQ, .cap = cap, .cum = mem};
  f->full = (FdrHalf){.nq = 1, .cap = cap, .cum = mem + (size_t)(cap + 1) * FDR_NQ};
  fdr_reset(f);
  return f;
}


void fdr_free(Fdr *f) {
  if (!f) return;
  core_free(f->mem_);
  core_free(f);
}


void fdr_reset(Fdr *f) {
  CORE_ASSERT(f);
  half_reset(&f->step);
  half_reset(&f->full);
}


FdrRecord fdr_observables(const float *theta, const float *grad, const float *buf, size_t n,
                          double lr, double momentum, double dampening, double weight_decay) {
  CORE_ASSERT(n == 0 || (theta && grad));
  CORE_ASSERT(momentum == 0.0 || dampening < 1.0);
  double tg = 0, g2 = 0, b2 = 0, bg = 0;
  const int has_buf = momentum != 0.0 && buf;
  for (size_t i = 0; i < n; i++) {
    double th = theta[i], g = (double)grad[i] + weight_decay * th;
    tg += th * g;
    g2 += g * g;
    if (has_buf) {
      double b = buf[i];
      b2 += b * b;
      bg += b * g;
    }
  }
  FdrRecord r = {.o_l = tg};
  if (momentum == 0.0) {
    r.o_r = 0.5 * lr * g2;
    r.v2 = g2;
    r.o_fb = 0.0;
  } else {
    r.o_r = lr * (1.0 + momentum) / (2.0 * (1.0 - dampening)) * b2;
    r.v2 = b2;
    r.o_fb = momentum * bg;   /* −μ v·g with v = −b */
  }
  return r;
}


void fdr_record(Fdr *f, const FdrRecord *r) {
  CORE_ASSERT(f && r);
  double x[FDR_NQ] = {r->o_l, r->o_r, r->o_fb, r->v2};
  half_add(&f->step, x);
}


void fdr_record_full(Fdr *f, double grad2) {
  CORE_ASSERT(f);
  half_add(&f->full, &grad2);
}


FdrAverages fdr_averages(const Fdr *f) {
  CORE_ASSERT(f);
  double m[FDR_NQ], g2;
  FdrAverages a = {.records = f->step.t, .full_records = f->full.t};
  a.window = half_mean(&f->step, m);
  half_mean(&f->full, &g2);
  a.o_l = m[0];
  a.o_r = m[1];
  a.o_fb = m[2];
  a.v2 = m[3];
  a.ratio = a.window > 0 && m[1] != 0.0 ? m[0] / m[1] : NAN;
  a.full_g2 = g2;
  return a;
}


FdrDecision fdr_check(Fdr *f, double lr) {
  CORE_ASSERT(f && isfinite(lr) && lr >= 0.0);
  FdrAverages a = fdr_averages(f);
  FdrDecision d = {.ratio = a.ratio, .lr_before = lr, .lr_after = lr, .records = a.records};
  if (a.records < f->set.min_records || !isfinite(a.ratio)) return d;
  d.checked = 1;
  if (fabs(a.ratio - 1.0) < f->set.x) {
    d.cut = 1;
    d.lr_after = (1.0 - f->set.y) * lr;
    f->cuts++;
    fdr_reset(f);
  }
  return d;
}


FdrDecision fdr_observe_sgd(Fdr *f, Opt *sgd, const float *params, const float *grads) {
  CORE_ASSERT(f && sgd && sgd->set.kind == OPT_SGD);
  const OptSettings *s = &sgd->set;
  FdrRecord r = fdr_observables(params, grads, opt_sgd_momentum(sgd), sgd->n, s->lr, s->momentum,
                                s->dampening, s->weight_decay);
  fdr_record(f, &r);
  FdrDecision d = {.ratio = NAN, .lr_before = s->lr, .lr_after = s->lr, .records = f->step.t};
  if (f->set.check_every > 0 && f->step.t % f->set.check_every == 0) {
    d = fdr_check(f, s->lr);
    if (d.cut) opt_set_lr(sgd, d.lr_after);
  }
  return d;
}


int fdr_cuts(const Fdr *f) {
  CORE_ASSERT(f);
  return f->cuts;
}


/* The counters of both halves and the cut count, as saved. */
typedef struct {
  int64_t cap, cuts;
  int64_t nb[2], w[2], t[2];
  double tot[2][FDR_NQ];
} FdrSaved;

int fdr_save(const Fdr *f, CoreCkptWriter *w, const char *prefix, CoreErr *err) {
  char name[CORE_CKPT_NAME_MAX + 1];
  FdrSaved sv;
  memset(&sv, 0, sizeof sv);
  sv.cap = f->step.cap;
  sv.cuts = f->cuts;
  const FdrHalf *h[2] = {&f->step, &f->full};
  for (int k = 0; k < 2; k++) {
    sv.nb[k] = h[k]->nb;
    sv.w[k] = h[k]->w;
    sv.t[k] = h[k]->t;
    memcpy(sv.tot[k], h[k]->tot, sizeof sv.tot[k]);
  }
  int rc;
  snprintf(name, sizeof name, "%s.state", prefix);
  if ((rc = core_ckpt_add_copy(w, name, &sv, sizeof sv, err))) return rc;
  snprintf(name, sizeof name, "%s.bins", prefix);
  size_t count = (size_t)(f->step.cap + 1) * (FDR_NQ + 1);
  return core_ckpt_add_copy(w, name, f->mem_, count * sizeof(double), err);
}

int fdr_load(Fdr *f, const CoreCkpt *c, const char *prefix, CoreErr *err) {
  char name[CORE_CKPT_NAME_MAX + 1];
  FdrSaved sv;
  int rc;
  snprintf(name, sizeof name, "%s.state", prefix);
  if ((rc = core_ckpt_read(c, name, &sv, sizeof sv, err))) return rc;
  if (sv.cap != f->step.cap)
    return core_err_set(err, CORE_ERR_INVALID, "%s: section %s: %lld FDR bins, this run has %d",
                        core_ckpt_label(c), name, (long long)sv.cap, f->step.cap);
  /* the invariants of half_add: bins of a power-of-two width, one boundary per full bin */
  for (int k = 0; k < 2; k++)
    if (sv.nb[k] < 0 || sv.nb[k] > sv.cap || sv.w[k] < 1 || (sv.w[k] & (sv.w[k] - 1)) ||
        sv.t[k] < 0 || sv.nb[k] != sv.t[k] / sv.w[k] || sv.cuts < 0 || sv.cuts > INT32_MAX)
      return core_err_set(err, CORE_ERR_CORRUPT, "%s: section %s: inconsistent counters",
                          core_ckpt_label(c), name);
  size_t count = (size_t)(f->step.cap + 1) * (FDR_NQ + 1);
  snprintf(name, sizeof name, "%s.bins", prefix);
  size_t have = 0;
  const void *bins = core_ckpt_find(c, name, &have);
  if (!bins || have != count * sizeof(double))
    return core_err_set(err, CORE_ERR_CORRUPT, "%s: section %s: missing or %zu bytes (want %zu)",
                        core_ckpt_label(c), name, have, count * sizeof(double));
  memcpy(f->mem_, bins, count * sizeof(double));
  FdrHalf *h[2] = {&f->step, &f->full};
  for (int k = 0; k < 2; k++) {
    h[k]->nb = (int)sv.nb[k];
    h[k]->w = sv.w[k];
    h[k]->t = sv.t[k];
    memcpy(h[k]->tot, sv.tot[k], sizeof sv.tot[k]);
  }
  f->cuts = (int)sv.cuts;
  return 0;
}
