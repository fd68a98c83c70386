/* opt.c — settings, dispatch and the state every optimizer kind shares (t, kind). */
#include "optim/opt.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const char *const opt_kind_names[OPT_NKIND + 1] = {
  [OPT_SGD] = "sgd",
  [OPT_ADAM] = "adam",
  [OPT_AMSGRAD] = "amsgrad",
  [OPT_A2GRAD] = "a2grad",
  [OPT_NKIND] = NULL,      /* the config reader walks the names up to NULL */
};

const char *const opt_a2grad_variant_names[OPT_A2GRAD_NVARIANT + 1] = {
  [OPT_A2GRAD_UNI] = "uni",
  [OPT_A2GRAD_INC] = "inc",
  [OPT_A2GRAD_EXP] = "exp",
  [OPT_A2GRAD_NVARIANT] = NULL,
};

/* Constructor per kind, indexed by OptKind. */
static Opt *(*const opt_creators[OPT_NKIND])(const OptSettings *, size_t, CoreErr *) = {
  [OPT_SGD] = opt_sgd_create,
  [OPT_ADAM] = opt_adam_create,
  [OPT_AMSGRAD] = opt_adam_create,
  [OPT_A2GRAD] = opt_a2grad_create,
};


int opt_kind_from_name(const char *name) {
  if (!name) return -1;
  for (int k = 0; k < OPT_NKIND; k++) {
    if (strcmp(name, opt_kind_names[k]) == 0) return k;
  }
  return -1;
}


OptSettings opt_settings_default(int kind) {
  OptSettings s = {
    .kind = kind,
    .lr = 1e-3,
    .weight_decay = 0.0,
    .momentum = 0.0,
    .dampening = 0.0,
    .nesterov = 0,
    .beta1 = 0.9,
    .beta2 = 0.999,
    .eps = 1e-8,
    .a2grad_variant = OPT_A2GRAD_UNI,
    .a2grad_per_tensor = 0,
    .lips = 10.0,
    .beta = 10.0,
    .rho = 0.5,
  };
  return s;
}


/* The list of kind names, for "not a known optimizer (sgd, adam, ...)". */
static void opt_kind_list(char *buf, size_t size) {
  size_t used = 0;
  buf[0] = '\0';
  for (int k = 0; k < OPT_NKIND && used < size; k++) {
    int w = snprintf(buf + used, size - used, "%s%s", k ? ", " : "", opt_kind_names[k]);
    if (w < 0) break;
    used += (size_t)w;
  }
}


