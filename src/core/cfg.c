/* cfg.c — the strict config loader: read, parse with cJSON, check duplicates, apply `--set`
 * overrides, then walk the field table to validate and fill the caller's struct. Every message
 * names its source ("file:line" or the --set argument) and the dotted field path. */
#include "core/cfg.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <string.h>

#include "core/alloc.h"
#include "core/cfg_internal.h"
#include "core/fsutil.h"

/* ---------------------------------------------------------------- cJSON allocation hooks */

/* Set when a hooked allocation fails, so a NULL from cJSON can be told apart from bad syntax. */
static _Thread_local int cfg_oom;

static void *cfg_json_malloc(size_t n) {
  void *p = core_malloc(n);
  if (!p) cfg_oom = 1;
  return p;
}

static void cfg_json_free(void *p) { core_free(p); }

static void cfg_install_hooks(void) {
  cJSON_Hooks hooks = {cfg_json_malloc, cfg_json_free};
  cJSON_InitHooks(&hooks);
}

void core_cfg_init(void) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, cfg_install_hooks);
}

/* ---------------------------------------------------------------- loader state */

/* One `--set path=value` argument. */
typedef struct {
  const char *arg;   /* as given, for messages */
  char *path;        /* the key path (owned) */
} CfgSet;

/* The loader's state; also the context handed to cross-field rules. */
struct CoreCfgCheckCtx {
  const CoreCfgField *root;   /* the top table, for cross-section suggestions */
  const char *label;          /* file name or caller label */
  CfgIndex index;             /* key -> line */
  CfgSet *sets;               /* (n_sets) */
  int n_sets;
  const char *section;        /* dotted path of the section being checked ("" at top) */
  CoreErr *err;
};

/* Where a path's value came from: "--set ARG", "file:line" (the path or its nearest parent
 * present in the file) or just "file". */
static void cfg_where(const CoreCfgCheckCtx *L, const char *path, char *out, size_t n) {
  for (int i = L->n_sets - 1; i >= 0; i--) {
    if (!L->sets[i].path) continue;  /* not applied */
    size_t k = strlen(L->sets[i].path);
    if (!strncmp(path, L->sets[i].path, k) && (path[k] == '\0' || path[k] == '.')) {
      snprintf(out, n, "--set %s", L->sets[i].arg);
      return;
    }
  }
  char p[512];
  snprintf(p, sizeof p, "%s", path);
  for (;;) {
    int line = p[0] ? cfg_index_line(&L->index, p, 0) : 0;
    if (line > 0) {
      snprintf(out, n, "%s:%d", L->label, line);
      return;
    }
    char *dot = strrchr(p, '.');
    if (!dot) break;
    *dot = '\0';
  }
  snprintf(out, n, "%s", L->label);
}

/* Report "where: path: message" as CORE_ERR_INVALID. */
static int cfg_fail_at(CoreCfgCheckCtx *L, const char *where, const char *path, const char *fmt,
                       va_list ap) {
  char msg[768];
  vsnprintf(msg, sizeof msg, fmt, ap);
  return core_err_set(L->err, CORE_ERR_INVALID, "%s: %s: %s", where, path, msg);
}

static int cfg_fail(CoreCfgCheckCtx *L, const char *path, const char *fmt, ...) CORE_PRINTF(3, 4);
static int cfg_fail(CoreCfgCheckCtx *L, const char *path, const char *fmt, ...) {
  char where[640];
  cfg_where(L, path, where, sizeof where);
  va_list ap;
  va_start(ap, fmt);
  int rc = cfg_fail_at(L, where, path, fmt, ap);
  va_end(ap);
  return rc;
}

int core_cfg_reject(CoreCfgCheckCtx *ctx, const char *key, const char *fmt, ...) {
  char path[512], where[640];
  snprintf(path, sizeof path, "%s%s%s", ctx->section, ctx->section[0] ? "." : "", key);
  cfg_where(ctx, path, where, sizeof where);
  va_list ap;
  va_start(ap, fmt);
  int rc = cfg_fail_at(ctx, where, path, fmt, ap);
  va_end(ap);
  return rc;
}

/* prefix + "." + key into out (bounded). */
static void cfg_join(char *out, size_t n, const char *prefix, const char *key) {
  snprintf(out, n, "%s%s%s", prefix, prefix[0] ? "." : "", key);
}

