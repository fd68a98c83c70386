/* blas.c — OpenBLAS introspection and kernel advice. */
#include "nets/blas.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *nn_blas_corename(void) { return openblas_get_corename(); }

const char *nn_blas_config(void) { return openblas_get_config(); }

void nn_blas_set_threads(int n) { openblas_set_num_threads(n); }

int nn_blas_threads(void) { return openblas_get_num_threads(); }

const char *nn_blas_suggest_coretype(void) {
  const char *set = getenv("OPENBLAS_CORETYPE");
  if (set && set[0]) return NULL;
  const char *core = nn_blas_corename();
  /* the generic x86-64 kernels DYNAMIC_ARCH falls back to for CPUs it does not know */
  static const char *const generic[] = {"Prescott", "Core2", "Penryn", "Dunnington", "Nehalem",
                                        "Sandybridge", "Atom", "Katmai", "Coppermine",
                                        "Northwood", "Banias", "Unknown"};
  int fallback = 0;
  for (size_t i = 0; i < sizeof generic / sizeof generic[0]; i++)
    if (core && !strcasecmp(core, generic[i])) fallback = 1;
  if (!fallback) return NULL;
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
    return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
#endif
  return NULL;
}
