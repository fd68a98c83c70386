/* bench_nets.c — placeholder until the nets module lands (replaced by the nets work). */
#include <stdio.h>

#include "app/bench.h"

int bench_nets(int argc, char **argv) {
  (void)argc;
  (void)argv;
  fprintf(stderr, "cemrl bench nets: not built yet\n");
  return 1;
}
