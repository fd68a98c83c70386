/* plot_draw.c — draw learning curves with cairo: axes with "nice" ticks, grid, bands, mean
 * lines, axis labels, a title and a legend placed in the emptiest corner; PNG or SVG. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <cairo.h>
#include <cairo-svg.h>
#include <fontconfig/fontconfig.h>

#include "app/plot.h"

/* Matplotlib's "tab10" colours: distinct, and readable by most colour-blind viewers. */
static const double palette[10][3] = {
    {0x1f / 255.0, 0x77 / 255.0, 0xb4 / 255.0}, {0xff / 255.0, 0x7f / 255.0, 0x0e / 255.0},
    {0x2c / 255.0, 0xa0 / 255.0, 0x2c / 255.0}, {0xd6 / 255.0, 0x27 / 255.0, 0x28 / 255.0},
    {0x94 / 255.0, 0x67 / 255.0, 0xbd / 255.0}, {0x8c / 255.0, 0x56 / 255.0, 0x4b / 255.0},
    {0xe3 / 255.0, 0x77 / 255.0, 0xc2 / 255.0}, {0x7f / 255.0, 0x7f / 255.0, 0x7f / 255.0},
    {0xbc / 255.0, 0xbd / 255.0, 0x22 / 255.0}, {0x17 / 255.0, 0xbe / 255.0, 0xcf / 255.0},
};

#define BAND_ALPHA 0.2

void plot_color(int i, double rgb[3]) {
  memcpy(rgb, palette[i % 10], sizeof palette[0]);
}

/* A tick spacing of 1, 2 or 5 times a power of ten giving about `target` intervals. */
static double nice_step(double range, int target) {
  double raw = range / target;
  double mag = pow(10.0, floor(log10(raw)));
  double f = raw / mag;
  return (f < 1.5 ? 1.0 : f < 3.0 ? 2.0 : f < 7.0 ? 5.0 : 10.0) * mag;
}

/* Tick label of v for spacing step: steps in k / M when large, else as many decimals as needed. */
static void tick_label(char *out, size_t n, double v, double step, int si) {
  if (fabs(v) < step * 1e-9) {
    snprintf(out, n, "0");
    return;
  }
  double scale = 1.0;
  const char *suffix = "";
  if (si && step >= 1e6 * 0.1) scale = 1e6, suffix = "M";
  else if (si && step >= 1e3 * 0.1) scale = 1e3, suffix = "k";
  double s = step / scale;
  int dec = s >= 1.0 ? 0 : (int)ceil(-log10(s) - 1e-9);
  snprintf(out, n, "%.*f%s", dec, v / scale, suffix);
}

typedef struct {
  double x0, x1, y0, y1;         /* data range shown */
  double left, top, w, h;        /* plot area in device units */
} Frame;

static double px(const Frame *f, double x) { return f->left + (x - f->x0) / (f->x1 - f->x0) * f->w; }
static double py(const Frame *f, double y) { return f->top + (f->y1 - y) / (f->y1 - f->y0) * f->h; }

/* Show s anchored at (x, y): ax 0 / 0.5 / 1 puts x at its left / centre / right, ay 0 / 0.5 / 1
 * puts y at its top / middle / bottom. */
static void text_at(cairo_t *cr, const char *s, double x, double y, double ax, double ay) {
  cairo_text_extents_t te;
  cairo_text_extents(cr, s, &te);
  cairo_move_to(cr, x - ax * te.x_advance - te.x_bearing * (ax == 0.0),
                y - ay * te.height - te.y_bearing);
  cairo_show_text(cr, s);
}

static double text_width(cairo_t *cr, const char *s) {
  cairo_text_extents_t te;
  cairo_text_extents(cr, s, &te);
  return te.x_advance;
}

/* Number of series points (mean and band edges) inside a device rectangle. */
static int points_in(const PlotSeries *s, int n, const Frame *f, double x, double y, double w,
                     double h) {
  int c = 0;
  for (int i = 0; i < n; i++)
    for (int k = 0; k < s[i].n; k++) {
      double u = px(f, s[i].x[k]);
      if (u < x || u > x + w) continue;
      double vs[3] = {py(f, s[i].mean[k]), py(f, s[i].lo[k]), py(f, s[i].hi[k])};
      for (int j = 0; j < 3; j++) c += vs[j] >= y && vs[j] <= y + h;
    }
  return c;
}

