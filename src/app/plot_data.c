/* plot_data.c — runs' CSV files in, series (mean and band over the runs of one config) out. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "app/plot.h"
#include "app/settings.h"
#include "core/alloc.h"
#include "core/cfg.h"
#include "core/fsutil.h"

/* ---------------------------------------------------------------- reading a run */

/* The base name of a path without trailing slashes, into out. */
static void base_name(char *out, size_t n, const char *path) {
  size_t len = strlen(path);
  while (len > 1 && path[len - 1] == '/') len--;
  size_t start = len;
  while (start > 0 && path[start - 1] != '/') start--;
  snprintf(out, n, "%.*s", (int)(len - start), path + start);
}

/* Fill r->group_key and r->env from DIR/config.resolved.json if it exists. A config that does
 * not parse is an error: a run directory with a broken config is worth hearing about. */
static int read_config(PlotRun *r, const char *dir, CoreErr *err) {
  char path[CORE_PATH_MAX];
  if (core_fs_join(path, sizeof path, dir, "config.resolved.json", err)) return CORE_ERR_INVALID;
  if (!core_fs_exists(path)) return CORE_OK;
  char *text = NULL;
  size_t len = 0;
  int rc = core_fs_read_all(path, &text, &len, err);
  if (rc) return rc;
  core_cfg_init();
  /* through the settings table when it loads, so a key an older version did not write compares
   * as its default; the raw JSON otherwise */
  AgentSettings s;
  CoreErr ignore;
  char *resolved = NULL;
  if (core_cfg_load_string(app_agent_fields, &s, text, path, NULL, 0, &ignore) == CORE_OK)
    resolved = core_cfg_to_json(app_agent_fields, &s);
  cJSON *root = resolved ? cJSON_Parse(resolved) : cJSON_ParseWithLength(text, len);
  core_free(resolved);
  core_free(text);
  if (!cJSON_IsObject(root)) {
    cJSON_Delete(root);
    return core_err_set(err, CORE_ERR_PARSE, "%s: not a JSON object (a run's resolved config)",
                        path);
  }
  const cJSON *env = cJSON_GetObjectItemCaseSensitive(root, "env");
  if (cJSON_IsString(env)) snprintf(r->env, sizeof r->env, "%s", env->valuestring);
  /* the seed tells runs of one config apart; none of the others changes a number of the curve
   * (threads: DESIGN.md; the budget only where it stops; checkpoints: resume = uninterrupted) */
  const char *ignored[] = {"seed", "threads", "total_steps", "checkpoint_every"};
  for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++)
    cJSON_DeleteItemFromObjectCaseSensitive(root, ignored[i]);
  char *key = cJSON_PrintUnformatted(root);
  cJSON_Delete(root);
  if (!key) return core_err_set(err, CORE_ERR_NOMEM, "%s: out of memory", path);
  size_t klen = strlen(key) + 1;
  r->group_key = core_malloc(klen);
  if (r->group_key) memcpy(r->group_key, key, klen);
  cJSON_free(key);
  return r->group_key ? CORE_OK : core_err_set(err, CORE_ERR_NOMEM, "out of memory");
}

/* Index of column name in a header line (fields split at commas), or -1; *n_cols gets the count. */
static int find_column(const char *hdr, size_t len, const char *name, int *n_cols) {
  int idx = -1, col = 0;
  size_t nl = strlen(name);
  const char *f = hdr, *end = hdr + len;
  for (;;) {
    const char *c = memchr(f, ',', (size_t)(end - f));
    const char *fe = c ? c : end;
    if ((size_t)(fe - f) == nl && !memcmp(f, name, nl) && idx < 0) idx = col;
    col++;
    if (!c) break;
    f = c + 1;
  }
  *n_cols = col;
  return idx;
}

/* Parse one field as a double (nan and inf allowed); 0 or -1. */
static int parse_field(const char *f, size_t len, double *out) {
  char buf[64];
  while (len > 0 && (*f == ' ' || *f == '\t')) f++, len--;
  while (len > 0 && (f[len - 1] == ' ' || f[len - 1] == '\t')) len--;
  if (len == 0 || len >= sizeof buf) return -1;
  memcpy(buf, f, len);
  buf[len] = '\0';
  char *end;
  errno = 0;
  double v = strtod(buf, &end);
  if (*end || (errno == ERANGE && isfinite(v) && v != 0.0)) return -1;
  *out = v;
  return 0;
}

