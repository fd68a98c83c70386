/* abs.h — the ABS / ABSA schedule: batch size, learning rate and adversarial ratio adapted from
 * the top Hessian eigenvalue (Yao, Gholami, Keutzer, Mahoney; spec/papers.md part 2 §3).
 *
 * The effective batch is B = r·b0: r chunks of b0 examples are accumulated into one SGD step.
 * After every epoch the caller measures the top eigenvalue λ (opt_eig_power on one b0 batch) while
 * opt_abs_wants_eigen says so, and reports it with opt_abs_epoch_end. The schedule then decides:
 *   - λ_ref is the first measured λ;
 *   - eigen rule: if λ <= λ_ref / eigen_ratio, r ← factor·r, the lr scale is multiplied by the
 *     same factor (linear scaling), γ ← γ/2 and λ_ref ← λ;
 *   - duration rule: otherwise, if `duration` epochs passed without an increase, the same change
 *     (λ_ref unchanged);
 *   - when r reaches r_max it is clamped there, γ ← 0 and eigenvalues are no longer checked.
 * On top: the step decay (lr × decay_factor at each decay epoch), a cap on the scaled lr
 * (lr_cap; the spec's departure for an MLP without batch norm, 0 = none), and γ = 0 from epoch
 * ⌊E/2⌋ on. Adversarial (FGSM) examples replace the first max(1, ⌊b0·γ⌋) of each chunk while
 * γ > 1/b0 (ABSA); ABS is the same schedule with γ0 = 0. Every decision is recorded.
 *
 * Nullable: every CoreErr *err; n of opt_abs_log.
 */
#ifndef CEMRL_OPTIM_ABS_H
#define CEMRL_OPTIM_ABS_H

#include "core/err.h"

#define OPT_ABS_MAX_DECAYS 8

/* Settings (defaults: HessianFlow's, spec §3b). */
typedef struct {
  int b0;                  /* chunk size (128) */
  int r_max;               /* largest ratio (128) */
  double eigen_ratio;      /* increase when λ <= λ_ref / eigen_ratio (2) */
  int batch_factor;        /* r multiplier per increase (2) */
  int duration;            /* epochs without an increase that force one (10) */
  double gamma0;           /* initial adversarial ratio (0.2 ABSA; 0 ABS) */
  double lr0;              /* base learning rate (0.1) */
  double lr_cap;           /* largest scaled lr before decay, 0 = uncapped (0) */
  int epochs;              /* E, total epochs (γ = 0 from ⌊E/2⌋) (90) */
  int n_decay;             /* decay epochs in use */
  int decay_epochs[OPT_ABS_MAX_DECAYS];  /* lr × decay_factor from each of these epochs on
                                            (0-based; 30, 60, 80) */
  double decay_factor;     /* (0.2) */
} OptAbsSettings;

/* Why the batch changed after an epoch. */
typedef enum {
  OPT_ABS_KEEP = 0,        /* no change */
  OPT_ABS_EIGEN,           /* eigenvalue rule */
  OPT_ABS_DURATION,        /* duration rule */
  OPT_ABS_FROZEN           /* r is at r_max: no more checks */
} OptAbsCause;

extern const char *const opt_abs_cause_names[];   /* "keep", "eigen", "duration", "frozen" */

/* One epoch's decision. */
typedef struct {
  int epoch;               /* the epoch just finished (0-based) */
  double lambda;           /* eigenvalue reported (NAN when not measured) */
  double lambda_ref;       /* reference after the decision */
  int cause;               /* OptAbsCause */
  int r_before, r_after;   /* ratio before / after */
  double lr_scale;         /* lr multiplier after the decision (before cap and decay) */
  double gamma;            /* adversarial ratio after the decision (before the E/2 rule) */
} OptAbsDecision;

typedef struct OptAbs OptAbs;

/* HessianFlow's defaults (see the field comments). */
OptAbsSettings opt_abs_settings_default(void);

/* Check settings: 0 or CORE_ERR_INVALID naming the field. */
int opt_abs_settings_check(const OptAbsSettings *s, CoreErr *err);

/* Create a schedule at r = 1; NULL with err on bad settings or no memory. */
OptAbs *opt_abs_create(const OptAbsSettings *s, CoreErr *err);

/* Free (NULL no-op). */
void opt_abs_free(OptAbs *a);

/* 1 while the schedule still uses eigenvalues (r < r_max). */
int opt_abs_wants_eigen(const OptAbs *a);

/* Decide after epoch `epoch` (0-based, increasing) with its eigenvalue λ (NAN if not measured). */
OptAbsDecision opt_abs_epoch_end(OptAbs *a, int epoch, double lambda);

/* Current ratio r and effective batch r·b0. */
int opt_abs_ratio(const OptAbs *a);
int opt_abs_batch(const OptAbs *a);

/* Learning rate in force during epoch: lr0·scale, capped at lr_cap, times the step decay. */
double opt_abs_lr(const OptAbs *a, int epoch);

/* Adversarial ratio in force during epoch (0 from ⌊E/2⌋ on). */
double opt_abs_gamma(const OptAbs *a, int epoch);

/* Adversarial examples per chunk during epoch: max(1, ⌊b0·γ⌋) while γ > 1/b0, else 0. */
int opt_abs_n_adv(const OptAbs *a, int epoch);

/* Decisions so far (one per opt_abs_epoch_end call), count in *n. */
const OptAbsDecision *opt_abs_log(const OptAbs *a, int *n);

#endif
