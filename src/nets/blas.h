/* blas.h — the BLAS that the networks run on: kernel name, thread count, kernel advice.
 *
 * Debian's OpenBLAS is built with DYNAMIC_ARCH: it picks a kernel for the CPU when the library
 * loads. Version 0.3.21 does not know recent Intel Xeons (e.g. family 6 model 207) and falls
 * back to the generic "Prescott" kernel, 2-3x slower than the AVX2/AVX-512 ones. The kernel
 * can only be chosen before the library loads, through the OPENBLAS_CORETYPE environment
 * variable, so this module reports and advises; it does not switch kernels itself.
 */
#ifndef CEMRL_NETS_BLAS_H
#define CEMRL_NETS_BLAS_H

/* Name of the kernel OpenBLAS selected ("Haswell", "SkylakeX", "Prescott", ...). */
const char *nn_blas_corename(void);

/* OpenBLAS's build configuration string (for run metadata). */
const char *nn_blas_config(void);

/* Set / get the number of threads OpenBLAS uses inside one call. */
void nn_blas_set_threads(int n);
int nn_blas_threads(void);

/* A better OPENBLAS_CORETYPE for this CPU when OpenBLAS fell back to a generic kernel
 * ("SkylakeX" with AVX-512, "Haswell" with AVX2+FMA), or NULL when the selection is fine or
 * OPENBLAS_CORETYPE is already set. */
const char *nn_blas_suggest_coretype(void);

#endif
