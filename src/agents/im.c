/* im.c — importance mixing (see im.h for the rule and why it samples p_new). */
#include "agents/im.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"

CemIm *cem_im_create(int n_ea, size_t n, CoreErr *err) {
  CemIm *m = core_calloc(1, sizeof *m);
  if (!m) goto nomem;
  m->n_ea = n_ea;
  m->n = n;
  size_t rows = (size_t)(n_ea > 0 ? n_ea : 1), pop;
  if (core_mul_size(&pop, rows, n)) goto nomem;
  m->old_mu = core_calloc(n, sizeof(double));
  m->old_var = core_calloc(n, sizeof(double));
  m->prev = core_calloc(pop, sizeof(float));
  m->prev_fit = core_calloc(rows, sizeof(double));
  m->prev_first = core_calloc(rows, sizeof(int64_t));
  m->prev_len = core_calloc(rows, sizeof(int64_t));
  m->reused = core_calloc(rows, sizeof(int));
  if (!m->old_mu || !m->old_var || !m->prev || !m->prev_fit || !m->prev_first || !m->prev_len ||
      !m->reused)
    goto nomem;
  return m;
nomem:
  cem_im_free(m);
  core_err_set(err, CORE_ERR_NOMEM, "importance mixing: out of memory (%d rows of %zu)", n_ea, n);
  return NULL;
}

void cem_im_free(CemIm *m) {
  if (!m) return;
  core_free(m->old_mu);
  core_free(m->old_var);
  core_free(m->prev);
  core_free(m->prev_fit);
  core_free(m->prev_first);
  core_free(m->prev_len);
  core_free(m->reused);
  core_free(m);
}

int cem_im_mix(CemIm *m, Cem *cem, float *const *ea) {
  const int N = m->n_ea;
  const size_t n = m->n;
  for (int s = 0; s < N; s++) m->reused[s] = -1;
  m->n_reused = 0;
  if (!m->have) return 0;
  int front = 0, back = N;  /* reused fill [0, front), kept fresh ones [back, N) */
  for (int j = 0; j < N && front < back; j++) {
    const float *z = m->prev + (size_t)j * n;
    double lr = cem_log_pdf(cem->mu, cem->var, z, n) - cem_log_pdf(m->old_mu, m->old_var, z, n);
    if (log(core_rng_uniform(&cem->rng)) < lr) {
      memcpy(ea[front], z, n * sizeof(float));
      m->reused[front++] = j;
    }
    if (front < back) {
      float *row = ea[back - 1];
      cem_sample_one(cem, row);
      double lo = cem_log_pdf(m->old_mu, m->old_var, row, n) - cem_log_pdf(cem->mu, cem->var, row, n);
      if (log(1.0 - core_rng_uniform(&cem->rng)) >= lo) back--;
    }
  }
  for (int s = front; s < back; s++) cem_sample_one(cem, ea[s]);
  m->n_reused = front;
  return front;
}

void cem_im_record(CemIm *m, const Cem *cem, float *const *ea, const double *fit,
                   const int64_t *first, const int64_t *len) {
  for (int s = 0; s < m->n_ea; s++) {
    memcpy(m->prev + (size_t)s * m->n, ea[s], m->n * sizeof(float));
    m->prev_fit[s] = fit[s];
    m->prev_first[s] = first[s];
    m->prev_len[s] = len[s];
  }
  memcpy(m->old_mu, cem->mu, m->n * sizeof(double));
  memcpy(m->old_var, cem->var, m->n * sizeof(double));
  m->have = 1;
}

#define IM_SECTIONS(X)                                                  \
  X("have", &m->have, sizeof m->have)                                   \
  X("old_mu", m->old_mu, m->n * sizeof(double))                         \
  X("old_var", m->old_var, m->n * sizeof(double))                       \
  X("prev", m->prev, (size_t)m->n_ea * m->n * sizeof(float))            \
  X("prev_fit", m->prev_fit, (size_t)m->n_ea * sizeof(double))          \
  X("prev_first", m->prev_first, (size_t)m->n_ea * sizeof(int64_t))     \
  X("prev_len", m->prev_len, (size_t)m->n_ea * sizeof(int64_t))

int cem_im_save(const CemIm *m, CoreCkptWriter *w, const char *prefix, CoreErr *err) {
  char name[CORE_CKPT_NAME_MAX + 1];
  int rc;
#define IM_ADD(field, ptr, bytes)                                       \
  snprintf(name, sizeof name, "%s.%s", prefix, field);                  \
  if ((rc = core_ckpt_add_copy(w, name, ptr, bytes, err))) return rc;
  IM_SECTIONS(IM_ADD)
#undef IM_ADD
  return CORE_OK;
}

int cem_im_load(CemIm *m, const CoreCkpt *ck, const char *prefix, int64_t added, int64_t max_len,
                CoreErr *err) {
  char name[CORE_CKPT_NAME_MAX + 1];
  int rc;
#define IM_READ(field, ptr, bytes)                                      \
  snprintf(name, sizeof name, "%s.%s", prefix, field);                  \
  if ((rc = core_ckpt_read(ck, name, ptr, bytes, err))) return rc;
  IM_SECTIONS(IM_READ)
#undef IM_READ
  const char *bad = NULL;
  if (m->have != 0 && m->have != 1) bad = "have";
  for (int s = 0; s < m->n_ea && !bad; s++) {
    if (m->prev_first[s] < 0 || m->prev_first[s] > added) bad = "prev_first";
    if (m->prev_len[s] < 0 || m->prev_len[s] > max_len) bad = "prev_len";
  }
  for (size_t j = 0; j < m->n && !bad && m->have; j++)
    if (!(m->old_var[j] > 0 && isfinite(m->old_var[j]) && isfinite(m->old_mu[j]))) bad = "old_var";
  if (bad) {
    m->have = 0;  /* never mix against a record that failed its checks */
    return core_err_set(err, CORE_ERR_CORRUPT, "%s: section %s.%s: value out of range",
                        core_ckpt_label(ck), prefix, bad);
  }
  return CORE_OK;
}
