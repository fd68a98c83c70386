/* mlp_internal.h — helpers shared by the files of src/nets (not a public interface). */
#ifndef CEMRL_NETS_MLP_INTERNAL_H
#define CEMRL_NETS_MLP_INTERNAL_H

#include <stddef.h>

#include "core/err.h"
#include "nets/mlp.h"

/* Validate a description; on success give its parameter count and widest layer (nullable). */
int nn_descs_check_(int in_dim, const NnLayerDesc *layers, int n_layers, size_t *n_params,
                    int *max_width, CoreErr *err);

/* nn_mlp_describe for a bare description. */
int nn_descs_describe_(int in_dim, const NnLayerDesc *layers, int n_layers, char *buf, size_t n);

/* Fill out[0..n_layers) with the description of a built network (scale pointers borrowed). */
void nn_mlp_descs_(const NnMlp *net, NnLayerDesc *out);

#endif
