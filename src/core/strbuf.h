/* strbuf.h — a growable text buffer (core_malloc-backed) for building JSON, help listings and
 * messages without fixed-size limits. An allocation failure is sticky: later appends do nothing
 * and core_strbuf_failed() reports it once at the end, so callers check one flag, not each call. */
#ifndef CEMRL_CORE_STRBUF_H
#define CEMRL_CORE_STRBUF_H

#include <stddef.h>

#include "core/err.h"

typedef struct {
  char *data;     /* NUL-terminated text (NULL until the first append) */
  size_t len;     /* bytes used, excluding the NUL */
  size_t cap;     /* bytes allocated */
  int failed;     /* an allocation failed: the content is incomplete */
} CoreStrBuf;

/* An empty buffer (no allocation yet). */
#define CORE_STRBUF_INIT {NULL, 0, 0, 0}

/* Append n bytes of s. */
void core_strbuf_append(CoreStrBuf *b, const char *s, size_t n);

/* Append a NUL-terminated string. */
void core_strbuf_puts(CoreStrBuf *b, const char *s);

/* Append formatted text. */
void core_strbuf_printf(CoreStrBuf *b, const char *fmt, ...) CORE_PRINTF(2, 3);

/* Append s as a JSON string literal, quotes included, escaping as RFC 8259 requires. */
void core_strbuf_json_string(CoreStrBuf *b, const char *s);

/* Append a double in the shortest %g form that reads back to the same value ("0.1", "1e-06");
 * non-finite values print as "nan", "inf", "-inf". */
void core_strbuf_double(CoreStrBuf *b, double v);

/* Text so far ("" if nothing was appended); valid until the next append or free. */
const char *core_strbuf_cstr(const CoreStrBuf *b);

/* True if an allocation failed at some point. */
int core_strbuf_failed(const CoreStrBuf *b);

/* Release the storage and reset to empty. */
void core_strbuf_free(CoreStrBuf *b);

/* Take the text (caller core_frees it) and reset the buffer; NULL if an allocation failed. */
char *core_strbuf_take(CoreStrBuf *b);

/* Format v into buf in the shortest round-tripping %g form (as core_strbuf_double). */
void core_format_double(char *buf, size_t n, double v);

#endif
