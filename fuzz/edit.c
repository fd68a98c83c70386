/* edit.c — section-level damage of a valid checkpoint, re-sealed (edit.h). */
#include "edit.h"

#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"

enum { MAX_SECTIONS = 64 };

CoreCkpt *fuzz_edit_ckpt(const CoreCkpt *valid, const uint8_t *d, size_t size) {
  CoreErr err;
  int n = core_ckpt_count(valid);
  if (n < 1 || n > MAX_SECTIONS) abort();
  uint8_t *data[MAX_SECTIONS];
  size_t len[MAX_SECTIONS], cap[MAX_SECTIONS];
  int keep[MAX_SECTIONS];
  for (int i = 0; i < n; i++) {
    const void *p = core_ckpt_find(valid, core_ckpt_name_at(valid, i), &len[i]);
    cap[i] = len[i] + 256;
    if (!(data[i] = malloc(cap[i]))) abort();
    memcpy(data[i], p, len[i]);
    keep[i] = 1;
  }
  size_t at = 0;
  while (at + 5 <= size) {
    int op = d[at] % 4, s = d[at + 1] % n;
    size_t off = (size_t)d[at + 2] | (size_t)d[at + 3] << 8, k = d[at + 4];
    at += 5;
    if (op == 0) {  /* overwrite k bytes at off (wrapped into the section) */
      if (len[s] == 0) continue;
      off %= len[s];
      for (size_t j = 0; j < k && at < size && off + j < len[s]; j++) data[s][off + j] = d[at++];
    } else if (op == 1) {  /* truncate */
      len[s] = len[s] ? off % len[s] : 0;
    } else if (op == 2) {  /* drop */
      keep[s] = 0;
    } else {  /* grow by up to 255 bytes from the input */
      if (len[s] + k > cap[s] && !(data[s] = realloc(data[s], cap[s] = len[s] + k + 256))) abort();
      for (size_t j = 0; j < k && at < size; j++) data[s][len[s]++] = d[at++];
    }
  }
  CoreCkptWriter *w = core_ckpt_writer_create();
  if (!w) abort();
  for (int i = 0; i < n; i++)
    if (keep[i] && core_ckpt_add_copy(w, core_ckpt_name_at(valid, i), data[i], len[i], &err))
      abort();
  void *buf;
  size_t bn;
  if (core_ckpt_write_buffer(w, &buf, &bn, &err)) abort();
  CoreCkpt *c = core_ckpt_load_buffer(buf, bn, "<fuzz>", &err);
  if (!c) abort();  /* re-sealed sections always load as a container */
  core_free(buf);
  core_ckpt_writer_free(w);
  for (int i = 0; i < n; i++) free(data[i]);
  return c;
}
