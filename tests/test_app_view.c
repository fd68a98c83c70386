/* test_app_view.c — `cemrl record`, `render` and `plot` end to end, through the binary
 * ($CEMRL_BIN), with their images read back by cairo.
 *
 * Rendering needs an X display: every GL run goes through `xvfb-run -a` (Mesa's software
 * renderer). scripts/install-deps.sh installs xvfb and ffmpeg, so their absence is a failure, not
 * a skip. A binary built without the viewer (CEMRL_WITH_VIEWER=OFF) has no record/render: then
 * only the plot tests run.
 *
 * Where the body must appear: the "track" cameras of HalfCheetah and Hopper look along +y from 3 m,
 * level, with the default 45 degree field of view, and at the model's reference pose (qpos0) they
 * sit exactly where the MJCF puts them relative to the torso. A point dz metres below the camera
 * at depth 3 m then lands on row H/2 + dz / 3 * (H/2) / tan(22.5 deg), a point dx metres to the
 * right on column W/2 + dx / 3 * (H/2) / tan(22.5 deg). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cairo.h>

#include "test_util.h"

#include "agents/train.h"
#include "core/alloc.h"
#include "core/rng.h"
#include "nets/mlp.h"

static char g_tmp[256];       /* this run's scratch directory */
static int g_has_viewer;      /* the binary has record/render */

/* ---------------------------------------------------------------- helpers */

static const char *bin_(void) {
  const char *b = getenv("CEMRL_BIN");
  if (!b) fail_msg("CEMRL_BIN is not set (CTest sets it to the cemrl binary)");
  return b;
}

/* Run a shell command, capture stdout+stderr into out; return its exit status (or 128 + signal). */
static int run_(char *out, size_t n, const char *fmt, ...) {
  char cmd[8192];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  char full[8300];
  snprintf(full, sizeof full, "(%s) 2>&1", cmd);
  FILE *p = popen(full, "r");
  if (!p) fail_msg("popen failed: %s", cmd);
  size_t len = 0;
  if (out && n) out[0] = '\0';
  char buf[4096];
  size_t got;
  while ((got = fread(buf, 1, sizeof buf, p)) > 0)
    if (out && len + 1 < n) {
      size_t k = got < n - 1 - len ? got : n - 1 - len;
      memcpy(out + len, buf, k);
      len += k;
      out[len] = '\0';
    }
  int st = pclose(p);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int have_tool_(const char *name) {
  char cmd[256];
  snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", name);
  return system(cmd) == 0;
}

static void require_tool_(const char *name, const char *pkg) {
  if (!have_tool_(name))
    fail_msg("%s not found: scripts/install-deps.sh installs it (apt-get install %s)", name, pkg);
}

static void write_file_(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  if (!f) fail_msg("cannot write %s", path);
  fputs(text, f);
  fclose(f);
}

/* An RGB image read from a PNG. */
typedef struct {
  int w, h;
  unsigned char *rgb;    /* (h, w, 3) */
} Img;

static Img png_read_(const char *path) {
  cairo_surface_t *s = cairo_image_surface_create_from_png(path);
  if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS)
    fail_msg("%s: not a readable PNG (%s)", path, cairo_status_to_string(cairo_surface_status(s)));
  cairo_surface_flush(s);
  Img im = {cairo_image_surface_get_width(s), cairo_image_surface_get_height(s), NULL};
  int stride = cairo_image_surface_get_stride(s);
  const unsigned char *d = cairo_image_surface_get_data(s);
  im.rgb = malloc((size_t)im.w * (size_t)im.h * 3);
  for (int y = 0; y < im.h; y++)
    for (int x = 0; x < im.w; x++) {
      uint32_t p = *(const uint32_t *)(d + (size_t)y * (size_t)stride + 4 * (size_t)x);
      unsigned char *o = im.rgb + 3 * ((size_t)y * (size_t)im.w + (size_t)x);
      o[0] = (unsigned char)(p >> 16);
      o[1] = (unsigned char)(p >> 8);
      o[2] = (unsigned char)p;
    }
  cairo_surface_destroy(s);
  return im;
}