int plot_run_read(PlotRun *r, const char *arg, const char *x_col, const char *y_col,
                  CoreErr *err) {
  memset(r, 0, sizeof *r);
  struct stat st;
  int rc;
  if (stat(arg, &st) == 0 && S_ISDIR(st.st_mode)) {
    if (core_fs_join(r->path, sizeof r->path, arg, "progress.csv", err)) return CORE_ERR_INVALID;
    base_name(r->name, sizeof r->name, arg);
    if (!core_fs_exists(r->path))
      return core_err_set(err, CORE_ERR_IO, "%s: no progress.csv here (is it a run directory? "
                          "`cemrl train` writes one)", arg);
    if ((rc = read_config(r, arg, err))) return rc;
  } else {
    snprintf(r->path, sizeof r->path, "%s", arg);
    /* a run's own file is named after its directory */
    char dir[CORE_PATH_MAX];
    snprintf(dir, sizeof dir, "%s", arg);
    char *slash = strrchr(dir, '/');
    char base[256];
    base_name(base, sizeof base, arg);
    if (slash && !strcmp(base, "progress.csv")) {
      *slash = '\0';
      base_name(r->name, sizeof r->name, dir[0] ? dir : "/");
      if ((rc = read_config(r, dir, err))) return rc;
    } else {
      snprintf(r->name, sizeof r->name, "%s", base);
    }
  }
  char *text = NULL;
  size_t len = 0;
  if ((rc = core_fs_read_all(r->path, &text, &len, err))) {
    plot_run_release(r);
    return rc;
  }
  /* header */
  size_t hl = strcspn(text, "\n");
  size_t hlen = hl > 0 && text[hl - 1] == '\r' ? hl - 1 : hl;
  if (len == 0 || hlen == 0) {
    rc = core_err_set(err, CORE_ERR_INVALID, "%s: empty file (expected a header line such as "
                      "step,wall_time,episodes,eval_mean,...)", r->path);
    goto done;
  }
  int n_cols = 0, n_cols_y = 0;
  int xi = find_column(text, hlen, x_col, &n_cols);
  int yi = find_column(text, hlen, y_col, &n_cols_y);
  if (xi < 0 || yi < 0) {
    rc = core_err_set(err, CORE_ERR_INVALID, "%s:1: no column '%s' (the header is: %.*s)",
                      r->path, xi < 0 ? x_col : y_col, (int)(hlen > 300 ? 300 : hlen), text);
    goto done;
  }
  /* rows: at most one per remaining line */
  size_t cap = 1;
  for (size_t k = hl; k < len; k++) cap += text[k] == '\n';
  r->x = core_malloc(sizeof(double) * cap);
  r->y = core_malloc(sizeof(double) * cap);
  if (!r->x || !r->y) {
    rc = core_err_set(err, CORE_ERR_NOMEM, "%s: out of memory", r->path);
    goto done;
  }
  int line = 1;
  size_t pos = hl < len ? hl + 1 : len;
  int rows = 0;
  while (pos < len) {
    line++;
    size_t ll = strcspn(text + pos, "\n");
    int terminated = pos + ll < len;
    const char *s = text + pos;
    size_t slen = ll > 0 && s[ll - 1] == '\r' ? ll - 1 : ll;
    pos += ll + 1;
    if (strspn(s, " \t\r") >= slen) continue;   /* blank line */
    /* split, keeping the two fields we need */
    int col = 0, bad = 0;
    double xv = NAN, yv = NAN;
    const char *f = s, *end = s + slen;
    for (;;) {
      const char *c = memchr(f, ',', (size_t)(end - f));
      const char *fe = c ? c : end;
      if (col == xi || col == yi) {
        double v;
        if (parse_field(f, (size_t)(fe - f), &v)) {
          bad = 1;
          if (terminated)
            rc = core_err_set(err, CORE_ERR_PARSE, "%s:%d: column '%s': '%.*s' is not a number",
                              r->path, line, col == xi ? x_col : y_col,
                              (int)((fe - f) > 40 ? 40 : (fe - f)), f);
          break;
        }
        if (col == xi) xv = v;
        if (col == yi) yv = v;
      }
      col++;
      if (!c) break;
      f = c + 1;
    }
    if (!bad && col != n_cols) {
      bad = 1;
      if (terminated)
        rc = core_err_set(err, CORE_ERR_PARSE, "%s:%d: %d fields, but the header has %d",
                          r->path, line, col, n_cols);
    }
    /* an unterminated last line is a row still being written: leave it out */
    if (bad && !terminated) break;
    if (rc) goto done;
    if (!isfinite(xv)) {
      rc = core_err_set(err, CORE_ERR_PARSE, "%s:%d: column '%s' is %g; it must be finite",
                        r->path, line, x_col, xv);
      goto done;
    }
    if (rows > 0 && xv < r->x[rows - 1]) {
      rc = core_err_set(err, CORE_ERR_INVALID, "%s:%d: %s %g comes after %g (rows must be in "
                        "order; are two runs in one file?)", r->path, line, x_col, xv,
                        r->x[rows - 1]);
      goto done;
    }
    if (!isfinite(yv)) continue;   /* nan: nothing measured at this row (e.g. before training) */
    r->x[rows] = xv;
    r->y[rows] = yv;
    rows++;
  }
  r->n = rows;
  if (rows == 0)
    rc = core_err_set(err, CORE_ERR_INVALID, "%s: no rows with a number in '%s' yet (a run writes "
                      "a row at each evaluation)", r->path, y_col);
done:
  core_free(text);
  if (rc) plot_run_release(r);
  return rc;
}

