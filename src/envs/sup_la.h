/* sup_la.h — the little dense linear algebra the supervised papers need (double, LAPACK/BLAS).
 *
 * Symmetric eigendecomposition through LAPACK's dsyev (OpenBLAS ships it) and the top singular
 * pair of a small matrix. These run outside training loops (once per logged step), so they
 * allocate their workspace per call.
 *
 * Nullable: every CoreErr *err.
 */
#ifndef CEMRL_ENVS_SUP_LA_H
#define CEMRL_ENVS_SUP_LA_H

#include "core/err.h"

/* Eigenvalues of the symmetric n x n matrix a (row-major; only symmetry is assumed) into w (n),
 * ascending. With vectors != 0, a is overwritten by the eigenvectors as ROWS (a[i*n + :] belongs
 * to w[i]); otherwise a is destroyed. 0, CORE_ERR_NOMEM or CORE_ERR_RUNTIME (no convergence). */
int sup_eigh(double *a, int n, double *w, int vectors, CoreErr *err);

/* Top singular triple of the rows x cols matrix m (row-major): sigma_1 >= 0, its left vector u
 * (rows) and right vector v (cols), both unit (the sign is arbitrary); returns the Frobenius norm
 * in *fro when fro is not NULL. Uses the eigendecomposition of mᵀm (cols <= 4096). */
int sup_top_singular(const double *m, int rows, int cols, double *sigma, double *u, double *v,
                     double *fro, CoreErr *err);

#endif
