/* cfg_index.c — source positions for config messages. cJSON keeps no positions, so after a
 * successful parse the text is tokenized again here to map every key path to its line; and a
 * failed parse's byte offset becomes line:col with the offending line and a caret. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/cfg_internal.h"

/* A container being scanned: its path length in the path buffer and what comes next. */
typedef struct {
  size_t base;       /* length of the container's own path */
  int is_object;
  int want_key;      /* object: the next string is a key */
  int index;         /* array: index of the current element */
} CfgFrame;

typedef struct {
  const char *s;
  size_t len, pos;
  int line;
  CoreStrBuf path;   /* path of the current value */
  CfgFrame *stack;
  int depth, cap;
  CfgIndex *ix;
} CfgScan;

static void scan_truncate(CoreStrBuf *b, size_t n) {
  b->len = n;
  if (b->data) b->data[n] = '\0';
}

static int scan_push(CfgScan *sc, int is_object) {
  if (sc->depth == sc->cap) {
    int cap = sc->cap ? sc->cap * 2 : 16;
    CfgFrame *p = core_malloc((size_t)cap * sizeof *p);
    if (!p) return CORE_ERR_NOMEM;
    if (sc->stack) memcpy(p, sc->stack, (size_t)sc->depth * sizeof *p);
    core_free(sc->stack);
    sc->stack = p;
    sc->cap = cap;
  }
  sc->stack[sc->depth++] = (CfgFrame){sc->path.len, is_object, is_object, 0};
  return CORE_OK;
}

static int index_add(CfgIndex *ix, const CoreStrBuf *path, int line) {
  if (ix->n == ix->cap) {
    int cap = ix->cap ? ix->cap * 2 : 32;
    CfgKeyLine *p = core_malloc((size_t)cap * sizeof *p);
    if (!p) return CORE_ERR_NOMEM;
    if (ix->v) memcpy(p, ix->v, (size_t)ix->n * sizeof *p);
    core_free(ix->v);
    ix->v = p;
    ix->cap = cap;
  }
  ix->v[ix->n++] = (CfgKeyLine){ix->pool.len, line};
  core_strbuf_append(&ix->pool, core_strbuf_cstr(path), path->len + 1);  /* keep the NUL */
  return core_strbuf_failed(&ix->pool) ? CORE_ERR_NOMEM : CORE_OK;
}

/* Decode one escape after a backslash at s[i] ("\n", "\u0041"); ASCII only, else verbatim. */
static size_t scan_escape(const char *s, size_t i, size_t len, CoreStrBuf *out) {
  static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
  const char *hit = (i < len) ? strchr(from, s[i]) : NULL;
  if (hit && *hit) {
    core_strbuf_append(out, &to[hit - from], 1);
    return i + 1;
  }
  if (i + 4 < len && s[i] == 'u') {
    unsigned v = 0;
    if (sscanf(s + i + 1, "%4x", &v) == 1 && v > 0 && v < 0x80) {
      char c = (char)v;
      core_strbuf_append(out, &c, 1);
      return i + 5;
    }
  }
  core_strbuf_append(out, "\\", 1);  /* non-ASCII escape: keep raw; the lookup just misses */
  return i;
}

/* Scan a string starting at the opening quote; append its decoded text to out if non-NULL. */
static void scan_string(CfgScan *sc, CoreStrBuf *out) {
  size_t i = sc->pos + 1;
  while (i < sc->len && sc->s[i] != '"') {
    if (sc->s[i] == '\\') {
      if (out) i = scan_escape(sc->s, i + 1, sc->len, out);
      else i += 2;
      continue;
    }
    if (sc->s[i] == '\n') sc->line++;
    if (out) core_strbuf_append(out, &sc->s[i], 1);
    i++;
  }
  sc->pos = i + 1;
}

/* A value starts: inside an array its path gets the element index. */
static void scan_value_start(CfgScan *sc) {
  if (sc->depth == 0) return;
  CfgFrame *f = &sc->stack[sc->depth - 1];
  if (f->is_object) return;
  scan_truncate(&sc->path, f->base);
  core_strbuf_printf(&sc->path, "[%d]", f->index);
}

/* A key string in an object: the current path becomes "<object path>.<key>". */
static int scan_key(CfgScan *sc, CfgFrame *f) {
  scan_truncate(&sc->path, f->base);
  if (f->base > 0) core_strbuf_append(&sc->path, ".", 1);
  int line = sc->line;
  scan_string(sc, &sc->path);
  f->want_key = 0;
  if (core_strbuf_failed(&sc->path)) return CORE_ERR_NOMEM;
  return index_add(sc->ix, &sc->path, line);
}

