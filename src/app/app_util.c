/* app_util.c — shared helpers of the subcommands. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "agents/cluster.h"
#include "app/app.h"

int app_fail(const CoreErr *err) {
  const char *msg = err && err->msg[0] ? err->msg : "failed";
  if (agent_cluster_size() > 1)  /* every process may report: say which one */
    fprintf(stderr, "cemrl (MPI rank %d of %d): %s\n", agent_cluster_rank(), agent_cluster_size(), msg);
  else
    fprintf(stderr, "cemrl: %s\n", msg);
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
