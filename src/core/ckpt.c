/* ckpt.c — the checkpoint container: named sections, CRC32-checked, written atomically.
 *
 * File format, version 1. Header and table fields are fixed-width little-endian, written byte by
 * byte (no struct dumps, so no padding and no host layout leaks into the file). Section payloads
 * are the writer's native bytes (floats, doubles, integer counters), so the header records the
 * payload byte order and sizeof(float)/sizeof(double): a reader with a different ABI rejects the
 * file instead of misreading it.
 *
 *   offset  size  field
 *   0       8     magic "CEMRLCK\0"
 *   8       4     format version (1)
 *   12      4     byte-order tag: 0x01020304 in the writer's native order (the payload order)
 *   16      1     sizeof(float)
 *   17      1     sizeof(double)
 *   18      2     flags (0; anything else is rejected: a newer writer's feature)
 *   20      4     section count n (at most CORE_CKPT_MAX_SECTIONS)
 *   24      8     file length L in bytes, trailer included
 *   32      88*n  section table, one entry per section, in file order:
 *                   +0   64  name: 1..63 bytes, NUL-terminated, NUL-padded
 *                   +64   8  payload offset from the start of the file (a multiple of 64)
 *                   +72   8  payload length in bytes (0 allowed)
 *                   +80   4  zlib crc32 of the payload
 *                   +84   4  reserved (0)
 *   D       ...   payloads in table order, each at a multiple of 64, zero padding in between;
 *                 D = 32 + 88*n rounded up to 64 (64-byte alignment lets a loaded image hand out
 *                 section pointers that are as aligned as core_malloc blocks)
 *   L-4     4     zlib crc32 of bytes [0, L-4): everything before the trailer
 *
 * Reading checks, before allocating anything sized by the file's contents: magic, version, byte
 * order, float sizes, flags, the count limit, declared against actual length, and that the table
 * fits; then each entry (terminated non-empty name, alignment, range with checked additions,
 * ascending non-overlapping placement), every payload CRC and the trailer CRC; then, on the
 * loaded image, name uniqueness. Every rejection is CORE_ERR_CORRUPT naming the file.
 *
 * Writing a file: `<path>.tmp.<pid>` in the same directory, fwrite, fflush, fsync, fclose,
 * rename over path, fsync of the directory. Any failure before the rename removes the temporary
 * file and leaves the previous checkpoint untouched.
 */
#include "core/ckpt.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/alloc.h"

#define CKPT_MAGIC "CEMRLCK"       /* 7 chars + the NUL = 8 bytes */
#define CKPT_VERSION 1u
#define CKPT_BYTE_ORDER 0x01020304u
#define CKPT_HEADER 32u
#define CKPT_ENTRY 88u
#define CKPT_NAME_FIELD 64u
#define CKPT_TRAILER 4u
#define CKPT_ALIGN 64u

/* ---------------------------------------------------------------- little-endian fields */

static void put_u16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}

static void put_u32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get_u16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

