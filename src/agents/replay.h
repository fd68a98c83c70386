/* replay.h — the replay buffer: a ring of transitions shared by every learner of a run.
 *
 * Float32 storage, capacity fixed at create (1e6 by default), FIFO overwrite, uniform sampling
 * with replacement. The done flag stored is `terminated` only, never `truncated`: a time-out is
 * bootstrapped through (TD3 issue #41, Gymnasium's terminated/truncated split).
 */
#ifndef CEMRL_AGENTS_REPLAY_H
#define CEMRL_AGENTS_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "core/ckpt.h"
#include "core/err.h"
#include "core/rng.h"

typedef struct {
  long capacity;        /* transitions held at most */
  int obs_dim, act_dim;
  long size;            /* transitions held now (<= capacity) */
  long ptr;             /* next slot to write */
  int64_t added;        /* transitions added since creation */
  float *obs;           /* (capacity, obs_dim) */
  float *act;           /* (capacity, act_dim) */
  float *rew;           /* (capacity) */
  float *next_obs;      /* (capacity, obs_dim) */
  float *not_done;      /* (capacity): 1 - terminated */
} ReplayBuffer;

/* A sampled minibatch: caller-owned buffers of batch rows (see rb_batch_create). */
typedef struct {
  int batch;
  float *obs, *act, *rew, *next_obs, *not_done;  /* (batch, dim) each */
} ReplayBatch;

/* Create a buffer (allocates capacity rows at once; overflow-checked). NULL with err. */
ReplayBuffer *rb_create(long capacity, int obs_dim, int act_dim, CoreErr *err);

/* Free a buffer (NULL is a no-op). */
void rb_free(ReplayBuffer *rb);

/* Add one transition; terminated (not truncated) sets not_done = 0. */
void rb_add(ReplayBuffer *rb, const float *obs, const float *act, double reward,
            const float *next_obs, int terminated);

/* Append again the transitions added as numbers first .. first + len - 1 (counting from 0 over
 * the buffer's life, as `added` does), in order: importance mixing's reused individuals. Ones
 * already overwritten are skipped; returns how many were appended. */
long rb_repeat(ReplayBuffer *rb, int64_t first, long len);

/* Allocate / free minibatch buffers for `batch` rows of this buffer's dims. */
int rb_batch_create(ReplayBatch *b, const ReplayBuffer *rb, int batch, CoreErr *err);
void rb_batch_free(ReplayBatch *b);

/* Draw b->batch indices uniformly with replacement from [0, size) and gather the rows. */
void rb_sample(const ReplayBuffer *rb, CoreRng *rng, ReplayBatch *b);

/* Save the held rows and counters as sections "<prefix>.*" (borrowed pointers). */
int rb_save(const ReplayBuffer *rb, CoreCkptWriter *w, const char *prefix, CoreErr *err);

/* Restore from sections "<prefix>.*"; dims and capacity must match this buffer. */
int rb_load(ReplayBuffer *rb, const CoreCkpt *c, const char *prefix, CoreErr *err);

#endif
