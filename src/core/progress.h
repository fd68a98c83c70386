/* progress.h — the one progress line of a long run: done/total, smoothed rate, ETA, and a
 * caller's extra text ("return 3512.2"). On a terminal the line is redrawn in place with '\r'
 * (at most every 0.1 s); otherwise (a log file, CI) a plain line is printed at most every
 * `interval` seconds. finish prints a summary line. The clock is injectable so tests control
 * time, and the formatting helpers are pure functions. Plain data: no allocation. */
#ifndef CEMRL_CORE_PROGRESS_H
#define CEMRL_CORE_PROGRESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Seconds on some monotonic clock. */
typedef double (*CoreClockFn)(void *user);

typedef struct {
  const char *label;        /* "train" (borrowed; must outlive the progress) */
  const char *unit;         /* "steps" (borrowed) */
  int64_t total;            /* units to reach; <= 0 if unknown (no percentage or ETA) */
  int64_t start;            /* units already done when this process began (resume) */
  double interval;          /* non-terminal: seconds between lines (0: 10 s) */
  int tty;                  /* -1: detect with isatty; 0: plain lines; 1: redraw in place */
  FILE *out;                /* NULL: stdout */
  CoreClockFn clock;        /* NULL: CLOCK_MONOTONIC */
  void *clock_user;
} CoreProgressOpts;

typedef struct {
  CoreProgressOpts o;
  double t0;                /* clock at init */
  double last_print;        /* clock at the last line (or redraw) */
  double sample_t;          /* rate smoothing: time and units at the last sample */
  int64_t sample_done;
  double rate;              /* smoothed units/s; < 0 until the first sample */
  int64_t done;
  int last_len;             /* characters of the last in-place line (to blank leftovers) */
  int lines;                /* lines or redraws printed so far */
} CoreProgress;

/* Start tracking (reads the clock once). */
void core_progress_init(CoreProgress *p, const CoreProgressOpts *opts);

/* Report units done so far (absolute, including opts.start); prints if due. extra may be NULL.
 * Returns 1 if something was printed. Cheap enough to call every step. */
int core_progress_update(CoreProgress *p, int64_t done, const char *extra);

/* Print the final summary ("train: 1000000 steps in 1h02m (268 steps/s)") and end the line. */
void core_progress_finish(CoreProgress *p, const char *extra);

/* Duration as "42s", "3m05s", "1h02m", "2d03h"; "--" for negative or non-finite. */
void core_progress_format_eta(char *buf, size_t n, double seconds);

/* Rate as "0.123", "12.3", "532", "1.23k", "45.6k", "1.23M" (3 significant digits). */
void core_progress_format_rate(char *buf, size_t n, double rate);

/* The status line: "label  45.2%  452000/1000000 steps  1.23k steps/s  ETA 7m25s  extra".
 * rate < 0 means unknown; total <= 0 drops the percentage, the total and the ETA. */
void core_progress_format_line(char *buf, size_t n, const char *label, const char *unit,
                               int64_t done, int64_t total, double rate, const char *extra);

#endif
