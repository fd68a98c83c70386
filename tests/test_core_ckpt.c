/* test_core_ckpt.c — the checkpoint container: round trips, every truncation, every bit flip,
 * forged headers, writer errors, atomic writes under injected I/O failures, OOM paths. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include "test_util.h"

#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/alloc.h"
#include "core/ckpt.h"
#include "core/rng.h"

/* Format facts the forgery tests rely on (documented at the top of src/core/ckpt.c). */
#define HDR 32
#define ENTRY 88
#define OFF_COUNT 20
#define OFF_LENGTH 24

static char tmp_dir[256];

static int group_setup(void **state) {
  (void)state;
  return test_make_tmpdir(tmp_dir, sizeof tmp_dir, "ckpt") ? 0 : -1;
}

static int group_teardown(void **state) {
  (void)state;
  DIR *d = opendir(tmp_dir);
  if (d) {
    struct dirent *e;
    char p[512];
    while ((e = readdir(d))) {
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
      snprintf(p, sizeof p, "%s/%s", tmp_dir, e->d_name);
      remove(p);
    }
    closedir(d);
  }
  return rmdir(tmp_dir);
}

static const char *tmp_path(char *buf, size_t n, const char *name) {
  snprintf(buf, n, "%s/%s", tmp_dir, name);
  return buf;
}

/* Number of entries in the temp dir whose name contains sub. */
static int count_files_with(const char *sub) {
  DIR *d = opendir(tmp_dir);
  assert_non_null(d);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (strstr(e->d_name, sub)) n++;
  closedir(d);
  return n;
}

static void write_bytes(const char *path, const void *p, size_t n) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  if (n) assert_int_equal(fwrite(p, 1, n, f), n);
  assert_int_equal(fclose(f), 0);
}

static uint8_t *read_bytes(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *p = malloc((size_t)len + 1);
  assert_int_equal(fread(p, 1, (size_t)len, f), (size_t)len);
  fclose(f);
  *n = (size_t)len;
  return p;
}

static uint64_t rd64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

static void wr32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void wr64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* Recompute the whole-file trailer, so a forgery reaches the check it targets. */
static void restamp(uint8_t *b, size_t n) {
  wr32(b + n - 4, (uint32_t)crc32(0, b, (uInt)(n - 4)));
}

/* Recompute section i's CRC field from its payload (after changing offset/length/data). */
static void restamp_section(uint8_t *b, size_t n, int i) {
  uint8_t *e = b + HDR + (size_t)i * ENTRY;
  uint64_t off = rd64(e + 64), len = rd64(e + 72);
  assert_true(off + len <= n);
  wr32(e + 80, len ? (uint32_t)crc32(0, b + off, (uInt)len) : 0);
}

/* ---------------------------------------------------------------- fixtures */

static const float small_a[5] = {1.5f, -2.0f, 3.25f, 0.0f, 1e-30f};
static const uint64_t small_counters[3] = {7, 0, UINT64_MAX};

/* A small valid checkpoint: three sections, one empty. */
static void make_small(void **buf, size_t *n) {
  CoreErr err;
  CoreCkptWriter *w = core_ckpt_writer_create();
  assert_non_null(w);
  assert_int_equal(core_ckpt_add(w, "a", small_a, sizeof small_a, &err), 0);
  assert_int_equal(core_ckpt_add(w, "empty", NULL, 0, &err), 0);
  assert_int_equal(core_ckpt_add_copy(w, "counters", small_counters, sizeof small_counters, &err),
                   0);
  assert_int_equal(core_ckpt_write_buffer(w, buf, n, &err), 0);
  core_ckpt_writer_free(w);
}

typedef struct {
  float *params;   /* (n_params) */
  size_t n_params;
  float *big;      /* (n_big), ~1 MB */
  size_t n_big;
  uint64_t step;
} Model;

static void model_init(Model *m, uint64_t seed) {
  CoreRng r;
  core_rng_stream(&r, seed, CORE_RNG_TEST, 1);
  m->n_params = 1000;
  m->n_big = 262147;  /* 1 MB plus a few floats: not a multiple of 64 bytes */
  m->params = malloc(m->n_params * sizeof(float));
  m->big = malloc(m->n_big * sizeof(float));
  core_rng_normal_fill(&r, m->params, (long)m->n_params, 0.0, 1.0);
  core_rng_uniform_fill(&r, m->big, (long)m->n_big, -1.0, 1.0);
  m->step = 12345 + seed;
}