static const unsigned char *px_(const Img *im, int x, int y) {
  return im->rgb + 3 * ((size_t)y * (size_t)im->w + (size_t)x);
}

/* The models' body colour is rgba 0.8 0.6 0.4 (lit: red > green > blue, clearly); the floor is
 * a blue-grey checker (blue above red) and the background a blue-grey gradient skybox. */
static int is_body_(const Img *im, int x, int y) {
  const unsigned char *p = px_(im, x, y);
  return p[0] > 60 && p[0] > p[2] + 30 && p[1] > p[2];
}

static char *read_all_(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc((size_t)n + 1);
  *len = fread(b, 1, (size_t)n, f);
  b[*len] = '\0';
  fclose(f);
  return b;
}

static int files_equal_(const char *a, const char *b) {
  size_t la, lb;
  char *x = read_all_(a, &la), *y = read_all_(b, &lb);
  int eq = x && y && la == lb && memcmp(x, y, la) == 0;
  free(x);
  free(y);
  return eq;
}

static int exists_(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

/* Luminance standard deviation and number of distinct colours (capped): a blank image has ~0. */
static void img_stats_(const Img *im, double *lum_std, int *colours) {
  double s = 0, ss = 0;
  int n = im->w * im->h;
  static unsigned char seen[1 << 15];
  memset(seen, 0, sizeof seen);
  *colours = 0;
  for (int i = 0; i < n; i++) {
    const unsigned char *p = im->rgb + 3 * (size_t)i;
    double l = 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
    s += l;
    ss += l * l;
    int key = (p[0] >> 3) << 10 | (p[1] >> 3) << 5 | (p[2] >> 3);
    if (!seen[key]) seen[key] = 1, (*colours)++;
  }
  double m = s / n;
  *lum_std = sqrt(fmax(0.0, ss / n - m * m));
}

static const double FOCAL_PER_HALF_H = 1.0 / 0.41421356237309503;   /* 1 / tan(22.5 deg) */

/* ---------------------------------------------------------------- setup */

static int setup_(void **state) {
  (void)state;
  if (!test_make_tmpdir(g_tmp, sizeof g_tmp, "view")) return -1;
  char out[4096];
  int rc = run_(out, sizeof out, "%s record --help", bin_());
  g_has_viewer = rc == 0;
  if (!g_has_viewer && !strstr(out, "unknown command")) {
    fprintf(stderr, "cemrl record --help failed (%d): %s\n", rc, out);
    return -1;
  }
  if (!g_has_viewer) fprintf(stderr, "note: %s has no viewer: GL tests skipped\n", bin_());
  return 0;
}

static int teardown_(void **state) {
  (void)state;
  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp);
  return system(cmd) == 0 ? 0 : -1;
}

#define NEED_VIEWER()                                                   \
  do {                                                                  \
    if (!g_has_viewer) skip();                                          \
    require_tool_("xvfb-run", "xvfb");                                  \
  } while (0)

/* ---------------------------------------------------------------- rendering a fixed state */

/* Render the pose qpos of env twice (one X server) into DIR/<tag>_a and _b; return frame 0 of a. */
static Img render_pose_(const char *env, const char *qpos, const char *tag, int w, int h) {
  char out[8192];
  int rc = run_(out, sizeof out,
                "xvfb-run -a sh -c '\"%1$s\" record --env %2$s --policy zero --qpos %3$s --frames 1 "
                "--size %4$dx%5$d --no-overlay --out \"%6$s/%7$s_a\" && \"%1$s\" record --env %2$s "
                "--policy zero --qpos %3$s --frames 1 --size %4$dx%5$d --no-overlay "
                "--out \"%6$s/%7$s_b\"'",
                bin_(), env, qpos, w, h, g_tmp, tag);
  if (rc != 0) fail_msg("record %s exited %d: %s", env, rc, out);
  char a[512], b[512];
  snprintf(a, sizeof a, "%s/%s_a/frame_000000.png", g_tmp, tag);
  snprintf(b, sizeof b, "%s/%s_b/frame_000000.png", g_tmp, tag);
  if (!files_equal_(a, b)) fail_msg("%s: the same state rendered twice gives different files", env);
  Img im = png_read_(a);
  assert_int_equal(im.w, w);
  assert_int_equal(im.h, h);
  double sd;
  int colours;
  img_stats_(&im, &sd, &colours);
  if (sd < 10.0 || colours < 20)
    fail_msg("%s: the image looks blank (luminance std %.1f, %d colours)", env, sd, colours);
  return im;
}

