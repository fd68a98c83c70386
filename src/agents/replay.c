/* replay.c — ring-buffer replay memory. */
#include "agents/replay.h"

#include <stdio.h>
#include <string.h>

#include "core/alloc.h"

/* Bytes of `rows` rows of `dim` floats, overflow-checked. */
static int rows_bytes(size_t *out, long rows, int dim) {
  size_t n;
  if (rows < 0 || dim < 0 || core_mul_size(&n, (size_t)rows, (size_t)dim)) return -1;
  return core_mul_size(out, n, sizeof(float));
}

ReplayBuffer *rb_create(long capacity, int obs_dim, int act_dim, CoreErr *err) {
  if (capacity < 1 || obs_dim < 1 || act_dim < 1) {
    core_err_set(err, CORE_ERR_INVALID, "replay buffer: capacity %ld, obs_dim %d, act_dim %d must "
                 "all be >= 1", capacity, obs_dim, act_dim);
    return NULL;
  }
  size_t so, sa, s1;
  if (rows_bytes(&so, capacity, obs_dim) || rows_bytes(&sa, capacity, act_dim) ||
      rows_bytes(&s1, capacity, 1)) {
    core_err_set(err, CORE_ERR_NOMEM, "replay buffer: capacity %ld is too large", capacity);
    return NULL;
  }
  ReplayBuffer *rb = core_calloc(1, sizeof *rb);
  if (!rb) goto nomem;
  rb->capacity = capacity;
  rb->obs_dim = obs_dim;
  rb->act_dim = act_dim;
  /* not zeroed: only rows [0, size) are ever read or saved */
  rb->obs = core_malloc(so);
  rb->next_obs = core_malloc(so);
  rb->act = core_malloc(sa);
  rb->rew = core_malloc(s1);
  rb->not_done = core_malloc(s1);
  if (!rb->obs || !rb->next_obs || !rb->act || !rb->rew || !rb->not_done) goto nomem;
  return rb;
nomem:
  rb_free(rb);
  core_err_set(err, CORE_ERR_NOMEM, "replay buffer: out of memory for %ld transitions", capacity);
  return NULL;
}

void rb_free(ReplayBuffer *rb) {
  if (!rb) return;
  core_free(rb->obs);
  core_free(rb->next_obs);
  core_free(rb->act);
  core_free(rb->rew);
  core_free(rb->not_done);
  core_free(rb);
}

void rb_add(ReplayBuffer *rb, const float *obs, const float *act, double reward,
            const float *next_obs, int terminated) {
  long i = rb->ptr;
  memcpy(rb->obs + i * rb->obs_dim, obs, sizeof(float) * rb->obs_dim);
  memcpy(rb->next_obs + i * rb->obs_dim, next_obs, sizeof(float) * rb->obs_dim);
  memcpy(rb->act + i * rb->act_dim, act, sizeof(float) * rb->act_dim);
  rb->rew[i] = (float)reward;
  rb->not_done[i] = terminated ? 0.0f : 1.0f;
  rb->ptr = (i + 1) % rb->capacity;
  if (rb->size < rb->capacity) rb->size++;
  rb->added++;
}

long rb_repeat(ReplayBuffer *rb, int64_t first, long len) {
  long copied = 0;
  for (long t = 0; t < len; t++) {
    int64_t k = first + t;
    /* number k is still held while fewer than capacity numbers came after it */
    if (k < 0 || k >= rb->added || rb->added - k > rb->capacity) continue;
    long src = (long)(k % rb->capacity), dst = rb->ptr;
    if (src != dst) {  /* equal: the row would be copied onto itself (it is the oldest one) */
      memcpy(rb->obs + dst * rb->obs_dim, rb->obs + src * rb->obs_dim, sizeof(float) * rb->obs_dim);
      memcpy(rb->next_obs + dst * rb->obs_dim, rb->next_obs + src * rb->obs_dim,
             sizeof(float) * rb->obs_dim);
      memcpy(rb->act + dst * rb->act_dim, rb->act + src * rb->act_dim, sizeof(float) * rb->act_dim);
      rb->rew[dst] = rb->rew[src];
      rb->not_done[dst] = rb->not_done[src];
    }
    rb->ptr = (dst + 1) % rb->capacity;
    if (rb->size < rb->capacity) rb->size++;
    rb->added++;
    copied++;
  }
  return copied;
}

int rb_batch_create(ReplayBatch *b, const ReplayBuffer *rb, int batch, CoreErr *err) {
  memset(b, 0, sizeof *b);
  b->batch = batch;
  b->obs = core_malloc(sizeof(float) * (size_t)batch * rb->obs_dim);
  b->next_obs = core_malloc(sizeof(float) * (size_t)batch * rb->obs_dim);
  b->act = core_malloc(sizeof(float) * (size_t)batch * rb->act_dim);
  b->rew = core_malloc(sizeof(float) * (size_t)batch);
  b->not_done = core_malloc(sizeof(float) * (size_t)batch);
  if (!b->obs || !b->next_obs || !b->act || !b->rew || !b->not_done) {
    rb_batch_free(b);
    return core_err_set(err, CORE_ERR_NOMEM, "replay batch: out of memory");
  }
  return CORE_OK;
}

