/* cmd_version.c — `cemrl version`: what this binary is built from. */
#include <mujoco/mujoco.h>
#include <stdio.h>

#include "agents/cluster.h"
#include "app/app.h"
#include "cemrl_version.h"

extern char *openblas_get_config(void);
extern char *openblas_get_corename(void);

int cmd_version(int argc, char **argv) {
  (void)argc;
  (void)argv;
  printf("cemrl %s (git %s)\n", CEMRL_VERSION, CEMRL_GIT);
  printf("MuJoCo %d.%d.%d\n", mj_version() / 100, (mj_version() / 10) % 10, mj_version() % 10);
  printf("OpenBLAS %s (kernel %s)\n", openblas_get_config(), openblas_get_corename());
  printf("MPI %s\n", agent_cluster_built() ? agent_cluster_library() : "none (built without MPI)");
  return 0;
}
