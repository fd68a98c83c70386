/* cmd_bench.c — `cemrl bench WHAT`: speed against the references in shared/bench. */
#include <stdio.h>
#include <string.h>

#include "app/app.h"
#include "app/bench.h"

static const struct {
  const char *name, *summary;
  int (*run)(int, char **);
} benches[] = {
    {"nets", "MLP forward+backward on the TD3 shapes vs sgemm limit and PyTorch", bench_nets},
    {"envs", "MuJoCo task steps/s vs a bare mj_step loop (wrapper overhead), 1 and N threads",
     bench_envs},
    {"td3", "TD3 learner: iterations/s, CEM-RL critic/actor updates/s, policy latency", bench_td3},
};

int cmd_bench(int argc, char **argv) {
  int n = (int)(sizeof benches / sizeof benches[0]);
  if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
    FILE *f = argc < 2 ? stderr : stdout;
    fprintf(f, "usage: cemrl bench WHAT [OPTIONS]   (cemrl bench WHAT --help)\n\n");
    for (int i = 0; i < n; i++) fprintf(f, "  %-8s %s\n", benches[i].name, benches[i].summary);
    return argc < 2 ? 2 : 0;
  }
  for (int i = 0; i < n; i++)
    if (!strcmp(argv[1], benches[i].name)) return benches[i].run(argc - 1, argv + 1);
  return app_usage_error("bench", "unknown benchmark '%s'", argv[1]);
}
