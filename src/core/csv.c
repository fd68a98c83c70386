/* csv.c — flushed CSV metric logs with crash-tolerant resume. */
#include "core/csv.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/fsutil.h"
#include "core/strbuf.h"

struct CoreCsv {
  FILE *f;
  int n_cols;
  int64_t rows;
  char path[CORE_PATH_MAX];
};

/* The header line (without newline) for cols, into a new string; NULL on allocation failure. */
static char *csv_header(const char *const *cols, int n_cols) {
  CoreStrBuf b = CORE_STRBUF_INIT;
  for (int i = 0; i < n_cols; i++) {
    CORE_ASSERT(cols[i] && cols[i][0] && !strpbrk(cols[i], ",\"\r\n"));
    core_strbuf_printf(&b, "%s%s", i ? "," : "", cols[i]);
  }
  return core_strbuf_take(&b);
}

static CoreCsv *csv_alloc(const char *path, int n_cols, CoreErr *err) {
  CORE_ASSERT(path && n_cols > 0);
  CoreCsv *c = core_calloc(1, sizeof *c);
  if (!c) {
    core_err_set(err, CORE_ERR_NOMEM, "%s: out of memory", path);
    return NULL;
  }
  c->n_cols = n_cols;
  if (snprintf(c->path, sizeof c->path, "%s", path) >= (int)sizeof c->path) {
    core_free(c);
    core_err_set(err, CORE_ERR_INVALID, "csv path too long");
    return NULL;
  }
  return c;
}

/* Open c->path with mode; on success write `header` + newline if non-NULL. */
static int csv_open(CoreCsv *c, const char *mode, const char *header, CoreErr *err) {
  c->f = fopen(c->path, mode);
  if (!c->f) return core_err_set(err, CORE_ERR_IO, "%s: cannot open: %s", c->path, strerror(errno));
  if (header && (fprintf(c->f, "%s\n", header) < 0 || fflush(c->f)))
    return core_err_set(err, CORE_ERR_IO, "%s: write failed: %s", c->path, strerror(errno));
  return CORE_OK;
}

CoreCsv *core_csv_create(const char *path, const char *const *cols, int n_cols, CoreErr *err) {
  CoreCsv *c = csv_alloc(path, n_cols, err);
  if (!c) return NULL;
  char *header = csv_header(cols, n_cols);
  int rc = header ? csv_open(c, "w", header, err)
                  : core_err_set(err, CORE_ERR_NOMEM, "%s: out of memory", path);
  core_free(header);
  if (rc) {
    core_csv_close(c);
    return NULL;
  }
  return c;
}

/* Find where kept content ends: after the last complete row with step <= keep_upto. */
static int csv_scan_rows(CoreCsv *c, const char *text, size_t len, size_t start, int64_t keep_upto,
                         size_t *keep_end, CoreErr *err) {
  size_t pos = start;
  int line = 2;
  *keep_end = start;
  while (pos < len) {
    const char *nl = memchr(text + pos, '\n', len - pos);
    if (!nl) break;  /* a torn last line from a crash */
    if (keep_upto >= 0) {
      char *end;
      errno = 0;
      long long step = strtoll(text + pos, &end, 10);
      if (end == text + pos || errno || (*end != ',' && *end != '\n'))
        return core_err_set(err, CORE_ERR_PARSE, "%s:%d: first column is not an integer step",
                            c->path, line);
      if (step > keep_upto) break;
    }
    pos = (size_t)(nl - text) + 1;
    *keep_end = pos;
    c->rows++;
    line++;
  }
  return CORE_OK;
}

/* Check the header of an existing file and cut it back to the rows worth keeping. */
static int csv_trim(CoreCsv *c, const char *header, int64_t keep_upto, int *fresh, CoreErr *err) {
  char *text;
  size_t len, keep_end = 0;
  int rc = core_fs_read_all(c->path, &text, &len, err);
  if (rc) return rc;
  const char *nl = memchr(text, '\n', len);
  *fresh = !nl;  /* no complete header line: start the file over */
  size_t hlen = nl ? (size_t)(nl - text) : 0;
  if (nl && (hlen != strlen(header) || memcmp(text, header, hlen)))
    rc = core_err_set(err, CORE_ERR_INVALID,
                      "%s: header \"%.*s\" does not match this run's columns \"%s\"; resume with "
                      "the same method, or start a new run directory",
                      c->path, (int)(hlen > 200 ? 200 : hlen), text, header);
  if (!rc && nl) rc = csv_scan_rows(c, text, len, hlen + 1, keep_upto, &keep_end, err);
  if (!rc && keep_end < len && truncate(c->path, (off_t)keep_end))
    rc = core_err_set(err, CORE_ERR_IO, "%s: cannot truncate: %s", c->path, strerror(errno));
  core_free(text);
  return rc;
}

CoreCsv *core_csv_resume(const char *path, const char *const *cols, int n_cols, int64_t keep_upto,
                         CoreErr *err) {
  if (!core_fs_exists(path)) return core_csv_create(path, cols, n_cols, err);
  CoreCsv *c = csv_alloc(path, n_cols, err);
  if (!c) return NULL;
  char *header = csv_header(cols, n_cols);
  int fresh = 0;
  int rc = header ? csv_trim(c, header, keep_upto, &fresh, err)
                  : core_err_set(err, CORE_ERR_NOMEM, "%s: out of memory", path);
  if (!rc) rc = fresh ? csv_open(c, "w", header, err) : csv_open(c, "a", NULL, err);
  core_free(header);
  if (rc) {
    core_csv_close(c);
    return NULL;
  }
  return c;
}

/* Write vals as ",v1,v2..." (lead_comma) or "v1,v2..." then newline, and flush. */
static int csv_finish_row(CoreCsv *c, const double *vals, int n, int lead_comma, CoreErr *err) {
  char num[40];
  for (int i = 0; i < n; i++) {
    core_format_double(num, sizeof num, vals[i]);
    if (fprintf(c->f, "%s%s", (i || lead_comma) ? "," : "", num) < 0) break;
  }
  fputc('\n', c->f);
  if (fflush(c->f) || ferror(c->f))
    return core_err_set(err, CORE_ERR_IO, "%s: write failed: %s", c->path, strerror(errno));
  c->rows++;
  return CORE_OK;
}

int core_csv_row(CoreCsv *c, const double *vals, int n, CoreErr *err) {
  CORE_ASSERT(c && n == c->n_cols);
  return csv_finish_row(c, vals, n, 0, err);
}

int core_csv_row_step(CoreCsv *c, int64_t step, const double *vals, int n, CoreErr *err) {
  CORE_ASSERT(c && n == c->n_cols - 1);
  if (fprintf(c->f, "%" PRId64, step) < 0)
    return core_err_set(err, CORE_ERR_IO, "%s: write failed: %s", c->path, strerror(errno));
  return csv_finish_row(c, vals, n, 1, err);
}

int64_t core_csv_rows(const CoreCsv *c) { return c->rows; }

void core_csv_close(CoreCsv *c) {
  if (!c) return;
  if (c->f) fclose(c->f);
  core_free(c);
}