/* ---------------------------------------------------------------- unknown keys */

static const CoreCfgField *cfg_find(const CoreCfgField *table, const char *key) {
  for (const CoreCfgField *f = table; f->key; f++)
    if (f->type != CORE_CFG_T_CHECK && !strcmp(f->key, key)) return f;
  return NULL;
}

/* Dotted path of a field named key anywhere under table (first found), for "belongs in". */
static int cfg_find_anywhere(const CoreCfgField *table, const char *prefix, const char *key,
                             char *out, size_t n) {
  for (const CoreCfgField *f = table; f->key; f++) {
    if (f->type == CORE_CFG_T_CHECK) continue;
    char path[512];
    cfg_join(path, sizeof path, prefix, f->key);
    if (!strcmp(f->key, key)) {
      snprintf(out, n, "%s", path);
      return 1;
    }
    if (f->type == CORE_CFG_T_SECTION && cfg_find_anywhere(f->sub, path, key, out, n)) return 1;
  }
  return 0;
}

/* The known key of table nearest to key, if near enough to be a likely typo. */
static const char *cfg_nearest(const CoreCfgField *table, const char *key) {
  const char *best = NULL;
  int best_d = 1 << 30;
  for (const CoreCfgField *f = table; f->key; f++) {
    if (f->type == CORE_CFG_T_CHECK) continue;
    int d = strcasecmp(f->key, key) ? cfg_edit_distance(f->key, key) : 0;
    if (d < best_d) {
      best_d = d;
      best = f->key;
    }
  }
  int len = (int)strlen(key), limit = len / 3 < 1 ? 1 : (len / 3 > 3 ? 3 : len / 3);
  return (best && best_d <= limit) ? best : NULL;
}

static int cfg_unknown_key(CoreCfgCheckCtx *L, const CoreCfgField *table, const char *prefix,
                           const char *key) {
  char path[512], where[640], elsewhere[512];
  cfg_join(path, sizeof path, prefix, key);
  cfg_where(L, path, where, sizeof where);
  const char *near = cfg_nearest(table, key);
  if (near)
    return core_err_set(L->err, CORE_ERR_INVALID, "%s: %s: unknown key; did you mean \"%s\"?",
                        where, path, near);
  if (cfg_find_anywhere(L->root, "", key, elsewhere, sizeof elsewhere))
    return core_err_set(
        L->err, CORE_ERR_INVALID,
        "%s: %s: unknown key here; did you mean \"%s\"? (it belongs in another section)", where,
        path, elsewhere);
  CoreStrBuf known = CORE_STRBUF_INIT;
  for (const CoreCfgField *f = table; f->key; f++)
    if (f->type != CORE_CFG_T_CHECK)
      core_strbuf_printf(&known, "%s%s", known.len ? ", " : "", f->key);
  int rc = core_err_set(L->err, CORE_ERR_INVALID, "%s: %s: unknown key (known keys%s%s: %s)", where,
                        path, prefix[0] ? " in " : "", prefix, core_strbuf_cstr(&known));
  core_strbuf_free(&known);
  return rc;
}

/* ---------------------------------------------------------------- duplicates */

/* Reject a key that appears twice in one object (cJSON keeps both and finds only the first).
 * set_arg names the --set whose JSON value is being checked (NULL: the file). */
static int cfg_dup_error(CoreCfgCheckCtx *L, const char *path, const char *set_arg) {
  if (set_arg)
    return core_err_set(L->err, CORE_ERR_INVALID, "--set %s: %s: duplicate key; keep only one",
                        set_arg, path);
  int first = cfg_index_line(&L->index, path, 0), again = cfg_index_line(&L->index, path, 1);
  return core_err_set(L->err, CORE_ERR_INVALID,
                      "%s:%d: %s: duplicate key (first set on line %d); keep only one", L->label,
                      again, path, first);
}

static int cfg_check_dups(CoreCfgCheckCtx *L, const cJSON *node, const char *prefix,
                          const char *set_arg) {
  int i = 0;
  for (const cJSON *c = node->child; c; c = c->next, i++) {
    char path[512];
    if (cJSON_IsArray(node)) snprintf(path, sizeof path, "%s[%d]", prefix, i);
    else cfg_join(path, sizeof path, prefix, c->string);
    if (cJSON_IsObject(node)) {
      for (const cJSON *d = node->child; d != c; d = d->next)
        if (!strcmp(d->string, c->string)) return cfg_dup_error(L, path, set_arg);
    }
    if (c->child) {
      int rc = cfg_check_dups(L, c, path, set_arg);
      if (rc) return rc;
    }
  }
  return CORE_OK;
}

