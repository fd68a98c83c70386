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
  OPT_A2GRAD,      /* Deng, Cheng & Lan's adaptive accelerated SGD (a2grad.c) */
  OPT_NKIND        /* later issues add kinds before this sentinel */
} OptKind;

/* "sgd", "adam", "amsgrad", "a2grad": OPT_NKIND names, then NULL (a config enum's choices). */
extern const char *const opt_kind_names[];

/* A2Grad's three ways of accumulating the squared deviations δ² into v (papers.md §5). */
typedef enum {
  OPT_A2GRAD_UNI = 0,   /* v_k = v_{k-1} + δ_k², h = √v */
  OPT_A2GRAD_INC,       /* v_k = (k/(k+1))² v_{k-1} + δ_k², h = √v */
  OPT_A2GRAD_EXP,       /* ṽ_k = ρ ṽ_{k-1} + (1−ρ) δ_k², v_k = max(ṽ_k, v_{k-1}), h = √((k+1) v) */
  OPT_A2GRAD_NVARIANT
} OptA2GradVariant;

/* "uni", "inc", "exp", then NULL. */
extern const char *const opt_a2grad_variant_names[];

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
  /* A2Grad (no learning rate: lr is ignored; weight_decay adds wd·y to the gradient) */
  int a2grad_variant;      /* OptA2GradVariant */
  int a2grad_per_tensor;   /* 1: one h per segment (opt_set_segments; default one segment) as
                              the reference code does; 0: one h per coordinate (the paper) */
  double lips;             /* L > 0: γ_k = 2L/(k+1) */
  double beta;             /* β >= 0: the weight of the adaptive term */
  double rho;              /* exp variant: ρ in [0, 1) */
} OptSettings;

/* PyTorch's defaults for a kind: Adam/AMSGrad lr 1e-3, betas 0.9/0.999, eps 1e-8; SGD lr 1e-3
 * (torch 2.x; 1.13 had no default), momentum, dampening and weight decay 0. A2Grad: the reference
 * code's L = 10, β = 10, ρ = 0.5, variant uni, per coordinate. */
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
  /* optional (NULL: the kind ignores tensor boundaries): take segment lengths (checked by
   * opt_set_segments: count >= 1, each > 0, summing to n) and reset the kind's state */
  int (*set_segments)(Opt *o, const size_t *len, int count, CoreErr *err);
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

/* Tell the optimizer where the tensors of the flat vector begin and end: count segments of
 * len[0..count) floats in order, summing to n (e.g. each layer's weight, then its bias). Kinds
 * that work per tensor (A2Grad with a2grad_per_tensor) use them; the others ignore them. Without
 * a call the whole vector is one segment. Resets the kind's state, so call it before stepping;
 * CORE_ERR_INVALID (optimizer unchanged) if the lengths do not add up to n or one is 0, or
 * CORE_ERR_NOMEM. Nullable: err. */
int opt_set_segments(Opt *o, const size_t *len, int count, CoreErr *err);

/* SGD's momentum buffer b (n floats, PyTorch's convention: p -= lr·b), which is −v of Yaida's
 * v_{t+1} = μ v_t − (1 − ν) g_t; NULL for another kind or when momentum is 0. Read-only; valid
 * until the optimizer is freed. */
const float *opt_sgd_momentum(const Opt *o);

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
Opt *opt_a2grad_create(const OptSettings *s, size_t n, CoreErr *err);

#endif
