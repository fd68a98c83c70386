/* err.c — error reports and aborts. */
#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void core_err_clear(CoreErr *err) {
  if (!err) return;
  err->code = CORE_OK;
  err->msg[0] = '\0';
}

int core_err_set(CoreErr *err, int code, const char *fmt, ...) {
  if (!err) return code;
  /* format into a copy first: callers may pass err->msg itself as an argument to add context,
   * and vsnprintf into a buffer it is reading from is undefined (it garbles the text) */
  char msg[CORE_ERR_MSG_SZ];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  err->code = code;
  memcpy(err->msg, msg, strlen(msg) + 1);
  return code;
}

int core_err_prefix(CoreErr *err, const char *fmt, ...) {
  if (!err) return CORE_OK;
  char head[CORE_ERR_MSG_SZ], old[CORE_ERR_MSG_SZ];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(head, sizeof head, fmt, ap);
  va_end(ap);
  memcpy(old, err->msg, sizeof old);
  size_t h = strlen(head);
  if (h >= sizeof err->msg) h = sizeof err->msg - 1;
  memcpy(err->msg, head, h);
  size_t rest = sizeof err->msg - 1 - h, o = strnlen(old, sizeof old);
  if (o > rest) o = rest;
  memcpy(err->msg + h, old, o);
  err->msg[h + o] = '\0';
  return err->code;
}

const char *core_err_name(int code) {
  static const char *names[CORE_NERR] = {"ok",      "io",       "parse",   "invalid",    "corrupt",
                                         "nomem",   "notfound", "runtime", "interrupted"};
  int i = -code;
  return (i >= 0 && i < CORE_NERR) ? names[i] : "unknown";
}

int core_err_exit_status(int code) {
  switch (code) {
    case CORE_OK: return 0;
    case CORE_ERR_IO:
    case CORE_ERR_PARSE:
    case CORE_ERR_INVALID:
    case CORE_ERR_CORRUPT:
    case CORE_ERR_NOTFOUND: return 2;
    case CORE_ERR_INTERRUPTED: return 130;
    default: return 1;
  }
}

void core_abort(const char *file, int line, const char *fmt, ...) {
  fprintf(stderr, "cemrl: internal error at %s:%d: ", file, line);
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  abort();
}