/* ---------------------------------------------------------------- --set overrides */

static const CoreCfgField *cfg_field_at(const CoreCfgField *table, const char *path) {
  char seg[256];
  const char *dot = strchr(path, '.');
  size_t n = dot ? (size_t)(dot - path) : strlen(path);
  if (n >= sizeof seg) return NULL;
  memcpy(seg, path, n);
  seg[n] = '\0';
  const CoreCfgField *f = cfg_find(table, seg);
  if (!f || !dot) return f;
  return f->type == CORE_CFG_T_SECTION ? cfg_field_at(f->sub, dot + 1) : NULL;
}

/* The JSON value of a --set: JSON if it parses, else the text as a string; string and enum
 * settings take non-string text verbatim ("--set env=123" means the string "123"). */
static cJSON *cfg_set_value(const CoreCfgField *f, const char *text) {
  int textual = f && (f->type == CORE_CFG_T_STRING || f->type == CORE_CFG_T_ENUM);
  if (!textual || text[0] == '"') {
    const char *end = NULL;
    cJSON *v = cJSON_ParseWithOpts(text, &end, 1);
    if (v || cfg_oom) return v;
  }
  return cJSON_CreateString(text);
}

/* Walk (creating objects as needed) to the parent of path's last segment. */
static int cfg_set_parent(CoreCfgCheckCtx *L, const CfgSet *s, cJSON *root, char *path,
                          cJSON **parent, char **last) {
  cJSON *node = root;
  char *seg = path, *dot;
  while ((dot = strchr(seg, '.'))) {
    *dot = '\0';
    cJSON *child = cJSON_GetObjectItemCaseSensitive(node, seg);
    if (!child) {
      child = cJSON_AddObjectToObject(node, seg);
      if (!child) return core_err_set(L->err, CORE_ERR_NOMEM, "--set %s: out of memory", s->arg);
    } else if (!cJSON_IsObject(child)) {
      *dot = '.';
      return core_err_set(L->err, CORE_ERR_INVALID, "--set %s: %.*s is not a section", s->arg,
                          (int)(dot - path), path);
    }
    *dot = '.';
    node = child;
    seg = dot + 1;
  }
  *parent = node;
  *last = seg;
  return CORE_OK;
}

/* Copy the key part of "KEY=VALUE" into s->path, checking its shape. */
static int cfg_set_key(CoreCfgCheckCtx *L, CfgSet *s, const char **value) {
  const char *eq = strchr(s->arg, '=');
  size_t n = eq ? (size_t)(eq - s->arg) : 0;
  if (n > 0 && n < 512) s->path = core_malloc(n + 1);
  if (s->path) {
    memcpy(s->path, s->arg, n);
    s->path[n] = '\0';
  } else if (n > 0 && n < 512) {
    return core_err_set(L->err, CORE_ERR_NOMEM, "--set: out of memory");
  }
  if (!s->path || s->path[0] == '.' || s->path[n - 1] == '.' || strstr(s->path, ".."))
    return core_err_set(L->err, CORE_ERR_INVALID,
                        "--set %s: expected KEY=VALUE with KEY a dotted path (td3.batch_size=256)",
                        s->arg);
  *value = eq + 1;
  return CORE_OK;
}

static int cfg_apply_set(CoreCfgCheckCtx *L, const CoreCfgField *table, cJSON *root, CfgSet *s) {
  const char *text = NULL;
  int rc = cfg_set_key(L, s, &text);
  if (rc) return rc;
  char work[512];
  snprintf(work, sizeof work, "%s", s->path);
  cJSON *parent = NULL;
  char *last = NULL;
  rc = cfg_set_parent(L, s, root, work, &parent, &last);
  if (rc) return rc;
  cJSON *v = cfg_set_value(cfg_field_at(table, s->path), text);
  if (!v) return core_err_set(L->err, CORE_ERR_NOMEM, "--set %s: out of memory", s->arg);
  rc = cfg_check_dups(L, v, s->path, s->arg);
  if (!rc) {
    /* replace = delete + add: cJSON's add reports a failed key copy, its replace does not */
    cJSON_DeleteItemFromObjectCaseSensitive(parent, last);
    if (cJSON_AddItemToObject(parent, last, v)) return CORE_OK;
    rc = core_err_set(L->err, CORE_ERR_NOMEM, "--set %s: out of memory", s->arg);
  }
  cJSON_Delete(v);
  return rc;
}