static void draw(cairo_t *cr, const PlotSeries *s, int n, const PlotStyle *st) {
  double W = st->width, H = st->height;
  double fs = fmax(9.0, 13.0 * fmin(W / 800.0, H / 500.0));   /* font size follows the canvas */
  cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);

  /* data range: x as given, y padded and widened to whole ticks */
  Frame f = {INFINITY, -INFINITY, INFINITY, -INFINITY, 0, 0, 0, 0};
  for (int i = 0; i < n; i++)
    for (int k = 0; k < s[i].n; k++) {
      f.x0 = fmin(f.x0, s[i].x[k]);
      f.x1 = fmax(f.x1, s[i].x[k]);
      f.y0 = fmin(f.y0, s[i].lo[k]);
      f.y1 = fmax(f.y1, s[i].hi[k]);
    }
  if (f.x1 <= f.x0) f.x0 -= 1.0, f.x1 += 1.0;
  if (f.y1 <= f.y0) {
    double d = fmax(1.0, 0.1 * fabs(f.y0));
    f.y0 -= d, f.y1 += d;
  }
  double pad = 0.04 * (f.y1 - f.y0);
  f.y0 -= pad, f.y1 += pad;
  double ys = nice_step(f.y1 - f.y0, 6), xs = nice_step(f.x1 - f.x0, 6);
  f.y0 = floor(f.y0 / ys) * ys;
  f.y1 = ceil(f.y1 / ys) * ys;

  /* margins from the widest y tick label */
  cairo_set_font_size(cr, fs);
  char lab[64];
  double ylab_w = 0.0;
  for (double v = f.y0; v <= f.y1 + ys * 0.5; v += ys) {
    tick_label(lab, sizeof lab, v, ys, 0);
    ylab_w = fmax(ylab_w, text_width(cr, lab));
  }
  const char *title = st->title && st->title[0] ? st->title : NULL;
  f.left = 1.6 * fs + ylab_w + 0.8 * fs;
  f.top = title ? 2.6 * fs : 1.2 * fs;
  f.w = W - f.left - 1.6 * fs;
  f.h = H - f.top - 3.6 * fs;

  /* grid and ticks */
  cairo_set_line_width(cr, 1.0);
  cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
  for (double v = f.y0; v <= f.y1 + ys * 0.5; v += ys) {
    cairo_move_to(cr, f.left, round(py(&f, v)) + 0.5);
    cairo_line_to(cr, f.left + f.w, round(py(&f, v)) + 0.5);
  }
  double xt0 = ceil(f.x0 / xs) * xs;
  for (double v = xt0; v <= f.x1 + xs * 1e-9; v += xs) {
    cairo_move_to(cr, round(px(&f, v)) + 0.5, f.top);
    cairo_line_to(cr, round(px(&f, v)) + 0.5, f.top + f.h);
  }
  cairo_stroke(cr);
  cairo_set_source_rgb(cr, 0.15, 0.15, 0.15);
  for (double v = f.y0; v <= f.y1 + ys * 0.5; v += ys) {
    tick_label(lab, sizeof lab, v, ys, 0);
    text_at(cr, lab, f.left - 0.5 * fs, py(&f, v), 1.0, 0.5);
  }
  for (double v = xt0; v <= f.x1 + xs * 1e-9; v += xs) {
    tick_label(lab, sizeof lab, v, xs, 1);
    text_at(cr, lab, px(&f, v), f.top + f.h + 0.5 * fs, 0.5, 0.0);
  }

  /* bands, then lines, inside the plot area */
  cairo_save(cr);
  cairo_rectangle(cr, f.left, f.top, f.w, f.h);
  cairo_clip(cr);
  for (int i = 0; i < n; i++) {
    if (s[i].n_runs < 2 || s[i].n < 2) continue;
    int differs = 0;
    for (int k = 0; k < s[i].n; k++) differs |= s[i].hi[k] > s[i].lo[k];
    if (!differs) continue;
    cairo_set_source_rgba(cr, palette[i % 10][0], palette[i % 10][1], palette[i % 10][2],
                          BAND_ALPHA);
    for (int k = 0; k < s[i].n; k++) cairo_line_to(cr, px(&f, s[i].x[k]), py(&f, s[i].hi[k]));
    for (int k = s[i].n - 1; k >= 0; k--) cairo_line_to(cr, px(&f, s[i].x[k]), py(&f, s[i].lo[k]));
    cairo_close_path(cr);
    cairo_fill(cr);
  }
  cairo_set_line_width(cr, fmax(1.5, 2.0 * fs / 13.0));
  cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
  for (int i = 0; i < n; i++) {
    cairo_set_source_rgb(cr, palette[i % 10][0], palette[i % 10][1], palette[i % 10][2]);
    if (s[i].n == 1) {
      cairo_arc(cr, px(&f, s[i].x[0]), py(&f, s[i].mean[0]), 0.35 * fs, 0, 2 * M_PI);
      cairo_fill(cr);
      continue;
    }
    for (int k = 0; k < s[i].n; k++) cairo_line_to(cr, px(&f, s[i].x[k]), py(&f, s[i].mean[k]));
    cairo_stroke(cr);
  }
  cairo_restore(cr);

  /* frame, labels, title */
  cairo_set_source_rgb(cr, 0.15, 0.15, 0.15);
  cairo_set_line_width(cr, 1.0);
  cairo_rectangle(cr, round(f.left) + 0.5, round(f.top) + 0.5, round(f.w), round(f.h));
  cairo_stroke(cr);
  cairo_set_font_size(cr, 1.05 * fs);
  text_at(cr, st->x_label, f.left + f.w / 2, H - 1.6 * fs, 0.5, 0.0);
  cairo_save(cr);
  cairo_translate(cr, 0.4 * fs, f.top + f.h / 2);
  cairo_rotate(cr, -M_PI / 2);
  text_at(cr, st->y_label, 0.0, 0.0, 0.5, 0.0);
  cairo_restore(cr);
  if (title) {
    cairo_set_font_size(cr, 1.25 * fs);
    text_at(cr, title, f.left + f.w / 2, 0.7 * fs, 0.5, 0.0);
  }

  /* legend in the corner with the fewest points under it */
  cairo_set_font_size(cr, fs);
  double lw = 0.0, row = 1.5 * fs, sw = 2.2 * fs;
  for (int i = 0; i < n; i++) lw = fmax(lw, text_width(cr, s[i].label));
  lw += sw + 1.6 * fs;
  double lh = n * row + 0.6 * fs, m = 0.6 * fs;
  double cx[4] = {f.left + m, f.left + f.w - lw - m, f.left + f.w - lw - m, f.left + m};
  double cy[4] = {f.top + m, f.top + f.h - lh - m, f.top + m, f.top + f.h - lh - m};
  int best = 0, best_c = -1;
  for (int c = 0; c < 4; c++) {   /* preference: top left, bottom right, top right, bottom left */
    int cnt = points_in(s, n, &f, cx[c], cy[c], lw, lh);
    if (best_c < 0 || cnt < best_c) best = c, best_c = cnt;
  }
  double lx = cx[best], ly = cy[best];
  cairo_set_source_rgba(cr, 1, 1, 1, 0.85);
  cairo_rectangle(cr, lx, ly, lw, lh);
  cairo_fill_preserve(cr);
  cairo_set_source_rgb(cr, 0.75, 0.75, 0.75);
  cairo_stroke(cr);
  for (int i = 0; i < n; i++) {
    double yc = ly + 0.3 * fs + (i + 0.5) * row;
    const double *c = palette[i % 10];
    if (s[i].n_runs > 1) {
      cairo_set_source_rgba(cr, c[0], c[1], c[2], BAND_ALPHA);
      cairo_rectangle(cr, lx + 0.5 * fs, yc - 0.4 * fs, sw, 0.8 * fs);
      cairo_fill(cr);
    }
    cairo_set_source_rgb(cr, c[0], c[1], c[2]);
    cairo_set_line_width(cr, fmax(1.5, 2.0 * fs / 13.0));
    cairo_move_to(cr, lx + 0.5 * fs, yc);
    cairo_line_to(cr, lx + 0.5 * fs + sw, yc);
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    text_at(cr, s[i].label, lx + sw + 1.0 * fs, yc, 0.0, 0.5);
  }
}