void plot_run_release(PlotRun *r) {
  core_free(r->group_key);
  core_free(r->x);
  core_free(r->y);
  r->group_key = NULL;
  r->x = r->y = NULL;
  r->n = 0;
}

/* ---------------------------------------------------------------- series */

/* y of run r at x by linear interpolation (x within the run's range). */
static double interp(const PlotRun *r, double x) {
  int lo = 0, hi = r->n - 1;
  if (x <= r->x[0]) return r->y[0];
  if (x >= r->x[hi]) return r->y[hi];
  while (hi - lo > 1) {
    int mid = (lo + hi) / 2;
    if (r->x[mid] <= x) lo = mid;
    else hi = mid;
  }
  /* repeated x (two rows at one step): the later row wins */
  double dx = r->x[hi] - r->x[lo];
  if (dx <= 0.0) return r->y[hi];
  double t = (x - r->x[lo]) / dx;
  return r->y[lo] + t * (r->y[hi] - r->y[lo]);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The series name of a group: the runs' common name prefix without a seed suffix ("td3_s0",
 * "td3_s1" -> "td3"), or the first name when they share nothing. */
static void group_name(char *out, size_t n, PlotRun *const *members, int m) {
  const char *first = members[0]->name;
  size_t len = strlen(first);
  for (int i = 1; i < m; i++) {
    size_t k = 0;
    while (k < len && members[i]->name[k] == first[k]) k++;
    len = k;
  }
  if (m > 1) {
    /* drop a trailing seed marker: digits, then "s" / "seed" after a separator, then separators */
    while (len > 0 && first[len - 1] >= '0' && first[len - 1] <= '9') len--;
    if (len >= 5 && !strncmp(first + len - 4, "seed", 4) && strchr("_-.", first[len - 5])) len -= 4;
    else if (len >= 2 && first[len - 1] == 's' && strchr("_-.", first[len - 2])) len -= 1;
    while (len > 0 && strchr("_-. ", first[len - 1])) len--;
  }
  if (len == 0) len = strlen(first);
  snprintf(out, n, "%.*s", (int)len, first);
}

void plot_series_free(PlotSeries *s, int n) {
  if (!s) return;
  for (int i = 0; i < n; i++) core_free(s[i].x);   /* one block per series */
  core_free(s);
}

