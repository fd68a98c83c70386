/* im.h — importance mixing for the pure-CEM half of CEM-RL (es_grad_im.py; spec cemrl-td3.md §2
 * "Importance mixing").
 *
 * After each generation the EA (non-gradient) individuals are recorded with their fitness, the
 * buffer numbers of their transitions, and the distribution that sampled them (p_old). The next
 * generation fills its EA rows from the recorded ones and fresh draws of the new distribution
 * (p_new), one of each in turn while rows are free:
 *   reuse recorded z   when log u < log p_new(z) − log p_old(z)     (u ~ U(0, 1))
 *   keep a fresh z     when log(1 − u) >= log p_old(z) − log p_new(z)
 * and the rows still free take plain fresh draws. Reused rows come first, kept fresh ones last.
 * In expectation the reused density min(p_old, p_new) plus the kept fresh density
 * max(0, p_new − p_old) is p_new, so the mixed population is a sample of p_new that re-spends
 * old episodes. A reused individual keeps its old fitness (it is not run again), its old
 * transitions are appended to the buffer again (those a small buffer already overwrote are
 * skipped), and its recorded steps join the next gradient budget, as es_grad_im.py adds
 * sample.steps, but not the step count. The gradient half is always fresh (gradient steps move it off the
 * sampled point). Every draw comes from the CEM's own stream, so runs stay deterministic.
 */
#ifndef CEMRL_AGENTS_IM_H
#define CEMRL_AGENTS_IM_H

#include <stddef.h>
#include <stdint.h>

#include "agents/cem.h"
#include "core/ckpt.h"
#include "core/err.h"

typedef struct {
  int n_ea;                 /* EA rows per generation */
  size_t n;                 /* parameters per individual */
  int have;                 /* a generation is recorded */
  double *old_mu, *old_var; /* (n) the distribution that sampled the recorded generation */
  float *prev;              /* (n_ea, n) the recorded EA individuals */
  double *prev_fit;         /* (n_ea) their fitness */
  int64_t *prev_first;      /* (n_ea) buffer number of each one's first transition */
  int64_t *prev_len;        /* (n_ea) transitions each one added */
  int *reused;              /* (n_ea) this generation: EA slot -> recorded index, -1 if fresh */
  int n_reused;             /* this generation's reused rows (slots 0 .. n_reused - 1) */
} CemIm;

/* Create for n_ea EA rows of n parameters; NULL with err when out of memory. */
CemIm *cem_im_create(int n_ea, size_t n, CoreErr *err);

/* Free (NULL is a no-op). */
void cem_im_free(CemIm *m);

/* Fill the EA rows ea[0 .. n_ea-1] (pointers into the population) by importance mixing against
 * the recorded generation, drawing from cem's distribution and stream; sets m->reused and
 * returns m->n_reused. Without a record the rows are left as they are (0 reused). */
int cem_im_mix(CemIm *m, Cem *cem, float *const *ea);

/* Record this generation's EA rows, their fitness and transitions, and cem's current
 * distribution (call before cem_tell: it is the one that sampled them). */
void cem_im_record(CemIm *m, const Cem *cem, float *const *ea, const double *fit,
                   const int64_t *first, const int64_t *len);

/* Save / load the record as sections "<prefix>.*". Loading checks every recorded row against
 * the buffer (first transition in [0, added], at most max_len of them) and the variances (> 0,
 * finite): CORE_ERR_CORRUPT otherwise. */
int cem_im_save(const CemIm *m, CoreCkptWriter *w, const char *prefix, CoreErr *err);
int cem_im_load(CemIm *m, const CoreCkpt *ck, const char *prefix, int64_t added, int64_t max_len,
                CoreErr *err);

#endif
