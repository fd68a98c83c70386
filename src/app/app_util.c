/* app_util.c — shared helpers of the subcommands. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "app/app.h"

int app_fail(const CoreErr *err) {
  fprintf(stderr, "cemrl: %s\n", err && err->msg[0] ? err->msg : "failed");
  return core_err_exit_status(err ? err->code : CORE_ERR_RUNTIME);
}

int app_usage_error(const char *cmd, const char *fmt, ...) {
  fprintf(stderr, "cemrl %s: ", cmd);
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\n(see `cemrl %s --help`)\n", cmd);
  return 2;
}

int app_wants_help(int argc, char **argv) {
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) return 1;
  return 0;
}
