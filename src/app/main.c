/* main.c — `cemrl`: dispatch to a subcommand. */
#include <stdio.h>
#include <string.h>

#include "app/app.h"
#include "core/mj.h"

static void print_help(FILE *f) {
  fprintf(f,
          "cemrl — policy search (CEM-RL, CEM, TD3, DDPG) on MuJoCo and supervised tasks\n\n"
          "usage: cemrl COMMAND [ARGS...]\n\ncommands:\n");
  for (const AppCommand *c = app_commands; c->name; c++) fprintf(f, "  %-10s %s\n", c->name, c->summary);
  fprintf(f, "\n`cemrl COMMAND --help` lists a command's options and settings.\n");
}

int main(int argc, char **argv) {
  /* MuJoCo 2.2.2's default error handler waits for Enter: replace it before anything loads. */
  core_mj_install_handlers();
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
    if (!strcmp(argv[1], c->name)) return c->run(argc - 1, argv + 1);
  fprintf(stderr, "cemrl: unknown command '%s'; `cemrl --help` lists the commands\n", argv[1]);
  return 2;
}