static void test_render_half_cheetah(void **state) {
  (void)state;
  NEED_VIEWER();
  const int W = 320, H = 240;
  Img im = render_pose_("HalfCheetah-v4", "0,0,0,0,0,0,0,0,0", "hc", W, H);
  /* torso: a horizontal capsule from x = -0.5 to 0.5 at z 0.7; camera at z 1.0 */
  double f = (H / 2.0) * FOCAL_PER_HALF_H;
  int v = (int)lround(H / 2.0 + 0.3 / 3.0 * f);
  int u = W / 2, half = (int)(0.5 / 3.0 * f);   /* 48 px */
  for (int x = u - half + 6; x <= u + half - 6; x++)
    if (!is_body_(&im, x, v)) {
      const unsigned char *p = px_(&im, x, v);
      fail_msg("HalfCheetah: torso pixel (%d, %d) is (%d, %d, %d), not the body colour", x, v,
               p[0], p[1], p[2]);
    }
  /* nothing of the body 1.3 m to either side of the torso's centre, nor 0.6 m above it */
  int far = (int)(1.3 / 3.0 * f);
  assert_false(is_body_(&im, u - far, v));
  assert_false(is_body_(&im, u + far, v));
  assert_false(is_body_(&im, u, v - (int)(0.6 / 3.0 * f)));
  /* the background above is the models' blue-grey gradient skybox, the floor below the feet
   * (z 0 is 1 m under the camera) */
  const unsigned char *sky = px_(&im, 5, 5);
  if (!(sky[2] > sky[0] + 20 && sky[0] + sky[1] + sky[2] > 150))
    fail_msg("HalfCheetah: sky pixel (%d, %d, %d) is not the skybox's blue-grey", sky[0], sky[1],
             sky[2]);
  const unsigned char *floor_px = px_(&im, 5, H - 5);
  assert_true(floor_px[2] > floor_px[0]);
  /* the body is all between the torso's ends (plus head and feet), and above the floor */
  int body_px = 0, outside = 0;
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      if (is_body_(&im, x, y)) {
        body_px++;
        outside += x < u - (int)(0.9 / 3.0 * f) || x > u + (int)(0.9 / 3.0 * f) ||
                   y > (int)lround(H / 2.0 + 1.0 / 3.0 * f) + 2;
      }
  assert_true(body_px > 800);
  assert_int_equal(outside, 0);

  /* another pose (the torso pitched) gives another image */
  Img im2 = render_pose_("HalfCheetah-v4", "0,0,0.6,0,0,0,0,0,0", "hc_pitch", W, H);
  int differ = 0;
  for (size_t i = 0; i < (size_t)W * H * 3; i++) differ += im.rgb[i] != im2.rgb[i];
  assert_true(differ > 500);
  free(im.rgb);
  free(im2.rgb);
}

static void test_render_hopper(void **state) {
  (void)state;
  NEED_VIEWER();
  const int W = 320, H = 240;
  Img im = render_pose_("Hopper-v4", "0,1.25,0,0,0,0", "hop", W, H);
  /* torso: a vertical capsule from z 1.05 to 1.45 at x 0; camera at z 1.0 */
  double f = (H / 2.0) * FOCAL_PER_HALF_H;
  int u = W / 2;
  int v_top = (int)lround(H / 2.0 - 0.45 / 3.0 * f), v_bot = (int)lround(H / 2.0 - 0.05 / 3.0 * f);
  for (int y = v_top + 4; y <= v_bot; y++)
    if (!is_body_(&im, u, y)) fail_msg("Hopper: torso pixel (%d, %d) is not the body colour", u, y);
  /* thin: 0.3 m to either side of the torso is not body; above the torso's top neither */
  int side = (int)(0.3 / 3.0 * f);
  int v_mid = (v_top + v_bot) / 2;
  assert_false(is_body_(&im, u - side, v_mid));
  assert_false(is_body_(&im, u + side, v_mid));
  assert_false(is_body_(&im, u, v_top - 8));
  free(im.rgb);
}

