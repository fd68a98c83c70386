/* viewer.c — `cemrl render`: the interactive viewer. A GLFW window replays the policy live with
 * MuJoCo's renderer, in real time (or slower, faster, paused, one step at a time), with the torso
 * camera or a free mouse camera and an overlay of episode, step, reward and return. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/app.h"
#include "app/viewer_play.h"
#include "app/viewer_render.h"
#include "core/alloc.h"

#define SPEED_EXP_MIN (-5)   /* 1/32 of real time */
#define SPEED_EXP_MAX 5      /* 32 x real time */
#define HOLD_SECONDS 1.5     /* a finished episode's last frame stays this long */

static void print_help(void) {
  printf(
      "usage: cemrl render RUN_DIR|POLICY.ckpt [--env NAME] [--seed S] [options]\n"
      "       cemrl render --env NAME --policy zero|random [options]\n\n"
      "Watch a saved policy (a run directory's policy.ckpt) act in its MuJoCo task, live, in a\n"
      "window; with --policy, the task itself under zero or random actions. Episode i starts as\n"
      "`cemrl eval` episode i does with the same seed; a finished episode is followed by the next.\n\n"
      "  --env NAME        the MuJoCo task (required with --policy; with a saved policy it\n"
      "                    replaces the policy's env, which must have the same dimensions)\n"
      "  --policy P        zero or random actions instead of a saved policy\n"
      "  --seed S          evaluation seed (default 100, as `cemrl eval`)\n"
      "  --speed X         start at X times real time (a power of two, default 1)\n"
      "  --size WxH        window size (default 1280x720)\n"
      "  --camera C        track (default: follows the torso) or free\n"
      "  --qpos LIST       start every episode from this pose (nq comma-separated values)\n"
      "  --steps N         quit after N steps (default: when the window closes)\n"
      "  --screenshot F    save the last frame shown to F (PNG) when quitting\n\n"
      "keys:   space pause/resume    right or N  one step (pauses)    R or backspace  reset\n"
      "        E  next episode       up/+ faster, down/- slower          tab or C  camera\n"
      "        P  screenshot (cemrl_ENV_eEPISODE_sSTEP.png here)          H or F1  help\n"
      "        Q or escape  quit\n"
      "mouse:  left drag rotate, right drag move, middle drag or wheel zoom (shift: horizontal\n"
      "        plane); the first drag switches the camera to free.\n\n"
      "Needs a display; for a video without one see `cemrl record` (it works under xvfb-run).\n");
}

typedef struct {
  ViewerPlay play;
  ViewerScene vs;
  GLFWwindow *win;
  int paused;
  int step_once;
  int show_help;
  int speed_exp;           /* speed = 2^speed_exp times real time */
  double sim_debt;         /* simulated seconds owed to the wall clock */
  double hold_until;       /* wall time until which a finished episode's last frame stays */
  int btn_left, btn_right, btn_middle;
  double last_x, last_y;
  int want_screenshot;
  char message[1100];      /* shown in the top-right corner until message_until */
  double message_until;
} Viewer;

static void viewer_message(Viewer *v, double seconds, const char *msg) {
  snprintf(v->message, sizeof v->message, "%s", msg);
  v->message_until = glfwGetTime() + seconds;
}

static void speed_change(Viewer *v, int by) {
  int e = v->speed_exp + by;
  if (e < SPEED_EXP_MIN || e > SPEED_EXP_MAX) return;
  v->speed_exp = e;
  v->sim_debt = 0.0;
}

