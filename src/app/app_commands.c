/* app_commands.c — the subcommand table. Add one line per command. */
#include <stddef.h>

#include "app/app.h"

const AppCommand app_commands[] = {
    {"train", "train a method on an environment from a config (or resume a run)", cmd_train},
    {"eval", "evaluate a saved policy", cmd_eval},
    {"repro", "reduced reproductions of the supervised papers, with pass criteria", cmd_repro},
    {"bench", "measure speed against the references in shared/bench (nets, ...)", cmd_bench},
    {"envs", "list, describe, roll out and check the environments", cmd_envs},
    {"version", "print versions of cemrl, MuJoCo and OpenBLAS", cmd_version},
    {NULL, NULL, NULL},
};