/* ---------------------------------------------------------------- recording */

static int count_frames_(const char *dir) {
  int n = 0;
  char path[1024];
  for (int k = 0; k < 100000; k++) {
    snprintf(path, sizeof path, "%s/frame_%06d.png", dir, k);
    if (!exists_(path)) break;
    n++;
  }
  return n;
}

static void test_record_frames_and_mp4(void **state) {
  (void)state;
  NEED_VIEWER();
  require_tool_("ffmpeg", "ffmpeg");
  require_tool_("ffprobe", "ffmpeg");
  char out[8192], dir[512], dir2[512], mp4[512], fallback[512];
  snprintf(dir, sizeof dir, "%s/seq", g_tmp);
  snprintf(dir2, sizeof dir2, "%s/seq_every", g_tmp);
  snprintf(mp4, sizeof mp4, "%s/clip.mp4", g_tmp);
  snprintf(fallback, sizeof fallback, "%s/nofx.mp4", g_tmp);
  /* a stale longer recording in the directory must not survive */
  char stale[600];
  snprintf(stale, sizeof stale, "%s/frame_000009.png", dir);
  mkdir(dir, 0777);
  write_file_(stale, "old");
  int rc = run_(out, sizeof out,
                "xvfb-run -a sh -c '"
                "\"%1$s\" record --env Hopper-v4 --policy random --seed 3 --frames 7 --size 96x64 "
                "--out \"%2$s\" && "
                "\"%1$s\" record --env Hopper-v4 --policy random --seed 3 --frames 3 --every 2 "
                "--size 96x64 --out \"%3$s\" && "
                "\"%1$s\" record --env HalfCheetah-v4 --policy random --frames 12 --size 160x120 "
                "--out \"%4$s\" && "
                "CEMRL_FFMPEG=none \"%1$s\" record --env HalfCheetah-v4 --frames 2 --size 64x48 "
                "--out \"%5$s\"'",
                bin_(), dir, dir2, mp4, fallback);
  if (rc != 0) fail_msg("record exited %d: %s", rc, out);
  assert_int_equal(count_frames_(dir), 7);
  assert_false(exists_(stale));
  assert_contains(out, "wrote 7 frames (96x64");
  assert_int_equal(count_frames_(dir2), 3);
  /* --every 2 keeps frames 0, 2, 4 of the same rollout as the first recording */
  char a[600], b[600];
  snprintf(a, sizeof a, "%s/frame_000002.png", dir);
  snprintf(b, sizeof b, "%s/frame_000001.png", dir2);
  assert_true(files_equal_(a, b));
  snprintf(a, sizeof a, "%s/frame_000004.png", dir);
  snprintf(b, sizeof b, "%s/frame_000002.png", dir2);
  assert_true(files_equal_(a, b));
  /* the MP4: 12 frames of 160x120 H.264 that ffprobe decodes */
  rc = run_(out, sizeof out,
            "ffprobe -v error -count_frames -select_streams v:0 -show_entries "
            "stream=nb_read_frames,width,height -of default=nw=1 \"%s\"", mp4);
  if (rc != 0) fail_msg("ffprobe failed on %s: %s", mp4, out);
  assert_contains(out, "width=160");
  assert_contains(out, "height=120");
  assert_contains(out, "nb_read_frames=12");
  /* without ffmpeg: PNG frames beside the requested file */
  snprintf(a, sizeof a, "%s/nofx_frames", g_tmp);
  assert_int_equal(count_frames_(a), 2);
  assert_false(exists_(fallback));
}