/* Build the series of one group of m runs. */
static int series_make(PlotSeries *s, PlotRun *const *members, int m, int band, CoreErr *err) {
  memset(s, 0, sizeof *s);
  s->n_runs = m;
  double x0 = -INFINITY, x1 = INFINITY;
  size_t total = 0;
  for (int i = 0; i < m; i++) {
    const PlotRun *r = members[i];
    x0 = fmax(x0, r->x[0]);
    x1 = fmin(x1, r->x[r->n - 1]);
    s->x_last_max = i ? fmax(s->x_last_max, r->x[r->n - 1]) : r->x[r->n - 1];
    total += (size_t)r->n;
  }
  if (x0 > x1)
    return core_err_set(err, CORE_ERR_INVALID, "%s and %s have the same config but no x range "
                        "in common; draw them apart with --separate", members[0]->path,
                        members[m - 1]->path);
  /* the grid: every x of every run inside [x0, x1], sorted, without repeats */
  double *block = core_malloc(sizeof(double) * (total * 4 + 1));
  if (!block) return core_err_set(err, CORE_ERR_NOMEM, "out of memory");
  double *grid = block;
  size_t ng = 0;
  for (int i = 0; i < m; i++)
    for (int k = 0; k < members[i]->n; k++)
      if (members[i]->x[k] >= x0 && members[i]->x[k] <= x1) grid[ng++] = members[i]->x[k];
  qsort(grid, ng, sizeof(double), cmp_double);
  size_t u = 0;
  for (size_t k = 0; k < ng; k++)
    if (u == 0 || grid[k] != grid[u - 1]) grid[u++] = grid[k];
  s->n = (int)u;
  s->x = block;
  s->mean = block + total;
  s->lo = block + 2 * total;
  s->hi = block + 3 * total;
  for (int k = 0; k < s->n; k++) {
    double sum = 0.0, mn = INFINITY, mx = -INFINITY;
    for (int i = 0; i < m; i++) {
      double y = interp(members[i], s->x[k]);
      sum += y;
      mn = fmin(mn, y);
      mx = fmax(mx, y);
    }
    double mean = sum / m;
    double ss = 0.0;
    for (int i = 0; i < m && m > 1; i++) {
      double d = interp(members[i], s->x[k]) - mean;
      ss += d * d;
    }
    double sd = m > 1 ? sqrt(ss / (m - 1)) : 0.0;   /* across seeds: sample std */
    s->mean[k] = mean;
    if (band == PLOT_BAND_STD) {
      s->lo[k] = mean - sd;
      s->hi[k] = mean + sd;
    } else if (band == PLOT_BAND_MINMAX) {
      s->lo[k] = mn;
      s->hi[k] = mx;
    } else {
      s->lo[k] = s->hi[k] = mean;
    }
  }
  char name[256];
  group_name(name, sizeof name, members, m);
  if (m > 1) snprintf(s->label, sizeof s->label, "%s (%d runs)", name, m);
  else snprintf(s->label, sizeof s->label, "%s", name);
  return CORE_OK;
}

int plot_series_build(PlotRun *runs, int n_runs, int band, int separate, PlotSeries **out,
                      int *n_out, CoreErr *err) {
  *out = NULL;
  *n_out = 0;
  PlotSeries *series = core_calloc((size_t)n_runs, sizeof *series);
  PlotRun **members = core_malloc(sizeof *members * (size_t)n_runs);
  int *taken = core_calloc((size_t)n_runs, sizeof *taken);
  int rc = CORE_OK, ns = 0;
  if (!series || !members || !taken) {
    rc = core_err_set(err, CORE_ERR_NOMEM, "out of memory");
    goto done;
  }
  /* groups in order of first appearance */
  for (int i = 0; i < n_runs && !rc; i++) {
    if (taken[i]) continue;
    int m = 0;
    members[m++] = &runs[i];
    taken[i] = 1;
    for (int j = i + 1; j < n_runs && !separate && runs[i].group_key; j++)
      if (!taken[j] && runs[j].group_key && !strcmp(runs[i].group_key, runs[j].group_key)) {
        members[m++] = &runs[j];
        taken[j] = 1;
      }
    rc = series_make(&series[ns], members, m, band, err);
    if (!rc) ns++;
  }
  /* two series with one label (same directory names elsewhere): number them */
  for (int i = ns - 1; i > 0 && !rc; i--) {   /* from the end: earlier labels still unchanged */
    int dup = 0;
    for (int j = 0; j < i; j++) dup += !strcmp(series[i].label, series[j].label);
    if (dup) {
      size_t l = strlen(series[i].label);
      snprintf(series[i].label + l, sizeof series[i].label - l, " [%d]", dup + 1);
    }
  }
done:
  core_free(members);
  core_free(taken);
  if (rc) {
    plot_series_free(series, ns);
    return rc;
  }
  *out = series;
  *n_out = ns;
  return CORE_OK;
}
