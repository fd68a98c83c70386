/* sgd.c — SGD with momentum, dampening, Nesterov and coupled weight decay, as torch.optim.SGD.
 *
 * Per element, with d the gradient:
 *   d = g + wd·p                          (only when wd != 0)
 *   b = d on the first step, then b = μ·b + (1 − dampening)·d      (only when μ != 0)
 *   d = d + μ·b if nesterov, else d = b
 *   p = p − lr·d
 * The vector is stepped in blocks of SGD_BLOCK floats: loops of a fixed length vectorize under
 * GCC's -O2 cost model (which refuses loops that need a remainder), and the last partial block
 * runs through the same code on zero-padded copies, so there is one definition of the rule.
 */
#include "optim/opt.h"

#include <string.h>

#include "core/alloc.h"

#define SGD_BLOCK 16

typedef struct {
  Opt base;
  float *buf;              /* (n) momentum buffer; NULL when momentum == 0 */
} OptSgd;

/* The per-step constants, in float as PyTorch applies them to float tensors. */
typedef struct {
  float lr, wd, mu, damp1; /* damp1 = 1 − dampening */
  int has_wd, nesterov;
  int first;               /* first step: the buffer starts as the gradient */
} SgdCoef;


/* One block of SGD_BLOCK elements. */
static void sgd_block(const SgdCoef *c, float *restrict p, const float *restrict grad,
                      float *restrict buf) {
  float d[SGD_BLOCK];
  for (int k = 0; k < SGD_BLOCK; k++) d[k] = grad[k];
  if (c->has_wd) {
    for (int k = 0; k < SGD_BLOCK; k++) d[k] += c->wd * p[k];
  }
  if (buf) {
    if (c->first) {
      for (int k = 0; k < SGD_BLOCK; k++) buf[k] = d[k];
    } else {
      for (int k = 0; k < SGD_BLOCK; k++) buf[k] = buf[k] * c->mu + c->damp1 * d[k];
    }
    if (c->nesterov) {
      for (int k = 0; k < SGD_BLOCK; k++) d[k] += c->mu * buf[k];
    } else {
      for (int k = 0; k < SGD_BLOCK; k++) d[k] = buf[k];
    }
  }
  for (int k = 0; k < SGD_BLOCK; k++) p[k] -= c->lr * d[k];
}


static void sgd_step(Opt *o, float *params, const float *grads) {
  OptSgd *s = (OptSgd *)o;
  const OptSettings *st = &o->set;
  SgdCoef c = {
    .lr = (float)st->lr,
    .wd = (float)st->weight_decay,
    .mu = (float)st->momentum,
    .damp1 = (float)(1.0 - st->dampening),
    .has_wd = st->weight_decay != 0.0,
    .nesterov = st->nesterov != 0,
    .first = o->t == 1,
  };
  size_t n = o->n, i = 0;
  for (; i + SGD_BLOCK <= n; i += SGD_BLOCK) {
    sgd_block(&c, params + i, grads + i, s->buf ? s->buf + i : NULL);
  }
  if (i < n) {
    /* the remainder, on zero-padded copies (zeros stay zeros) */
    size_t r = n - i;
    float p[SGD_BLOCK] = {0}, g[SGD_BLOCK] = {0}, b[SGD_BLOCK] = {0};
    memcpy(p, params + i, r * sizeof(float));
    memcpy(g, grads + i, r * sizeof(float));
    if (s->buf) memcpy(b, s->buf + i, r * sizeof(float));
    sgd_block(&c, p, g, s->buf ? b : NULL);
    memcpy(params + i, p, r * sizeof(float));
    if (s->buf) memcpy(s->buf + i, b, r * sizeof(float));
  }
}


static void sgd_reset(Opt *o) {
  OptSgd *s = (OptSgd *)o;
  if (s->buf) memset(s->buf, 0, o->n * sizeof(float));
}


static int sgd_save(const Opt *o, CoreCkptWriter *w, const char *prefix, CoreErr *err) {
  const OptSgd *s = (const OptSgd *)o;
  if (!s->buf) return CORE_OK;
  return opt_save_floats(w, prefix, "buf", s->buf, o->n, err);
}


static int sgd_load(Opt *o, const CoreCkpt *c, const char *prefix, CoreErr *err) {
  OptSgd *s = (OptSgd *)o;
  if (!s->buf) return CORE_OK;
  const void *buf = NULL;
  int rc = opt_find_floats(c, prefix, "buf", o->n, &buf, err);
  if (rc < 0) return rc;
  memcpy(s->buf, buf, o->n * sizeof(float));
  return CORE_OK;
}


static void sgd_free(Opt *o) {
  OptSgd *s = (OptSgd *)o;
  core_free(s->buf);
  core_free(s);
}


static const OptVt sgd_vt = {
  .name = "sgd",
  .step = sgd_step,
  .reset = sgd_reset,
  .save = sgd_save,
  .load = sgd_load,
  .free = sgd_free,
};


Opt *opt_sgd_create(const OptSettings *st, size_t n, CoreErr *err) {
  CORE_ASSERT(st && st->kind == OPT_SGD);
  OptSgd *s = core_calloc(1, sizeof *s);
  if (!s) {
    core_err_set(err, CORE_ERR_NOMEM, "sgd: out of memory");
    return NULL;
  }
  s->base = (Opt){.vt = &sgd_vt, .set = *st, .n = n, .t = 0};
  if (st->momentum != 0.0) {
    s->buf = core_calloc(n, sizeof(float));
    if (!s->buf) {
      core_free(s);
      core_err_set(err, CORE_ERR_NOMEM, "sgd: no memory for a momentum buffer of %zu floats", n);
      return NULL;
    }
  }
  return &s->base;
}


const float *opt_sgd_momentum(const Opt *o) {
  CORE_ASSERT(o);
  if (o->vt != &sgd_vt) return NULL;
  return ((const OptSgd *)o)->buf;
}