static void model_release(Model *m) {
  free(m->params);
  free(m->big);
}

static CoreCkptWriter *model_writer(const Model *m) {
  CoreErr err;
  CoreCkptWriter *w = core_ckpt_writer_create();
  assert_non_null(w);
  assert_int_equal(core_ckpt_add(w, "td3.actor.params", m->params, m->n_params * 4, &err), 0);
  assert_int_equal(core_ckpt_add(w, "empty", NULL, 0, &err), 0);
  assert_int_equal(core_ckpt_add(w, "replay.big", m->big, m->n_big * 4, &err), 0);
  assert_int_equal(core_ckpt_add_copy(w, "step", &m->step, sizeof m->step, &err), 0);
  return w;
}

/* Every section of c equals m, byte for byte, and payload pointers are 64-aligned. */
static void model_check(const CoreCkpt *c, const Model *m) {
  assert_int_equal(core_ckpt_count(c), 4);
  assert_string_equal(core_ckpt_name_at(c, 0), "td3.actor.params");
  assert_string_equal(core_ckpt_name_at(c, 1), "empty");
  assert_string_equal(core_ckpt_name_at(c, 2), "replay.big");
  assert_string_equal(core_ckpt_name_at(c, 3), "step");
  size_t sz = 99;
  const void *p = core_ckpt_find(c, "td3.actor.params", &sz);
  assert_non_null(p);
  assert_int_equal(sz, m->n_params * 4);
  assert_int_equal((uintptr_t)p % 64, 0);
  assert_memory_equal(p, m->params, sz);
  p = core_ckpt_find(c, "replay.big", &sz);
  assert_non_null(p);
  assert_int_equal(sz, m->n_big * 4);
  assert_int_equal((uintptr_t)p % 64, 0);
  assert_memory_equal(p, m->big, sz);
  p = core_ckpt_find(c, "empty", &sz);
  assert_non_null(p);  /* present, even though empty */
  assert_int_equal(sz, 0);
  uint64_t step = 0;
  CoreErr err;
  assert_int_equal(core_ckpt_read(c, "step", &step, sizeof step, &err), 0);
  assert_int_equal(step, m->step);
  assert_int_equal(core_ckpt_read(c, "empty", NULL, 0, &err), 0);
  assert_null(core_ckpt_find(c, "absent", &sz));
  assert_int_equal(sz, 0);
  assert_null(core_ckpt_find(c, "td3.actor.param", NULL));  /* prefixes do not match */
}

/* ---------------------------------------------------------------- round trips */

/* RNG sections: live streams load; an all-zero state (zeros forever: a hang in the rejection
 * samplers) or a malformed cached deviate is refused as damage. */
static void test_rng_states(void **state) {
  (void)state;
  CoreRng good[2], zero = {{0}, 0.0, 0, 0}, spare = {{1, 2, 3, 4}, 0.0, 2, 0}, nan_spare = {{1, 2, 3, 4}, 0.0, 1, 0};
  nan_spare.spare = NAN;
  core_rng_stream(&good[0], 7, CORE_RNG_TEST, 0);
  core_rng_stream(&good[1], 8, CORE_RNG_TEST, 0);
  core_rng_normal(&good[1]);  /* leaves a cached deviate */
  CoreErr err;
  core_err_clear(&err);
  CoreCkptWriter *w = core_ckpt_writer_create();
  assert_int_equal(core_ckpt_add_copy(w, "good", good, sizeof good, &err), 0);
  assert_int_equal(core_ckpt_add_copy(w, "zero", &zero, sizeof zero, &err), 0);
  assert_int_equal(core_ckpt_add_copy(w, "spare", &spare, sizeof spare, &err), 0);
  assert_int_equal(core_ckpt_add_copy(w, "nan", &nan_spare, sizeof nan_spare, &err), 0);
  void *buf;
  CoreCkpt *c = test_ckpt_seal(w, "rngs.ckpt", &buf);
  CoreRng got[2];
  assert_int_equal(core_ckpt_read_rngs(c, "good", got, 2, &err), 0);
  assert_memory_equal(got, good, sizeof good);
  const char *bad[] = {"zero", "spare", "nan"};
  for (int i = 0; i < 3; i++) {
    core_err_clear(&err);
    assert_int_equal(core_ckpt_read_rngs(c, bad[i], got, 1, &err), CORE_ERR_CORRUPT);
    assert_non_null(strstr(err.msg, "rngs.ckpt: section"));
  }
  core_ckpt_free(c);
  core_free(buf);
}

