/* err.h — how cemrl reports errors.
 *
 * Three tiers (see DESIGN.md):
 *   user input (config, CLI flag, checkpoint, data file, model file): a function returns a
 *     negative CORE_ERR_* code and fills a caller-owned CoreErr with a message that names the
 *     file, the line or byte and the field. Only src/app prints it and exits non-zero.
 *   runtime numerics (NaN, MuJoCo divergence): counted and reported by the module that sees it.
 *   programming errors: CORE_ASSERT, active in release builds, aborts with file:line.
 */
#ifndef CEMRL_CORE_ERR_H
#define CEMRL_CORE_ERR_H

#include <stddef.h>

typedef enum {
  CORE_OK = 0,
  CORE_ERR_IO = -1,        /* a file could not be opened, read or written */
  CORE_ERR_PARSE = -2,     /* malformed syntax (JSON, CSV, MJCF) */
  CORE_ERR_INVALID = -3,   /* well-formed but not acceptable (range, type, unknown key) */
  CORE_ERR_CORRUPT = -4,   /* a binary file fails its checks (magic, size, checksum) */
  CORE_ERR_NOMEM = -5,     /* allocation failed or a size would overflow */
  CORE_ERR_NOTFOUND = -6,  /* a named thing does not exist (env, section, file) */
  CORE_ERR_RUNTIME = -7,   /* a computation failed (divergence, NaN) */
  CORE_ERR_INTERRUPTED = -8,
  CORE_NERR = 9
} CoreErrCode;

#define CORE_ERR_MSG_SZ 1024

/* An error report: the code and a human message. Caller-owned; may be NULL everywhere. */
typedef struct {
  int code;                      /* CORE_OK or a CORE_ERR_* value */
  char msg[CORE_ERR_MSG_SZ];     /* "file:line: field: what is wrong (how to fix)" */
} CoreErr;

#if defined(__GNUC__)
#define CORE_PRINTF(fmt_idx, arg_idx) __attribute__((format(printf, fmt_idx, arg_idx)))
#define CORE_NORETURN __attribute__((noreturn))
#else
#define CORE_PRINTF(a, b)
#define CORE_NORETURN
#endif

/* Clear an error report (code CORE_OK, empty message). */
void core_err_clear(CoreErr *err);

/* Set code and formatted message; returns code so callers can `return core_err_set(...)`. */
int core_err_set(CoreErr *err, int code, const char *fmt, ...) CORE_PRINTF(3, 4);

/* Prefix the existing message with formatted context ("loading run/x.ckpt: "). */
int core_err_prefix(CoreErr *err, const char *fmt, ...) CORE_PRINTF(2, 3);

/* Short name of an error code ("io", "parse", ...). */
const char *core_err_name(int code);

/* Process exit status for an error code: 2 for bad input, 1 for runtime failures, 130 for an
 * interruption. */
int core_err_exit_status(int code);

/* Abort with a message: for broken invariants only, never for user input. */
CORE_NORETURN void core_abort(const char *file, int line, const char *fmt, ...) CORE_PRINTF(3, 4);

#define CORE_ASSERT(x) \
  do { if (!(x)) core_abort(__FILE__, __LINE__, "assertion failed: %s", #x); } while (0)

#endif