/* A saved policy plays the episodes `cemrl eval` evaluates: same seed, same return. */
static void test_record_matches_eval(void **state) {
  (void)state;
  NEED_VIEWER();
  CoreErr err;
  core_err_clear(&err);
  NnLayerDesc layers[] = {{.kind = NN_LINEAR, .out = 16}, {.kind = NN_TANH},
                          {.kind = NN_LINEAR, .out = 6}, {.kind = NN_TANH}};
  NnMlp *net = nn_mlp_create(17, layers, 4, 1, &err);
  assert_non_null(net);
  CoreRng rng;
  core_rng_stream(&rng, 5, CORE_RNG_TEST, 0);
  nn_mlp_init(net, NN_INIT_TORCH, 0.0, &rng);
  char pol[512], out[8192], ev[4096];
  snprintf(pol, sizeof pol, "%s/policy.ckpt", g_tmp);
  assert_int_equal(train_save_policy(net, "HalfCheetah-v4", pol, &err), 0);
  nn_mlp_free(net);
  int rc = run_(ev, sizeof ev, "\"%s\" eval \"%s\" --episodes 1 --seed 7", bin_(), pol);
  if (rc != 0) fail_msg("eval exited %d: %s", rc, ev);
  const char *r = strstr(ev, "return ");
  assert_non_null(r);
  char want[64];
  snprintf(want, sizeof want, "episode 1: return %.*s over 1000 steps", (int)strcspn(r + 7, " "),
           r + 7);
  rc = run_(out, sizeof out,
            "xvfb-run -a \"%s\" record \"%s\" --seed 7 --every 250 --size 64x48 --out \"%s/ev\"",
            bin_(), pol, g_tmp);
  if (rc != 0) fail_msg("record exited %d: %s", rc, out);
  assert_contains(out, want);
  assert_contains(out, "wrote 5 frames");   /* steps 0, 250, 500, 750, 1000 */
}

static void test_render_window(void **state) {
  (void)state;
  NEED_VIEWER();
  char out[8192], shot[512];
  snprintf(shot, sizeof shot, "%s/window.png", g_tmp);
  int rc = run_(out, sizeof out,
                "timeout 120 xvfb-run -a \"%s\" render --env Hopper-v4 --policy random --steps 40 "
                "--speed 32 --size 320x240 --screenshot \"%s\"", bin_(), shot);
  if (rc != 0) fail_msg("render exited %d: %s", rc, out);
  Img im = png_read_(shot);
  assert_int_equal(im.w, 320);
  assert_int_equal(im.h, 240);
  double sd;
  int colours;
  img_stats_(&im, &sd, &colours);
  assert_true(sd > 10.0 && colours > 20);
  int body = 0;
  for (int y = 0; y < im.h; y++)
    for (int x = 0; x < im.w; x++) body += is_body_(&im, x, y);
  assert_true(body > 100);
  free(im.rgb);
}

static void test_no_display(void **state) {
  (void)state;
  if (!g_has_viewer) skip();
  char out[4096];
  int rc = run_(out, sizeof out,
                "env -u DISPLAY -u WAYLAND_DISPLAY \"%s\" record --env HalfCheetah-v4 --frames 1 "
                "--out \"%s/nodisp\"", bin_(), g_tmp);
  assert_int_equal(rc, 1);
  assert_contains(out, "no display");
  assert_contains(out, "xvfb-run");
  rc = run_(out, sizeof out, "env -u DISPLAY -u WAYLAND_DISPLAY \"%s\" render --env Hopper-v4",
            bin_());
  assert_int_equal(rc, 1);
  assert_contains(out, "xvfb-run");
  /* errors before any GL: a task without a model, a wrong pose, a missing policy */
  rc = run_(out, sizeof out, "\"%s\" record --env Pendulum-v1 --out \"%s/x\"", bin_(), g_tmp);
  assert_int_equal(rc, 2);
  assert_contains(out, "Pendulum-v1 has no MuJoCo model");
  rc = run_(out, sizeof out, "\"%s\" record --env Hopper-v4 --qpos 1,2 --out \"%s/x\"", bin_(),
            g_tmp);
  assert_int_equal(rc, 2);
  assert_contains(out, "has 6 position coordinates (nq), got 2");
  rc = run_(out, sizeof out, "\"%s\" record \"%s/nope\" --out \"%s/x\"", bin_(), g_tmp, g_tmp);
  assert_int_equal(rc, 2);
  rc = run_(out, sizeof out, "\"%s\" record --env Hopper-v4 --size 321x240 --out \"%s/x.mp4\"",
            bin_(), g_tmp);
  assert_int_equal(rc, 2);
  assert_contains(out, "even");
}