static void test_roundtrip_buffer(void **state) {
  (void)state;
  long live0 = core_alloc_live();
  Model m;
  model_init(&m, 1);
  CoreCkptWriter *w = model_writer(&m);
  m.step = 0;  /* the copied section must keep the value it had when added */
  uint64_t expect_step = 12346;
  void *buf = NULL, *buf2 = NULL;
  size_t n = 0, n2 = 0;
  CoreErr err;
  assert_int_equal(core_ckpt_write_buffer(w, &buf, &n, &err), 0);
  assert_true(n > m.n_big * 4 + m.n_params * 4);
  assert_int_equal(core_ckpt_write_buffer(w, &buf2, &n2, &err), 0);
  assert_int_equal(n, n2);
  assert_memory_equal(buf, buf2, n);  /* deterministic bytes */
  core_free(buf2);
  core_ckpt_writer_free(w);

  CoreCkpt *c = core_ckpt_load_buffer(buf, n, "mem", &err);
  assert_non_null(c);
  memset(buf, 0, n);  /* the loader copied: the caller's buffer may go away */
  core_free(buf);
  m.step = expect_step;
  model_check(c, &m);
  assert_string_equal(core_ckpt_label(c), "mem");
  core_ckpt_free(c);
  core_ckpt_free(NULL);
  core_ckpt_writer_free(NULL);
  model_release(&m);
  assert_int_equal(core_alloc_live(), live0);
}

static void test_roundtrip_file(void **state) {
  (void)state;
  long live0 = core_alloc_live();
  Model m;
  model_init(&m, 2);
  CoreCkptWriter *w = model_writer(&m);
  char path[512];
  tmp_path(path, sizeof path, "roundtrip.ckpt");
  CoreErr err;
  core_err_clear(&err);
  assert_int_equal(core_ckpt_write_file(w, path, &err), 0);
  assert_int_equal(err.code, 0);
  /* the file holds exactly the bytes of the in-memory serialization */
  void *buf;
  size_t n, fn;
  assert_int_equal(core_ckpt_write_buffer(w, &buf, &n, &err), 0);
  uint8_t *fb = read_bytes(path, &fn);
  assert_int_equal(fn, n);
  assert_memory_equal(fb, buf, n);
  free(fb);
  core_free(buf);
  /* overwriting an existing checkpoint works too */
  assert_int_equal(core_ckpt_write_file(w, path, &err), 0);
  core_ckpt_writer_free(w);
  assert_int_equal(count_files_with(".tmp."), 0);

  CoreCkpt *c = core_ckpt_load_file(path, &err);
  assert_non_null(c);
  model_check(c, &m);
  assert_string_equal(core_ckpt_label(c), path);
  core_ckpt_free(c);
  model_release(&m);
  remove(path);
  assert_int_equal(core_alloc_live(), live0);
}

static void test_empty_checkpoint(void **state) {
  (void)state;
  CoreErr err;
  CoreCkptWriter *w = core_ckpt_writer_create();
  void *buf;
  size_t n;
  assert_int_equal(core_ckpt_write_buffer(w, &buf, &n, &err), 0);
  core_ckpt_writer_free(w);
  assert_int_equal(n, 64 + 4);  /* header padded to 64, then the trailer */
  CoreCkpt *c = core_ckpt_load_buffer(buf, n, NULL, &err);
  assert_non_null(c);
  assert_int_equal(core_ckpt_count(c), 0);
  assert_null(core_ckpt_find(c, "x", NULL));
  core_ckpt_free(c);
  core_free(buf);
}

/* ---------------------------------------------------------------- damaged files */