/* ---------------------------------------------------------------- values */

static const char *cfg_json_kind(const cJSON *v) {
  if (cJSON_IsBool(v)) return "a boolean";
  if (cJSON_IsNull(v)) return "null";
  if (cJSON_IsNumber(v)) return "a number";
  if (cJSON_IsString(v)) return "a string";
  if (cJSON_IsArray(v)) return "an array";
  return "an object";
}

static int cfg_wrong_type(CoreCfgCheckCtx *L, const char *path, const char *want, const cJSON *v) {
  char shown[96] = "";
  if (cJSON_IsString(v)) snprintf(shown, sizeof shown, " (\"%.60s\")", v->valuestring);
  if (cJSON_IsNumber(v)) {
    char num[40];
    core_format_double(num, sizeof num, v->valuedouble);
    snprintf(shown, sizeof shown, " (%s)", num);
  }
  return cfg_fail(L, path, "expected %s, got %s%s", want, cfg_json_kind(v), shown);
}

/* An integer in the field's range: finite, integral (valueint saturates, so read valuedouble). */
static int cfg_read_integer(CoreCfgCheckCtx *L, const CoreCfgField *f, const cJSON *v,
                            const char *path, double *out) {
  if (!cJSON_IsNumber(v)) return cfg_wrong_type(L, path, "an integer", v);
  double x = v->valuedouble, lo, hi;
  cfg_int_range(f, &lo, &hi);
  if (!isfinite(x))
    return cfg_fail(L, path, "value out of range: too large for a number; allowed [%.0f, %.0f]",
                    lo, hi);
  if (x != floor(x)) return cfg_wrong_type(L, path, "an integer", v);
  if (x < lo || x > hi)
    return cfg_fail(L, path, "value %.0f out of range; allowed [%.0f, %.0f]", x, lo, hi);
  *out = x;
  return CORE_OK;
}

static int cfg_read_double(CoreCfgCheckCtx *L, const CoreCfgField *f, const cJSON *v,
                           const char *path, double *out) {
  if (!cJSON_IsNumber(v)) return cfg_wrong_type(L, path, "a number", v);
  double x = v->valuedouble;
  char lo[40], hi[40], xs[40];
  core_format_double(lo, sizeof lo, f->min);
  core_format_double(hi, sizeof hi, f->max);
  if (!isfinite(x))
    return cfg_fail(L, path, "value out of range: too large for a double; allowed [%s, %s]", lo,
                    hi);
  core_format_double(xs, sizeof xs, x);
  if (x < f->min || x > f->max)
    return cfg_fail(L, path, "value %s out of range; allowed [%s, %s]", xs, lo, hi);
  *out = x;
  return CORE_OK;
}

static int cfg_read_enum(CoreCfgCheckCtx *L, const CoreCfgField *f, const cJSON *v,
                         const char *path, double *out) {
  CoreStrBuf list = CORE_STRBUF_INIT;
  for (int i = 0; f->choices[i]; i++)
    core_strbuf_printf(&list, "%s\"%s\"", i ? ", " : "", f->choices[i]);
  int rc = CORE_OK, idx = cJSON_IsString(v) ? cfg_choice_index(f->choices, v->valuestring) : -1;
  if (!cJSON_IsString(v)) {
    rc = cfg_fail(L, path, "expected one of %s, got %s", core_strbuf_cstr(&list), cfg_json_kind(v));
  } else if (idx < 0) {
    const char *near = NULL;
    int best = 3;
    for (int i = 0; f->choices[i]; i++) {
      int d = cfg_edit_distance(f->choices[i], v->valuestring);
      if (d < best) {
        best = d;
        near = f->choices[i];
      }
    }
    rc = cfg_fail(L, path, "\"%s\" is not one of %s%s%s%s", v->valuestring, core_strbuf_cstr(&list),
                  near ? "; did you mean \"" : "", near ? near : "", near ? "\"?" : "");
  }
  core_strbuf_free(&list);
  *out = idx;
  return rc;
}

static int cfg_parse_table(CoreCfgCheckCtx *L, const CoreCfgField *table, void *base,
                           const cJSON *obj, const char *prefix);