/* ---------------------------------------------------------------- plot */

/* A run directory with a config (method m, seed s) and eval_mean = y0 + slope * step / 1000. The
 * seeds also differ in settings that change no number of a curve (threads, step budget,
 * checkpoint period), and seed 1 spells out a default the others leave out: one config still. */
static void make_run_(const char *name, const char *method, int seed, double y0, double slope,
                      int rows) {
  char dir[512], path[600], buf[8192];
  snprintf(dir, sizeof dir, "%s/runs/%s", g_tmp, name);
  snprintf(path, sizeof path, "mkdir -p '%s'", dir);
  assert_int_equal(system(path), 0);
  snprintf(path, sizeof path, "%s/config.resolved.json", dir);
  snprintf(buf, sizeof buf,
           "{\n  \"env\": \"Hopper-v4\",\n  \"method\": \"%s\",\n  \"seed\": %d,\n"
           "  \"threads\": %d,\n  \"total_steps\": %d,\n  \"checkpoint_every\": %d,\n"
           "  \"td3\": {\"tau\": 0.005}%s\n}\n", method, seed, 1 + seed % 2, 1000 * (rows + seed),
           1 + seed, seed == 1 ? ",\n  \"eval_episodes\": 10" : "");
  write_file_(path, buf);
  size_t len = (size_t)snprintf(buf, sizeof buf,
                                "step,wall_time,episodes,eval_mean,eval_std,critic_loss\n");
  for (int k = 0; k < rows; k++)
    len += (size_t)snprintf(buf + len, sizeof buf - len, "%d,%g,%d,%.17g,1.5,%s\n", k * 1000,
                            0.5 * k, k, y0 + slope * k, k == 0 ? "nan" : "0.25");
  snprintf(path, sizeof path, "%s/progress.csv", dir);
  write_file_(path, buf);
}

/* Pixels within 40 (per channel) of colour c, per row, inside columns [x0, x1). */
static int row_count_(const Img *im, int y, int x0, int x1, const double c[3], int tol) {
  int n = 0;
  for (int x = x0; x < x1; x++) {
    const unsigned char *p = px_(im, x, y);
    int ok = 1;
    for (int k = 0; k < 3; k++) ok &= abs((int)p[k] - (int)lround(c[k] * 255)) <= tol;
    n += ok;
  }
  return n;
}

static const double TAB_BLUE[3] = {0x1f / 255.0, 0x77 / 255.0, 0xb4 / 255.0};
static const double TAB_ORANGE[3] = {0xff / 255.0, 0x7f / 255.0, 0x0e / 255.0};