static void test_every_truncation_rejected(void **state) {
  (void)state;
  long live0 = core_alloc_live();
  void *buf;
  size_t n;
  make_small(&buf, &n);
  CoreErr err;
  CoreCkpt *ok = core_ckpt_load_buffer(buf, n, "small", &err);
  assert_non_null(ok);
  core_ckpt_free(ok);
  for (size_t len = 0; len < n; len++) {
    core_err_clear(&err);
    CoreCkpt *c = core_ckpt_load_buffer(buf, len, "small", &err);
    if (c) fail_msg("truncation to %zu of %zu bytes was accepted", len, n);
    if (err.code != CORE_ERR_CORRUPT)
      fail_msg("truncation to %zu: code %d (%s)", len, err.code, err.msg);
    assert_contains(err.msg, "small: ");
  }
  /* the same through files, which take the header-first path of the file loader */
  char path[512];
  tmp_path(path, sizeof path, "trunc.ckpt");
  for (size_t len = 0; len < n; len++) {
    write_bytes(path, buf, len);
    core_err_clear(&err);
    CoreCkpt *c = core_ckpt_load_file(path, &err);
    if (c) fail_msg("file truncated to %zu of %zu bytes was accepted", len, n);
    if (err.code != CORE_ERR_CORRUPT)
      fail_msg("file truncated to %zu: code %d (%s)", len, err.code, err.msg);
    assert_contains(err.msg, path);
  }
  write_bytes(path, buf, n / 2);
  core_ckpt_load_file(path, &err);
  assert_contains(err.msg, "truncated");
  /* one byte too many is rejected as well */
  uint8_t *longer = calloc(1, n + 1);
  memcpy(longer, buf, n);
  assert_null(core_ckpt_load_buffer(longer, n + 1, "long", &err));
  assert_int_equal(err.code, CORE_ERR_CORRUPT);
  free(longer);
  remove(path);
  core_free(buf);
  assert_int_equal(core_alloc_live(), live0);
}

static void test_every_bit_flip_rejected(void **state) {
  (void)state;
  long live0 = core_alloc_live();
  void *buf;
  size_t n;
  make_small(&buf, &n);
  uint8_t *b = malloc(n);
  memcpy(b, buf, n);
  CoreErr err;
  for (size_t i = 0; i < n; i++) {
    for (int bit = 0; bit < 8; bit++) {
      b[i] ^= (uint8_t)(1u << bit);
      core_err_clear(&err);
      CoreCkpt *c = core_ckpt_load_buffer(b, n, "flip", &err);
      if (c) fail_msg("flip of bit %d in byte %zu of %zu was accepted", bit, i, n);
      if (err.code != CORE_ERR_CORRUPT)
        fail_msg("flip of bit %d in byte %zu: code %d (%s)", bit, i, err.code, err.msg);
      b[i] ^= (uint8_t)(1u << bit);
    }
  }
  /* a data byte flip names the section */
  const uint8_t *e = b + HDR;  /* section 0 is "a" */
  b[rd64(e + 64) + 2] ^= 0x10;
  assert_null(core_ckpt_load_buffer(b, n, "run/ckpt.bin", &err));
  assert_string_equal(err.msg, "run/ckpt.bin: section 'a' checksum mismatch (file corrupted)");
  free(b);
  core_free(buf);
  assert_int_equal(core_alloc_live(), live0);
}

/* Load a forged buffer with every allocation made to fail: a rejection must come first. */
static void expect_rejected_before_alloc(const uint8_t *b, size_t n, const char *want) {
  CoreErr err;
  core_err_clear(&err);
  long live0 = core_alloc_live();
  core_alloc_fail_after(1);
  CoreCkpt *c = core_ckpt_load_buffer(b, n, "run/ckpt.bin", &err);
  core_alloc_fail_after(0);
  assert_null(c);
  if (err.code != CORE_ERR_CORRUPT) fail_msg("code %d, message \"%s\"", err.code, err.msg);
  assert_contains(err.msg, want);
  assert_int_equal(core_alloc_live(), live0);
}

