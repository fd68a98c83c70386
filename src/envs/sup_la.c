/* sup_la.c — dsyev and the top singular pair. */
#include "envs/sup_la.h"

#include <math.h>
#include <string.h>

#include "core/alloc.h"

/* LAPACK (Fortran calling convention; provided by OpenBLAS). */
extern void dsyev_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda,
                   double *w, double *work, const int *lwork, int *info);

int sup_eigh(double *a, int n, double *w, int vectors, CoreErr *err) {
  CORE_ASSERT(n > 0);
  /* row-major symmetric = column-major symmetric; eigenvectors come back as columns in
   * column-major order, which are rows of the row-major array */
  const char jobz = vectors ? 'V' : 'N', uplo = 'U';
  int lwork = -1, info = 0;
  double query = 0.0;
  dsyev_(&jobz, &uplo, &n, a, &n, w, &query, &lwork, &info);
  lwork = info == 0 && query > 3 * n ? (int)query : 3 * n;
  double *work = core_malloc(sizeof(double) * (size_t)lwork);
  if (!work) return core_err_set(err, CORE_ERR_NOMEM, "eigendecomposition: out of memory");
  dsyev_(&jobz, &uplo, &n, a, &n, w, work, &lwork, &info);
  core_free(work);
  if (info != 0)
    return core_err_set(err, CORE_ERR_RUNTIME, "eigendecomposition of a %dx%d matrix failed "
                        "(dsyev info %d)", n, n, info);
  return 0;
}

int sup_top_singular(const double *m, int rows, int cols, double *sigma, double *u, double *v,
                     double *fro, CoreErr *err) {
  CORE_ASSERT(rows > 0 && cols > 0 && cols <= 4096);
  double *g = core_malloc(sizeof(double) * ((size_t)cols * cols + cols));
  if (!g) return core_err_set(err, CORE_ERR_NOMEM, "singular values: out of memory");
  double *w = g + (size_t)cols * cols;
  double f2 = 0.0;
  for (int i = 0; i < cols; i++)
    for (int j = 0; j < cols; j++) {
      double s = 0.0;
      for (int r = 0; r < rows; r++) s += m[(size_t)r * cols + i] * m[(size_t)r * cols + j];
      g[(size_t)i * cols + j] = s;
      if (i == j) f2 += s;
    }
  int rc = sup_eigh(g, cols, w, 1, err);
  if (!rc) {
    const double *top = g + (size_t)(cols - 1) * cols;
    double s1 = sqrt(w[cols - 1] > 0 ? w[cols - 1] : 0.0);
    memcpy(v, top, sizeof(double) * (size_t)cols);
    /* u = m v / sigma, recomputed and normalised (robust when sigma is tiny) */
    double un = 0.0;
    for (int r = 0; r < rows; r++) {
      double s = 0.0;
      for (int j = 0; j < cols; j++) s += m[(size_t)r * cols + j] * v[j];
      u[r] = s;
      un += s * s;
    }
    un = sqrt(un);
    for (int r = 0; r < rows; r++) u[r] = un > 0 ? u[r] / un : (r == 0);
    *sigma = un > 0 ? un : s1;
    if (fro) *fro = sqrt(f2);
  }
  core_free(g);
  return rc;
}
