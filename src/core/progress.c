/* progress.c — a rate/ETA progress line, in place on a terminal, periodic otherwise. */
#include "core/progress.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { PROGRESS_LINE = 256 };
static const double PROGRESS_TTY_DT = 0.1;    /* seconds between redraws on a terminal */
static const double PROGRESS_SAMPLE_DT = 0.5; /* seconds between rate samples */
static const double PROGRESS_TAU = 5.0;       /* smoothing time constant of the rate, seconds */

static double progress_monotonic(void *user) {
  (void)user;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void core_progress_format_eta(char *buf, size_t n, double s) {
  if (!isfinite(s) || s < 0) {
    snprintf(buf, n, "--");
    return;
  }
  long long t = llround(s);
  if (t < 60) snprintf(buf, n, "%llds", t);
  else if (t < 3600) snprintf(buf, n, "%lldm%02llds", t / 60, t % 60);
  else if (t < 86400) snprintf(buf, n, "%lldh%02lldm", t / 3600, (t % 3600) / 60);
  else snprintf(buf, n, "%lldd%02lldh", t / 86400, (t % 86400) / 3600);
}

void core_progress_format_rate(char *buf, size_t n, double r) {
  static const char *suffix[] = {"", "k", "M", "G", "T"};
  if (!isfinite(r) || r < 0) {
    snprintf(buf, n, "--");
    return;
  }
  int k = 0;
  while (r >= 999.5 && k < 4) {
    r /= 1000;
    k++;
  }
  /* three significant digits: 0.123, 1.23, 12.3, 123 */
  int decimals = r < 0.9995 ? 3 : r < 9.995 ? 2 : r < 99.95 ? 1 : 0;
  snprintf(buf, n, "%.*f%s", decimals, r, suffix[k]);
}

void core_progress_format_line(char *buf, size_t n, const char *label, const char *unit,
                               int64_t done, int64_t total, double rate, const char *extra) {
  char rs[32], eta[32];
  core_progress_format_rate(rs, sizeof rs, rate);
  int w;
  if (total > 0) {
    double left = (rate > 0) ? (double)(total - done) / rate : -1;
    core_progress_format_eta(eta, sizeof eta, left);
    w = snprintf(buf, n, "%s  %5.1f%%  %" PRId64 "/%" PRId64 " %s  %s %s/s  ETA %s", label,
                 100.0 * (double)done / (double)total, done, total, unit, rs, unit, eta);
  } else {
    w = snprintf(buf, n, "%s  %" PRId64 " %s  %s %s/s", label, done, unit, rs, unit);
  }
  if (extra && extra[0] && w >= 0 && (size_t)w < n) snprintf(buf + w, n - (size_t)w, "  %s", extra);
}

void core_progress_init(CoreProgress *p, const CoreProgressOpts *opts) {
  memset(p, 0, sizeof *p);
  p->o = *opts;
  if (!p->o.out) p->o.out = stdout;
  if (!p->o.clock) p->o.clock = progress_monotonic;
  if (!p->o.label) p->o.label = "progress";
  if (!p->o.unit) p->o.unit = "units";
  if (p->o.interval <= 0) p->o.interval = 10.0;
  if (p->o.tty < 0) p->o.tty = isatty(fileno(p->o.out));
  p->t0 = p->sample_t = p->last_print = p->o.clock(p->o.clock_user);
  p->done = p->sample_done = p->o.start;
  p->rate = -1;
}

/* Fold the units since the last sample into the smoothed rate (an exponential moving average
 * whose weight follows elapsed time, so irregular update calls do not bias it). */
static void progress_sample(CoreProgress *p, double now) {
  double dt = now - p->sample_t;
  if (dt < PROGRESS_SAMPLE_DT) return;
  double inst = (double)(p->done - p->sample_done) / dt;
  double a = 1.0 - exp(-dt / PROGRESS_TAU);
  p->rate = (p->rate < 0) ? inst : p->rate + a * (inst - p->rate);
  p->sample_t = now;
  p->sample_done = p->done;
}

/* The rate to show: the smoothed one, or the plain average before the first sample. */
static double progress_rate(const CoreProgress *p, double now) {
  if (p->rate >= 0) return p->rate;
  double dt = now - p->t0;
  return dt > 0 ? (double)(p->done - p->o.start) / dt : -1;
}

static void progress_emit(CoreProgress *p, double now, const char *extra) {
  char line[PROGRESS_LINE];
  core_progress_format_line(line, sizeof line, p->o.label, p->o.unit, p->done, p->o.total,
                            progress_rate(p, now), extra);
  int len = (int)strlen(line);
  if (p->o.tty) {
    /* pad with spaces over whatever the previous, longer line left behind */
    int pad = p->last_len > len ? p->last_len - len : 0;
    fprintf(p->o.out, "\r%s%*s", line, pad, "");
    p->last_len = len;
  } else {
    fprintf(p->o.out, "%s\n", line);
  }
  fflush(p->o.out);
  p->last_print = now;
  p->lines++;
}

int core_progress_update(CoreProgress *p, int64_t done, const char *extra) {
  p->done = done;
  double now = p->o.clock(p->o.clock_user);
  progress_sample(p, now);
  double every = p->o.tty ? PROGRESS_TTY_DT : p->o.interval;
  if (now - p->last_print < every) return 0;
  progress_emit(p, now, extra);
  return 1;
}

void core_progress_finish(CoreProgress *p, const char *extra) {
  double now = p->o.clock(p->o.clock_user), dt = now - p->t0;
  char took[32], rs[32], line[PROGRESS_LINE];
  core_progress_format_eta(took, sizeof took, dt);
  core_progress_format_rate(rs, sizeof rs, dt > 0 ? (double)(p->done - p->o.start) / dt : -1);
  int w = snprintf(line, sizeof line, "%s: %" PRId64 " %s in %s (%s %s/s)", p->o.label, p->done,
                   p->o.unit, took, rs, p->o.unit);
  if (extra && extra[0] && w >= 0 && (size_t)w < sizeof line)
    snprintf(line + w, sizeof line - (size_t)w, "  %s", extra);
  int len = (int)strlen(line), pad = (p->o.tty && p->last_len > len) ? p->last_len - len : 0;
  fprintf(p->o.out, "%s%s%*s\n", p->o.tty && p->lines ? "\r" : "", line, pad, "");
  fflush(p->o.out);
  p->last_len = 0;
}