static int scan_step(CfgScan *sc) {
  char c = sc->s[sc->pos];
  CfgFrame *top = sc->depth ? &sc->stack[sc->depth - 1] : NULL;
  switch (c) {
    case '\n': sc->line++; sc->pos++; return CORE_OK;
    case ' ': case '\t': case '\r': case ':': sc->pos++; return CORE_OK;
    case ',':
      if (top && top->is_object) top->want_key = 1;
      if (top && !top->is_object) top->index++;
      sc->pos++;
      return CORE_OK;
    case '}': case ']': sc->depth--; sc->pos++; return CORE_OK;
    case '{': case '[':
      scan_value_start(sc);
      sc->pos++;
      return scan_push(sc, c == '{');
    case '"':
      if (top && top->is_object && top->want_key) return scan_key(sc, top);
      scan_value_start(sc);
      scan_string(sc, NULL);
      return CORE_OK;
    default:  /* number or literal: skip to the next delimiter */
      scan_value_start(sc);
      while (sc->pos < sc->len && !strchr(",}] \t\r\n", sc->s[sc->pos])) sc->pos++;
      return CORE_OK;
  }
}

int cfg_index_build(CfgIndex *ix, const char *text, size_t len) {
  *ix = (CfgIndex){0};
  CfgScan sc = {.s = text, .len = len, .line = 1, .path = CORE_STRBUF_INIT, .ix = ix};
  int rc = CORE_OK;
  while (rc == CORE_OK && sc.pos < len && sc.depth >= 0) rc = scan_step(&sc);
  core_free(sc.stack);
  core_strbuf_free(&sc.path);
  if (rc) cfg_index_free(ix);
  return rc;
}

int cfg_index_line(const CfgIndex *ix, const char *path, int nth) {
  for (int i = 0; i < ix->n; i++) {
    if (strcmp(core_strbuf_cstr(&ix->pool) + ix->v[i].path_off, path)) continue;
    if (nth-- == 0) return ix->v[i].line;
  }
  return 0;
}

void cfg_index_free(CfgIndex *ix) {
  core_free(ix->v);
  core_strbuf_free(&ix->pool);
  *ix = (CfgIndex){0};
}

void cfg_linecol(const char *text, size_t len, size_t off, int *line, int *col) {
  int l = 1;
  size_t start = 0;
  if (off > len) off = len;
  for (size_t i = 0; i < off; i++) {
    if (text[i] == '\n') {
      l++;
      start = i + 1;
    }
  }
  *line = l;
  *col = (int)(off - start) + 1;
}

int cfg_syntax_error(CoreErr *err, const char *label, const char *text, size_t len, size_t off,
                     const char *what) {
  int line, col;
  if (off > len) off = len;
  cfg_linecol(text, len, off, &line, &col);
  /* the shown line is bounded by '\n' or '\r' on either side of off (a lone '\r' ends a line
   * for the reader even though it does not count as one), so start <= off <= end <= len */
  size_t start = off, end = off;
  while (start > 0 && text[start - 1] != '\n' && text[start - 1] != '\r') start--;
  while (end < len && text[end] != '\n' && text[end] != '\r') end++;
  /* show at most 120 bytes of the line, starting up to 60 before the error */
  size_t from = (off - start > 60) ? off - 60 : start;
  size_t to = (end - from > 120) ? from + 120 : end;
  char shown[128], caret[128];
  size_t k = 0;
  for (size_t i = from; i < to; i++, k++) shown[k] = text[i];
  shown[k] = '\0';
  /* tabs stay tabs under the caret, so it lines up however wide the terminal draws them */
  for (k = 0; k < off - from && k < sizeof caret - 2; k++)
    caret[k] = (text[from + k] == '\t') ? '\t' : ' ';
  caret[k++] = '^';
  caret[k] = '\0';
  return core_err_set(err, CORE_ERR_PARSE, "%s:%d:%d: JSON syntax error: %s\n  %s\n  %s", label,
                      line, col, what, shown, caret);
}

/* ---------------------------------------------------------------- syntax diagnosis */

/* cJSON decides whether text is valid JSON but reports only a byte offset, sometimes one past
 * the culprit and never a reason. After a failed parse this checker walks the same grammar
 * (numbers as leniently as cJSON's strtod) to name the first problem and where it is. */
typedef struct {
  const char *s;
  size_t len, pos;
  const char *what;   /* set at the first error */
  size_t at;
} CfgLint;

static int lint_fail(CfgLint *l, size_t at, const char *what) {
  if (!l->what) {
    l->what = what;
    l->at = at;
  }
  return -1;
}

