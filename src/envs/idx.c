/* idx.c — IDX reader (gzip or plain) with every size checked before allocating. */
#include "envs/idx.h"

#include <limits.h>
#include <string.h>
#include <zlib.h>

#include "core/alloc.h"
#include "core/fsutil.h"

void sup_idx_release(SupIdx *x) {
  if (!x) return;
  core_free(x->data);
  memset(x, 0, sizeof *x);
}

static uint32_t be32_(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Check the header (magic, dims) in hdr[0..hdr_len) and compute the data length. hdr_len is the
 * bytes available; *need_hdr is set to the header length once the dimension count is known. */
static int check_header_(const uint8_t *hdr, size_t hdr_len, const char *label, int want_ndim,
                         SupIdx *out, size_t *hdr_size, CoreErr *err) {
  if (hdr_len < 4)
    return core_err_set(err, CORE_ERR_CORRUPT, "%s: too short for an IDX header (%zu bytes, "
                        "need at least 4); the file is truncated or not an IDX file", label,
                        hdr_len);
  if (hdr[0] != 0 || hdr[1] != 0)
    return core_err_set(err, CORE_ERR_CORRUPT, "%s: bad IDX magic %02x %02x %02x %02x (expected "
                        "00 00 08 0N); not an IDX file", label, hdr[0], hdr[1], hdr[2], hdr[3]);
  if (hdr[2] != SUP_IDX_TYPE_UBYTE)
    return core_err_set(err, CORE_ERR_CORRUPT, "%s: IDX element type 0x%02x is not unsigned byte "
                        "(0x08); only byte images and labels are supported", label, hdr[2]);
  int ndim = hdr[3];
  if (ndim < 1 || ndim > SUP_IDX_MAX_DIMS)
    return core_err_set(err, CORE_ERR_CORRUPT, "%s: IDX header says %d dimensions (1..%d "
                        "supported)", label, ndim, SUP_IDX_MAX_DIMS);
  if (want_ndim > 0 && ndim != want_ndim)
    return core_err_set(err, CORE_ERR_CORRUPT, "%s: IDX file has %d dimensions, expected %d "
                        "(images have 3, labels 1: are the file names swapped?)", label, ndim,
                        want_ndim);
  *hdr_size = 4 + 4 * (size_t)ndim;
  if (hdr_len < *hdr_size)
    return core_err_set(err, CORE_ERR_CORRUPT, "%s: truncated IDX header (%zu of %zu bytes)", label,
                        hdr_len, *hdr_size);
  size_t total = 1;
  out->ndim = ndim;
  for (int k = 0; k < ndim; k++) {
    out->dims[k] = be32_(hdr + 4 + 4 * k);
    if (core_mul_size(&total, total, out->dims[k]) || total > SUP_IDX_MAX_BYTES)
      return core_err_set(err, CORE_ERR_CORRUPT, "%s: IDX sizes are implausible (dimension %d is "
                          "%u; the data would exceed %zu bytes)", label, k, out->dims[k],
                          (size_t)SUP_IDX_MAX_BYTES);
  }
  out->n_bytes = total;
  return 0;
}

static int parse_plain_(const uint8_t *buf, size_t len, const char *label, int ndim, SupIdx *out,
                        CoreErr *err) {
  size_t hdr = 0;
  int rc = check_header_(buf, len, label, ndim, out, &hdr, err);
  if (rc) return rc;
  if (len != hdr + out->n_bytes)
    return core_err_set(err, CORE_ERR_CORRUPT, "%s: file is %zu bytes but its IDX header needs "
                        "%zu (%s)", label, len, hdr + out->n_bytes,
                        len < hdr + out->n_bytes ? "truncated" : "trailing bytes");
  if (!(out->data = core_malloc(out->n_bytes ? out->n_bytes : 1)))
    return core_err_set(err, CORE_ERR_NOMEM, "%s: out of memory for %zu bytes", label,
                        out->n_bytes);
  memcpy(out->data, buf + hdr, out->n_bytes);
  return 0;
}

/* Inflate exactly n bytes into dst; 0, or an error naming what went wrong. */
static int inflate_n_(z_stream *zs, uint8_t *dst, size_t n, const char *label, const char *what,
                      CoreErr *err) {
  size_t done = 0;
  while (done < n) {
    size_t chunk = n - done > UINT_MAX ? UINT_MAX : n - done;
    zs->next_out = dst + done;
    zs->avail_out = (uInt)chunk;
    int zr = inflate(zs, Z_NO_FLUSH);
    done += chunk - zs->avail_out;
    if (zr == Z_STREAM_END && done < n)
      return core_err_set(err, CORE_ERR_CORRUPT, "%s: gzip data ends after %zu bytes of the %s "
                          "(%zu expected); the file is truncated", label, done, what, n);
    if (zr == Z_DATA_ERROR || zr == Z_NEED_DICT)
      return core_err_set(err, CORE_ERR_CORRUPT, "%s: corrupt gzip data in the %s (%s)", label,
                          what, zs->msg ? zs->msg : "bad stream");
    if (zr == Z_MEM_ERROR)
      return core_err_set(err, CORE_ERR_NOMEM, "%s: out of memory while decompressing", label);
    if (zr == Z_BUF_ERROR)  /* no progress with output space left: input exhausted */
      return core_err_set(err, CORE_ERR_CORRUPT, "%s: gzip stream is truncated (in the %s, after "
                          "%zu of %zu bytes)", label, what, done, n);
  }
  return 0;
}

static int parse_gzip_(const uint8_t *buf, size_t len, const char *label, int ndim, SupIdx *out,
                       CoreErr *err) {
  if (len < 18)
    return core_err_set(err, CORE_ERR_CORRUPT, "%s: %zu bytes is too short for a gzip file; the "
                        "file is truncated", label, len);
  /* ISIZE: the uncompressed length mod 2^32, in the trailer's last four bytes (little-endian) */
  const uint8_t *t = buf + len - 4;
  uint32_t isize =
      (uint32_t)t[0] | (uint32_t)t[1] << 8 | (uint32_t)t[2] << 16 | (uint32_t)t[3] << 24;
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
    return core_err_set(err, CORE_ERR_NOMEM, "%s: cannot start zlib", label);
  zs.next_in = (Bytef *)buf;  /* zlib does not write through next_in */
  zs.avail_in = len > UINT_MAX ? UINT_MAX : (uInt)len;
  uint8_t hdr[4 + 4 * SUP_IDX_MAX_DIMS];
  size_t hdr_size = 0;
  int rc = inflate_n_(&zs, hdr, 4, label, "IDX header", err);
  if (!rc) {
    int nd = hdr[3] >= 1 && hdr[3] <= SUP_IDX_MAX_DIMS ? hdr[3] : 0;
    if (nd) rc = inflate_n_(&zs, hdr + 4, 4 * (size_t)nd, label, "IDX header", err);
    if (!rc) rc = check_header_(hdr, 4 + 4 * (size_t)nd, label, ndim, out, &hdr_size, err);
  }
  if (!rc && (uint32_t)(hdr_size + out->n_bytes) != isize)
    rc = core_err_set(err, CORE_ERR_CORRUPT, "%s: the gzip trailer says %u uncompressed bytes but "
                      "the IDX header needs %zu; the file is truncated or corrupt", label, isize,
                      hdr_size + out->n_bytes);
  if (!rc && !(out->data = core_malloc(out->n_bytes ? out->n_bytes : 1)))
    rc = core_err_set(err, CORE_ERR_NOMEM, "%s: out of memory for %zu bytes", label, out->n_bytes);
  if (!rc) rc = inflate_n_(&zs, out->data, out->n_bytes, label, "IDX data", err);
  if (!rc) {
    /* the stream must end here, and its CRC-32 and length must check (zlib verifies both) */
    uint8_t extra;
    zs.next_out = &extra;
    zs.avail_out = 1;
    int zr = inflate(&zs, Z_FINISH);
    if (zr == Z_DATA_ERROR)
      rc = core_err_set(err, CORE_ERR_CORRUPT, "%s: corrupt gzip data (%s)", label,
                        zs.msg ? zs.msg : "bad stream");
    else if (zs.avail_out == 0)
      rc = core_err_set(err, CORE_ERR_CORRUPT, "%s: more data than the IDX header's %zu bytes",
                        label, out->n_bytes);
    else if (zr != Z_STREAM_END)
      rc = core_err_set(err, CORE_ERR_CORRUPT, "%s: gzip stream is truncated (no end-of-stream "
                        "and checksum)", label);
  }
  inflateEnd(&zs);
  if (rc) sup_idx_release(out);
  return rc;
}

int sup_idx_parse(const uint8_t *buf, size_t len, const char *label, int ndim, SupIdx *out,
                  CoreErr *err) {
  memset(out, 0, sizeof *out);
  int rc = len >= 2 && buf[0] == 0x1f && buf[1] == 0x8b
               ? parse_gzip_(buf, len, label, ndim, out, err)
               : parse_plain_(buf, len, label, ndim, out, err);
  if (rc) sup_idx_release(out);
  return rc;
}

int sup_idx_load(const char *path, int ndim, SupIdx *out, CoreErr *err) {
  memset(out, 0, sizeof *out);
  char *buf = NULL;
  size_t len = 0;
  int rc = core_fs_read_all(path, &buf, &len, err);
  if (rc) return rc;
  rc = sup_idx_parse((const uint8_t *)buf, len, path, ndim, out, err);
  core_free(buf);
  return rc;
}