int opt_settings_check(const OptSettings *s, CoreErr *err) {
  CORE_ASSERT(s);
  if (s->kind < 0 || s->kind >= OPT_NKIND) {
    char kinds[256];
    opt_kind_list(kinds, sizeof kinds);
    return core_err_set(err, CORE_ERR_INVALID, "optimizer.kind: %d is not a known optimizer (%s)",
                        s->kind, kinds);
  }
  const char *kind = opt_kind_names[s->kind];
  OptSettings def = opt_settings_default(s->kind);
  /* negated comparisons so that NaN fails every check */
  if (!(s->lr > 0.0 && isfinite(s->lr))) {
    return core_err_set(err, CORE_ERR_INVALID,
                        "optimizer.lr: %g must be a finite number > 0 (%s's default is %g)", s->lr,
                        kind, def.lr);
  }
  if (!(s->weight_decay >= 0.0 && isfinite(s->weight_decay))) {
    return core_err_set(err, CORE_ERR_INVALID,
                        "optimizer.weight_decay: %g must be a finite number >= 0 (0 turns it off)",
                        s->weight_decay);
  }
  switch (s->kind) {
  case OPT_SGD:
    if (!(s->momentum >= 0.0 && isfinite(s->momentum))) {
      return core_err_set(err, CORE_ERR_INVALID,
                          "optimizer.momentum: %g must be a finite number >= 0 (0 turns momentum "
                          "off; 0.9 is usual)", s->momentum);
    }
    if (!(s->dampening >= 0.0 && s->dampening <= 1.0)) {
      return core_err_set(err, CORE_ERR_INVALID,
                          "optimizer.dampening: %g is outside [0, 1] (the default is 0)",
                          s->dampening);
    }
    if (s->nesterov && (s->momentum <= 0.0 || s->dampening != 0.0)) {
      return core_err_set(err, CORE_ERR_INVALID,
                          "optimizer.nesterov: Nesterov momentum needs momentum > 0 and "
                          "dampening == 0 (got momentum %g, dampening %g)",
                          s->momentum, s->dampening);
    }
    break;
  case OPT_ADAM:
  case OPT_AMSGRAD:
    if (!(s->beta1 >= 0.0 && s->beta1 < 1.0)) {
      return core_err_set(err, CORE_ERR_INVALID,
                          "optimizer.beta1: %g is outside [0, 1) (the default is %g)", s->beta1,
                          def.beta1);
    }
    if (!(s->beta2 >= 0.0 && s->beta2 < 1.0)) {
      return core_err_set(err, CORE_ERR_INVALID,
                          "optimizer.beta2: %g is outside [0, 1) (the default is %g)", s->beta2,
                          def.beta2);
    }
    if (!(s->eps > 0.0 && isfinite(s->eps))) {
      return core_err_set(err, CORE_ERR_INVALID,
                          "optimizer.eps: %g must be a finite number > 0 (the default is %g)",
                          s->eps, def.eps);
    }
    break;
  case OPT_A2GRAD:
    if (s->a2grad_variant < 0 || s->a2grad_variant >= OPT_A2GRAD_NVARIANT) {
      return core_err_set(err, CORE_ERR_INVALID,
                          "optimizer.a2grad_variant: %d is not a known variant (uni, inc, exp)",
                          s->a2grad_variant);
    }
    if (!(s->lips > 0.0 && isfinite(s->lips))) {
      return core_err_set(err, CORE_ERR_INVALID,
                          "optimizer.lips: %g must be a finite number > 0 (the smoothness "
                          "constant L; the default is %g)", s->lips, def.lips);
    }
    if (!(s->beta >= 0.0 && isfinite(s->beta))) {
      return core_err_set(err, CORE_ERR_INVALID,
                          "optimizer.beta: %g must be a finite number >= 0 (the default is %g)",
                          s->beta, def.beta);
    }
    if (s->a2grad_variant == OPT_A2GRAD_EXP && !(s->rho >= 0.0 && s->rho < 1.0)) {
      return core_err_set(err, CORE_ERR_INVALID,
                          "optimizer.rho: %g is outside [0, 1) (the default is %g)", s->rho,
                          def.rho);
    }
    break;
  default:
    break;
  }
  return CORE_OK;
}


Opt *opt_create(const OptSettings *s, size_t n, CoreErr *err) {
  CORE_ASSERT(s);
  if (opt_settings_check(s, err) < 0) return NULL;
  Opt *o = opt_creators[s->kind](s, n, err);
  if (!o) return NULL;
  CORE_ASSERT(o->vt && o->n == n && o->t == 0);
  return o;
}


void opt_free(Opt *o) {
  if (!o) return;
  o->vt->free(o);
}


void opt_step(Opt *o, float *params, const float *grads) {
  CORE_ASSERT(o && (o->n == 0 || (params && grads)));
  o->t++;
  o->vt->step(o, params, grads);
}


void opt_reset(Opt *o) {
  CORE_ASSERT(o);
  o->t = 0;
  o->vt->reset(o);
}


void opt_set_lr(Opt *o, double lr) {
  CORE_ASSERT(o && isfinite(lr) && lr >= 0.0);
  o->set.lr = lr;
}


int opt_set_segments(Opt *o, const size_t *len, int count, CoreErr *err) {
  CORE_ASSERT(o && (count <= 0 || len));
  if (count < 1) {
    return core_err_set(err, CORE_ERR_INVALID,
                        "optimizer segments: %d segments given (at least 1 is needed)", count);
  }
  size_t sum = 0;
  for (int i = 0; i < count; i++) {
    if (len[i] == 0 || len[i] > o->n - sum) {
      return core_err_set(err, CORE_ERR_INVALID,
                          "optimizer segments: segment %d of %d has length %zu, which %s (the "
                          "lengths must be > 0 and add up to the vector length %zu)", i, count,
                          len[i], len[i] == 0 ? "is empty" : "runs past the end", o->n);
    }
    sum += len[i];
  }
  if (sum != o->n) {
    return core_err_set(err, CORE_ERR_INVALID,
                        "optimizer segments: %d segments add up to %zu floats but the vector has "
                        "%zu", count, sum, o->n);
  }
  if (!o->vt->set_segments) return CORE_OK;
  return o->vt->set_segments(o, len, count, err);
}