static void test_plot_png_series(void **state) {
  (void)state;
  /* config A: three seeds at 90, 100, 110 (flat); B: one run at -50; A's seed 2 is longer */
  make_run_("a_s0", "td3", 0, 90.0, 0.0, 6);
  make_run_("a_s1", "td3", 1, 100.0, 0.0, 6);
  make_run_("a_s2", "td3", 2, 110.0, 0.0, 8);
  make_run_("b_s0", "cem", 0, -50.0, 0.0, 6);
  char out[8192], png[512];
  snprintf(png, sizeof png, "%s/curves.png", g_tmp);
  int rc = run_(out, sizeof out,
                "cd \"%1$s/runs\" && \"%2$s\" plot a_s0 a_s1 b_s0/ a_s2 --out \"%3$s\"",
                g_tmp, bin_(), png);
  if (rc != 0) fail_msg("plot exited %d: %s", rc, out);
  assert_contains(out, "2 series");
  assert_contains(out, "a (3 runs): 6 points, step 0..5000, last eval_mean 100 (band 90..110)");
  assert_contains(out, "the longest reaches step 7000");
  assert_contains(out, "b_s0: 6 points, step 0..5000, last eval_mean -50");
  Img im = png_read_(png);
  assert_int_equal(im.w, 800);
  assert_int_equal(im.h, 500);
  /* each mean is a horizontal line across most of the plot: find its row */
  int row_a = -1, row_b = -1, best_a = 0, best_b = 0;
  for (int y = 0; y < im.h; y++) {
    int na = row_count_(&im, y, 0, im.w, TAB_BLUE, 40);
    int nb = row_count_(&im, y, 0, im.w, TAB_ORANGE, 40);
    if (na > best_a) best_a = na, row_a = y;
    if (nb > best_b) best_b = nb, row_b = y;
  }
  assert_true(best_a > 400 && best_b > 400);
  assert_true(row_a < row_b);   /* 100 is drawn above -50 */
  /* A's band (the blue at 20% over white) spans rows above and below its line; B has none */
  double band_a[3], band_b[3];
  for (int k = 0; k < 3; k++) {
    band_a[k] = 0.2 * TAB_BLUE[k] + 0.8;
    band_b[k] = 0.2 * TAB_ORANGE[k] + 0.8;
  }
  int above = row_count_(&im, row_a - 6, 0, im.w, band_a, 6);
  int below = row_count_(&im, row_a + 6, 0, im.w, band_a, 6);
  assert_true(above > 400 && below > 400);
  int b_band = 0;
  for (int y = 0; y < im.h; y++) b_band += row_count_(&im, y, 0, im.w, band_b, 4);
  assert_true(b_band < 50);
  free(im.rgb);

  /* --separate: four series; --band none; --y another column */
  rc = run_(out, sizeof out, "cd \"%s/runs\" && \"%s\" plot a_s0 a_s1 a_s2 b_s0 --separate "
            "--y critic_loss --band none --out \"%s\"", g_tmp, bin_(), png);
  if (rc != 0) fail_msg("plot --separate exited %d: %s", rc, out);
  assert_contains(out, "4 series of critic_loss");
  assert_contains(out, "a_s2: 7 points, step 1000..7000");   /* the nan row is left out */
}

static void test_plot_svg(void **state) {
  (void)state;
  make_run_("c_s0", "td3", 0, 0.0, 10.0, 5);
  make_run_("c_s1", "td3", 1, 5.0, 10.0, 5);
  make_run_("d_s0", "cem", 0, 0.0, -3.0, 5);
  char out[8192], svg[512];
  snprintf(svg, sizeof svg, "%s/curves.svg", g_tmp);
  int rc = run_(out, sizeof out, "cd \"%s/runs\" && \"%s\" plot c_s0 c_s1 d_s0 --out \"%s\" "
                "--title 'Hopper test'", g_tmp, bin_(), svg);
  if (rc != 0) fail_msg("plot svg exited %d: %s", rc, out);
  assert_contains(out, "c (2 runs): 5 points, step 0..4000, last eval_mean 42.5");
  size_t len;
  char *text = read_all_(svg, &len);
  assert_non_null(text);
  assert_true(!strncmp(text, "<?xml", 5));
  assert_contains(text, "<svg");
  assert_contains(text, "</svg>");
  assert_contains(text, "width=\"800pt\" height=\"500pt\"");
  /* cairo writes colours as percentages: the two series' strokes and the first one's band */
  assert_contains(text, "stroke:rgb(12.156863%,46.666667%,70.588235%)");
  assert_contains(text, "stroke:rgb(100%,49.803922%,5.490196%)");
  assert_contains(text, "fill:rgb(12.156863%,46.666667%,70.588235%);fill-opacity:0.2");
  assert_null(strstr(text, "fill:rgb(100%,49.803922%,5.490196%);fill-opacity:0.2"));
  free(text);
}

