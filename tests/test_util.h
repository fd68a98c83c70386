/* test_util.h — shared helpers for the cmocka tests (include after cmocka's prerequisites). */
#ifndef CEMRL_TEST_UTIL_H
#define CEMRL_TEST_UTIL_H

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/alloc.h"
#include "core/ckpt.h"

/* Tolerance scale from the environment (CEMRL_TOL_SCALE), as MuJoCo's MJTOL_SCALE. */
static inline double test_tol_scale(void) {
  const char *s = getenv("CEMRL_TOL_SCALE");
  return s ? atof(s) : 1.0;
}

/* |a - b| <= tol * scale, with a message naming both values. */
#define assert_near(a, b, tol)                                                              \
  do {                                                                                       \
    double a_ = (double)(a), b_ = (double)(b), t_ = (double)(tol) * test_tol_scale();        \
    if (!(fabs(a_ - b_) <= t_)) fail_msg("%s = %.9g, %s = %.9g, |diff| %.3g > tol %.3g", #a, \
                                         a_, #b, b_, fabs(a_ - b_), t_);                     \
  } while (0)

/* The string s contains sub (messages of error paths). */
#define assert_contains(s, sub)                                                             \
  do {                                                                                       \
    const char *s_ = (s), *sub_ = (sub);                                                     \
    if (!s_ || !strstr(s_, sub_)) fail_msg("expected \"%s\" in \"%s\"", sub_, s_ ? s_ : "(null)"); \
  } while (0)

/* Path of a file under tests/data (CEMRL_TEST_DATA set by CTest). */
static inline const char *test_data_path(char *buf, size_t n, const char *rel) {
  const char *root = getenv("CEMRL_TEST_DATA");
  snprintf(buf, n, "%s/%s", root ? root : "tests/data", rel);
  return buf;
}

/* Make a fresh directory $TMPDIR/cemrl_<tag>_XXXXXX (TMPDIR defaults to /tmp) in buf; returns buf,
 * or NULL if it could not be made. */
static inline char *test_make_tmpdir(char *buf, size_t n, const char *tag) {
  const char *base = getenv("TMPDIR");
  int w = snprintf(buf, n, "%s/cemrl_%s_XXXXXX", base && *base ? base : "/tmp", tag);
  if (w < 0 || (size_t)w >= n) return NULL;
  return mkdtemp(buf);
}

/* Serialize w (freed here) and load the bytes back as a checkpoint labelled label; *buf keeps
 * the bytes (core_free it after core_ckpt_free). */
static inline CoreCkpt *test_ckpt_seal(CoreCkptWriter *w, const char *label, void **buf) {
  CoreErr err;
  size_t n;
  if (core_ckpt_write_buffer(w, buf, &n, &err)) fail_msg("write_buffer: %s", err.msg);
  core_ckpt_writer_free(w);
  CoreCkpt *c = core_ckpt_load_buffer(*buf, n, label, &err);
  if (!c) fail_msg("load_buffer: %s", err.msg);
  return c;
}

/* A copy of ck whose section `section` holds data[0..n) instead, sealed like a real file and
 * labelled label; everything else as it is. */
static inline CoreCkpt *test_ckpt_with_section(const CoreCkpt *ck, const char *section,
                                               const void *data, size_t n, const char *label,
                                               void **buf) {
  CoreErr err;
  CoreCkptWriter *w = core_ckpt_writer_create();
  for (int i = 0; i < core_ckpt_count(ck); i++) {
    const char *name = core_ckpt_name_at(ck, i);
    size_t sz;
    const void *p = core_ckpt_find(ck, name, &sz);
    if (!strcmp(name, section)) p = data, sz = n;
    if (core_ckpt_add_copy(w, name, p, sz, &err)) fail_msg("add %s: %s", name, err.msg);
  }
  return test_ckpt_seal(w, label, buf);
}

#endif
