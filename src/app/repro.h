/* repro.h — reduced reproductions of the papers (spec/papers.md), one per `cemrl repro NAME`.
 *
 * Each prints its measured figures beside the spec's pass criteria, says PASS or FAIL per
 * criterion, and returns 0 if every criterion passed, 1 if any failed (2 for bad arguments).
 * argv[0] is NAME; options such as --quick (a seconds-long version) or --seed are the entry's own.
 */
#ifndef CEMRL_APP_REPRO_H
#define CEMRL_APP_REPRO_H

typedef struct {
  const char *name;      /* "du", "ji-telgarsky", ... */
  const char *summary;   /* one line: paper and what is measured */
  int (*run)(int argc, char **argv);
} AppRepro;

/* The table (cmd_repro.c), ended by {NULL}. Add one line per reproduction. */
extern const AppRepro app_repros[];

#endif
