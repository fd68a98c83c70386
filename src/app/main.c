/* main.c — `cemrl`: dispatch to a subcommand. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agents/cluster.h"
#include "app/app.h"
#include "core/cfg.h"
#include "core/mj.h"
#include "nets/blas.h"

static void print_help(FILE *f) {
  fprintf(f,
          "cemrl — policy search (CEM-RL, CEM, TD3, DDPG) on MuJoCo and supervised tasks\n\n"
          "usage: cemrl COMMAND [ARGS...]\n\ncommands:\n");
  for (const AppCommand *c = app_commands; c->name; c++) fprintf(f, "  %-10s %s\n", c->name, c->summary);
  fprintf(f, "\n`cemrl COMMAND --help` lists a command's options and settings.\n");
}

/* OpenBLAS 0.3.21 does not know recent Xeons and falls back to its generic Prescott kernel, 3-4x
 * slower on the TD3 shapes (`cemrl bench nets --kernels default,SkylakeX`). The kernel is chosen
 * when the library loads, so pick a better one by re-running ourselves once with
 * OPENBLAS_CORETYPE set. A user's own OPENBLAS_CORETYPE is always respected, and
 * CEMRL_BLAS_KERNEL=keep turns this off. */
static void select_blas_kernel(char **argv) {
  const char *keep = getenv("CEMRL_BLAS_KERNEL");
  if (keep && !strcmp(keep, "keep")) return;
  const char *k = nn_blas_suggest_coretype();
  if (!k) return;
  setenv("OPENBLAS_CORETYPE", k, 1);
  execv("/proc/self/exe", argv);
  unsetenv("OPENBLAS_CORETYPE");  /* exec failed: carry on with the kernel we have */
}

/* Run a command, inside the MPI job when a launcher started this process (agents/cluster.h). */
static int run_command(const AppCommand *c, int argc, char **argv) {
  CoreErr err;
  core_err_clear(&err);
  if (agent_cluster_init(&argc, &argv, &err)) {
    int rc = app_fail(&err);
    agent_cluster_abort(rc);  /* every process fails alike; end the job rather than wait */
    return rc;
  }
  int rc;
  if (agent_cluster_size() > 1 && strcmp(c->name, "train")) {
    core_err_set(&err, CORE_ERR_INVALID, "`cemrl %s` runs in one process; only `cemrl train` "
                 "spreads over MPI processes (start it without mpirun)", c->name);
    rc = agent_cluster_rank() == 0 ? app_fail(&err) : core_err_exit_status(err.code);
  } else {
    rc = c->run(argc - 1, argv + 1);
  }
  /* a serving rank that failed (its message is out) takes the job down with it */
  if (rc && agent_cluster_rank() != 0) agent_cluster_abort(rc);
  agent_cluster_finalize();
  return rc;
}

int main(int argc, char **argv) {
  select_blas_kernel(argv);
  /* MuJoCo 2.2.2's default error handler waits for Enter: replace it before anything loads. */
  core_mj_install_handlers();
  core_cfg_init();  /* cJSON allocates through core_malloc from the start */
  if (argc < 2) {
    print_help(stderr);
    return 2;
  }
  if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
    print_help(stdout);
    return 0;
  }
  if (!strcmp(argv[1], "--version")) return cmd_version(argc - 1, argv + 1);
  for (const AppCommand *c = app_commands; c->name; c++)
    if (!strcmp(argv[1], c->name)) return run_command(c, argc, argv);
  fprintf(stderr, "cemrl: unknown command '%s'; `cemrl --help` lists the commands\n", argv[1]);
  return 2;
}