static void on_key(GLFWwindow *w, int key, int scancode, int action, int mods) {
  (void)scancode;
  (void)mods;
  if (action == GLFW_RELEASE) return;
  Viewer *v = glfwGetWindowUserPointer(w);
  switch (key) {
    case GLFW_KEY_ESCAPE: case GLFW_KEY_Q:
      glfwSetWindowShouldClose(w, GLFW_TRUE);
      break;
    case GLFW_KEY_SPACE:
      v->paused = !v->paused;
      v->sim_debt = 0.0;
      break;
    case GLFW_KEY_RIGHT: case GLFW_KEY_N:
      v->paused = 1;
      v->step_once = 1;
      break;
    case GLFW_KEY_R: case GLFW_KEY_BACKSPACE:
      viewer_play_reset(&v->play);
      v->hold_until = 0.0;
      v->sim_debt = 0.0;
      break;
    case GLFW_KEY_E:
      viewer_play_next_episode(&v->play);
      v->hold_until = 0.0;
      v->sim_debt = 0.0;
      break;
    case GLFW_KEY_UP: case GLFW_KEY_EQUAL: case GLFW_KEY_KP_ADD:
      speed_change(v, 1);
      break;
    case GLFW_KEY_DOWN: case GLFW_KEY_MINUS: case GLFW_KEY_KP_SUBTRACT:
      speed_change(v, -1);
      break;
    case GLFW_KEY_TAB: case GLFW_KEY_C:
      viewer_scene_camera(&v->vs, v->play.m, v->play.d,
                          v->vs.cam_mode == VIEWER_CAM_TRACK ? VIEWER_CAM_FREE : VIEWER_CAM_TRACK);
      break;
    case GLFW_KEY_H: case GLFW_KEY_F1:
      v->show_help = !v->show_help;
      break;
    case GLFW_KEY_P:
      v->want_screenshot = 1;
      break;
    default:
      break;
  }
}

static void on_button(GLFWwindow *w, int button, int action, int mods) {
  (void)mods;
  Viewer *v = glfwGetWindowUserPointer(w);
  int down = action == GLFW_PRESS;
  if (button == GLFW_MOUSE_BUTTON_LEFT) v->btn_left = down;
  if (button == GLFW_MOUSE_BUTTON_RIGHT) v->btn_right = down;
  if (button == GLFW_MOUSE_BUTTON_MIDDLE) v->btn_middle = down;
  glfwGetCursorPos(w, &v->last_x, &v->last_y);
}

/* Mouse camera: the first drag leaves the torso camera for the free one, starting from its view. */
static void camera_to_free(Viewer *v) {
  if (v->vs.cam_mode != VIEWER_CAM_FREE)
    viewer_scene_camera(&v->vs, v->play.m, v->play.d, VIEWER_CAM_FREE);
}

static void on_cursor(GLFWwindow *w, double x, double y) {
  Viewer *v = glfwGetWindowUserPointer(w);
  if (!v->btn_left && !v->btn_right && !v->btn_middle) return;
  double dx = x - v->last_x, dy = y - v->last_y;
  v->last_x = x;
  v->last_y = y;
  int width, height;
  glfwGetWindowSize(w, &width, &height);
  if (height <= 0) return;
  int shift = glfwGetKey(w, GLFW_KEY_LEFT_SHIFT) == GLFW_PRESS ||
              glfwGetKey(w, GLFW_KEY_RIGHT_SHIFT) == GLFW_PRESS;
  int action = v->btn_right ? (shift ? mjMOUSE_MOVE_H : mjMOUSE_MOVE_V)
               : v->btn_left ? (shift ? mjMOUSE_ROTATE_H : mjMOUSE_ROTATE_V)
                             : mjMOUSE_ZOOM;
  camera_to_free(v);
  mjv_moveCamera(v->play.m, action, dx / height, dy / height, &v->vs.scn, &v->vs.cam);
}

static void on_scroll(GLFWwindow *w, double xoff, double yoff) {
  (void)xoff;
  Viewer *v = glfwGetWindowUserPointer(w);
  camera_to_free(v);
  mjv_moveCamera(v->play.m, mjMOUSE_ZOOM, 0.0, -0.05 * yoff, &v->vs.scn, &v->vs.cam);
}