/* Input ended early: point just after the last non-blank character. */
static int lint_eof(CfgLint *l) {
  size_t at = l->len;
  while (at > 0 && strchr(" \t\r\n", l->s[at - 1])) at--;
  return lint_fail(l, at, "unexpected end of input (an object or array is not closed)");
}

static void lint_ws(CfgLint *l) {
  while (l->pos < l->len && strchr(" \t\r\n", l->s[l->pos]) && l->s[l->pos]) l->pos++;
}

static int lint_value(CfgLint *l, int depth);

static int lint_string(CfgLint *l) {
  size_t start = l->pos++;
  while (l->pos < l->len) {
    unsigned char c = (unsigned char)l->s[l->pos];
    if (c == '"') {
      l->pos++;
      return 0;
    }
    if (c < 0x20) return lint_fail(l, l->pos, "raw control character or line break in a string");
    if (c == '\\') {
      char e = l->pos + 1 < l->len ? l->s[l->pos + 1] : '\0';
      if (!e || !strchr("\"\\/bfnrtu", e))
        return lint_fail(l, l->pos, "invalid escape in a string");
      l->pos++;
    }
    l->pos++;
  }
  return lint_fail(l, start, "unterminated string");
}

static int lint_number(CfgLint *l) {
  size_t start = l->pos;
  while (l->pos < l->len && strchr("0123456789+-.eE", l->s[l->pos]) && l->s[l->pos]) l->pos++;
  char buf[64];
  size_t n = l->pos - start;
  if (n >= sizeof buf) return lint_fail(l, start, "number too long");
  memcpy(buf, l->s + start, n);
  buf[n] = '\0';
  char *end;
  (void)strtod(buf, &end);
  return (end == buf + n) ? 0 : lint_fail(l, start, "invalid number");
}

static int lint_word(CfgLint *l) {
  static const char *words[] = {"true", "false", "null"};
  for (int i = 0; i < 3; i++) {
    size_t n = strlen(words[i]);
    if (l->len - l->pos >= n && !strncmp(l->s + l->pos, words[i], n)) {
      l->pos += n;
      return 0;
    }
  }
  return lint_fail(l, l->pos,
                   "expected a value (string, number, object, array, true, false, null)");
}

/* Members of an object or elements of an array, after the opening bracket. */
static int lint_container(CfgLint *l, int depth, char close) {
  int is_obj = close == '}';
  l->pos++;
  lint_ws(l);
  if (l->pos < l->len && l->s[l->pos] == close) {
    l->pos++;
    return 0;
  }
  for (;;) {
    if (l->pos >= l->len) return lint_eof(l);
    if (is_obj) {
      if (l->pos >= l->len || l->s[l->pos] != '"')
        return lint_fail(l, l->pos, "expected a \"key\"");
      if (lint_string(l)) return -1;
      lint_ws(l);
      if (l->pos >= l->len || l->s[l->pos] != ':')
        return lint_fail(l, l->pos, "expected ':' after the key");
      l->pos++;
    }
    if (lint_value(l, depth + 1)) return -1;
    lint_ws(l);
    if (l->pos >= l->len) return lint_eof(l);
    char c = l->s[l->pos];
    if (c == close) {
      l->pos++;
      return 0;
    }
    if (c != ',' && c == '"' && is_obj)
      return lint_fail(l, l->pos, "expected ',' or '}' before this key (missing comma?)");
    if (c != ',')
      return lint_fail(l, l->pos, is_obj ? "expected ',' or '}'" : "expected ',' or ']'");
    size_t comma = l->pos++;
    lint_ws(l);
    if (l->pos < l->len && l->s[l->pos] == close)
      return lint_fail(l, comma,
                       is_obj ? "trailing comma before '}'" : "trailing comma before ']'");
  }
}

static int lint_value(CfgLint *l, int depth) {
  if (depth > 1000) return lint_fail(l, l->pos, "nested too deeply");
  lint_ws(l);
  if (l->pos >= l->len) return lint_eof(l);
  char c = l->s[l->pos];
  if (c == '{') return lint_container(l, depth, '}');
  if (c == '[') return lint_container(l, depth, ']');
  if (c == '"') return lint_string(l);
  if (c == '-' || (c >= '0' && c <= '9')) return lint_number(l);
  return lint_word(l);
}

int cfg_syntax_find(const char *text, size_t len, size_t *off, const char **what) {
  CfgLint l = {.s = text, .len = len};
  if (lint_value(&l, 0) == 0) {
    lint_ws(&l);
    if (l.pos < len) lint_fail(&l, l.pos, "unexpected text after the JSON value");
  }
  if (!l.what) return 0;
  *off = l.at;
  *what = l.what;
  return 1;
}
