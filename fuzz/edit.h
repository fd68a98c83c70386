/* edit.h — damage a valid checkpoint the way a fuzzer input says, then re-seal it. */
#ifndef CEMRL_FUZZ_EDIT_H
#define CEMRL_FUZZ_EDIT_H

#include <stddef.h>
#include <stdint.h>

#include "core/ckpt.h"

/* A copy of valid whose sections are edited by d: records [op, section, offset lo, offset hi,
 * len, bytes...] that overwrite bytes, truncate, drop or grow a section. The copy is written
 * and loaded again, so its container and checksums are valid and only the contents are damaged.
 * Never NULL (aborts on failure, which would be a bug in the container). */
CoreCkpt *fuzz_edit_ckpt(const CoreCkpt *valid, const uint8_t *d, size_t size);

#endif
