/* adam.c — Adam and AMSGrad with coupled L2 weight decay, as torch.optim.Adam (1.13).
 *
 * Per element, at step t (1 on the first):
 *   g = g + wd·p                                   (only when wd != 0)
 *   m = β1·m + (1 − β1)·g
 *   v = β2·v + (1 − β2)·g²
 *   u = max(u, v), and u stands for v below        (AMSGrad only)
 *   p = p − lr/(1 − β1^t) · m / (sqrt(v)/sqrt(1 − β2^t) + eps)
 * so eps is added after the bias correction of sqrt(v), and AMSGrad keeps the maximum of the
 * uncorrected v. The scalars are formed in double and applied in float, as PyTorch applies
 * Python floats to float tensors.
 *
 * The vector is stepped in blocks of ADAM_BLOCK floats so that the loops have a fixed length
 * and vectorize under GCC's -O2 cost model; the last partial block runs the same code on
 * zero-padded copies. The step is compiled three times (AVX-512, AVX2, baseline) and the loader
 * picks the widest the CPU runs: Adam streams four buffers of the critic's size per step and
 * was a tenth of a TD3 iteration in SSE. Every clone gives the same bits: contraction is off in
 * ISO C mode, and sqrt is correctly rounded at any width (this file is built with
 * -fno-math-errno so that sqrtf vectorizes; it never sees a negative input).
 */
#include "optim/opt.h"

#include <math.h>
#include <string.h>

#include "core/alloc.h"

#define ADAM_BLOCK 16

typedef struct {
  Opt base;
  float *m;                /* (n) first moment */
  float *v;                /* (n) second moment */
  float *vmax;             /* (n) running max of v (AMSGrad); NULL for Adam */
} OptAdam;                 /* m, v, vmax are one allocation starting at m */

/* The per-step constants. */
typedef struct {
  float wd, b1, c1, b2, c2;  /* c1 = 1 − β1, c2 = 1 − β2 */
  float bc2_sqrt;            /* sqrt(1 − β2^t) */
  float eps;
  float step_size;           /* lr / (1 − β1^t) */
  int has_wd;
} AdamCoef;


#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(CEMRL_NO_CLONES)
#define ADAM_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define ADAM_CLONES
#endif

/* One block of ADAM_BLOCK elements (inlined into each clone of adam_step). */
static inline __attribute__((always_inline)) void adam_block(const AdamCoef *c, float *restrict p, const float *restrict grad,
                       float *restrict m, float *restrict v, float *restrict vmax) {
  float g[ADAM_BLOCK], d[ADAM_BLOCK];
  for (int k = 0; k < ADAM_BLOCK; k++) g[k] = grad[k];
  if (c->has_wd) {
    for (int k = 0; k < ADAM_BLOCK; k++) g[k] += c->wd * p[k];
  }
  for (int k = 0; k < ADAM_BLOCK; k++) {
    m[k] = m[k] * c->b1 + c->c1 * g[k];
    v[k] = v[k] * c->b2 + c->c2 * g[k] * g[k];
  }
  if (vmax) {
    for (int k = 0; k < ADAM_BLOCK; k++) {
      vmax[k] = v[k] > vmax[k] ? v[k] : vmax[k];
      d[k] = vmax[k];
    }
  } else {
    for (int k = 0; k < ADAM_BLOCK; k++) d[k] = v[k];
  }
  for (int k = 0; k < ADAM_BLOCK; k++) d[k] = sqrtf(d[k]);
  for (int k = 0; k < ADAM_BLOCK; k++) {
    p[k] -= c->step_size * (m[k] / (d[k] / c->bc2_sqrt + c->eps));
  }
}


