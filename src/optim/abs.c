/* abs.c — the ABS / ABSA batch-size schedule (see abs.h). */
#include "optim/abs.h"

#include <math.h>

#include "core/alloc.h"

const char *const opt_abs_cause_names[] = {"keep", "eigen", "duration", "frozen"};

struct OptAbs {
  OptAbsSettings set;
  int r;                   /* current ratio */
  double lr_scale;         /* linear-scaling multiplier of lr0 */
  double gamma;            /* adversarial ratio (before the E/2 rule) */
  double lambda_ref;       /* NAN until the first measurement */
  int since;               /* epochs since the last increase (or the start) */
  int frozen;              /* r reached r_max */
  OptAbsDecision *log;     /* (epochs) */
  int n_log;
};


OptAbsSettings opt_abs_settings_default(void) {
  OptAbsSettings s = {
      .b0 = 128,
      .r_max = 128,
      .eigen_ratio = 2.0,
      .batch_factor = 2,
      .duration = 10,
      .gamma0 = 0.2,
      .lr0 = 0.1,
      .lr_cap = 0.0,
      .epochs = 90,
      .n_decay = 3,
      .decay_epochs = {30, 60, 80},
      .decay_factor = 0.2,
  };
  return s;
}


int opt_abs_settings_check(const OptAbsSettings *s, CoreErr *err) {
  if (s->b0 < 1 || s->b0 > (1 << 20))
    return core_err_set(err, CORE_ERR_INVALID, "abs.b0: %d must be in [1, 2^20] (128)", s->b0);
  if (s->r_max < 1 || s->r_max > (1 << 20))
    return core_err_set(err, CORE_ERR_INVALID, "abs.r_max: %d must be in [1, 2^20] (128)",
                        s->r_max);
  if (!(s->eigen_ratio > 1.0 && isfinite(s->eigen_ratio)))
    return core_err_set(err, CORE_ERR_INVALID, "abs.eigen_ratio: %g must be > 1 (2)",
                        s->eigen_ratio);
  if (s->batch_factor < 2 || s->batch_factor > 1024)
    return core_err_set(err, CORE_ERR_INVALID, "abs.batch_factor: %d must be in [2, 1024] (2)",
                        s->batch_factor);
  if (s->duration < 1)
    return core_err_set(err, CORE_ERR_INVALID, "abs.duration: %d must be >= 1 epoch (10)",
                        s->duration);
  if (!(s->gamma0 >= 0.0 && s->gamma0 <= 1.0))
    return core_err_set(err, CORE_ERR_INVALID, "abs.gamma0: %g must be in [0, 1] (0.2 for ABSA, "
                        "0 for ABS)", s->gamma0);
  if (!(s->lr0 > 0.0 && isfinite(s->lr0)) || !(s->lr_cap >= 0.0 && isfinite(s->lr_cap)))
    return core_err_set(err, CORE_ERR_INVALID, "abs.lr0 (%g) must be > 0 and abs.lr_cap (%g) "
                        ">= 0 (0 = no cap)", s->lr0, s->lr_cap);
  if (s->epochs < 1 || s->epochs > 1000000)
    return core_err_set(err, CORE_ERR_INVALID, "abs.epochs: %d must be in [1, 1e6]", s->epochs);
  if (s->n_decay < 0 || s->n_decay > OPT_ABS_MAX_DECAYS)
    return core_err_set(err, CORE_ERR_INVALID, "abs.n_decay: %d must be in [0, %d]", s->n_decay,
                        OPT_ABS_MAX_DECAYS);
  if (!(s->decay_factor > 0.0 && s->decay_factor <= 1.0))
    return core_err_set(err, CORE_ERR_INVALID, "abs.decay_factor: %g must be in (0, 1] (0.2)",
                        s->decay_factor);
  return CORE_OK;
}


OptAbs *opt_abs_create(const OptAbsSettings *s, CoreErr *err) {
  if (opt_abs_settings_check(s, err) < 0) return NULL;
  OptAbs *a = core_calloc(1, sizeof *a);
  if (a) a->log = core_calloc((size_t)s->epochs, sizeof *a->log);
  if (!a || !a->log) {
    opt_abs_free(a);
    core_err_set(err, CORE_ERR_NOMEM, "abs: out of memory");
    return NULL;
  }
  a->set = *s;
  a->r = 1;
  a->lr_scale = 1.0;
  a->gamma = s->gamma0;
  a->lambda_ref = NAN;
  a->frozen = s->r_max <= 1;
  if (a->frozen) a->gamma = 0.0;
  return a;
}


void opt_abs_free(OptAbs *a) {
  if (!a) return;
  core_free(a->log);
  core_free(a);
}


int opt_abs_wants_eigen(const OptAbs *a) { return !a->frozen; }
int opt_abs_ratio(const OptAbs *a) { return a->r; }
int opt_abs_batch(const OptAbs *a) { return a->r * a->set.b0; }


/* Grow r by the batch factor (clamped at r_max) with the matching lr and γ changes. */
static void increase(OptAbs *a) {
  int r_new = a->r * a->set.batch_factor;
  if (r_new >= a->set.r_max) r_new = a->set.r_max;
  a->lr_scale *= (double)r_new / a->r;
  a->gamma *= 0.5;
  a->r = r_new;
  a->since = 0;
  if (a->r >= a->set.r_max) {
    a->frozen = 1;
    a->gamma = 0.0;
  }
}


OptAbsDecision opt_abs_epoch_end(OptAbs *a, int epoch, double lambda) {
  OptAbsDecision d = {epoch, lambda, a->lambda_ref, OPT_ABS_KEEP, a->r, a->r, a->lr_scale,
                      a->gamma};
  CORE_ASSERT(a->n_log == 0 || epoch > a->log[a->n_log - 1].epoch);
  if (a->frozen) {
    d.cause = OPT_ABS_FROZEN;
  } else {
    a->since++;
    int measured = isfinite(lambda);
    if (measured && isnan(a->lambda_ref)) {
      a->lambda_ref = lambda;
    } else if (measured && lambda <= a->lambda_ref / a->set.eigen_ratio) {
      increase(a);
      a->lambda_ref = lambda;
      d.cause = OPT_ABS_EIGEN;
    }
    if (d.cause == OPT_ABS_KEEP && a->since >= a->set.duration) {
      increase(a);
      d.cause = OPT_ABS_DURATION;
    }
  }
  d.r_after = a->r;
  d.lr_scale = a->lr_scale;
  d.gamma = a->gamma;
  d.lambda_ref = a->lambda_ref;
  if (a->n_log < a->set.epochs) a->log[a->n_log++] = d;
  return d;
}


double opt_abs_lr(const OptAbs *a, int epoch) {
  double lr = a->set.lr0 * a->lr_scale;
  if (a->set.lr_cap > 0.0 && lr > a->set.lr_cap) lr = a->set.lr_cap;
  for (int k = 0; k < a->set.n_decay; k++)
    if (epoch >= a->set.decay_epochs[k]) lr *= a->set.decay_factor;
  return lr;
}


double opt_abs_gamma(const OptAbs *a, int epoch) {
  return epoch >= a->set.epochs / 2 ? 0.0 : a->gamma;
}


int opt_abs_n_adv(const OptAbs *a, int epoch) {
  double g = opt_abs_gamma(a, epoch);
  if (!(g > 1.0 / a->set.b0)) return 0;
  int k = (int)floor(a->set.b0 * g);
  return k < 1 ? 1 : k;
}


const OptAbsDecision *opt_abs_log(const OptAbs *a, int *n) {
  if (n) *n = a->n_log;
  return a->log;
}
