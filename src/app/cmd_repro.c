/* cmd_repro.c — `cemrl repro NAME`: the papers' reduced reproductions with pass criteria. */
#include <stdio.h>
#include <string.h>

#include "app/app.h"
#include "app/repro.h"

/* Declarations of the reproductions (one line each, defined in src/app/repro_*.c). */

const AppRepro app_repros[] = {
    /* {"name", "summary", repro_fn}, */
    {NULL, NULL, NULL},
};

int cmd_repro(int argc, char **argv) {
  if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
    FILE *f = argc < 2 ? stderr : stdout;
    fprintf(f, "usage: cemrl repro NAME [OPTIONS]   (cemrl repro NAME --help)\n\n"
               "Reduced reproductions of the supervised papers: each prints its measured figures\n"
               "beside the pass criteria of spec/papers.md and exits 0 only if all pass.\n\n");
    for (const AppRepro *r = app_repros; r->name; r++) fprintf(f, "  %-14s %s\n", r->name, r->summary);
    return argc < 2 ? 2 : 0;
  }
  for (const AppRepro *r = app_repros; r->name; r++)
    if (!strcmp(argv[1], r->name)) return r->run(argc - 1, argv + 1);
  return app_usage_error("repro", "unknown reproduction '%s'", argv[1]);
}