static void test_plot_errors(void **state) {
  (void)state;
  char out[8192], d[512];
  snprintf(d, sizeof d, "%s/bad", g_tmp);
  assert_int_equal(mkdir(d, 0777), 0);
  char p[600];
  snprintf(p, sizeof p, "%s/word.csv", d);
  write_file_(p, "step,eval_mean\n0,1\n1000,2\n2000,abc\n");
  int rc = run_(out, sizeof out, "\"%s\" plot \"%s\" --out \"%s/x.png\"", bin_(), p, d);
  assert_int_equal(rc, 2);
  assert_contains(out, "word.csv:4: column 'eval_mean': 'abc' is not a number");
  snprintf(p, sizeof p, "%s/fields.csv", d);
  write_file_(p, "step,eval_mean,eval_std\n0,1,2\n1000,2\n");
  rc = run_(out, sizeof out, "\"%s\" plot \"%s\" --out \"%s/x.png\"", bin_(), p, d);
  assert_int_equal(rc, 2);
  assert_contains(out, "fields.csv:3: 2 fields, but the header has 3");
  snprintf(p, sizeof p, "%s/empty.csv", d);
  write_file_(p, "");
  rc = run_(out, sizeof out, "\"%s\" plot \"%s\" --out \"%s/x.png\"", bin_(), p, d);
  assert_int_equal(rc, 2);
  assert_contains(out, "empty.csv: empty file");
  snprintf(p, sizeof p, "%s/header.csv", d);
  write_file_(p, "step,eval_mean\n");
  rc = run_(out, sizeof out, "\"%s\" plot \"%s\" --out \"%s/x.png\"", bin_(), p, d);
  assert_int_equal(rc, 2);
  assert_contains(out, "header.csv: no rows with a number in 'eval_mean'");
  snprintf(p, sizeof p, "%s/nocol.csv", d);
  write_file_(p, "step,return\n0,1\n");
  rc = run_(out, sizeof out, "\"%s\" plot \"%s\" --out \"%s/x.png\"", bin_(), p, d);
  assert_int_equal(rc, 2);
  assert_contains(out, "nocol.csv:1: no column 'eval_mean'");
  snprintf(p, sizeof p, "%s/back.csv", d);
  write_file_(p, "step,eval_mean\n0,1\n2000,2\n1000,3\n");
  rc = run_(out, sizeof out, "\"%s\" plot \"%s\" --out \"%s/x.png\"", bin_(), p, d);
  assert_int_equal(rc, 2);
  assert_contains(out, "back.csv:4: step 1000 comes after 2000");
  /* a row still being written (no newline yet) is left out, not an error */
  snprintf(p, sizeof p, "%s/partial.csv", d);
  write_file_(p, "step,eval_mean\n0,1\n1000,2\n2000,3.");
  rc = run_(out, sizeof out, "\"%s\" plot \"%s\" --out \"%s/x.svg\"", bin_(), p, d);
  assert_int_equal(rc, 0);
  rc = run_(out, sizeof out, "\"%s\" plot \"%s\" --out \"%s/x.png\"", bin_(), d, d);
  assert_int_equal(rc, 2);
  assert_contains(out, "no progress.csv here");
  rc = run_(out, sizeof out, "\"%s\" plot \"%s\" --out \"%s/x.jpg\"", bin_(), p, d);
  assert_int_equal(rc, 2);
  assert_contains(out, "expected a file name ending in .png or .svg");
  rc = run_(out, sizeof out, "\"%s\" plot \"%s\" --out /nonexistent/dir/x.png", bin_(), p);
  assert_int_equal(rc, 2);
  assert_contains(out, "/nonexistent/dir/x.png: cannot write the plot");
  rc = run_(out, sizeof out, "\"%s\" plot", bin_());
  assert_int_equal(rc, 2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_plot_png_series),
      cmocka_unit_test(test_plot_svg),
      cmocka_unit_test(test_plot_errors),
      cmocka_unit_test(test_no_display),
      cmocka_unit_test(test_render_half_cheetah),
      cmocka_unit_test(test_render_hopper),
      cmocka_unit_test(test_record_frames_and_mp4),
      cmocka_unit_test(test_record_matches_eval),
      cmocka_unit_test(test_render_window),
  };
  return cmocka_run_group_tests(tests, setup_, teardown_);
}
