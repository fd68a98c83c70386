/* cfg.h — strict config reading: one static table of field descriptors per settings struct.
 *
 * A table declares every setting once (key, type, offset into the caller's typed struct, range,
 * default or "required", one line of help). That table drives everything: applying defaults,
 * parsing a JSON file into the struct, validation, the `--help`-style listing, and writing the
 * fully resolved config back as JSON (config.resolved.json in a run directory).
 *
 *   typedef struct { int batch_size; double tau; } Td3Settings;
 *   typedef struct { char env[64]; int64_t seed; int method; Td3Settings td3; } RunSettings;
 *   static const char *const methods[] = {"cem", "td3", "cemrl", NULL};
 *   static const CoreCfgField td3_fields[] = {
 *     CORE_CFG_INT(Td3Settings, batch_size, 100, 1, 1 << 20, "minibatch size"),
 *     CORE_CFG_DOUBLE(Td3Settings, tau, 0.005, 0, 1, "target smoothing"),
 *     CORE_CFG_END,
 *   };
 *   static const CoreCfgField run_fields[] = {
 *     CORE_CFG_STRING_REQ(RunSettings, env, "environment id"),
 *     CORE_CFG_INT64(RunSettings, seed, 0, 0, 1e15, "run seed"),
 *     CORE_CFG_ENUM(RunSettings, method, "cemrl", methods, "which method"),
 *     CORE_CFG_SECTION(RunSettings, td3, td3_fields, "TD3 settings"),
 *     CORE_CFG_END,
 *   };
 *   RunSettings s;
 *   if (core_cfg_load_file(run_fields, &s, "configs/x.json", &err)) return app_fail(&err);
 *
 * The JSON key is the struct member's name. Storage: BOOL -> bool or int, INT -> int,
 * INT64 -> int64_t (|v| <= 2^53, the exact range of a JSON number), DOUBLE -> double (finite),
 * STRING -> a char array (the table records its capacity), ENUM -> int index into the
 * NULL-terminated choices (keep the C enum in the same order), SECTION -> a nested struct
 * described by a sub-table. CORE_CFG_CHECK adds a cross-field rule to a table.
 *
 * Rejected, with "file:line: path: what is wrong" (CORE_ERR_PARSE for JSON syntax, with a
 * caret under the offending column; CORE_ERR_INVALID otherwise; CORE_ERR_IO for an unreadable
 * file): unknown keys (with a "did you mean"), duplicate keys, wrong types, non-integral or
 * out-of-range numbers (1e400 included), missing required settings, enum values not among the
 * choices, a top level that is not an object, an empty file, failed cross-field rules.
 *
 * Parsing uses cJSON's process-global error state: load configs on one thread at a time.
 */
#ifndef CEMRL_CORE_CFG_H
#define CEMRL_CORE_CFG_H

#include <stddef.h>
#include <stdio.h>

#include "core/err.h"

typedef enum {
  CORE_CFG_T_END = 0,   /* table terminator */
  CORE_CFG_T_BOOL,
  CORE_CFG_T_INT,
  CORE_CFG_T_INT64,
  CORE_CFG_T_DOUBLE,
  CORE_CFG_T_STRING,
  CORE_CFG_T_ENUM,
  CORE_CFG_T_SECTION,
  CORE_CFG_T_CHECK,     /* a cross-field rule, run after the table's fields are parsed */
  CORE_CFG_NTYPE
} CoreCfgType;

typedef struct CoreCfgCheckCtx CoreCfgCheckCtx;

/* A cross-field rule: inspect the parsed section struct; return 0, or the result of
 * core_cfg_reject(ctx, ...) naming the offending key. */
typedef int (*CoreCfgCheckFn)(const void *section, CoreCfgCheckCtx *ctx);

/* One setting. Declare with the CORE_CFG_* macros below rather than by hand. */
typedef struct CoreCfgField {
  const char *key;                  /* JSON key (the member name); NULL ends the table */
  CoreCfgType type;
  size_t offset;                    /* offsetof the member in the enclosing struct */
  size_t size;                      /* sizeof the member (string capacity incl. NUL) */
  int required;                     /* 1: no default, the config must set it */
  double min, max;                  /* inclusive range (numbers) */
  double def_num;                   /* default for bool/int/int64/double */
  const char *def_str;              /* default for string/enum */
  const char *const *choices;       /* enum: NULL-terminated names; index stored as int */
  const struct CoreCfgField *sub;   /* section: the nested table */
  CoreCfgCheckFn check;             /* check: the rule */
  const char *help;                 /* one line for the listing */
} CoreCfgField;

#define CORE_CFG_MSIZE_(T, f) sizeof(((T *)0)->f)
#define CORE_CFG_NUM_(T, f, ty, req, def, lo, hi, h)                                         \
  {.key = #f, .type = (ty), .offset = offsetof(T, f), .size = CORE_CFG_MSIZE_(T, f),        \
   .required = (req), .min = (double)(lo), .max = (double)(hi), .def_num = (double)(def),   \
   .help = (h)}

