/* ropt.h — Riemannian SGD, Adam, AMSGrad and Adagrad over a product of Poincaré balls
 * (Bécigneul & Ganea 2019; spec papers.md part 2 §4a).
 *
 * The parameters are one flat float buffer (rows, dim): each row is a point of its own ball
 * 𝔹^dim, and the manifold is the product of the rows. Adaptivity acts across factors, not
 * coordinates: each row keeps one scalar second moment v (its squared Riemannian gradient norm
 * ‖g‖²_x), a momentum vector m that is parallel-transported along every step, and its own step
 * count for the bias corrections, so a sparse step (only the rows a minibatch touched) leaves the
 * other rows' state as it was ("lazy" state, as a sparse embedding optimizer keeps it).
 *
 * For a row x with Euclidean gradient ∇ (the caller's), at its step t:
 *   g = ∇/λ_x²                                          (Riemannian gradient)
 *   RSGD      u = −lr·g
 *   RADAM     m = β1·m + (1 − β1)·g,  v = β2·v + (1 − β2)·‖g‖²_x,
 *             u = −lr/(1 − β1^t) · m/(√(v/(1 − β2^t)) + eps)
 *   RAMSGRAD  as RADAM with vmax = max(vmax, v) (raw v, then bias-corrected) in place of v
 *   RADAGRAD  v = v + ‖g‖²_x,  u = −lr·g/(√v + eps)   (no momentum)
 *   x' = proj(exp_x(u)) (ROPT_EXPMAP) or proj(x + u) (ROPT_RETRACTION); m = P_{x→x'}(m)
 * with x projected before the step too (geoopt). RSGD with the retraction is N&K's update
 * θ ← proj(θ − lr·(1 − ‖θ‖²)²/4·∇). On ROPT_EUCLID the same rules run with λ ≡ 1, exp_x(u) = x + u,
 * identity transport and no projection: RADAM then is Adam with one scalar v per row.
 *
 * Arithmetic is in double on one row at a time; parameters and state are stored as float.
 */
#ifndef CEMRL_OPTIM_ROPT_H
#define CEMRL_OPTIM_ROPT_H

#include <stdint.h>

#include "core/ckpt.h"
#include "core/err.h"

typedef enum {
  ROPT_RSGD = 0,
  ROPT_RADAM,
  ROPT_RAMSGRAD,
  ROPT_RADAGRAD,
  ROPT_NKIND
} RoptKind;

typedef enum {
  ROPT_BALL = 0,       /* Poincaré ball, curvature −1 */
  ROPT_EUCLID,         /* ℝ^dim (λ ≡ 1): baselines and the reduction test */
  ROPT_NMANIFOLD
} RoptManifold;

typedef enum {
  ROPT_EXPMAP = 0,     /* exact exponential map */
  ROPT_RETRACTION,     /* first-order retraction proj(x + u) */
  ROPT_NUPDATE
} RoptUpdate;

extern const char *const ropt_kind_names[];       /* "rsgd", "radam", "ramsgrad", "radagrad" */
extern const char *const ropt_manifold_names[];   /* "poincare", "euclidean" */
extern const char *const ropt_update_names[];     /* "exp", "retraction" */

/* The RoptKind named name ("radam"), or -1. */
int ropt_kind_from_name(const char *name);

/* Typed settings. */
typedef struct {
  int kind;              /* RoptKind */
  int manifold;          /* RoptManifold */
  int update;            /* RoptUpdate */
  double lr;             /* > 0 */
  double beta1, beta2;   /* RADAM/RAMSGRAD, in [0, 1) */
  double eps;            /* > 0, added to √v */
  double proj_eps;       /* ball boundary margin in (0, 1): rows are kept at ‖x‖ ≤ 1 − proj_eps */
  double max_grad_norm;  /* Euclidean gradient rows longer than this are rescaled to it (N&K's
                          * sparse path uses 5); 0 turns it off */
} RoptSettings;

/* Defaults: lr 1e-3 (geoopt), β (0.9, 0.999), eps 1e-8, ball, exp map, proj_eps 1e-5, no clip. */
RoptSettings ropt_settings_default(int kind);

/* Check settings: 0, or CORE_ERR_INVALID naming the field ("ropt.beta2: ..."). */
int ropt_settings_check(const RoptSettings *s, CoreErr *err);

typedef struct {
  RoptSettings set;      /* settings in force; set.lr may change between steps (burn-in) */
  int rows, dim;
  int64_t t;             /* step calls so far */
  int64_t *row_t;        /* (rows) updates of each row: its bias-correction step */
  float *m;              /* (rows, dim) momentum at the row's current point; NULL without one */
  float *v;              /* (rows) second moment (sum for RADAGRAD); NULL for RSGD */
  float *vmax;           /* (rows) running max of v; RAMSGRAD only, else NULL */
} Ropt;

/* Create an optimizer for a (rows, dim) buffer; NULL with err on bad settings or no memory. */
Ropt *ropt_create(const RoptSettings *s, int rows, int dim, CoreErr *err);

/* Free (NULL is a no-op). */
void ropt_free(Ropt *o);

/* One step of every row of params (rows, dim) from Euclidean gradients egrads (rows, dim). */
void ropt_step(Ropt *o, float *params, const float *egrads);

/* One step of the listed rows only (distinct indices in [0, rows)); other rows and their state
 * are untouched. egrads is the full (rows, dim) buffer; only the listed rows are read. */
void ropt_step_rows(Ropt *o, float *params, const float *egrads, const int *rows, int n);

/* Change the learning rate (burn-in, schedules); finite and >= 0. */
void ropt_set_lr(Ropt *o, double lr);

/* Forget all state (fresh moments, step counts 0). */
void ropt_reset(Ropt *o);

/* Save state as sections "<prefix>.kind", ".shape", ".t", ".row_t" and the kind's ".m", ".v",
 * ".vmax" (borrowed: write before the next step). */
int ropt_save(const Ropt *o, CoreCkptWriter *w, const char *prefix, CoreErr *err);

/* Load state saved by ropt_save. Kind and shape must match (CORE_ERR_INVALID); missing or
 * malformed sections are CORE_ERR_CORRUPT; on any error the optimizer is unchanged. */
int ropt_load(Ropt *o, const CoreCkpt *c, const char *prefix, CoreErr *err);

#endif