/* Validate one present value and store it. */
static int cfg_parse_value(CoreCfgCheckCtx *L, const CoreCfgField *f, void *base, const cJSON *v,
                           const char *path) {
  double x = 0;
  int rc = CORE_OK;
  switch (f->type) {
    case CORE_CFG_T_BOOL:
      if (!cJSON_IsBool(v)) return cfg_wrong_type(L, path, "true or false", v);
      x = cJSON_IsTrue(v);
      break;
    case CORE_CFG_T_INT:
    case CORE_CFG_T_INT64: rc = cfg_read_integer(L, f, v, path, &x); break;
    case CORE_CFG_T_DOUBLE: rc = cfg_read_double(L, f, v, path, &x); break;
    case CORE_CFG_T_ENUM: rc = cfg_read_enum(L, f, v, path, &x); break;
    case CORE_CFG_T_STRING:
      if (!cJSON_IsString(v)) return cfg_wrong_type(L, path, "a string", v);
      if (strlen(v->valuestring) >= f->size)
        return cfg_fail(L, path, "string too long (%zu bytes; at most %zu)", strlen(v->valuestring),
                        f->size - 1);
      cfg_set_str(f, base, v->valuestring);
      return CORE_OK;
    case CORE_CFG_T_SECTION:
      if (!cJSON_IsObject(v)) return cfg_wrong_type(L, path, "an object { ... } (a section)", v);
      return cfg_parse_table(L, f->sub, (char *)base + f->offset, v, path);
    default: CORE_ASSERT(!"unreachable field type");
  }
  if (rc == CORE_OK) cfg_set_num(f, base, x);
  return rc;
}

/* Reject keys the table does not know, in file order. */
static int cfg_check_keys(CoreCfgCheckCtx *L, const CoreCfgField *table, const cJSON *obj,
                          const char *prefix) {
  for (const cJSON *c = obj->child; c; c = c->next) {
    if (!cfg_find(table, c->string)) return cfg_unknown_key(L, table, prefix, c->string);
  }
  return CORE_OK;
}

static int cfg_run_checks(CoreCfgCheckCtx *L, const CoreCfgField *table, const void *base,
                          const char *prefix) {
  const char *saved = L->section;
  L->section = prefix;
  int rc = CORE_OK;
  for (const CoreCfgField *f = table; f->key && !rc; f++) {
    if (f->type != CORE_CFG_T_CHECK) continue;
    rc = f->check(base, L);
    /* a rule that failed without core_cfg_reject still gets a located message */
    if (rc && (!L->err || L->err->code == CORE_OK))
      rc = cfg_fail(L, prefix[0] ? prefix : "(top level)", "rule violated: %s", f->help);
    else if (rc)
      rc = L->err->code;  /* whatever the rule returned, callers see a CORE_ERR_* code */
  }
  L->section = saved;
  return rc;
}

/* Validate obj (NULL: section absent) against table and fill base. */
static int cfg_parse_table(CoreCfgCheckCtx *L, const CoreCfgField *table, void *base,
                           const cJSON *obj, const char *prefix) {
  int rc = obj ? cfg_check_keys(L, table, obj, prefix) : CORE_OK;
  for (const CoreCfgField *f = table; f->key && !rc; f++) {
    if (f->type == CORE_CFG_T_CHECK) continue;
    char path[512];
    cfg_join(path, sizeof path, prefix, f->key);
    const cJSON *v = obj ? cJSON_GetObjectItemCaseSensitive(obj, f->key) : NULL;
    if (v) rc = cfg_parse_value(L, f, base, v, path);
    else if (f->required)
      rc = cfg_fail(L, path, "required setting is missing; add \"%s\": <%s>%s%s", f->key,
                    cfg_type_name(f->type), prefix[0] ? " to section " : "", prefix);
    else if (f->type == CORE_CFG_T_SECTION)
      rc = cfg_parse_table(L, f->sub, (char *)base + f->offset, NULL, path);
  }
  return rc ? rc : cfg_run_checks(L, table, base, prefix);
}

/* ---------------------------------------------------------------- the load pipeline */

static int cfg_is_blank(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!strchr(" \t\r\n", s[i])) return 0;
  return 1;
}