/* Read the window's back buffer (just rendered) and write it as a PNG. */
static int screenshot(Viewer *v, mjrRect vp, const char *path, CoreErr *err) {
  unsigned char *rgb = core_malloc((size_t)vp.width * (size_t)vp.height * 3);
  if (!rgb) return core_err_set(err, CORE_ERR_NOMEM, "out of memory for a screenshot");
  mjr_readPixels(rgb, NULL, vp, &v->vs.con);
  size_t row = (size_t)vp.width * 3;
  for (int y = 0; y < vp.height / 2; y++) {
    unsigned char *a = rgb + (size_t)y * row, *b = rgb + (size_t)(vp.height - 1 - y) * row;
    for (size_t k = 0; k < row; k++) {
      unsigned char t = a[k];
      a[k] = b[k];
      b[k] = t;
    }
  }
  int rc = viewer_png_write(path, rgb, vp.width, vp.height, err);
  core_free(rgb);
  return rc;
}

static void draw_overlays(Viewer *v, mjrRect vp, double now) {
  ViewerPlay *p = &v->play;
  char titles[256], values[512];
  snprintf(titles, sizeof titles, "env\npolicy\nepisode\nstep\nreward\nreturn");
  snprintf(values, sizeof values, "%s\n%s\n%d\n%d\n%.3f\n%.2f", p->env->name, p->policy_label,
           p->episode + 1, p->step, p->reward, p->ret);
  mjr_overlay(mjFONT_NORMAL, mjGRID_TOPLEFT, vp, titles, values, &v->vs.con);

  char speed[32];
  if (v->speed_exp >= 0) snprintf(speed, sizeof speed, "%dx", 1 << v->speed_exp);
  else snprintf(speed, sizeof speed, "1/%dx", 1 << -v->speed_exp);
  snprintf(titles, sizeof titles, "%s\ncamera\nkeys", v->paused ? "PAUSED" : "speed");
  snprintf(values, sizeof values, "%s\n%s\nH for help", v->paused ? "space to resume" : speed,
           v->vs.cam_mode == VIEWER_CAM_FREE ? "free (tab: torso)" : "torso (tab: free)");
  mjr_overlay(mjFONT_NORMAL, mjGRID_BOTTOMLEFT, vp, titles, values, &v->vs.con);

  if (v->show_help)
    mjr_overlay(mjFONT_NORMAL, mjGRID_TOPRIGHT, vp,
                "space\nright, N\nR, backspace\nE\nup, down\ntab, C\nP\nmouse\nwheel\nQ, esc",
                "pause / resume\none step\nreset episode\nnext episode\nfaster / slower\n"
                "torso / free camera\nscreenshot\nrotate, move, zoom\nzoom\nquit",
                &v->vs.con);
  else if (now < v->message_until)
    mjr_overlay(mjFONT_SHADOW, mjGRID_TOPRIGHT, vp, v->message, NULL, &v->vs.con);
}

