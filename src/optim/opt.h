/* opt.h — optimizers on flat float vectors.
 *
 * Every update rule (SGD, Adam, AMSGrad, and the paper optimizers: A2Grad, Riemannian Adam,
 * ...) implements OptVt. An optimizer is created for a vector length n and steps a whole
 * parameter vector with its gradient; it never knows which network or task made them. Its state
 * is flat too, so checkpoints save it as named sections.
 */
#ifndef CEMRL_OPTIM_OPT_H
#define CEMRL_OPTIM_OPT_H

#include <stddef.h>
#include <stdint.h>

#include "core/ckpt.h"
#include "core/err.h"

typedef enum {
  OPT_SGD = 0,
  OPT_ADAM,
  OPT_AMSGRAD,
  OPT_NKIND        /* later issues add kinds before this sentinel */
} OptKind;

extern const char *const opt_kind_names[];   /* "sgd", "adam", "amsgrad", ... */

/* Typed settings of every optimizer kind (fields a kind does not use are ignored). */
typedef struct {
  int kind;                /* OptKind */
  double lr;               /* learning rate */
  double weight_decay;     /* L2 added to the gradient (PyTorch's coupled form) */
  /* SGD */
  double momentum;
  double dampening;
  int nesterov;
  /* Adam / AMSGrad */
  double beta1, beta2, eps;
} OptSettings;

/* PyTorch's defaults for a kind (lr 1e-3 for Adam, 1e-2 for SGD, betas 0.9/0.999, eps 1e-8). */
OptSettings opt_settings_default(int kind);

typedef struct Opt Opt;

typedef struct {
  const char *name;
  /* one update: params -= f(grads, state) */
  void (*step)(Opt *o, float *params, const float *grads);
  /* forget all state (fresh moments, step count 0) */
  void (*reset)(Opt *o);
  /* add state sections named "<prefix>.<field>" to a writer (borrowed pointers) */
  int (*save)(const Opt *o, CoreCkptWriter *w, const char *prefix, CoreErr *err);
  /* restore state sections; sizes must match */
  int (*load)(Opt *o, const CoreCkpt *c, const char *prefix, CoreErr *err);
  void (*free)(Opt *o);
} OptVt;

struct Opt {
  const OptVt *vt;
  OptSettings set;         /* settings in force; set.lr may be changed between steps */
  size_t n;                /* vector length */
  int64_t t;               /* steps taken */
};

/* Create an optimizer for vectors of length n; NULL with err on bad settings or no memory. */
Opt *opt_create(const OptSettings *s, size_t n, CoreErr *err);

/* Free an optimizer (NULL is a no-op). */
void opt_free(Opt *o);

/* One update of params[0..n) from grads[0..n). */
void opt_step(Opt *o, float *params, const float *grads);

/* Reset state to freshly created. */
void opt_reset(Opt *o);

/* Change the learning rate (schedules). */
void opt_set_lr(Opt *o, double lr);

/* Save / load state as checkpoint sections under prefix. */
int opt_save(const Opt *o, CoreCkptWriter *w, const char *prefix, CoreErr *err);
int opt_load(Opt *o, const CoreCkpt *c, const char *prefix, CoreErr *err);

#endif