static void test_forged_sizes_rejected(void **state) {
  (void)state;
  void *buf;
  size_t n;
  make_small(&buf, &n);
  uint8_t *b = malloc(n);

  /* huge section count (the MuJoCo SIZE_MAX/2 case) */
  memcpy(b, buf, n);
  wr32(b + OFF_COUNT, 0xFFFFFFFFu);
  restamp(b, n);
  expect_rejected_before_alloc(b, n, "section count 4294967295 exceeds the limit 4096");
  /* a count within the limit whose table does not fit */
  memcpy(b, buf, n);
  wr32(b + OFF_COUNT, 4096);
  restamp(b, n);
  char want[200];
  snprintf(want, sizeof want, "run/ckpt.bin: truncated: section table needs %d bytes at offset "
           "32, file has %zu", 4096 * ENTRY, n);
  expect_rejected_before_alloc(b, n, want);
  /* a declared file length far beyond the data */
  memcpy(b, buf, n);
  wr64(b + OFF_LENGTH, (uint64_t)SIZE_MAX / 2);
  restamp(b, n);
  expect_rejected_before_alloc(b, n, "truncated: header declares");
  /* section lengths: SIZE_MAX/2, and one that wraps offset + length around to a small value */
  uint8_t *e = b + HDR;
  memcpy(b, buf, n);
  wr64(e + 72, (uint64_t)SIZE_MAX / 2);
  restamp(b, n);
  expect_rejected_before_alloc(b, n, "section 'a' needs 9223372036854775807 bytes");
  memcpy(b, buf, n);
  wr64(e + 72, UINT64_MAX - rd64(e + 64) + 1 + 8);
  restamp(b, n);
  expect_rejected_before_alloc(b, n, "section 'a' needs");
  /* a huge aligned offset */
  memcpy(b, buf, n);
  wr64(e + 64, UINT64_MAX & ~(uint64_t)63);
  restamp(b, n);
  expect_rejected_before_alloc(b, n, "section 'a' needs");

  /* the file loader: rejected after reading only the header, before the file-sized buffer */
  char path[512];
  tmp_path(path, sizeof path, "forged.ckpt");
  memcpy(b, buf, n);
  wr32(b + OFF_COUNT, 0x7FFFFFFFu);
  restamp(b, n);
  write_bytes(path, b, n);
  CoreErr err;
  core_alloc_fail_after(1);
  CoreCkpt *c = core_ckpt_load_file(path, &err);
  core_alloc_fail_after(0);
  assert_null(c);
  assert_int_equal(err.code, CORE_ERR_CORRUPT);
  assert_contains(err.msg, path);
  assert_contains(err.msg, "section count 2147483647 exceeds");
  remove(path);
  free(b);
  core_free(buf);
}

/* Forge one field (with valid CRCs, so the targeted check fires) and expect a message. */
static void test_forged_structure_rejected(void **state) {
  (void)state;
  void *buf;
  size_t n;
  make_small(&buf, &n);
  uint8_t *b = malloc(n);
  uint8_t *e0 = b + HDR, *e1 = b + HDR + ENTRY, *e2 = b + HDR + 2 * ENTRY;

  memcpy(b, buf, n);
  memcpy(b, "CEMRLCX", 8);
  expect_rejected_before_alloc(b, n, "run/ckpt.bin: not a cemrl checkpoint");
  memcpy(b, buf, n);
  wr32(b + 8, 2);
  restamp(b, n);
  expect_rejected_before_alloc(b, n, "checkpoint format version 2 is not supported");
  memcpy(b, buf, n);
  uint8_t t = b[12];  /* reverse the byte-order tag */
  b[12] = b[15];
  b[15] = t;
  t = b[13];
  b[13] = b[14];
  b[14] = t;
  restamp(b, n);
  expect_rejected_before_alloc(b, n, "other byte order");
  memcpy(b, buf, n);
  b[16] = 8;
  restamp(b, n);
  expect_rejected_before_alloc(b, n, "sizeof(float)=8");
  memcpy(b, buf, n);
  b[17] = 4;
  restamp(b, n);
  expect_rejected_before_alloc(b, n, "sizeof(double)=4");
  memcpy(b, buf, n);
  b[18] = 1;
  restamp(b, n);
  expect_rejected_before_alloc(b, n, "unknown header flags");

  /* a name filling its whole field, without a NUL */
  memcpy(b, buf, n);
  memset(e1, 'x', 64);
  restamp(b, n);
  expect_rejected_before_alloc(b, n, "section 1: name is not NUL-terminated");
  memcpy(b, buf, n);
  e1[0] = '\0';
  restamp(b, n);
  expect_rejected_before_alloc(b, n, "section 1 has an empty name");
  /* overlap: section 2 placed on top of section 0 */
  memcpy(b, buf, n);
  memcpy(e2 + 64, e0 + 64, 8);
  restamp_section(b, n, 2);
  restamp(b, n);
  expect_rejected_before_alloc(b, n, "section 'counters' at offset");
  /* a payload inside the table */
  memcpy(b, buf, n);
  wr64(e0 + 64, 0);
  restamp_section(b, n, 0);
  restamp(b, n);
  expect_rejected_before_alloc(b, n, "overlaps the section table");
  /* misaligned */
  memcpy(b, buf, n);
  wr64(e0 + 64, rd64(e0 + 64) + 4);
  restamp(b, n);
  expect_rejected_before_alloc(b, n, "is not a multiple of 64");
  memcpy(b, buf, n);
  e1[84] = 1;
  restamp(b, n);
  expect_rejected_before_alloc(b, n, "reserved field");
  /* the table's CRC of a section no longer matches; then only the trailer */
  memcpy(b, buf, n);
  e2[80] ^= 1;
  restamp(b, n);
  expect_rejected_before_alloc(b, n, "section 'counters' checksum mismatch (file corrupted)");
  memcpy(b, buf, n);
  b[n - 1] ^= 0x80;
  expect_rejected_before_alloc(b, n, "whole-file checksum mismatch");

  /* duplicate names: found on the loaded index (so allocation is allowed here) */
  memcpy(b, buf, n);
  memset(e2, 0, 64);
  memcpy(e2, "a", 1);
  restamp(b, n);
  CoreErr err;
  long live0 = core_alloc_live();
  assert_null(core_ckpt_load_buffer(b, n, "run/ckpt.bin", &err));
  assert_int_equal(err.code, CORE_ERR_CORRUPT);
  assert_string_equal(err.msg, "run/ckpt.bin: section name 'a' appears twice (file corrupted)");
  assert_int_equal(core_alloc_live(), live0);

  /* a garbage file of plausible size */
  memset(b, 0xA5, n);
  expect_rejected_before_alloc(b, n, "not a cemrl checkpoint");
  free(b);
  core_free(buf);
}

