/* app_commands.c — the subcommand table. Add one line per command. */
#include <stddef.h>

#include "app/app.h"

const AppCommand app_commands[] = {
    {"train", "train a method on an environment from a config (or resume a run)", cmd_train},
    {"eval", "evaluate a saved policy", cmd_eval},
    {"repro", "reduced reproductions of the supervised papers, with pass criteria", cmd_repro},
    {"bench", "measure speed against the references in shared/bench (nets, ...)", cmd_bench},
#ifdef CEMRL_WITH_VIEWER
    {"render", "watch a policy (or random actions) act in a MuJoCo task, in a window", cmd_render},
    {"record", "film a rollout offscreen to PNG frames or MP4 (works under xvfb-run)", cmd_record},
#endif
    {"plot", "learning curves of run directories to PNG or SVG", cmd_plot},
    {"envs", "list, describe, roll out and check the environments", cmd_envs},
    {"version", "print versions of cemrl, MuJoCo and OpenBLAS", cmd_version},
    {NULL, NULL, NULL},
};