static void sleep_seconds(double s) {
  if (s <= 0.0) return;
  struct timespec ts = {(time_t)s, (long)((s - floor(s)) * 1e9)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

int cmd_render(int argc, char **argv) {
  const char *cmd = "render";
  ViewerPlayOpts po = {.seed = 100};
  const char *camera = "track", *qpos_arg = NULL, *shot_path = NULL;
  long width = 1280, height = 720, max_steps = 0;
  int speed_exp = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      print_help();
      return 0;
    }
    if (a[0] != '-') {
      if (po.target) return app_usage_error(cmd, "more than one policy given ('%s')", a);
      po.target = a;
      continue;
    }
    static const char *const with_value[] = {"--env", "--policy", "--seed", "--speed", "--size",
                                             "--camera", "--qpos", "--steps", "--screenshot",
                                             NULL};
    int known = 0;
    for (int k = 0; with_value[k]; k++) known |= !strcmp(a, with_value[k]);
    if (!known) return app_usage_error(cmd, "unknown option '%s'", a);
    if (!v) return app_usage_error(cmd, "%s needs a value", a);
    i++;
    char *end;
    if (!strcmp(a, "--env")) {
      po.env_name = v;
    } else if (!strcmp(a, "--policy")) {
      if (strcmp(v, "zero") && strcmp(v, "random"))
        return app_usage_error(cmd, "--policy '%s': expected zero or random", v);
      po.policy = v;
    } else if (!strcmp(a, "--seed") || !strcmp(a, "--steps")) {
      int is_seed = !strcmp(a, "--seed");
      errno = 0;
      long long n = strtoll(v, &end, 10);
      if (!*v || *end || errno || n < (is_seed ? 0 : 1))
        return app_usage_error(cmd, "%s: '%s' is not a whole number >= %d", a, v, is_seed ? 0 : 1);
      if (is_seed) po.seed = (uint64_t)n;
      else max_steps = (long)n;
    } else if (!strcmp(a, "--speed")) {
      double s = strtod(v, &end);
      int e = (int)lround(log2(s > 0 ? s : 1e-300));
      if (!*v || *end || !(s > 0) || fabs(ldexp(1.0, e) - s) > 1e-9 * s || e < SPEED_EXP_MIN ||
          e > SPEED_EXP_MAX)
        return app_usage_error(cmd, "--speed '%s': expected a power of two from 1/32 to 32", v);
      speed_exp = e;
    } else if (!strcmp(a, "--size")) {
      char *x = NULL;
      end = NULL;
      width = strtol(v, &x, 10);
      if (x && (*x == 'x' || *x == 'X')) height = strtol(x + 1, &end, 10);
      if (!end || *end || x == v || end == x + 1 || width < 64 || height < 64 || width > 16384 ||
          height > 16384)
        return app_usage_error(cmd, "--size '%s': expected WIDTHxHEIGHT, e.g. 1280x720", v);
    } else if (!strcmp(a, "--camera")) {
      if (strcmp(v, "track") && strcmp(v, "free"))
        return app_usage_error(cmd, "--camera '%s': expected track or free", v);
      camera = v;
    } else if (!strcmp(a, "--qpos")) {
      qpos_arg = v;
    } else {
      shot_path = v;
    }
  }
  if (po.target && po.policy)
    return app_usage_error(cmd, "give a saved policy or --policy zero|random, not both");
  if (!po.target && !po.env_name)
    return app_usage_error(cmd, "give a run directory or policy file, or --env NAME (with "
                           "--policy zero|random)");

  CoreErr err;
  core_err_clear(&err);
  double *qpos = NULL;
  if (qpos_arg && viewer_parse_numbers("--qpos", qpos_arg, &qpos, &po.n_qpos, &err))
    return app_fail(&err);
  po.qpos = qpos;
  Viewer *v = core_calloc(1, sizeof *v);
  if (!v) {
    core_free(qpos);
    return app_fail(&(CoreErr){CORE_ERR_NOMEM, "out of memory"});
  }
  int rc = viewer_play_open(&v->play, &po, &err);
  core_free(qpos);
  if (rc) {
    core_free(v);
    return app_fail(&err);
  }
  if ((rc = viewer_gl_init(&err))) {
    viewer_play_close(&v->play);
    core_free(v);
    return app_fail(&err);
  }
  char title[256];
  snprintf(title, sizeof title, "cemrl render: %s, %s", v->play.env->name, v->play.policy_label);
  v->win = viewer_window_create((int)width, (int)height, title, 1, &err);
  if (!v->win || (rc = viewer_scene_init(&v->vs, v->play.m, mjFONTSCALE_150, &err))) {
    if (v->win) glfwDestroyWindow(v->win);
    viewer_gl_terminate();
    viewer_play_close(&v->play);
    core_free(v);
    return app_fail(&err);
  }
  viewer_scene_camera(&v->vs, v->play.m, v->play.d,
                      !strcmp(camera, "free") ? VIEWER_CAM_FREE : VIEWER_CAM_TRACK);
  v->speed_exp = speed_exp;
  glfwSetWindowUserPointer(v->win, v);
  glfwSetKeyCallback(v->win, on_key);
  glfwSetMouseButtonCallback(v->win, on_button);
  glfwSetCursorPosCallback(v->win, on_cursor);
  glfwSetScrollCallback(v->win, on_scroll);
  glfwSwapInterval(1);

  const double dt = v->play.env->dt;
  long steps_total = 0;
  double t_prev = glfwGetTime();
  mjrRect vp = {0, 0, 0, 0};
  while (!glfwWindowShouldClose(v->win)) {
    double t_frame = glfwGetTime();
    double wall = fmin(t_frame - t_prev, 0.1);   /* after a stall, do not race to catch up */
    t_prev = t_frame;
    ViewerPlay *p = &v->play;
    if (p->done && t_frame >= v->hold_until) {
      viewer_play_next_episode(p);
      v->sim_debt = 0.0;
    }
    if (!p->done && (v->step_once || !v->paused)) {
      /* step as many times as the simulated clock is behind the wall clock, bounded per frame */
      v->sim_debt += v->step_once ? dt : wall * ldexp(1.0, v->speed_exp);
      v->step_once = 0;
      for (int n = 0; v->sim_debt >= dt * 0.999 && n < 200 && !p->done; n++) {
        v->sim_debt -= dt;
        steps_total++;
        if (viewer_play_step(p)) {
          char msg[160];
          snprintf(msg, sizeof msg, "episode %d: return %.1f (%d steps, %s)", p->episode + 1,
                   p->ret, p->step, p->terminated ? "terminated" : "time limit");
          printf("%s\n", msg);
          fflush(stdout);
          snprintf(msg, sizeof msg, "episode %d ended\nreturn %.1f\n%d steps, %s", p->episode + 1,
                   p->ret, p->step, p->terminated ? "terminated" : "time limit");
          viewer_message(v, HOLD_SECONDS + 1.0, msg);
          v->hold_until = t_frame + HOLD_SECONDS;
          v->sim_debt = 0.0;
        }
        if (max_steps > 0 && steps_total >= max_steps) {
          glfwSetWindowShouldClose(v->win, GLFW_TRUE);
          break;
        }
      }
      if (v->sim_debt > dt) v->sim_debt = dt;
    }
    int fbw, fbh;
    glfwGetFramebufferSize(v->win, &fbw, &fbh);
    if (fbw <= 0 || fbh <= 0) {   /* minimised: nothing to draw */
      glfwPollEvents();
      sleep_seconds(1.0 / 60.0);
      continue;
    }
    vp = (mjrRect){0, 0, fbw, fbh};
    viewer_scene_draw(&v->vs, p->m, p->d, vp);
    draw_overlays(v, vp, t_frame);
    if (v->want_screenshot) {
      v->want_screenshot = 0;
      char path[256], msg[1100];
      snprintf(path, sizeof path, "cemrl_%s_e%d_s%d.png", p->env->name, p->episode + 1, p->step);
      CoreErr serr;
      core_err_clear(&serr);
      if (screenshot(v, vp, path, &serr)) snprintf(msg, sizeof msg, "%s", serr.msg);
      else snprintf(msg, sizeof msg, "saved %s", path);
      printf("%s\n", msg);
      viewer_message(v, 2.0, msg);
    }
    glfwSwapBuffers(v->win);
    glfwPollEvents();
    /* Xvfb and some drivers ignore the swap interval: cap at ~60 frames per second */
    sleep_seconds(1.0 / 60.0 - (glfwGetTime() - t_frame));
  }
  if (shot_path) {
    /* draw the last state once more and read it before any swap can discard it */
    viewer_scene_draw(&v->vs, v->play.m, v->play.d, vp);
    draw_overlays(v, vp, glfwGetTime());
    if ((rc = screenshot(v, vp, shot_path, &err)) == CORE_OK) printf("saved %s\n", shot_path);
  }
  viewer_scene_free(&v->vs);
  glfwDestroyWindow(v->win);
  viewer_gl_terminate();
  viewer_play_close(&v->play);
  core_free(v);
  return rc ? app_fail(&err) : 0;
}
