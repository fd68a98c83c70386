/* rundir.h — run directories: where a run's outputs live (config.resolved.json, meta.json,
 * metrics CSV, checkpoints). A new run gets `<root>/<name>`, made unique as `<name>-1`,
 * `<name>-2`, ... if taken (mkdir is the lock, so concurrent runs never share a directory); a
 * resumed run reopens its exact directory. Text files are written atomically. */
#ifndef CEMRL_CORE_RUNDIR_H
#define CEMRL_CORE_RUNDIR_H

#include <stdint.h>

#include "core/err.h"
#include "core/fsutil.h"

typedef struct {
  char path[CORE_PATH_MAX];   /* the run directory */
} CoreRunDir;

/* Create a fresh directory <root>/<name> (root and name's parents made as needed), suffixing
 * -1, -2, ... while the name is taken. */
int core_rundir_create(CoreRunDir *rd, const char *root, const char *name, CoreErr *err);

/* Use exactly path: create it (and parents) if missing, accept it if it exists. */
int core_rundir_open(CoreRunDir *rd, const char *path, CoreErr *err);

/* out = <run dir>/<file>, CORE_ERR_INVALID if it does not fit in n bytes. */
int core_rundir_path(const CoreRunDir *rd, const char *file, char *out, size_t n, CoreErr *err);

/* Write text to <run dir>/<file> atomically. */
int core_rundir_write_text(const CoreRunDir *rd, const char *file, const char *text, CoreErr *err);

typedef enum {
  CORE_META_STR = 0,
  CORE_META_INT,
  CORE_META_NUM,
  CORE_META_BOOL,
  CORE_META_RAW
} CoreMetaKind;

/* One meta.json entry; build with the CORE_META_* macros. */
typedef struct {
  const char *key;
  CoreMetaKind kind;
  const char *s;      /* STR: text; RAW: JSON text inserted verbatim (an object, an array) */
  int64_t i;          /* INT, BOOL */
  double d;           /* NUM (non-finite values are written as null) */
} CoreMetaItem;

#define CORE_META_S(k, v) ((CoreMetaItem){.key = (k), .kind = CORE_META_STR, .s = (v)})
#define CORE_META_I(k, v) ((CoreMetaItem){.key = (k), .kind = CORE_META_INT, .i = (v)})
#define CORE_META_D(k, v) ((CoreMetaItem){.key = (k), .kind = CORE_META_NUM, .d = (v)})
#define CORE_META_B(k, v) ((CoreMetaItem){.key = (k), .kind = CORE_META_BOOL, .i = !!(v)})
#define CORE_META_JSON(k, v) ((CoreMetaItem){.key = (k), .kind = CORE_META_RAW, .s = (v)})

/* Render items as a JSON object (2-space indent, given order) into a new string (core_free it);
 * NULL on allocation failure. */
char *core_meta_to_json(const CoreMetaItem *items, int n);

/* Write items as <run dir>/meta.json atomically. */
int core_rundir_write_meta(const CoreRunDir *rd, const CoreMetaItem *items, int n, CoreErr *err);

/* Current UTC time as ISO 8601 ("2024-05-01T12:34:56Z") for meta entries. */
void core_time_iso8601(char *buf, size_t n);

#endif