int plot_draw(const PlotSeries *s, int n, const PlotStyle *st, CoreErr *err) {
  size_t len = strlen(st->out);
  int svg = len > 4 && !strcasecmp(st->out + len - 4, ".svg");
  int png = len > 4 && !strcasecmp(st->out + len - 4, ".png");
  if (!svg && !png)
    return core_err_set(err, CORE_ERR_INVALID, "--out %s: expected a file name ending in .png or "
                        ".svg", st->out);
  cairo_surface_t *surf = svg ? cairo_svg_surface_create(st->out, st->width, st->height)
                              : cairo_image_surface_create(CAIRO_FORMAT_ARGB32, st->width,
                                                           st->height);
  cairo_status_t cs = cairo_surface_status(surf);
  if (cs == CAIRO_STATUS_SUCCESS) {
    cairo_t *cr = cairo_create(surf);
    draw(cr, s, n, st);
    cs = cairo_status(cr);
    cairo_destroy(cr);
  }
  if (cs == CAIRO_STATUS_SUCCESS && png) cs = cairo_surface_write_to_png(surf, st->out);
  cairo_surface_finish(surf);
  if (cs == CAIRO_STATUS_SUCCESS) cs = cairo_surface_status(surf);
  cairo_surface_destroy(surf);
  /* drop cairo's font caches and fontconfig's state, so nothing stays allocated (leak checkers) */
  cairo_debug_reset_static_data();
  FcFini();
  if (cs != CAIRO_STATUS_SUCCESS)
    return core_err_set(err, CORE_ERR_IO, "%s: cannot write the plot: %s", st->out,
                        cairo_status_to_string(cs));
  return CORE_OK;
}
