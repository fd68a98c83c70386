/* rundir.c — unique run directories, atomic text files, meta.json. */
#include "core/rundir.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/alloc.h"
#include "core/strbuf.h"

/* Make the parent directory of path (if any). */
static int rundir_make_parent(const char *path, CoreErr *err) {
  char parent[CORE_PATH_MAX];
  snprintf(parent, sizeof parent, "%s", path);
  char *slash = strrchr(parent, '/');
  if (!slash || slash == parent) return CORE_OK;
  *slash = '\0';
  return core_fs_mkdir_p(parent, err);
}

int core_rundir_create(CoreRunDir *rd, const char *root, const char *name, CoreErr *err) {
  CORE_ASSERT(rd && root && name);
  if (!name[0]) return core_err_set(err, CORE_ERR_INVALID, "run name is empty");
  char base[CORE_PATH_MAX];
  int rc = core_fs_join(base, sizeof base, root, name, err);
  if (!rc) rc = rundir_make_parent(base, err);
  if (rc) return rc;
  for (int k = 0; k < 100000; k++) {
    int w = k ? snprintf(rd->path, sizeof rd->path, "%s-%d", base, k)
              : snprintf(rd->path, sizeof rd->path, "%s", base);
    if (w < 0 || (size_t)w >= sizeof rd->path)
      return core_err_set(err, CORE_ERR_INVALID, "%s: run directory path too long", base);
    if (mkdir(rd->path, 0777) == 0) return CORE_OK;
    if (errno != EEXIST)
      return core_err_set(err, CORE_ERR_IO, "%s: cannot create run directory: %s", rd->path,
                          strerror(errno));
  }
  return core_err_set(err, CORE_ERR_IO, "%s: no free run directory name (tried -1 .. -99999)",
                      base);
}

int core_rundir_open(CoreRunDir *rd, const char *path, CoreErr *err) {
  CORE_ASSERT(rd && path);
  int w = snprintf(rd->path, sizeof rd->path, "%s", path);
  if (w <= 0 || (size_t)w >= sizeof rd->path)
    return core_err_set(err, CORE_ERR_INVALID, "run directory path is empty or too long");
  return core_fs_mkdir_p(rd->path, err);
}

int core_rundir_path(const CoreRunDir *rd, const char *file, char *out, size_t n, CoreErr *err) {
  return core_fs_join(out, n, rd->path, file, err);
}

int core_rundir_write_text(const CoreRunDir *rd, const char *file, const char *text, CoreErr *err) {
  char path[CORE_PATH_MAX];
  int rc = core_rundir_path(rd, file, path, sizeof path, err);
  return rc ? rc : core_fs_write_atomic(path, text, strlen(text), err);
}

static void meta_value(CoreStrBuf *b, const CoreMetaItem *it) {
  switch (it->kind) {
    case CORE_META_STR: core_strbuf_json_string(b, it->s ? it->s : ""); break;
    case CORE_META_INT: core_strbuf_printf(b, "%" PRId64, it->i); break;
    case CORE_META_BOOL: core_strbuf_puts(b, it->i ? "true" : "false"); break;
    case CORE_META_NUM:
      if (isfinite(it->d)) core_strbuf_double(b, it->d);
      else core_strbuf_puts(b, "null");  /* JSON has no inf/nan */
      break;
    case CORE_META_RAW: core_strbuf_puts(b, it->s ? it->s : "null"); break;
  }
}

char *core_meta_to_json(const CoreMetaItem *items, int n) {
  CoreStrBuf b = CORE_STRBUF_INIT;
  core_strbuf_puts(&b, "{");
  for (int i = 0; i < n; i++) {
    core_strbuf_puts(&b, i ? ",\n  " : "\n  ");
    core_strbuf_json_string(&b, items[i].key);
    core_strbuf_puts(&b, ": ");
    meta_value(&b, &items[i]);
  }
  core_strbuf_puts(&b, n ? "\n}\n" : "}\n");
  return core_strbuf_take(&b);
}

int core_rundir_write_meta(const CoreRunDir *rd, const CoreMetaItem *items, int n, CoreErr *err) {
  char *text = core_meta_to_json(items, n);
  if (!text) return core_err_set(err, CORE_ERR_NOMEM, "meta.json: out of memory");
  int rc = core_rundir_write_text(rd, "meta.json", text, err);
  core_free(text);
  return rc;
}

void core_time_iso8601(char *buf, size_t n) {
  time_t t = time(NULL);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