ADAM_CLONES static void adam_step(Opt *o, float *params, const float *grads) {
  OptAdam *a = (OptAdam *)o;
  const OptSettings *st = &o->set;
  double t = (double)o->t;
  double bc1 = 1.0 - pow(st->beta1, t), bc2 = 1.0 - pow(st->beta2, t);
  AdamCoef c = {
    .wd = (float)st->weight_decay,
    .b1 = (float)st->beta1,
    .c1 = (float)(1.0 - st->beta1),
    .b2 = (float)st->beta2,
    .c2 = (float)(1.0 - st->beta2),
    .bc2_sqrt = (float)sqrt(bc2),
    .eps = (float)st->eps,
    .step_size = (float)(st->lr / bc1),
    .has_wd = st->weight_decay != 0.0,
  };
  size_t n = o->n, i = 0;
  for (; i + ADAM_BLOCK <= n; i += ADAM_BLOCK) {
    adam_block(&c, params + i, grads + i, a->m + i, a->v + i, a->vmax ? a->vmax + i : NULL);
  }
  if (i < n) {
    /* the remainder, on zero-padded copies (zeros give m = 0 and a zero update) */
    size_t r = n - i, bytes = r * sizeof(float);
    float p[ADAM_BLOCK] = {0}, g[ADAM_BLOCK] = {0}, m[ADAM_BLOCK] = {0}, v[ADAM_BLOCK] = {0},
          u[ADAM_BLOCK] = {0};
    memcpy(p, params + i, bytes);
    memcpy(g, grads + i, bytes);
    memcpy(m, a->m + i, bytes);
    memcpy(v, a->v + i, bytes);
    if (a->vmax) memcpy(u, a->vmax + i, bytes);
    adam_block(&c, p, g, m, v, a->vmax ? u : NULL);
    memcpy(params + i, p, bytes);
    memcpy(a->m + i, m, bytes);
    memcpy(a->v + i, v, bytes);
    if (a->vmax) memcpy(a->vmax + i, u, bytes);
  }
}


/* Number of n-float buffers in the state: m, v, and vmax for AMSGrad. */
static size_t adam_nbuf(const Opt *o) { return ((const OptAdam *)o)->vmax ? 3 : 2; }


static void adam_reset(Opt *o) {
  OptAdam *a = (OptAdam *)o;
  memset(a->m, 0, adam_nbuf(o) * o->n * sizeof(float));
}


static int adam_save(const Opt *o, CoreCkptWriter *w, const char *prefix, CoreErr *err) {
  const OptAdam *a = (const OptAdam *)o;
  int rc = opt_save_floats(w, prefix, "m", a->m, o->n, err);
  if (rc == 0) rc = opt_save_floats(w, prefix, "v", a->v, o->n, err);
  if (rc == 0 && a->vmax) rc = opt_save_floats(w, prefix, "vmax", a->vmax, o->n, err);
  return rc;
}


static int adam_load(Opt *o, const CoreCkpt *c, const char *prefix, CoreErr *err) {
  OptAdam *a = (OptAdam *)o;
  const void *m = NULL, *v = NULL, *vmax = NULL;
  int rc = opt_find_floats(c, prefix, "m", o->n, &m, err);
  if (rc == 0) rc = opt_find_floats(c, prefix, "v", o->n, &v, err);
  if (rc == 0 && a->vmax) rc = opt_find_floats(c, prefix, "vmax", o->n, &vmax, err);
  if (rc < 0) return rc;
  memcpy(a->m, m, o->n * sizeof(float));
  memcpy(a->v, v, o->n * sizeof(float));
  if (a->vmax) memcpy(a->vmax, vmax, o->n * sizeof(float));
  return CORE_OK;
}


static void adam_free(Opt *o) {
  OptAdam *a = (OptAdam *)o;
  core_free(a->m);
  core_free(a);
}


static const OptVt adam_vt = {
  .name = "adam",
  .step = adam_step,
  .reset = adam_reset,
  .save = adam_save,
  .load = adam_load,
  .free = adam_free,
};

static const OptVt amsgrad_vt = {
  .name = "amsgrad",
  .step = adam_step,
  .reset = adam_reset,
  .save = adam_save,
  .load = adam_load,
  .free = adam_free,
};


Opt *opt_adam_create(const OptSettings *st, size_t n, CoreErr *err) {
  CORE_ASSERT(st && (st->kind == OPT_ADAM || st->kind == OPT_AMSGRAD));
  int ams = st->kind == OPT_AMSGRAD;
  size_t count;
  if (core_mul_size(&count, ams ? 3 : 2, n)) {
    core_err_set(err, CORE_ERR_NOMEM, "%s: state for n = %zu overflows", opt_kind_names[st->kind],
                 n);
    return NULL;
  }
  OptAdam *a = core_calloc(1, sizeof *a);
  float *state = core_calloc(count, sizeof(float));
  if (!a || !state) {
    core_free(a);
    core_free(state);
    core_err_set(err, CORE_ERR_NOMEM, "%s: no memory for %zu floats of state",
                 opt_kind_names[st->kind], count);
    return NULL;
  }
  a->base = (Opt){.vt = ams ? &amsgrad_vt : &adam_vt, .set = *st, .n = n, .t = 0};
  a->m = state;
  a->v = state + n;
  a->vmax = ams ? state + 2 * n : NULL;
  return &a->base;
}
