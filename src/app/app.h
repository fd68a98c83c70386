/* app.h — the `cemrl` command: subcommands, each `int cmd_x(int argc, char **argv)` returning the
 * process exit status (0 ok, 1 runtime failure, 2 bad input, 130 interrupted). */
#ifndef CEMRL_APP_APP_H
#define CEMRL_APP_APP_H

#include "core/err.h"

typedef struct {
  const char *name;
  const char *summary;
  int (*run)(int argc, char **argv);   /* argv[0] is the subcommand name */
} AppCommand;

/* The command table (app_commands.c); terminated by a {NULL} entry. */
extern const AppCommand app_commands[];

/* Print "cemrl: <msg>" for a failed call and return the exit status for its code. */
int app_fail(const CoreErr *err);

/* Print a usage error ("cemrl CMD: msg; see cemrl CMD --help") and return 2. */
int app_usage_error(const char *cmd, const char *fmt, ...) CORE_PRINTF(2, 3);

/* True if argv holds -h or --help. */
int app_wants_help(int argc, char **argv);

int cmd_version(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_repro(int argc, char **argv);

/* A run directory resolves to its policy.ckpt, anything else to itself; 1 if it was a directory. */
int app_resolve_policy(const char *arg, char *path, size_t n);
int cmd_bench(int argc, char **argv);
int cmd_envs(int argc, char **argv);

/* `cemrl plot`: learning curves of run directories to PNG or SVG (cmd_plot.c). */
int cmd_plot(int argc, char **argv);
#ifdef CEMRL_WITH_VIEWER
/* `cemrl render`: the interactive viewer (viewer.c). */
int cmd_render(int argc, char **argv);
/* `cemrl record`: a rollout to PNG frames or MP4 (record.c). */
int cmd_record(int argc, char **argv);
#endif

#endif
