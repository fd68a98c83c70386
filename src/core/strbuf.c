/* strbuf.c — growable text buffer with sticky allocation failure. */
#include "core/strbuf.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"

/* Make room for `extra` more bytes plus the NUL; 0 on success. */
static int strbuf_reserve(CoreStrBuf *b, size_t extra) {
  if (b->failed) return -1;
  if (extra > (size_t)-1 / 2 - b->len) {
    b->failed = 1;
    return -1;
  }
  size_t need = b->len + extra + 1;
  if (need <= b->cap) return 0;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < need) cap *= 2;
  char *p = core_malloc(cap);
  if (!p) {
    b->failed = 1;
    return -1;
  }
  if (b->data) memcpy(p, b->data, b->len + 1);
  core_free(b->data);
  b->data = p;
  b->cap = cap;
  return 0;
}

void core_strbuf_append(CoreStrBuf *b, const char *s, size_t n) {
  if (strbuf_reserve(b, n)) return;
  memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\0';
}

void core_strbuf_puts(CoreStrBuf *b, const char *s) { core_strbuf_append(b, s, strlen(s)); }

void core_strbuf_printf(CoreStrBuf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0 || strbuf_reserve(b, (size_t)n)) return;
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

void core_strbuf_json_string(CoreStrBuf *b, const char *s) {
  core_strbuf_append(b, "\"", 1);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    switch (*p) {
      case '"': core_strbuf_append(b, "\\\"", 2); break;
      case '\\': core_strbuf_append(b, "\\\\", 2); break;
      case '\n': core_strbuf_append(b, "\\n", 2); break;
      case '\r': core_strbuf_append(b, "\\r", 2); break;
      case '\t': core_strbuf_append(b, "\\t", 2); break;
      default:
        if (*p < 0x20) core_strbuf_printf(b, "\\u%04x", *p);
        else core_strbuf_append(b, (const char *)p, 1);
    }
  }
  core_strbuf_append(b, "\"", 1);
}

void core_format_double(char *buf, size_t n, double v) {
  if (isnan(v)) {
    snprintf(buf, n, "nan");
    return;
  }
  if (isinf(v)) {
    snprintf(buf, n, v > 0 ? "inf" : "-inf");
    return;
  }
  /* the shortest precision that reads back exactly; 17 digits always do */
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(buf, n, "%.*g", prec, v);
    if (prec == 17 || strtod(buf, NULL) == v) return;
  }
}

void core_strbuf_double(CoreStrBuf *b, double v) {
  char tmp[40];
  core_format_double(tmp, sizeof tmp, v);
  core_strbuf_puts(b, tmp);
}

const char *core_strbuf_cstr(const CoreStrBuf *b) { return b->data ? b->data : ""; }

int core_strbuf_failed(const CoreStrBuf *b) { return b->failed; }

void core_strbuf_free(CoreStrBuf *b) {
  core_free(b->data);
  *b = (CoreStrBuf)CORE_STRBUF_INIT;
}

char *core_strbuf_take(CoreStrBuf *b) {
  if (b->failed) {
    core_strbuf_free(b);
    return NULL;
  }
  if (strbuf_reserve(b, 0)) {
    core_strbuf_free(b);
    return NULL;
  }
  char *s = b->data;
  *b = (CoreStrBuf)CORE_STRBUF_INIT;
  return s;
}