/* ---------------------------------------------------------------- writer and reader errors */

static void test_writer_errors(void **state) {
  (void)state;
  long live0 = core_alloc_live();
  CoreErr err;
  float x[4] = {1, 2, 3, 4};
  CoreCkptWriter *w = core_ckpt_writer_create();
  assert_int_equal(core_ckpt_add(w, "x", x, sizeof x, &err), 0);
  assert_int_equal(core_ckpt_add(w, "x", x, sizeof x, &err), CORE_ERR_INVALID);
  assert_int_equal(err.code, CORE_ERR_INVALID);
  assert_contains(err.msg, "'x' added twice");
  assert_int_equal(core_ckpt_add_copy(w, "x", x, sizeof x, &err), CORE_ERR_INVALID);
  assert_int_equal(core_ckpt_add(w, "", x, sizeof x, &err), CORE_ERR_INVALID);
  assert_contains(err.msg, "empty");
  char name[100];
  memset(name, 'n', sizeof name);
  name[CORE_CKPT_NAME_MAX + 1] = '\0';  /* 64 bytes: one too many */
  assert_int_equal(core_ckpt_add(w, name, x, sizeof x, &err), CORE_ERR_INVALID);
  assert_contains(err.msg, "is 64 bytes, longer than the limit 63");
  assert_int_equal(core_ckpt_add(w, name, x, sizeof x, NULL), CORE_ERR_INVALID);  /* err nullable */
  name[CORE_CKPT_NAME_MAX] = '\0';  /* exactly 63: accepted */
  assert_int_equal(core_ckpt_add(w, name, x, sizeof x, &err), 0);

  /* the failed adds left the writer usable and unchanged */
  void *buf;
  size_t n;
  assert_int_equal(core_ckpt_write_buffer(w, &buf, &n, &err), 0);
  core_ckpt_writer_free(w);
  CoreCkpt *c = core_ckpt_load_buffer(buf, n, "w", &err);
  assert_non_null(c);
  assert_int_equal(core_ckpt_count(c), 2);
  float y[4];
  assert_int_equal(core_ckpt_read(c, name, y, sizeof y, &err), 0);
  assert_memory_equal(x, y, sizeof x);
  core_ckpt_free(c);
  core_free(buf);
  assert_int_equal(core_alloc_live(), live0);
}

static void test_max_sections(void **state) {
  (void)state;
  long live0 = core_alloc_live();
  CoreErr err;
  CoreCkptWriter *w = core_ckpt_writer_create();
  static uint32_t vals[CORE_CKPT_MAX_SECTIONS];
  char name[32];
  for (int i = 0; i < CORE_CKPT_MAX_SECTIONS; i++) {
    vals[i] = (uint32_t)i * 2654435761u;
    snprintf(name, sizeof name, "s%d", i);
    assert_int_equal(core_ckpt_add(w, name, &vals[i], sizeof vals[i], &err), 0);
  }
  assert_int_equal(core_ckpt_add(w, "one.more", vals, 4, &err), CORE_ERR_INVALID);
  assert_contains(err.msg, "more than 4096 sections");
  void *buf;
  size_t n;
  assert_int_equal(core_ckpt_write_buffer(w, &buf, &n, &err), 0);
  core_ckpt_writer_free(w);
  CoreCkpt *c = core_ckpt_load_buffer(buf, n, "many", &err);
  assert_non_null(c);
  assert_int_equal(core_ckpt_count(c), CORE_CKPT_MAX_SECTIONS);
  for (int i = 0; i < CORE_CKPT_MAX_SECTIONS; i++) {
    uint32_t v;
    snprintf(name, sizeof name, "s%d", i);
    assert_int_equal(core_ckpt_read(c, name, &v, sizeof v, &err), 0);
    assert_int_equal(v, vals[i]);
  }
  core_ckpt_free(c);
  core_free(buf);
  assert_int_equal(core_alloc_live(), live0);
}