/* A bool member (bool or int); JSON true/false only. */
#define CORE_CFG_BOOL(T, f, def, h) CORE_CFG_NUM_(T, f, CORE_CFG_T_BOOL, 0, def, 0, 1, h)
/* An int member in [lo, hi]. */
#define CORE_CFG_INT(T, f, def, lo, hi, h) CORE_CFG_NUM_(T, f, CORE_CFG_T_INT, 0, def, lo, hi, h)
#define CORE_CFG_INT_REQ(T, f, lo, hi, h) CORE_CFG_NUM_(T, f, CORE_CFG_T_INT, 1, 0, lo, hi, h)
/* An int64_t member in [lo, hi] (clamped to +-2^53). */
#define CORE_CFG_INT64(T, f, def, lo, hi, h) \
  CORE_CFG_NUM_(T, f, CORE_CFG_T_INT64, 0, def, lo, hi, h)
#define CORE_CFG_INT64_REQ(T, f, lo, hi, h) CORE_CFG_NUM_(T, f, CORE_CFG_T_INT64, 1, 0, lo, hi, h)
/* A double member in [lo, hi]; always finite. */
#define CORE_CFG_DOUBLE(T, f, def, lo, hi, h) \
  CORE_CFG_NUM_(T, f, CORE_CFG_T_DOUBLE, 0, def, lo, hi, h)
#define CORE_CFG_DOUBLE_REQ(T, f, lo, hi, h) \
  CORE_CFG_NUM_(T, f, CORE_CFG_T_DOUBLE, 1, 0, lo, hi, h)
/* A char-array member; the value must fit with its NUL. */
#define CORE_CFG_STRING(T, f, def, h)                                                         \
  {.key = #f, .type = CORE_CFG_T_STRING, .offset = offsetof(T, f), .size = CORE_CFG_MSIZE_(T, f), \
   .def_str = (def), .help = (h)}
#define CORE_CFG_STRING_REQ(T, f, h)                                                          \
  {.key = #f, .type = CORE_CFG_T_STRING, .offset = offsetof(T, f), .size = CORE_CFG_MSIZE_(T, f), \
   .required = 1, .help = (h)}
/* An int member holding the index of a name in `choices` (NULL-terminated); def is a name. */
#define CORE_CFG_ENUM(T, f, def, ch, h)                                                       \
  {.key = #f, .type = CORE_CFG_T_ENUM, .offset = offsetof(T, f), .size = CORE_CFG_MSIZE_(T, f), \
   .def_str = (def), .choices = (ch), .help = (h)}
#define CORE_CFG_ENUM_REQ(T, f, ch, h)                                                        \
  {.key = #f, .type = CORE_CFG_T_ENUM, .offset = offsetof(T, f), .size = CORE_CFG_MSIZE_(T, f), \
   .required = 1, .choices = (ch), .help = (h)}
/* A nested struct member described by the table `sub`; a JSON object (absent: all defaults). */
#define CORE_CFG_SECTION(T, f, subtable, h)                                                   \
  {.key = #f, .type = CORE_CFG_T_SECTION, .offset = offsetof(T, f), .size = CORE_CFG_MSIZE_(T, f), \
   .sub = (subtable), .help = (h)}
/* A cross-field rule over this table's struct; h says the rule ("batch_size <= buffer_size"). */
#define CORE_CFG_CHECK(fn, h) {.key = "", .type = CORE_CFG_T_CHECK, .check = (fn), .help = (h)}
/* Ends every table. */
#define CORE_CFG_END {.key = NULL}

/* Install cJSON allocation hooks routing through core_malloc/core_free. Idempotent and
 * thread-safe; the loaders call it, and main() may call it first so that every cJSON user in the
 * process allocates the same way. */
void core_cfg_init(void);

/* Write every default into out (required settings are zeroed). */
void core_cfg_defaults(const CoreCfgField *table, void *out);

/* Load a JSON config file into out: defaults, then the file, then validation. */
int core_cfg_load_file(const CoreCfgField *table, void *out, const char *path, CoreErr *err);

/* As core_cfg_load_file, with `--set key.path=value` overrides applied to the JSON tree before
 * validation. The value is read as JSON ("3", "true", "[1]", "\"x\""), else as a plain string;
 * for string and enum settings a value that is not a JSON string is taken verbatim. */
int core_cfg_load_file_set(const CoreCfgField *table, void *out, const char *path,
                           const char *const *sets, int n_sets, CoreErr *err);

/* Load from text (NUL-terminated); label names the source in messages ("<test>"). sets may be
 * NULL when n_sets is 0. */
int core_cfg_load_string(const CoreCfgField *table, void *out, const char *text,
                         const char *label, const char *const *sets, int n_sets, CoreErr *err);

/* Reject a cross-field rule from a CoreCfgCheckFn: key is relative to the checked section; the
 * message gets file:line and the full path. Returns CORE_ERR_INVALID. */
int core_cfg_reject(CoreCfgCheckCtx *ctx, const char *key, const char *fmt, ...) CORE_PRINTF(3, 4);

/* Print the listing: one line per setting (dotted path, type, default, range or choices, help),
 * sections as a header line followed by their settings, then the cross-field rules. */
void core_cfg_print_help(const CoreCfgField *table, FILE *out);

/* Render the resolved settings in s as a JSON object (2-space indent, table order, trailing
 * newline) into a new string (core_free it); NULL on allocation failure. */
char *core_cfg_to_json(const CoreCfgField *table, const void *s);

/* Write core_cfg_to_json's text to path atomically. */
int core_cfg_write_json(const CoreCfgField *table, const void *s, const char *path, CoreErr *err);

/* Compare two settings structs field by field: 0 if equal; otherwise 1, with the dotted path of
 * the first difference in path (if non-NULL). */
int core_cfg_compare(const CoreCfgField *table, const void *a, const void *b, char *path,
                     size_t path_sz);

#endif
