/* idx.h — IDX files (the MNIST / Fashion-MNIST format), gzip-compressed or plain.
 *
 * Layout: a big-endian magic 0x0000TTNN (TT = 0x08 unsigned bytes, NN = number of dimensions),
 * NN big-endian uint32 sizes, then the data. Only unsigned-byte files are read (the image and
 * label files). A gzip file (1f 8b) is decompressed with zlib; its trailer's ISIZE (the
 * uncompressed length mod 2^32) and the header's sizes are checked against each other before
 * the data buffer is allocated, so a corrupt or hostile file never causes a huge allocation.
 *
 * Nullable: every CoreErr *err.
 */
#ifndef CEMRL_ENVS_IDX_H
#define CEMRL_ENVS_IDX_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define SUP_IDX_MAX_DIMS 4
#define SUP_IDX_TYPE_UBYTE 0x08
/* Largest data section accepted (1 GiB: Fashion-MNIST train images are 47 MB). */
#define SUP_IDX_MAX_BYTES ((size_t)1 << 30)

/* A loaded IDX array of unsigned bytes. */
typedef struct {
  int ndim;                          /* 1 (labels) .. SUP_IDX_MAX_DIMS */
  uint32_t dims[SUP_IDX_MAX_DIMS];   /* dims[0] = number of items */
  size_t n_bytes;                    /* product of dims */
  uint8_t *data;                     /* (n_bytes) owned; free with sup_idx_release */
} SupIdx;

/* Read an IDX file (gzip or plain) at path, requiring ndim dimensions (0: any). On failure
 * returns CORE_ERR_IO (cannot open / read), CORE_ERR_CORRUPT (bad gzip stream, magic, sizes or
 * length; the message says which and names the path) or CORE_ERR_NOMEM, and out is empty. */
int sup_idx_load(const char *path, int ndim, SupIdx *out, CoreErr *err);

/* Parse an in-memory file image (gzip or plain); label names it in messages. */
int sup_idx_parse(const uint8_t *buf, size_t len, const char *label, int ndim, SupIdx *out,
                  CoreErr *err);

/* Free the data of an SupIdx and zero it (an empty one is a no-op). */
void sup_idx_release(SupIdx *x);

#endif
