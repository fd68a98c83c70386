/* sup_internal.h — shared between the supervised-task files of src/envs (not a public API). */
#ifndef CEMRL_ENVS_SUP_INTERNAL_H
#define CEMRL_ENVS_SUP_INTERNAL_H

#include "envs/sup.h"

/* Allocate a task and its one storage block: inputs as floats (bytes = 0) or bytes, targets
 * (n, y_dim) per split, and in_dim doubles for u_bar when with_u_bar. Sets kind, name, sizes and
 * spec; the caller fills loss, out_dim, n_classes, pred_bound and the data. NULL with err. */
SupTask *sup_task_alloc_(const SupTaskSpec *spec, int in_dim, int y_dim, int64_t n_train,
                         int64_t n_test, int bytes, int with_u_bar, CoreErr *err);

/* The writable views of a task's storage (the public fields are const). */
float *sup_x_(SupTask *t, int split);
uint8_t *sup_xb_(SupTask *t, int split);
float *sup_y_(SupTask *t, int split);
double *sup_u_bar_(SupTask *t);

/* Builders, one per kind (sup_data.c). */
SupTask *sup_fashion_create_(const SupTaskSpec *spec, CoreErr *err);
SupTask *sup_du_create_(const SupTaskSpec *spec, CoreErr *err);
SupTask *sup_ji_create_(const SupTaskSpec *spec, CoreErr *err);
SupTask *sup_regress_create_(const SupTaskSpec *spec, CoreErr *err);

#endif
