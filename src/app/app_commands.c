/* app_commands.c — the subcommand table. Add one line per command. */
#include <stddef.h>

#include "app/app.h"

const AppCommand app_commands[] = {
    {"bench", "measure speed against the references in shared/bench (nets, ...)", cmd_bench},
    {"version", "print versions of cemrl, MuJoCo and OpenBLAS", cmd_version},
    {NULL, NULL, NULL},
};
