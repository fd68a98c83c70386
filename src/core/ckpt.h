/* ckpt.h — the checkpoint container: named binary sections in one checksummed file.
 *
 * A checkpoint holds whole flat vectors (network parameters, optimizer moments, CEM state, RNG
 * streams, counters). Writing is atomic: a temporary file in the same directory, fsync, rename
 * over the target, fsync of the directory; the previous file survives any failure. Loading
 * checks every size against the header and the file length before allocating, and verifies
 * each section's CRC32 and the whole file's; a truncated, corrupted or foreign file is rejected
 * with a message naming the file and what is wrong.
 *
 * Writer: sections are *borrowed* (pointer + size) until core_ckpt_write_file returns, so a
 * large replay buffer is never copied.
 */
#ifndef CEMRL_CORE_CKPT_H
#define CEMRL_CORE_CKPT_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/rng.h"

#define CORE_CKPT_NAME_MAX 63      /* longest section name, bytes */
#define CORE_CKPT_MAX_SECTIONS 4096

typedef struct CoreCkptWriter CoreCkptWriter;
typedef struct CoreCkpt CoreCkpt;

/* Create an empty writer; NULL on allocation failure. */
CoreCkptWriter *core_ckpt_writer_create(void);

/* Free a writer (NULL is a no-op). Borrowed section data is not touched. */
void core_ckpt_writer_free(CoreCkptWriter *w);

/* Add a section (borrowed: data must stay valid until the write). Names are unique, at most
 * CORE_CKPT_NAME_MAX bytes. Returns 0 or a CORE_ERR_* code. */
int core_ckpt_add(CoreCkptWriter *w, const char *name, const void *data, size_t size, CoreErr *err);

/* Add a copy of a small section (the writer owns the copy): for counters and scalars. */
int core_ckpt_add_copy(CoreCkptWriter *w, const char *name, const void *data, size_t size,
                       CoreErr *err);

/* Write every section to path atomically. Returns 0 or a CORE_ERR_* code. */
int core_ckpt_write_file(const CoreCkptWriter *w, const char *path, CoreErr *err);

/* Serialize to a new heap buffer (core_free it); for tests and in-memory round trips. */
int core_ckpt_write_buffer(const CoreCkptWriter *w, void **buf, size_t *size, CoreErr *err);

/* Load and validate a checkpoint file; NULL with err filled on any problem. */
CoreCkpt *core_ckpt_load_file(const char *path, CoreErr *err);

/* Load and validate from memory (copied); label names the source in messages. */
CoreCkpt *core_ckpt_load_buffer(const void *buf, size_t size, const char *label, CoreErr *err);

/* Free a loaded checkpoint (NULL is a no-op). */
void core_ckpt_free(CoreCkpt *c);

/* Number of sections, and the name of section i (for listings). */
int core_ckpt_count(const CoreCkpt *c);
const char *core_ckpt_name_at(const CoreCkpt *c, int i);

/* Find a section: data pointer (valid while c lives) and its size; NULL if absent. */
const void *core_ckpt_find(const CoreCkpt *c, const char *name, size_t *size);

/* Copy section `name` into dst, which must be exactly `size` bytes; a missing section or a
 * size mismatch is CORE_ERR_CORRUPT with a message naming the file and the section. */
int core_ckpt_read(const CoreCkpt *c, const char *name, void *dst, size_t size, CoreErr *err);

/* core_ckpt_read of n RNG streams, refusing a state no stream reaches: an all-zero xoshiro state
 * (it would give zeros forever and hang the rejection samplers) or a bad cached deviate. */
int core_ckpt_read_rngs(const CoreCkpt *c, const char *name, CoreRng *rngs, int n, CoreErr *err);

/* The label (usually the path) the checkpoint was loaded from. */
const char *core_ckpt_label(const CoreCkpt *c);

/* ---- test hooks */

/* Make the n-th write step of core_ckpt_write_file from now fail with EIO (0 = never). The steps
 * are each fwrite, then fflush, fsync, fclose and rename: every point before the new file
 * replaces the old one. One-shot, like core_alloc_fail_after. */
void core_ckpt_test_fail_write_after(int n);

#endif
