/* opt.h — optimizers on flat float vectors.
 *
 * Every update rule (SGD, Adam, AMSGrad, and the paper optimizers: A2Grad, Riemannian Adam,
 * ...) implements OptVt. An optimizer is created for a vector length n and steps a whole
 * parameter vector with its gradient; it never knows which network or task made them. Its state
 * is flat too, so checkpoints save it as named sections.
 *
 * The wrappers (opt_step, opt_reset, opt_save, opt_load) own the parts every kind shares: the
 * step count t and the "<prefix>.kind" / "<prefix>.t" sections. A kind's OptVt only handles its
 * own buffers. SGD, Adam and AMSGrad follow torch.optim (1.13) update for update.
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

extern const char *const opt_kind_names[];   /* "sgd", "adam", "amsgrad", ... (OPT_NKIND) */

/* The OptKind named name ("adam"), or -1 if no kind has that name. */
int opt_kind_from_name(const char *name);

/* Typed settings of every optimizer kind (fields a kind does not use are ignored). */
typedef struct {
  int kind;                /* OptKind */
  double lr;               /* learning rate, > 0 */
  double weight_decay;     /* L2 added to the gradient (PyTorch's coupled form), >= 0 */
  /* SGD */
  double momentum;         /* >= 0; 0 keeps no momentum buffer */
  double dampening;        /* in [0, 1] */
  int nesterov;            /* needs momentum > 0 and dampening == 0 */
  /* Adam / AMSGrad */
  double beta1, beta2, eps;  /* betas in [0, 1), eps > 0 */
} OptSettings;

/* PyTorch's defaults for a kind: Adam/AMSGrad lr 1e-3, betas 0.9/0.999, eps 1e-8; SGD lr 1e-3
 * (torch 2.x; 1.13 had no default), momentum, dampening and weight decay 0. */
OptSettings opt_settings_default(int kind);

/* Check settings for their kind: 0, or CORE_ERR_INVALID with a message naming the field
 * ("optimizer.beta2: 1.5 is outside [0, 1) ..."). opt_create calls it. */
int opt_settings_check(const OptSettings *s, CoreErr *err);

typedef struct Opt Opt;

typedef struct {
  const char *name;
  /* one update: params -= f(grads, state); o->t already counts this step (1 on the first) */
  void (*step)(Opt *o, float *params, const float *grads);
  /* forget the kind's state (fresh moments); the wrapper zeroes t */
  void (*reset)(Opt *o);
  /* add the kind's sections "<prefix>.<field>" to a writer (borrowed pointers) */
  int (*save)(const Opt *o, CoreCkptWriter *w, const char *prefix, CoreErr *err);
  /* restore the kind's sections; check every size before changing any state */
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

/* One update of params[0..n) from grads[0..n) (the two must not overlap). */
void opt_step(Opt *o, float *params, const float *grads);

/* Reset state to freshly created (step count 0). */
void opt_reset(Opt *o);

/* Change the learning rate (schedules); lr must be finite and >= 0 (a schedule may reach 0). */
void opt_set_lr(Opt *o, double lr);

/* Save state as sections "<prefix>.kind", "<prefix>.t" and the kind's own ("<prefix>.m", ...).
 * Moment buffers are borrowed: write the checkpoint before the next opt_step. */
int opt_save(const Opt *o, CoreCkptWriter *w, const char *prefix, CoreErr *err);

/* Load state saved by opt_save under prefix. The kind and every vector length must match this
 * optimizer (CORE_ERR_INVALID), missing or malformed sections are CORE_ERR_CORRUPT; on any
 * error the optimizer is unchanged. */
int opt_load(Opt *o, const CoreCkpt *c, const char *prefix, CoreErr *err);

/* ---------------------------------------------------------------- for OptVt implementations */

/* Write "<prefix>.<field>" into out (CORE_CKPT_NAME_MAX + 1 bytes); CORE_ERR_INVALID if the
 * name would be too long. */
int opt_section_name(char *out, const char *prefix, const char *field, CoreErr *err);

/* Add n floats as section "<prefix>.<field>" (borrowed). */
int opt_save_floats(CoreCkptWriter *w, const char *prefix, const char *field, const float *x,
                    size_t n, CoreErr *err);

/* Find section "<prefix>.<field>" holding exactly n floats; its data (possibly unaligned: copy
 * it with memcpy) in *data. Missing is CORE_ERR_CORRUPT, another length CORE_ERR_INVALID, both
 * with a message naming the checkpoint and the section. */
int opt_find_floats(const CoreCkpt *c, const char *prefix, const char *field, size_t n,
                    const void **data, CoreErr *err);

/* Constructors of each kind, called by opt_create after opt_settings_check. */
Opt *opt_sgd_create(const OptSettings *s, size_t n, CoreErr *err);
Opt *opt_adam_create(const OptSettings *s, size_t n, CoreErr *err);   /* adam and amsgrad */

#endif