void rb_batch_free(ReplayBatch *b) {
  core_free(b->obs);
  core_free(b->next_obs);
  core_free(b->act);
  core_free(b->rew);
  core_free(b->not_done);
  memset(b, 0, sizeof *b);
}

void rb_sample(const ReplayBuffer *rb, CoreRng *rng, ReplayBatch *b) {
  CORE_ASSERT(rb->size > 0);
  const int od = rb->obs_dim, ad = rb->act_dim;
  for (int k = 0; k < b->batch; k++) {
    long i = (long)core_rng_below(rng, (uint64_t)rb->size);
    memcpy(b->obs + (size_t)k * od, rb->obs + i * od, sizeof(float) * od);
    memcpy(b->next_obs + (size_t)k * od, rb->next_obs + i * od, sizeof(float) * od);
    memcpy(b->act + (size_t)k * ad, rb->act + i * ad, sizeof(float) * ad);
    b->rew[k] = rb->rew[i];
    b->not_done[k] = rb->not_done[i];
  }
}

int rb_save(const ReplayBuffer *rb, CoreCkptWriter *w, const char *prefix, CoreErr *err) {
  char name[CORE_CKPT_NAME_MAX + 1];
  int64_t counters[5] = {rb->capacity, rb->obs_dim, rb->act_dim, rb->size, rb->ptr};
  int rc;
#define RB_ADD(field, ptr, bytes)                                   \
  snprintf(name, sizeof name, "%s.%s", prefix, field);              \
  if ((rc = core_ckpt_add(w, name, ptr, bytes, err))) return rc;
  snprintf(name, sizeof name, "%s.counters", prefix);
  if ((rc = core_ckpt_add_copy(w, name, counters, sizeof counters, err))) return rc;
  snprintf(name, sizeof name, "%s.added", prefix);
  if ((rc = core_ckpt_add_copy(w, name, &rb->added, sizeof rb->added, err))) return rc;
  size_t n = (size_t)rb->size;
  RB_ADD("obs", rb->obs, n * rb->obs_dim * sizeof(float));
  RB_ADD("next_obs", rb->next_obs, n * rb->obs_dim * sizeof(float));
  RB_ADD("act", rb->act, n * rb->act_dim * sizeof(float));
  RB_ADD("rew", rb->rew, n * sizeof(float));
  RB_ADD("not_done", rb->not_done, n * sizeof(float));
#undef RB_ADD
  return CORE_OK;
}

int rb_load(ReplayBuffer *rb, const CoreCkpt *c, const char *prefix, CoreErr *err) {
  char name[CORE_CKPT_NAME_MAX + 1];
  int64_t counters[5];
  int rc;
  snprintf(name, sizeof name, "%s.counters", prefix);
  if ((rc = core_ckpt_read(c, name, counters, sizeof counters, err))) return rc;
  if (counters[0] != rb->capacity || counters[1] != rb->obs_dim || counters[2] != rb->act_dim)
    return core_err_set(err, CORE_ERR_INVALID,
                        "%s: replay buffer is %lld transitions of obs %lld / act %lld, but this run "
                        "has %ld of obs %d / act %d (different config?)",
                        core_ckpt_label(c), (long long)counters[0], (long long)counters[1],
                        (long long)counters[2], rb->capacity, rb->obs_dim, rb->act_dim);
  if (counters[3] < 0 || counters[3] > rb->capacity || counters[4] < 0 ||
      counters[4] >= rb->capacity)
    return core_err_set(err, CORE_ERR_CORRUPT, "%s: replay buffer counters out of range",
                        core_ckpt_label(c));
  size_t n = (size_t)counters[3];
  int64_t added;
  snprintf(name, sizeof name, "%s.added", prefix);
  if ((rc = core_ckpt_read(c, name, &added, sizeof added, err))) return rc;
  /* the ring invariants rb_repeat relies on: number k sits in slot k mod capacity */
  if (added < 0 || counters[3] != (added < rb->capacity ? added : rb->capacity) ||
      counters[4] != added % rb->capacity)
    return core_err_set(err, CORE_ERR_CORRUPT, "%s: replay buffer counters disagree (%lld added, "
                        "%lld held, next slot %lld)", core_ckpt_label(c), (long long)added,
                        (long long)counters[3], (long long)counters[4]);
  rb->added = added;
#define RB_READ(field, ptr, bytes)                                   \
  snprintf(name, sizeof name, "%s.%s", prefix, field);               \
  if ((rc = core_ckpt_read(c, name, ptr, bytes, err))) return rc;
  RB_READ("obs", rb->obs, n * rb->obs_dim * sizeof(float));
  RB_READ("next_obs", rb->next_obs, n * rb->obs_dim * sizeof(float));
  RB_READ("act", rb->act, n * rb->act_dim * sizeof(float));
  RB_READ("rew", rb->rew, n * sizeof(float));
  RB_READ("not_done", rb->not_done, n * sizeof(float));
#undef RB_READ
  rb->size = (long)n;
  rb->ptr = (long)counters[4];
  return CORE_OK;
}