static void test_read_errors(void **state) {
  (void)state;
  CoreErr err;
  float x[100] = {0};
  CoreCkptWriter *w = core_ckpt_writer_create();
  assert_int_equal(core_ckpt_add(w, "x", x, sizeof x, &err), 0);
  void *buf;
  size_t n;
  assert_int_equal(core_ckpt_write_buffer(w, &buf, &n, &err), 0);
  core_ckpt_writer_free(w);
  CoreCkpt *c = core_ckpt_load_buffer(buf, n, "run/ckpt.bin", &err);
  assert_non_null(c);
  float y[200];
  y[0] = 42.0f;
  assert_int_equal(core_ckpt_read(c, "x", y, sizeof y, &err), CORE_ERR_CORRUPT);
  assert_string_equal(err.msg, "run/ckpt.bin: section 'x' is 400 bytes, expected 800 (checkpoint "
                               "from a different configuration?)");
  assert_true(y[0] == 42.0f);  /* nothing copied on a mismatch */
  assert_int_equal(core_ckpt_read(c, "x", y, 399, &err), CORE_ERR_CORRUPT);
  assert_int_equal(core_ckpt_read(c, "td3.critic", y, sizeof y, &err), CORE_ERR_CORRUPT);
  assert_contains(err.msg, "run/ckpt.bin: no section 'td3.critic'");
  assert_int_equal(core_ckpt_read(c, "x", y, sizeof x, NULL), 0);
  core_ckpt_free(c);
  core_free(buf);
}

static void test_missing_and_unwritable(void **state) {
  (void)state;
  CoreErr err;
  char path[512];
  tmp_path(path, sizeof path, "no/such/dir/ckpt.bin");
  assert_null(core_ckpt_load_file(path, &err));
  assert_true(err.code == CORE_ERR_NOTFOUND || err.code == CORE_ERR_IO);
  assert_contains(err.msg, path);
  assert_contains(err.msg, "No such file or directory");
  tmp_path(path, sizeof path, "absent.ckpt");
  assert_null(core_ckpt_load_file(path, &err));
  assert_int_equal(err.code, CORE_ERR_NOTFOUND);
  assert_contains(err.msg, path);
  /* a directory is not a checkpoint */
  assert_null(core_ckpt_load_file(tmp_dir, &err));
  assert_int_equal(err.code, CORE_ERR_IO);
  assert_contains(err.msg, "not a regular file");

  /* writing into a missing directory fails, names the path and creates nothing */
  float x[3] = {1, 2, 3};
  CoreCkptWriter *w = core_ckpt_writer_create();
  assert_int_equal(core_ckpt_add(w, "x", x, sizeof x, &err), 0);
  tmp_path(path, sizeof path, "no/such/dir/ckpt.bin");
  assert_int_equal(core_ckpt_write_file(w, path, &err), CORE_ERR_IO);
  assert_contains(err.msg, path);
  assert_contains(err.msg, "No such file or directory");
  /* writing over a directory fails at the rename and leaves no temporary file */
  char dir[512];
  tmp_path(dir, sizeof dir, "a_dir");
  assert_int_equal(mkdir(dir, 0755), 0);
  assert_int_equal(core_ckpt_write_file(w, dir, &err), CORE_ERR_IO);
  assert_contains(err.msg, "renaming");
  assert_int_equal(count_files_with(".tmp."), 0);
  assert_int_equal(rmdir(dir), 0);
  core_ckpt_writer_free(w);
}

/* ---------------------------------------------------------------- atomic writes */

