/* cmd_plot.c — `cemrl plot`: learning curves of run directories, as PNG or SVG. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "app/plot.h"
#include "core/alloc.h"

static void print_help(void) {
  printf(
      "usage: cemrl plot RUN_DIR|FILE.csv... [--out curves.png|curves.svg] [options]\n\n"
      "Draw learning curves (evaluation return against environment steps) from runs'\n"
      "progress.csv. Runs whose config.resolved.json match except for the seed (and the\n"
      "thread count, step budget and checkpoint period, which change no number of a curve)\n"
      "are one series: the mean across the runs with a band, the runs aligned on the steps\n"
      "(linear interpolation between evaluations, over the steps every run has reached).\n"
      "Other runs are series of their own, named after their directories.\n\n"
      "  --out FILE      .png or .svg (default curves.png)\n"
      "  --y COLUMN      the column to draw (default eval_mean; any progress.csv column)\n"
      "  --x COLUMN      the horizontal axis (default step; wall_time for seconds)\n"
      "  --band B        std (default: mean +- one standard deviation across runs), minmax\n"
      "                  (lowest to highest run) or none\n"
      "  --separate      one series per run, even for runs of one config\n"
      "  --title T       title (default: the env name, when all runs share one)\n"
      "  --size WxH      size in pixels (PNG) or points (SVG), default 800x500\n\n"
      "example: cemrl plot results/halfcheetah/td3_s* results/halfcheetah/cemtd3_s* "
      "--out hc.svg\n");
}

int cmd_plot(int argc, char **argv) {
  const char *cmd = "plot";
  const char *out = "curves.png", *x_col = "step", *y_col = "eval_mean", *title = NULL;
  int band = PLOT_BAND_STD, separate = 0;
  long width = 800, height = 500;
  int n_args = 0;
  const char **args = core_malloc(sizeof *args * (size_t)(argc > 0 ? argc : 1));
  if (!args) return app_fail(&(CoreErr){CORE_ERR_NOMEM, "out of memory"});
  int status = 0;
  for (int i = 1; i < argc && !status; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      print_help();
      core_free(args);
      return 0;
    }
    if (!strcmp(a, "--separate")) {
      separate = 1;
      continue;
    }
    if (a[0] != '-' || !a[1]) {
      args[n_args++] = a;
      continue;
    }
    if (strcmp(a, "--out") && strcmp(a, "--y") && strcmp(a, "--x") && strcmp(a, "--band") &&
        strcmp(a, "--title") && strcmp(a, "--size")) {
      status = app_usage_error(cmd, "unknown option '%s'", a);
      break;
    }
    if (!v) {
      status = app_usage_error(cmd, "%s needs a value", a);
      break;
    }
    i++;
    if (!strcmp(a, "--out")) {
      out = v;
    } else if (!strcmp(a, "--y")) {
      y_col = v;
    } else if (!strcmp(a, "--x")) {
      x_col = v;
    } else if (!strcmp(a, "--title")) {
      title = v;
    } else if (!strcmp(a, "--band")) {
      if (!strcmp(v, "std")) band = PLOT_BAND_STD;
      else if (!strcmp(v, "minmax")) band = PLOT_BAND_MINMAX;
      else if (!strcmp(v, "none")) band = PLOT_BAND_NONE;
      else status = app_usage_error(cmd, "--band '%s': expected std, minmax or none", v);
    } else {
      char *x = NULL, *end = NULL;
      width = strtol(v, &x, 10);
      if (x && (*x == 'x' || *x == 'X')) height = strtol(x + 1, &end, 10);
      if (!end || *end || x == v || end == x + 1 || width < 200 || height < 150 ||
          width > 10000 || height > 10000)
        status = app_usage_error(cmd, "--size '%s': expected WIDTHxHEIGHT from 200x150 to "
                                 "10000x10000, e.g. 800x500", v);
    }
  }
  if (!status && n_args == 0)
    status = app_usage_error(cmd, "give one or more run directories (or progress.csv files)");
  if (status) {
    core_free(args);
    return status;
  }

  CoreErr err;
  core_err_clear(&err);
  PlotRun *runs = core_calloc((size_t)n_args, sizeof *runs);
  PlotSeries *series = NULL;
  int n_series = 0, n_read = 0, rc = CORE_OK;
  if (!runs) rc = core_err_set(&err, CORE_ERR_NOMEM, "out of memory");
  for (int i = 0; i < n_args && !rc; i++) {
    rc = plot_run_read(&runs[i], args[i], x_col, y_col, &err);
    if (!rc) n_read++;
  }
  if (!rc) rc = plot_series_build(runs, n_args, band, separate, &series, &n_series, &err);
  if (!rc) {
    /* the title defaults to the env every run shares */
    char env_title[64] = "";
    int same_env = runs[0].env[0] != '\0';
    for (int i = 1; i < n_args && same_env; i++) same_env = !strcmp(runs[0].env, runs[i].env);
    if (same_env) snprintf(env_title, sizeof env_title, "%s", runs[0].env);
    int y_default = !strcmp(y_col, "eval_mean"), x_default = !strcmp(x_col, "step");
    PlotStyle st = {
        .out = out,
        .title = title ? title : env_title,
        .x_label = x_default ? "environment steps" : !strcmp(x_col, "wall_time") ? "seconds" : x_col,
        .y_label = y_default ? "evaluation return (mean over episodes)" : y_col,
        .width = (int)width,
        .height = (int)height,
    };
    rc = plot_draw(series, n_series, &st, &err);
  }
  if (!rc) {
    printf("wrote %s: %d series of %s against %s\n", out, n_series, y_col, x_col);
    for (int i = 0; i < n_series; i++) {
      const PlotSeries *s = &series[i];
      int last = s->n - 1;
      printf("  %s: %d points, %s %g..%g, last %s %.6g", s->label, s->n, x_col, s->x[0],
             s->x[last], y_col, s->mean[last]);
      if (s->n_runs > 1)
        printf(" (band %.6g..%.6g)", s->lo[last], s->hi[last]);
      printf("\n");
      if (s->n_runs > 1 && s->x_last_max > s->x[last])
        printf("    (ends where its shortest run ends; the longest reaches %s %g)\n", x_col,
               s->x_last_max);
    }
  }
  plot_series_free(series, n_series);
  for (int i = 0; i < n_read; i++) plot_run_release(&runs[i]);
  core_free(runs);
  core_free(args);
  return rc ? app_fail(&err) : 0;
}