static uint32_t get_u32(const uint8_t *p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

static uint64_t get_u64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

/* crc32 over any length: zlib's crc32 takes a 32-bit length, replay buffers can exceed it. */
static uint32_t ckpt_crc(uint32_t crc, const void *data, size_t n) {
  const uint8_t *p = data;
  while (n > 0) {  /* never pass NULL to zlib: crc32(c, NULL, 0) returns the initial value 0 */
    uInt chunk = n > (1u << 30) ? (1u << 30) : (uInt)n;
    crc = (uint32_t)crc32(crc, p, chunk);
    p += chunk;
    n -= chunk;
  }
  return crc;
}

/* a + b or a rounded up to 64, with overflow reported as -1 */
static int add_u64(uint64_t *out, uint64_t a, uint64_t b) {
  if (a > UINT64_MAX - b) return -1;
  *out = a + b;
  return 0;
}

static int align_u64(uint64_t *out, uint64_t a) {
  if (add_u64(out, a, CKPT_ALIGN - 1)) return -1;
  *out &= ~(uint64_t)(CKPT_ALIGN - 1);
  return 0;
}

/* ---------------------------------------------------------------- test hook */

static atomic_int ckpt_fail_countdown;  /* 0: never; k > 0: the k-th write step from now fails */

void core_ckpt_test_fail_write_after(int n) { atomic_store(&ckpt_fail_countdown, n); }

/* True when the fault-injection hook says this write step must fail (sets errno to EIO). */
static int ckpt_injected_failure(void) {
  int c = atomic_load(&ckpt_fail_countdown);
  if (c > 0 && atomic_fetch_sub(&ckpt_fail_countdown, 1) == 1) {
    errno = EIO;
    return 1;
  }
  return 0;
}

/* ---------------------------------------------------------------- writer */

typedef struct {
  char name[CKPT_NAME_FIELD];  /* NUL-padded */
  const void *data;            /* borrowed, or == owned */
  size_t size;
  void *owned;                 /* core_ckpt_add_copy's copy; NULL when borrowed */
} CkptWSection;

struct CoreCkptWriter {
  CkptWSection *sec;  /* (cap) */
  int n, cap;
};

CoreCkptWriter *core_ckpt_writer_create(void) {
  CoreCkptWriter *w = core_calloc(1, sizeof *w);
  return w;
}

void core_ckpt_writer_free(CoreCkptWriter *w) {
  if (!w) return;
  for (int i = 0; i < w->n; i++) core_free(w->sec[i].owned);
  core_free(w->sec);
  core_free(w);
}

/* Validate the name and make room for one more section; returns its slot or a CORE_ERR_* code. */
static int ckpt_writer_slot(CoreCkptWriter *w, const char *name, CoreErr *err) {
  CORE_ASSERT(w && name);
  size_t len = strlen(name);
  if (len == 0)
    return core_err_set(err, CORE_ERR_INVALID, "checkpoint section name is empty");
  if (len > CORE_CKPT_NAME_MAX)
    return core_err_set(err, CORE_ERR_INVALID,
                        "checkpoint section name '%.40s...' is %zu bytes, longer than the limit %d",
                        name, len, CORE_CKPT_NAME_MAX);
  for (int i = 0; i < w->n; i++)
    if (strcmp(w->sec[i].name, name) == 0)
      return core_err_set(err, CORE_ERR_INVALID,
                          "checkpoint section '%s' added twice (names must be unique)", name);
  if (w->n >= CORE_CKPT_MAX_SECTIONS)
    return core_err_set(err, CORE_ERR_INVALID,
                        "checkpoint has more than %d sections (adding '%s')",
                        CORE_CKPT_MAX_SECTIONS, name);
  if (w->n == w->cap) {
    int cap = w->cap ? 2 * w->cap : 16;
    CkptWSection *s = core_calloc((size_t)cap, sizeof *s);
    if (!s)
      return core_err_set(err, CORE_ERR_NOMEM, "out of memory adding checkpoint section '%s'",
                          name);
    if (w->n) memcpy(s, w->sec, (size_t)w->n * sizeof *s);
    core_free(w->sec);
    w->sec = s;
    w->cap = cap;
  }
  CkptWSection *s = &w->sec[w->n];
  memset(s, 0, sizeof *s);
  memcpy(s->name, name, len);  /* the rest stays NUL: the on-disk padding */
  return w->n;
}

int core_ckpt_add(CoreCkptWriter *w, const char *name, const void *data, size_t size,
                  CoreErr *err) {
  CORE_ASSERT(data || size == 0);
  int slot = ckpt_writer_slot(w, name, err);
  if (slot < 0) return slot;
  w->sec[slot].data = data;
  w->sec[slot].size = size;
  w->n++;
  return CORE_OK;
}

int core_ckpt_add_copy(CoreCkptWriter *w, const char *name, const void *data, size_t size,
                       CoreErr *err) {
  CORE_ASSERT(data || size == 0);
  int slot = ckpt_writer_slot(w, name, err);
  if (slot < 0) return slot;
  void *copy = core_malloc(size);
  if (!copy)
    return core_err_set(err, CORE_ERR_NOMEM,
                        "out of memory copying checkpoint section '%s' (%zu bytes)", name, size);
  if (size) memcpy(copy, data, size);
  w->sec[slot].data = copy;
  w->sec[slot].owned = copy;
  w->sec[slot].size = size;
  w->n++;
  return CORE_OK;
}

/* Offsets of every payload and the total file length; CORE_ERR_NOMEM if they overflow. */
static int ckpt_layout(const CoreCkptWriter *w, uint64_t *data_start, uint64_t *total,
                       CoreErr *err) {
  uint64_t pos;
  if (align_u64(&pos, CKPT_HEADER + (uint64_t)CKPT_ENTRY * (uint64_t)w->n)) goto overflow;
  *data_start = pos;
  for (int i = 0; i < w->n; i++) {
    if (align_u64(&pos, pos) || add_u64(&pos, pos, w->sec[i].size)) goto overflow;
  }
  if (add_u64(&pos, pos, CKPT_TRAILER) || pos > SIZE_MAX) goto overflow;
  *total = pos;
  return CORE_OK;
overflow:
  return core_err_set(err, CORE_ERR_NOMEM, "checkpoint too large: section sizes overflow");
}

/* Where the bytes go: a memory buffer (buf) or a stream (f, with the fault-injection hook). */
typedef struct {
  uint8_t *buf;
  size_t pos;
  FILE *f;
} CkptSink;

static int sink_put(CkptSink *s, const void *p, size_t n) {
  if (n == 0) return 0;
  if (s->buf) {
    memcpy(s->buf + s->pos, p, n);
    s->pos += n;
    return 0;
  }
  if (ckpt_injected_failure()) return -1;
  errno = 0;
  if (fwrite(p, 1, n, s->f) != n) {
    if (errno == 0) errno = EIO;
    return -1;
  }
  s->pos += n;
  return 0;
}

#define CKPT_SINK_FAILED 1  /* ckpt_emit: the stream failed, errno says why */

/* Emit the whole file: 0, CKPT_SINK_FAILED (errno set), or CORE_ERR_NOMEM (err set). */
static int ckpt_emit(const CoreCkptWriter *w, CkptSink *s, uint64_t data_start, uint64_t total,
                     CoreErr *err) {
  static const uint8_t zeros[CKPT_ALIGN];
  size_t head_n = (size_t)data_start;
  uint8_t *head = core_calloc(1, head_n);  /* header + table + padding up to the first payload */
  if (!head) return core_err_set(err, CORE_ERR_NOMEM, "out of memory writing checkpoint");

  /* header */
  memcpy(head, CKPT_MAGIC, 8);
  put_u32(head + 8, CKPT_VERSION);
  uint32_t order = CKPT_BYTE_ORDER;
  memcpy(head + 12, &order, 4);  /* native order on purpose: it describes the payloads */
  head[16] = (uint8_t)sizeof(float);
  head[17] = (uint8_t)sizeof(double);
  put_u16(head + 18, 0);
  put_u32(head + 20, (uint32_t)w->n);
  put_u64(head + 24, total);

  /* table: offsets follow ckpt_layout; CRCs need one pass over each payload */
  uint64_t pos = data_start;
  for (int i = 0; i < w->n; i++) {
    uint8_t *e = head + CKPT_HEADER + (size_t)i * CKPT_ENTRY;
    align_u64(&pos, pos);  /* cannot overflow: ckpt_layout checked the same sums */
    memcpy(e, w->sec[i].name, CKPT_NAME_FIELD);
    put_u64(e + 64, pos);
    put_u64(e + 72, w->sec[i].size);
    put_u32(e + 80, ckpt_crc(0, w->sec[i].data, w->sec[i].size));
    put_u32(e + 84, 0);
    pos += w->sec[i].size;
  }

  /* the trailer CRC is combined from the pieces, so payloads are not checksummed twice */
  uint32_t file_crc = ckpt_crc(0, head, head_n);
  int rc = sink_put(s, head, head_n);
  pos = data_start;
  for (int i = 0; i < w->n && rc == 0; i++) {
    uint64_t start = pos;
    align_u64(&start, pos);
    size_t pad = (size_t)(start - pos);
    file_crc = ckpt_crc(file_crc, zeros, pad);
    uint32_t sec_crc = get_u32(head + CKPT_HEADER + (size_t)i * CKPT_ENTRY + 80);
    file_crc = (uint32_t)crc32_combine(file_crc, sec_crc, (z_off_t)w->sec[i].size);
    rc = sink_put(s, zeros, pad);
    if (rc == 0) rc = sink_put(s, w->sec[i].data, w->sec[i].size);
    pos = start + w->sec[i].size;
  }
  core_free(head);
  if (rc) return CKPT_SINK_FAILED;
  uint8_t trailer[CKPT_TRAILER];
  put_u32(trailer, file_crc);
  if (sink_put(s, trailer, sizeof trailer)) return CKPT_SINK_FAILED;
  CORE_ASSERT(s->pos == total);
  return CORE_OK;
}

int core_ckpt_write_buffer(const CoreCkptWriter *w, void **buf, size_t *size, CoreErr *err) {
  CORE_ASSERT(w && buf && size);
  *buf = NULL;
  *size = 0;
  uint64_t data_start, total;
  int rc = ckpt_layout(w, &data_start, &total, err);
  if (rc) return rc;
  CkptSink s = {.buf = core_malloc((size_t)total)};
  if (!s.buf)
    return core_err_set(err, CORE_ERR_NOMEM, "out of memory serializing checkpoint (%llu bytes)",
                        (unsigned long long)total);
  rc = ckpt_emit(w, &s, data_start, total, err);
  if (rc) {  /* a memory sink cannot fail, so this is the table allocation */
    core_free(s.buf);
    return rc;
  }
  *buf = s.buf;
  *size = (size_t)total;
  return CORE_OK;
}

/* fsync the directory holding path, so the rename itself survives a crash. */
static int ckpt_sync_dir(const char *path) {
  const char *slash = strrchr(path, '/');
  char dir[4096];
  if (!slash) {
    strcpy(dir, ".");
  } else {
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    if (n >= sizeof dir) {
      errno = ENAMETOOLONG;
      return -1;
    }
    memcpy(dir, path, n);
    dir[n] = '\0';
  }
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -1;
  int rc = fsync(fd);
  int e = errno;
  close(fd);
  if (rc && (e == EINVAL || e == EROFS)) rc = 0;  /* filesystems that cannot sync directories */
  errno = e;
  return rc;
}

int core_ckpt_write_file(const CoreCkptWriter *w, const char *path, CoreErr *err) {
  CORE_ASSERT(w && path);
  uint64_t data_start, total;
  int rc = ckpt_layout(w, &data_start, &total, err);
  if (rc) return rc;

  size_t tmp_n = strlen(path) + 32;
  char *tmp = core_malloc(tmp_n);
  if (!tmp) return core_err_set(err, CORE_ERR_NOMEM, "%s: out of memory", path);
  snprintf(tmp, tmp_n, "%s.tmp.%ld", path, (long)getpid());

  const char *step = "creating";
  FILE *f = NULL;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int created = fd >= 0;  /* from here on, failures must remove the temporary file */
  if (!created) goto io_fail;
  f = fdopen(fd, "wb");
  if (!f) goto io_fail;

  /* every step up to the rename may fail (or be made to fail by the test hook) */
  step = "writing";
  CkptSink s = {.f = f};
  rc = ckpt_emit(w, &s, data_start, total, err);
  if (rc == CKPT_SINK_FAILED) goto io_fail;
  if (rc) goto fail;  /* CORE_ERR_NOMEM, message already set */
  step = "flushing";
  if (ckpt_injected_failure() || fflush(f)) goto io_fail;
  step = "syncing";
  if (ckpt_injected_failure() || fsync(fileno(f))) goto io_fail;
  step = "closing";
  if (ckpt_injected_failure()) goto io_fail;
  int closed = fclose(f);
  f = NULL;  /* closed even when fclose reports an error */
  fd = -1;
  if (closed) goto io_fail;
  step = "renaming";
  if (ckpt_injected_failure() || rename(tmp, path)) goto io_fail;
  core_free(tmp);

  /* the new checkpoint is in place; only the durability of the rename is left to report */
  if (ckpt_sync_dir(path))
    return core_err_set(err, CORE_ERR_IO,
                        "%s: written, but syncing its directory failed: %s (the new checkpoint "
                        "may not survive a crash)",
                        path, strerror(errno));
  return CORE_OK;

io_fail:
  rc = core_err_set(err, CORE_ERR_IO,
                    "%s: %s temporary file %s failed: %s (previous checkpoint left unchanged)",
                    path, step, tmp, strerror(errno));
fail:
  if (f)
    fclose(f);
  else if (fd >= 0)
    close(fd);
  if (created) unlink(tmp);
  core_free(tmp);
  return rc;
}

/* ---------------------------------------------------------------- reader */

typedef struct {
  const char *name;     /* into the image; NUL-terminated (validated) */
  const uint8_t *data;  /* into the image; 64-aligned */
  size_t size;
} CkptEntry;

struct CoreCkpt {
  uint8_t *image;       /* the whole file, (size) bytes */
  size_t size;
  char *label;
  int n;
  CkptEntry *entries;   /* (n) in file order */
  CkptEntry *sorted;    /* (n) by name, for lookup */
};

/* Check the fixed header of a file of `total` bytes, of which `avail` are in b. */
static int ckpt_check_header(const uint8_t *b, size_t avail, size_t total, const char *label,
                             CoreErr *err) {
  if (total == 0)
    return core_err_set(err, CORE_ERR_CORRUPT, "%s: empty file, not a checkpoint", label);
  if (total < 8 || avail < 8)
    return core_err_set(err, CORE_ERR_CORRUPT,
                        "%s: truncated: header needs %u bytes at offset 0, file has %zu", label,
                        CKPT_HEADER, total);
  if (memcmp(b, CKPT_MAGIC, 8) != 0)
    return core_err_set(err, CORE_ERR_CORRUPT, "%s: not a cemrl checkpoint (wrong magic bytes)",
                        label);
  if (total < CKPT_HEADER + CKPT_TRAILER || avail < CKPT_HEADER)
    return core_err_set(err, CORE_ERR_CORRUPT,
                        "%s: truncated: header and trailer need %u bytes, file has %zu", label,
                        CKPT_HEADER + CKPT_TRAILER, total);
  uint32_t version = get_u32(b + 8);
  if (version != CKPT_VERSION)
    return core_err_set(err, CORE_ERR_CORRUPT,
                        "%s: checkpoint format version %u is not supported (this cemrl reads "
                        "version %u)", label, version, CKPT_VERSION);
  uint32_t order;
  memcpy(&order, b + 12, 4);
  if (order != CKPT_BYTE_ORDER)
    return core_err_set(err, CORE_ERR_CORRUPT, "%s: %s", label,
                        order == 0x04030201u
                            ? "written on a machine with the other byte order (not portable)"
                            : "bad byte-order tag (file corrupted)");
  if (b[16] != sizeof(float) || b[17] != sizeof(double))
    return core_err_set(err, CORE_ERR_CORRUPT,
                        "%s: written with sizeof(float)=%u, sizeof(double)=%u; this build has %zu "
                        "and %zu", label, b[16], b[17], sizeof(float), sizeof(double));
  uint16_t flags = get_u16(b + 18);
  if (flags != 0)
    return core_err_set(err, CORE_ERR_CORRUPT,
                        "%s: unknown header flags 0x%04x (written by a newer cemrl?)", label,
                        flags);
  uint32_t count = get_u32(b + 20);
  if (count > CORE_CKPT_MAX_SECTIONS)
    return core_err_set(err, CORE_ERR_CORRUPT, "%s: section count %u exceeds the limit %d", label,
                        count, CORE_CKPT_MAX_SECTIONS);
  uint64_t declared = get_u64(b + 24);
  if (declared > total)
    return core_err_set(err, CORE_ERR_CORRUPT,
                        "%s: truncated: header declares %llu bytes, file has %zu", label,
                        (unsigned long long)declared, total);
  if (declared < total)
    return core_err_set(err, CORE_ERR_CORRUPT,
                        "%s: %llu unexpected bytes after the declared end at %llu", label,
                        (unsigned long long)(total - declared), (unsigned long long)declared);
  uint64_t table = (uint64_t)count * CKPT_ENTRY;  /* count <= 4096: no overflow */
  if (CKPT_HEADER + table + CKPT_TRAILER > total)
    return core_err_set(err, CORE_ERR_CORRUPT,
                        "%s: truncated: section table needs %llu bytes at offset %u, file has %zu",
                        label, (unsigned long long)table, CKPT_HEADER, total);
  return CORE_OK;
}

/* Check the table and every checksum of a complete image; allocates nothing. */
static int ckpt_check_image(const uint8_t *b, size_t n, const char *label, CoreErr *err) {
  int rc = ckpt_check_header(b, n, n, label, err);
  if (rc) return rc;
  uint32_t count = get_u32(b + 20);
  uint64_t table_end = CKPT_HEADER + (uint64_t)count * CKPT_ENTRY;
  uint64_t data_end = n - CKPT_TRAILER;
  uint64_t prev_end = table_end;
  const char *prev = NULL;
  for (uint32_t i = 0; i < count; i++) {
    const uint8_t *e = b + CKPT_HEADER + (size_t)i * CKPT_ENTRY;
    const char *name = (const char *)e;
    if (!memchr(e, '\0', CKPT_NAME_FIELD))
      return core_err_set(err, CORE_ERR_CORRUPT,
                          "%s: section %u: name is not NUL-terminated (file corrupted)", label, i);
    if (name[0] == '\0')
      return core_err_set(err, CORE_ERR_CORRUPT, "%s: section %u has an empty name", label, i);
    uint64_t off = get_u64(e + 64), len = get_u64(e + 72), end;
    if (get_u32(e + 84) != 0)
      return core_err_set(err, CORE_ERR_CORRUPT,
                          "%s: section '%s': reserved field is not zero (file corrupted)", label,
                          name);
    if (off % CKPT_ALIGN != 0)
      return core_err_set(err, CORE_ERR_CORRUPT,
                          "%s: section '%s': offset %llu is not a multiple of %u", label, name,
                          (unsigned long long)off, CKPT_ALIGN);
    if (off < prev_end) {
      if (prev)
        return core_err_set(err, CORE_ERR_CORRUPT,
                            "%s: section '%s' at offset %llu overlaps section '%s' (ends at %llu)",
                            label, name, (unsigned long long)off, prev,
                            (unsigned long long)prev_end);
      return core_err_set(err, CORE_ERR_CORRUPT,
                          "%s: section '%s' at offset %llu overlaps the section table (ends at "
                          "%llu)", label, name, (unsigned long long)off,
                          (unsigned long long)table_end);
    }
    if (add_u64(&end, off, len) || end > data_end)
      return core_err_set(err, CORE_ERR_CORRUPT,
                          "%s: truncated: section '%s' needs %llu bytes at offset %llu, file has "
                          "%zu", label, name, (unsigned long long)len, (unsigned long long)off, n);
    prev_end = end;
    prev = name;
  }
  /* the whole-file CRC is assembled from the gaps and the payload CRCs (the sections are
   * ascending and disjoint, so the pieces tile [0, data_end)): each byte is read once */
  uint32_t file_crc = 0;
  uint64_t pos = 0;
  for (uint32_t i = 0; i < count; i++) {
    const uint8_t *e = b + CKPT_HEADER + (size_t)i * CKPT_ENTRY;
    uint64_t off = get_u64(e + 64), len = get_u64(e + 72);
    uint32_t crc = ckpt_crc(0, b + off, (size_t)len);
    if (crc != get_u32(e + 80))
      return core_err_set(err, CORE_ERR_CORRUPT,
                          "%s: section '%s' checksum mismatch (file corrupted)", label,
                          (const char *)e);
    file_crc = ckpt_crc(file_crc, b + pos, (size_t)(off - pos));
    file_crc = (uint32_t)crc32_combine(file_crc, crc, (z_off_t)len);
    pos = off + len;
  }
  file_crc = ckpt_crc(file_crc, b + pos, (size_t)(data_end - pos));
  if (file_crc != get_u32(b + data_end))
    return core_err_set(err, CORE_ERR_CORRUPT,
                        "%s: whole-file checksum mismatch (header, table or padding corrupted)",
                        label);
  return CORE_OK;
}

static int entry_cmp(const void *a, const void *b) {
  return strcmp(((const CkptEntry *)a)->name, ((const CkptEntry *)b)->name);
}

/* Build the index over a checked image (ownership of image passes in; freed on failure). */
static CoreCkpt *ckpt_build(uint8_t *image, size_t n, const char *label, CoreErr *err) {
  int count = (int)get_u32(image + 20);
  size_t label_n = strlen(label) + 1;
  CoreCkpt *c = core_calloc(1, sizeof *c);
  if (c) {
    c->image = image;
    c->size = n;
    c->n = count;
    c->label = core_malloc(label_n);
    c->entries = core_calloc((size_t)count + 1, sizeof *c->entries);
    c->sorted = core_calloc((size_t)count + 1, sizeof *c->sorted);
  }
  if (!c || !c->label || !c->entries || !c->sorted) {
    core_err_set(err, CORE_ERR_NOMEM, "%s: out of memory loading checkpoint", label);
    if (c)
      core_ckpt_free(c);
    else
      core_free(image);
    return NULL;
  }
  memcpy(c->label, label, label_n);
  for (int i = 0; i < count; i++) {
    const uint8_t *e = image + CKPT_HEADER + (size_t)i * CKPT_ENTRY;
    c->entries[i].name = (const char *)e;
    c->entries[i].data = image + get_u64(e + 64);
    c->entries[i].size = (size_t)get_u64(e + 72);
  }
  if (count) memcpy(c->sorted, c->entries, (size_t)count * sizeof *c->sorted);
  qsort(c->sorted, (size_t)count, sizeof *c->sorted, entry_cmp);
  for (int i = 1; i < count; i++) {
    if (strcmp(c->sorted[i - 1].name, c->sorted[i].name) == 0) {
      core_err_set(err, CORE_ERR_CORRUPT, "%s: section name '%s' appears twice (file corrupted)",
                   label, c->sorted[i].name);
      core_ckpt_free(c);
      return NULL;
    }
  }
  return c;
}

CoreCkpt *core_ckpt_load_buffer(const void *buf, size_t size, const char *label, CoreErr *err) {
  if (!label) label = "(buffer)";
  CORE_ASSERT(buf || size == 0);
  if (ckpt_check_image(buf, size, label, err)) return NULL;
  uint8_t *image = core_malloc(size);
  if (!image) {
    core_err_set(err, CORE_ERR_NOMEM, "%s: out of memory loading checkpoint (%zu bytes)", label,
                 size);
    return NULL;
  }
  memcpy(image, buf, size);
  return ckpt_build(image, size, label, err);
}

/* Read exactly n bytes at the current position; -1 with errno (EIO on an early end). */
static int read_all(int fd, uint8_t *p, size_t n) {
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -1;
    if (r == 0) {
      errno = EIO;
      return -1;
    }
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

CoreCkpt *core_ckpt_load_file(const char *path, CoreErr *err) {
  CORE_ASSERT(path);
  /* O_NONBLOCK: opening a FIFO by mistake must not hang; it has no effect on regular files */
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    core_err_set(err, errno == ENOENT ? CORE_ERR_NOTFOUND : CORE_ERR_IO,
                 "%s: cannot open checkpoint: %s", path, strerror(errno));
    return NULL;
  }
  struct stat st;
  if (fstat(fd, &st)) {
    core_err_set(err, CORE_ERR_IO, "%s: cannot stat checkpoint: %s", path, strerror(errno));
    close(fd);
    return NULL;
  }
  if (!S_ISREG(st.st_mode)) {
    core_err_set(err, CORE_ERR_IO, "%s: not a regular file", path);
    close(fd);
    return NULL;
  }
  if ((uint64_t)st.st_size > SIZE_MAX) {
    core_err_set(err, CORE_ERR_CORRUPT, "%s: file too large for this machine", path);
    close(fd);
    return NULL;
  }
  size_t total = (size_t)st.st_size;

  /* the header is checked against the real file length before the file-sized allocation */
  uint8_t head[CKPT_HEADER];
  size_t avail = total < sizeof head ? total : sizeof head;
  if (read_all(fd, head, avail)) {
    core_err_set(err, CORE_ERR_IO, "%s: cannot read checkpoint: %s", path, strerror(errno));
    close(fd);
    return NULL;
  }
  if (ckpt_check_header(head, avail, total, path, err)) {
    close(fd);
    return NULL;
  }
  uint8_t *image = core_malloc(total);
  if (!image) {
    core_err_set(err, CORE_ERR_NOMEM, "%s: out of memory loading checkpoint (%zu bytes)", path,
                 total);
    close(fd);
    return NULL;
  }
  memcpy(image, head, sizeof head);
  if (read_all(fd, image + sizeof head, total - sizeof head)) {
    core_err_set(err, CORE_ERR_IO, "%s: cannot read checkpoint: %s", path, strerror(errno));
    core_free(image);
    close(fd);
    return NULL;
  }
  close(fd);
  if (ckpt_check_image(image, total, path, err)) {
    core_free(image);
    return NULL;
  }
  return ckpt_build(image, total, path, err);
}

void core_ckpt_free(CoreCkpt *c) {
  if (!c) return;
  core_free(c->image);
  core_free(c->label);
  core_free(c->entries);
  core_free(c->sorted);
  core_free(c);
}

int core_ckpt_count(const CoreCkpt *c) {
  CORE_ASSERT(c);
  return c->n;
}

const char *core_ckpt_name_at(const CoreCkpt *c, int i) {
  CORE_ASSERT(c && i >= 0 && i < c->n);
  return c->entries[i].name;
}

const void *core_ckpt_find(const CoreCkpt *c, const char *name, size_t *size) {
  CORE_ASSERT(c && name);
  int lo = 0, hi = c->n;  /* binary search over the name-sorted index */
  while (lo < hi) {
    int mid = lo + (hi - lo) / 2;
    int d = strcmp(c->sorted[mid].name, name);
    if (d == 0) {
      if (size) *size = c->sorted[mid].size;
      return c->sorted[mid].data;
    }
    if (d < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (size) *size = 0;
  return NULL;
}

int core_ckpt_read(const CoreCkpt *c, const char *name, void *dst, size_t size, CoreErr *err) {
  CORE_ASSERT(c && name && (dst || size == 0));
  size_t have;
  const void *p = core_ckpt_find(c, name, &have);
  if (!p)
    return core_err_set(err, CORE_ERR_CORRUPT,
                        "%s: no section '%s' (checkpoint from a different configuration or "
                        "version?)", c->label, name);
  if (have != size)
    return core_err_set(err, CORE_ERR_CORRUPT,
                        "%s: section '%s' is %zu bytes, expected %zu (checkpoint from a different "
                        "configuration?)", c->label, name, have, size);
  if (size) memcpy(dst, p, size);
  return CORE_OK;
}

int core_ckpt_read_rngs(const CoreCkpt *c, const char *name, CoreRng *rngs, int n, CoreErr *err) {
  int rc = core_ckpt_read(c, name, rngs, sizeof(CoreRng) * (size_t)n, err);
  if (rc) return rc;
  for (int i = 0; i < n; i++) {
    const CoreRng *r = &rngs[i];
    int zero = !(r->s[0] | r->s[1] | r->s[2] | r->s[3]);
    if (zero || (r->has_spare != 0 && r->has_spare != 1) || (r->has_spare && !isfinite(r->spare)))
      return core_err_set(err, CORE_ERR_CORRUPT, "%s: section '%s': random stream %d has a state "
                          "no stream can reach (damaged checkpoint)", c->label, name, i);
  }
  return CORE_OK;
}

const char *core_ckpt_label(const CoreCkpt *c) {
  CORE_ASSERT(c);
  return c->label;
}
