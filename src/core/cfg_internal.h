/* cfg_internal.h — shared internals of the config reader (cfg.c, cfg_index.c, cfg_emit.c):
 * the key-to-line index built by tokenizing the source text, syntax-error reports, and typed
 * access to struct members through field descriptors. Not for use outside src/core/cfg*.c. */
#ifndef CEMRL_CORE_CFG_INTERNAL_H
#define CEMRL_CORE_CFG_INTERNAL_H

#include <stddef.h>

#include "core/cfg.h"
#include "core/strbuf.h"

/* One key occurrence in the source: its dotted path ("td3.batch_size", "a[2].b") and line. */
typedef struct {
  size_t path_off;   /* offset of the NUL-terminated path in the pool */
  int line;          /* 1-based */
} CfgKeyLine;

/* Every key of a JSON text in source order; duplicates appear once per occurrence. */
typedef struct {
  CfgKeyLine *v;
  int n, cap;
  CoreStrBuf pool;   /* NUL-separated paths */
} CfgIndex;

/* Tokenize valid JSON text and record each key's path and line; CORE_ERR_NOMEM on failure. */
int cfg_index_build(CfgIndex *ix, const char *text, size_t len);

/* Line of the nth (0-based) occurrence of path, or 0 if absent. */
int cfg_index_line(const CfgIndex *ix, const char *path, int nth);

/* Release the index. */
void cfg_index_free(CfgIndex *ix);

/* 1-based line and column of byte offset off in text. */
void cfg_linecol(const char *text, size_t len, size_t off, int *line, int *col);

/* Fill err with a CORE_ERR_PARSE report at byte off: "label:L:C: JSON syntax error: what",
 * then the offending line and a caret under the column. Returns CORE_ERR_PARSE. */
int cfg_syntax_error(CoreErr *err, const char *label, const char *text, size_t len, size_t off,
                     const char *what);

/* Find the first JSON syntax problem in text: 1 with its offset and a reason, 0 if none found
 * (the text is valid as far as this checker can tell). */
int cfg_syntax_find(const char *text, size_t len, size_t *off, const char **what);

/* Typed member access: numbers (bool/int/int64/double/enum index) as double. */
double cfg_get_num(const CoreCfgField *f, const void *base);
void cfg_set_num(const CoreCfgField *f, void *base, double v);

/* String member (STRING fields). */
const char *cfg_get_str(const CoreCfgField *f, const void *base);
void cfg_set_str(const CoreCfgField *f, void *base, const char *s);

/* Effective integer range of an INT/INT64 field (the table's range clamped to the type). */
void cfg_int_range(const CoreCfgField *f, double *lo, double *hi);

/* Short type name for listings and messages ("int", "double", "enum", ...). */
const char *cfg_type_name(CoreCfgType t);

/* Index of name in a NULL-terminated choices list, or -1. */
int cfg_choice_index(const char *const *choices, const char *name);

/* Optimal-string-alignment edit distance (adjacent swaps cost 1), capped for long strings. */
int cfg_edit_distance(const char *a, const char *b);

/* Largest exactly representable JSON integer (2^53). */
#define CFG_INT53 9007199254740992.0

#endif
