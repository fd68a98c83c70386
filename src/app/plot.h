/* plot.h — learning curves: read runs' progress.csv, group the runs of one config, draw with cairo.
 *
 * A run is a run directory (its progress.csv and, if present, config.resolved.json) or a CSV file.
 * Runs whose resolved configs are equal except for "seed" form one series: their curves are
 * aligned on the x column (linear interpolation between a run's rows, over the x range that every
 * run covers) and drawn as the mean with a band (± one standard deviation across runs, or min to
 * max). Every other run is a series of its own, named after its directory.
 */
#ifndef CEMRL_APP_PLOT_H
#define CEMRL_APP_PLOT_H

#include "core/err.h"

/* One run's curve: rows with a finite y value, x non-decreasing. */
typedef struct {
  char name[256];          /* display name: the run directory's (or the file's) base name */
  char path[4096];         /* the CSV file read */
  char *group_key;         /* the resolved config without "seed" (owned), or NULL: alone */
  char env[64];            /* "env" of the config, or "" */
  int n;
  double *x, *y;           /* (n) each, owned */
} PlotRun;

/* A drawn series: the mean over its runs with the band's lower and upper edges. */
typedef struct {
  char label[300];         /* legend text */
  int n_runs;
  int n;                   /* points */
  double *x, *mean, *lo, *hi;   /* (n) each, owned; lo = hi = mean for a single run */
  double x_last_max;       /* the largest last x among the runs (to report a truncated tail) */
} PlotSeries;

typedef enum { PLOT_BAND_STD = 0, PLOT_BAND_MINMAX, PLOT_BAND_NONE } PlotBand;

/* How to draw. */
typedef struct {
  const char *out;         /* .png or .svg */
  const char *title;       /* NULL: the env name if all runs share one */
  const char *x_label;
  const char *y_label;
  int width, height;       /* pixels (PNG) or points (SVG) */
} PlotStyle;

/* Read a run (a directory holding progress.csv, or a CSV file) with columns x_col and y_col.
 * Errors name the file and line: CORE_ERR_IO (missing), CORE_ERR_PARSE (a malformed row, a
 * non-number), CORE_ERR_INVALID (empty, no data rows, no such column, x going backwards). */
int plot_run_read(PlotRun *r, const char *arg, const char *x_col, const char *y_col,
                  CoreErr *err);

/* Free what a run owns (safe on a zeroed run). */
void plot_run_release(PlotRun *r);

/* Group runs into series (by group_key unless separate) and compute mean and band; *out is a new
 * array of *n_out series (plot_series_free it). CORE_ERR_INVALID if runs of one config share no
 * x range. */
int plot_series_build(PlotRun *runs, int n_runs, int band, int separate, PlotSeries **out,
                      int *n_out, CoreErr *err);

/* Free an array of series. */
void plot_series_free(PlotSeries *s, int n);

/* Draw the series into style->out (PNG or SVG by its extension). */
int plot_draw(const PlotSeries *s, int n, const PlotStyle *style, CoreErr *err);

/* The palette: RGB of series i (cycles). */
void plot_color(int i, double rgb[3]);

#endif