int opt_section_name(char *out, const char *prefix, const char *field, CoreErr *err) {
  CORE_ASSERT(out && prefix && field);
  int w = snprintf(out, CORE_CKPT_NAME_MAX + 1, "%s.%s", prefix, field);
  if (w < 0 || w > CORE_CKPT_NAME_MAX) {
    return core_err_set(err, CORE_ERR_INVALID,
                        "optimizer state prefix \"%s\": section name \"%s.%s\" is longer than %d "
                        "bytes (use a shorter prefix)", prefix, prefix, field, CORE_CKPT_NAME_MAX);
  }
  return CORE_OK;
}


int opt_save_floats(CoreCkptWriter *w, const char *prefix, const char *field, const float *x,
                    size_t n, CoreErr *err) {
  char name[CORE_CKPT_NAME_MAX + 1];
  int rc = opt_section_name(name, prefix, field, err);
  if (rc < 0) return rc;
  return core_ckpt_add(w, name, x, n * sizeof(float), err);
}


int opt_find_floats(const CoreCkpt *c, const char *prefix, const char *field, size_t n,
                    const void **data, CoreErr *err) {
  char name[CORE_CKPT_NAME_MAX + 1];
  int rc = opt_section_name(name, prefix, field, err);
  if (rc < 0) return rc;
  size_t size = 0;
  const void *p = core_ckpt_find(c, name, &size);
  if (!p) {
    return core_err_set(err, CORE_ERR_CORRUPT,
                        "%s: section \"%s\" is missing (the checkpoint's optimizer under \"%s\" "
                        "was saved with other settings, or not at all)",
                        core_ckpt_label(c), name, prefix);
  }
  if (size != n * sizeof(float)) {
    return core_err_set(err, CORE_ERR_INVALID,
                        "%s: section \"%s\" holds %zu bytes (%zu floats) but the optimizer has "
                        "n = %zu (was the network or its size changed since the checkpoint?)",
                        core_ckpt_label(c), name, size, size / sizeof(float), n);
  }
  *data = p;
  return CORE_OK;
}


int opt_save(const Opt *o, CoreCkptWriter *w, const char *prefix, CoreErr *err) {
  CORE_ASSERT(o && w && prefix);
  char name[CORE_CKPT_NAME_MAX + 1];
  const char *kind = opt_kind_names[o->set.kind];
  int rc = opt_section_name(name, prefix, "kind", err);
  if (rc == 0) rc = core_ckpt_add_copy(w, name, kind, strlen(kind), err);
  if (rc == 0) rc = opt_section_name(name, prefix, "t", err);
  if (rc == 0) rc = core_ckpt_add_copy(w, name, &o->t, sizeof o->t, err);
  if (rc == 0) rc = o->vt->save(o, w, prefix, err);
  return rc;
}


int opt_load(Opt *o, const CoreCkpt *c, const char *prefix, CoreErr *err) {
  CORE_ASSERT(o && c && prefix);
  const char *label = core_ckpt_label(c);
  char name[CORE_CKPT_NAME_MAX + 1];
  size_t size = 0;

  /* kind: stored as its name, so a file stays readable when kinds are added */
  int rc = opt_section_name(name, prefix, "kind", err);
  if (rc < 0) return rc;
  const char *saved = core_ckpt_find(c, name, &size);
  if (!saved) {
    return core_err_set(err, CORE_ERR_CORRUPT,
                        "%s: section \"%s\" is missing (no optimizer state under \"%s\")", label,
                        name, prefix);
  }
  const char *kind = opt_kind_names[o->set.kind];
  if (size != strlen(kind) || memcmp(saved, kind, size) != 0) {
    int shown = size > 32 ? 32 : (int)size;
    return core_err_set(err, CORE_ERR_INVALID,
                        "%s: section \"%s\" is \"%.*s\" but this optimizer is \"%s\" "
                        "(optimizer.kind must match the checkpoint's)",
                        label, name, shown, saved, kind);
  }

  /* step count */
  rc = opt_section_name(name, prefix, "t", err);
  if (rc < 0) return rc;
  const void *tp = core_ckpt_find(c, name, &size);
  if (!tp || size != sizeof(int64_t)) {
    return core_err_set(err, CORE_ERR_CORRUPT, "%s: section \"%s\" is %s", label, name,
                        tp ? "not an 8-byte step count" : "missing");
  }
  int64_t t;
  memcpy(&t, tp, sizeof t);
  if (t < 0) {
    return core_err_set(err, CORE_ERR_CORRUPT, "%s: section \"%s\": step count %lld is negative",
                        label, name, (long long)t);
  }

  /* the kind's buffers; it checks all of them before it copies any */
  rc = o->vt->load(o, c, prefix, err);
  if (rc < 0) return rc;
  o->t = t;
  return CORE_OK;
}