/* Parse text into a tree, with syntax errors located; *root NULL on failure. */
static int cfg_parse_json(const char *text, size_t len, const char *label, cJSON **root,
                          CoreErr *err) {
  const char *nul = memchr(text, '\0', len);
  if (nul) return cfg_syntax_error(err, label, text, len, (size_t)(nul - text), "NUL byte in file");
  if (cfg_is_blank(text, len))
    return core_err_set(err, CORE_ERR_INVALID,
                        "%s: empty config file; expected a JSON object such as {}", label);
  cfg_oom = 0;
  const char *end = NULL;
  *root = cJSON_ParseWithLengthOpts(text, len + 1, &end, 1);  /* len + 1: the NUL is required */
  if (*root) return CORE_OK;
  if (cfg_oom) return core_err_set(err, CORE_ERR_NOMEM, "%s: out of memory parsing JSON", label);
  size_t off = end ? (size_t)(end - text) : 0;
  const char *what = "invalid JSON";
  cfg_syntax_find(text, len, &off, &what);  /* a precise reason and place, when it finds one */
  return cfg_syntax_error(err, label, text, len, off, what);
}

static int cfg_load_tree(CoreCfgCheckCtx *L, const CoreCfgField *table, void *out, cJSON *root,
                         const char *text, size_t len, const char *const *sets) {
  if (!cJSON_IsObject(root)) {
    size_t first = 0;
    while (first < len && strchr(" \t\r\n", text[first])) first++;
    int line, col;
    cfg_linecol(text, len, first, &line, &col);
    return core_err_set(L->err, CORE_ERR_INVALID,
                        "%s:%d: the top level must be a JSON object { ... }, got %s", L->label,
                        line, cfg_json_kind(root));
  }
  if (cfg_index_build(&L->index, text, len))
    return core_err_set(L->err, CORE_ERR_NOMEM, "%s: out of memory", L->label);
  int rc = cfg_check_dups(L, root, "", NULL);
  for (int i = 0; i < L->n_sets && !rc; i++) {
    L->sets[i].arg = sets[i];
    rc = cfg_apply_set(L, table, root, &L->sets[i]);
  }
  return rc ? rc : cfg_parse_table(L, table, out, root, "");
}

static int cfg_load_text(const CoreCfgField *table, void *out, const char *text, size_t len,
                         const char *label, const char *const *sets, int n_sets, CoreErr *err) {
  core_cfg_init();
  core_err_clear(err);
  core_cfg_defaults(table, out);
  if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3)) {  /* a UTF-8 byte-order mark is harmless */
    text += 3;
    len -= 3;
  }
  cJSON *root = NULL;
  int rc = cfg_parse_json(text, len, label, &root, err);
  if (rc) return rc;
  CoreCfgCheckCtx L = {.root = table, .label = label, .n_sets = n_sets, .section = "", .err = err};
  if (n_sets > 0) L.sets = core_calloc((size_t)n_sets, sizeof *L.sets);
  if (n_sets > 0 && !L.sets) rc = core_err_set(err, CORE_ERR_NOMEM, "%s: out of memory", label);
  if (!rc) rc = cfg_load_tree(&L, table, out, root, text, len, sets);
  for (int i = 0; i < n_sets && L.sets; i++) core_free(L.sets[i].path);
  core_free(L.sets);
  cfg_index_free(&L.index);
  cJSON_Delete(root);
  return rc;
}

int core_cfg_load_string(const CoreCfgField *table, void *out, const char *text,
                         const char *label, const char *const *sets, int n_sets, CoreErr *err) {
  CORE_ASSERT(table && out && text && label && n_sets >= 0 && (sets || n_sets == 0));
  return cfg_load_text(table, out, text, strlen(text), label, sets, n_sets, err);
}

int core_cfg_load_file_set(const CoreCfgField *table, void *out, const char *path,
                           const char *const *sets, int n_sets, CoreErr *err) {
  CORE_ASSERT(table && out && path && n_sets >= 0 && (sets || n_sets == 0));
  char *buf;
  size_t len;
  core_cfg_defaults(table, out);
  int rc = core_fs_read_all(path, &buf, &len, err);
  if (rc) return rc;
  rc = cfg_load_text(table, out, buf, len, path, sets, n_sets, err);
  core_free(buf);
  return rc;
}

int core_cfg_load_file(const CoreCfgField *table, void *out, const char *path, CoreErr *err) {
  return core_cfg_load_file_set(table, out, path, NULL, 0, err);
}