static void test_atomic_write_every_failure_point(void **state) {
  (void)state;
  long live0 = core_alloc_live();
  char path[512];
  tmp_path(path, sizeof path, "atomic.ckpt");
  Model a, b;
  model_init(&a, 10);
  model_init(&b, 11);
  CoreErr err;
  CoreCkptWriter *wa = model_writer(&a);
  assert_int_equal(core_ckpt_write_file(wa, path, &err), 0);
  core_ckpt_writer_free(wa);
  size_t a_n;
  uint8_t *a_bytes = read_bytes(path, &a_n);

  CoreCkptWriter *wb = model_writer(&b);
  int failures = 0;
  for (int k = 1; k < 1000; k++) {
    core_ckpt_test_fail_write_after(k);
    core_err_clear(&err);
    int rc = core_ckpt_write_file(wb, path, &err);
    if (rc == 0) break;  /* k is past the last write step: B went through */
    failures++;
    assert_int_equal(rc, CORE_ERR_IO);
    assert_contains(err.msg, path);
    assert_contains(err.msg, "Input/output error");
    assert_contains(err.msg, "previous checkpoint left unchanged");
    /* A is still there, byte for byte, loads, and no temporary file is left behind */
    size_t n;
    uint8_t *now = read_bytes(path, &n);
    assert_int_equal(n, a_n);
    assert_memory_equal(now, a_bytes, n);
    free(now);
    CoreCkpt *c = core_ckpt_load_file(path, &err);
    assert_non_null(c);
    model_check(c, &a);
    core_ckpt_free(c);
    assert_int_equal(count_files_with(".tmp."), 0);
  }
  core_ckpt_test_fail_write_after(0);
  /* header+table, 3 payloads (the empty one is skipped), 2 paddings, trailer, then fflush,
   * fsync, fclose, rename: every one of them was a failure point */
  assert_int_equal(failures, 11);
  CoreCkpt *c = core_ckpt_load_file(path, &err);
  assert_non_null(c);
  model_check(c, &b);
  core_ckpt_free(c);
  assert_int_equal(count_files_with(".tmp."), 0);
  core_ckpt_writer_free(wb);
  free(a_bytes);
  model_release(&a);
  model_release(&b);
  remove(path);
  assert_int_equal(core_alloc_live(), live0);
}

/* ---------------------------------------------------------------- out of memory */

static void test_every_allocation_failure(void **state) {
  (void)state;
  long live0 = core_alloc_live();
  char path[512];
  tmp_path(path, sizeof path, "oom.ckpt");
  float x[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  uint64_t step = 77;
  int failures = 0, k;
  for (k = 1; k < 1000; k++) {
    CoreErr err;
    core_err_clear(&err);
    core_alloc_fail_after(k);
    int rc = CORE_ERR_NOMEM;
    void *buf = NULL;
    size_t n = 0;
    CoreCkpt *c1 = NULL, *c2 = NULL;
    CoreCkptWriter *w = core_ckpt_writer_create();
    if (!w) goto done;
    if ((rc = core_ckpt_add(w, "x", x, sizeof x, &err))) goto done;
    if ((rc = core_ckpt_add_copy(w, "step", &step, sizeof step, &err))) goto done;
    if ((rc = core_ckpt_write_buffer(w, &buf, &n, &err))) goto done;
    if ((rc = core_ckpt_write_file(w, path, &err))) goto done;
    if (!(c1 = core_ckpt_load_buffer(buf, n, "oom", &err))) {
      rc = err.code;
      goto done;
    }
    if (!(c2 = core_ckpt_load_file(path, &err))) {
      rc = err.code;
      goto done;
    }
  done:
    core_alloc_fail_after(0);
    core_ckpt_free(c1);
    core_ckpt_free(c2);
    core_free(buf);
    core_ckpt_writer_free(w);
    assert_int_equal(core_alloc_live(), live0);
    if (rc == 0) break;
    failures++;
    if (rc != CORE_ERR_NOMEM) fail_msg("allocation %d failing gave code %d (%s)", k, rc, err.msg);
    assert_int_equal(count_files_with(".tmp."), 0);
  }
  assert_true(failures >= 10);  /* every allocation of that sequence failed once, cleanly */
  assert_true(k < 1000);
  remove(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_roundtrip_buffer),
    cmocka_unit_test(test_rng_states),
    cmocka_unit_test(test_roundtrip_file),
    cmocka_unit_test(test_empty_checkpoint),
    cmocka_unit_test(test_every_truncation_rejected),
    cmocka_unit_test(test_every_bit_flip_rejected),
    cmocka_unit_test(test_forged_sizes_rejected),
    cmocka_unit_test(test_forged_structure_rejected),
    cmocka_unit_test(test_writer_errors),
    cmocka_unit_test(test_max_sections),
    cmocka_unit_test(test_read_errors),
    cmocka_unit_test(test_missing_and_unwritable),
    cmocka_unit_test(test_atomic_write_every_failure_point),
    cmocka_unit_test(test_every_allocation_failure),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
