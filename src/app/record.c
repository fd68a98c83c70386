/* record.c — `cemrl record`: film a rollout offscreen to PNG frames, or to MP4 through ffmpeg. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "app/app.h"
#include "app/viewer_play.h"
#include "app/viewer_render.h"
#include "core/alloc.h"
#include "core/fsutil.h"

extern char **environ;

static void print_help(void) {
  printf(
      "usage: cemrl record RUN_DIR|POLICY.ckpt --out FILE.mp4|DIR [options]\n"
      "       cemrl record --env NAME --policy zero|random --out FILE.mp4|DIR [options]\n\n"
      "Render a rollout offscreen with MuJoCo's renderer, as `cemrl render` shows it: to PNG\n"
      "frames (DIR/frame_000000.png, ...) or to an MP4 video by piping the frames to ffmpeg.\n"
      "Episode i starts as `cemrl eval` episode i does with the same seed. Frame 0 is the reset\n"
      "state, then one frame per step; a finished episode is followed by the next one.\n\n"
      "  --out PATH        FILE.mp4 (needs ffmpeg; without it the PNG frames go to FILE_frames/)\n"
      "                    or a directory for PNG frames (created; old frame_*.png are replaced)\n"
      "  --env NAME        the MuJoCo task (required with --policy; with a saved policy it\n"
      "                    replaces the policy's env, which must have the same dimensions)\n"
      "  --policy P        zero or random actions instead of a saved policy\n"
      "  --seed S          evaluation seed (default 100, as `cemrl eval`)\n"
      "  --episodes N      episodes to record (default 1)\n"
      "  --frames N        write exactly N frames, running more episodes if needed (then\n"
      "                    --episodes does not apply)\n"
      "  --every K         keep one frame in K (default 1)\n"
      "  --size WxH        frame size (default 640x480; at most the model's offscreen 1280x720;\n"
      "                    even numbers for MP4)\n"
      "  --fps F           video frame rate (default: real time, 1 / (env dt x K))\n"
      "  --camera C        track (default: follows the torso) or free (fixed side view)\n"
      "  --qpos LIST       start every episode from this pose: nq comma-separated joint\n"
      "                    positions (velocities 0), e.g. HalfCheetah-v4 at rest: 0,0,0,0,0,0,0,0,0\n"
      "  --no-overlay      no text (env, episode, step, reward, return) on the frames\n\n"
      "Needs an X display for its OpenGL context; on a machine without one (a server, CI):\n"
      "  xvfb-run -a cemrl record RUN_DIR --out run.mp4     (apt-get install xvfb)\n"
      "ffmpeg is looked up on PATH, or set CEMRL_FFMPEG=/path/to/ffmpeg (\"none\": PNG only).\n");
}

/* ---------------------------------------------------------------- ffmpeg */

/* Find ffmpeg: $CEMRL_FFMPEG (a path; "none" or "" for none), else the first on PATH. */
static int ffmpeg_find(char *out, size_t n) {
  const char *env = getenv("CEMRL_FFMPEG");
  if (env) {
    if (!*env || !strcmp(env, "none") || access(env, X_OK) != 0) return 0;
    snprintf(out, n, "%s", env);
    return 1;
  }
  const char *path = getenv("PATH");
  if (!path) return 0;
  while (*path) {
    size_t len = strcspn(path, ":");
    snprintf(out, n, "%.*s/ffmpeg", (int)len, path);
    if (len > 0 && access(out, X_OK) == 0) return 1;
    path += len + (path[len] == ':');
  }
  return 0;
}

/* A running ffmpeg reading raw RGB frames on its stdin. */
typedef struct {
  pid_t pid;
  FILE *in;
} Ffmpeg;

static int ffmpeg_start(Ffmpeg *f, const char *exe, const char *out, int w, int h, double fps,
                        CoreErr *err) {
  char size[32], rate[32];
  snprintf(size, sizeof size, "%dx%d", w, h);
  snprintf(rate, sizeof rate, "%.6g", fps);
  /* yuv420p: the pixel format every player decodes; faststart: playable while downloading */
  char *argv[] = {(char *)exe, "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo",
                  "-pix_fmt", "rgb24", "-video_size", size, "-framerate", rate, "-i", "-",
                  "-an", "-pix_fmt", "yuv420p", "-movflags", "+faststart", (char *)out, NULL};
  int fds[2];
  if (pipe(fds) != 0)
    return core_err_set(err, CORE_ERR_IO, "cannot make a pipe to ffmpeg: %s", strerror(errno));
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[0], 0);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  posix_spawn_file_actions_addclose(&fa, fds[1]);
  int rc = posix_spawn(&f->pid, exe, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[0]);
  if (rc != 0) {
    close(fds[1]);
    return core_err_set(err, CORE_ERR_IO, "cannot start %s: %s", exe, strerror(rc));
  }
  f->in = fdopen(fds[1], "wb");
  if (!f->in) {
    close(fds[1]);
    waitpid(f->pid, NULL, 0);
    return core_err_set(err, CORE_ERR_IO, "cannot write to ffmpeg: %s", strerror(errno));
  }
  return CORE_OK;
}

/* Close ffmpeg's input and wait for it; CORE_ERR_IO if it failed. */
static int ffmpeg_finish(Ffmpeg *f, const char *out, CoreErr *err) {
  int wr = fclose(f->in);
  int status = 0;
  while (waitpid(f->pid, &status, 0) < 0 && errno == EINTR) {}
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return core_err_set(err, CORE_ERR_IO, "ffmpeg failed writing %s (exit status %d); its "
                        "messages are above", out, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  if (wr != 0) return core_err_set(err, CORE_ERR_IO, "writing frames to ffmpeg failed");
  return CORE_OK;
}

/* ---------------------------------------------------------------- frames */

/* Remove DIR/frame_NNNNNN.png left by an earlier recording (exactly that pattern, nothing else). */
static int frames_clear(const char *dir) {
  DIR *dp = opendir(dir);
  if (!dp) return 0;
  int removed = 0;
  struct dirent *de;
  char path[CORE_PATH_MAX];
  while ((de = readdir(dp))) {
    const char *s = de->d_name;
    if (strlen(s) != 16 || strncmp(s, "frame_", 6) || strcmp(s + 12, ".png")) continue;
    if (strspn(s + 6, "0123456789") != 6) continue;
    if (core_fs_join(path, sizeof path, dir, s, NULL) == CORE_OK && unlink(path) == 0) removed++;
  }
  closedir(dp);
  return removed;
}

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig) {
  (void)sig;
  stop_flag = 1;
}

static int parse_long(const char *cmd, const char *flag, const char *s, long lo, long *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (!*s || *end || errno || v < lo)
    return app_usage_error(cmd, "%s: '%s' is not a whole number >= %ld", flag, s, lo);
  *out = v;
  return 0;
}

int cmd_record(int argc, char **argv) {
  const char *cmd = "record";
  ViewerPlayOpts po = {.seed = 100};
  const char *out = NULL, *camera = "track", *qpos_arg = NULL;
  long episodes = 1, frames = 0, every = 1, width = 640, height = 480;
  double fps = 0.0;
  int overlay = 1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      print_help();
      return 0;
    }
    if (!strcmp(a, "--no-overlay")) {
      overlay = 0;
      continue;
    }
    if (a[0] != '-') {
      if (po.target) return app_usage_error(cmd, "more than one policy given ('%s')", a);
      po.target = a;
      continue;
    }
    static const char *const with_value[] = {"--out", "--env", "--policy", "--seed", "--episodes",
                                             "--frames", "--every", "--size", "--fps", "--camera",
                                             "--qpos", NULL};
    int known = 0;
    for (int k = 0; with_value[k]; k++) known |= !strcmp(a, with_value[k]);
    if (!known) return app_usage_error(cmd, "unknown option '%s'", a);
    if (!v) return app_usage_error(cmd, "%s needs a value", a);
    i++;
    long n = 0;
    if (!strcmp(a, "--out")) {
      out = v;
    } else if (!strcmp(a, "--env")) {
      po.env_name = v;
    } else if (!strcmp(a, "--policy")) {
      if (strcmp(v, "zero") && strcmp(v, "random"))
        return app_usage_error(cmd, "--policy '%s': expected zero or random", v);
      po.policy = v;
    } else if (!strcmp(a, "--seed")) {
      if (parse_long(cmd, a, v, 0, &n)) return 2;
      po.seed = (uint64_t)n;
    } else if (!strcmp(a, "--episodes")) {
      if (parse_long(cmd, a, v, 1, &episodes)) return 2;
    } else if (!strcmp(a, "--frames")) {
      if (parse_long(cmd, a, v, 1, &frames)) return 2;
    } else if (!strcmp(a, "--every")) {
      if (parse_long(cmd, a, v, 1, &every)) return 2;
    } else if (!strcmp(a, "--size")) {
      char *x = NULL, *end = NULL;
      width = strtol(v, &x, 10);
      if (x && (*x == 'x' || *x == 'X')) height = strtol(x + 1, &end, 10);
      if (!end || *end || x == v || end == x + 1 || width <= 0 || height <= 0)
        return app_usage_error(cmd, "--size '%s': expected WIDTHxHEIGHT, e.g. 640x480", v);
    } else if (!strcmp(a, "--fps")) {
      char *end;
      fps = strtod(v, &end);
      if (!*v || *end || !(fps > 0.0 && fps <= 1000.0))
        return app_usage_error(cmd, "--fps '%s': expected a number in (0, 1000]", v);
    } else if (!strcmp(a, "--camera")) {
      if (strcmp(v, "track") && strcmp(v, "free"))
        return app_usage_error(cmd, "--camera '%s': expected track or free", v);
      camera = v;
    } else {
      qpos_arg = v;
    }
  }
  if (!out) return app_usage_error(cmd, "give --out FILE.mp4 or --out DIR");
  if (po.target && po.policy)
    return app_usage_error(cmd, "give a saved policy or --policy zero|random, not both");
  if (!po.target && !po.env_name)
    return app_usage_error(cmd, "give a run directory or policy file, or --env NAME (with "
                           "--policy zero|random)");
  size_t out_len = strlen(out);
  int want_mp4 = out_len > 4 && !strcasecmp(out + out_len - 4, ".mp4");
  if (want_mp4 && (width % 2 || height % 2))
    return app_usage_error(cmd, "--size %ldx%ld: MP4 (yuv420p) needs even width and height",
                           width, height);

  CoreErr err;
  core_err_clear(&err);
  double *qpos = NULL;
  if (qpos_arg && viewer_parse_numbers("--qpos", qpos_arg, &qpos, &po.n_qpos, &err))
    return app_fail(&err);
  po.qpos = qpos;
  ViewerPlay play;
  int rc = viewer_play_open(&play, &po, &err);
  core_free(qpos);
  if (rc) return app_fail(&err);
  if (fps == 0.0) fps = 1.0 / (play.env->dt * (double)every);

  /* where the frames go: ffmpeg's stdin, or PNG files in a directory */
  char ffmpeg[CORE_PATH_MAX], frame_dir[CORE_PATH_MAX] = "";
  int use_ffmpeg = want_mp4 && ffmpeg_find(ffmpeg, sizeof ffmpeg);
  if (!use_ffmpeg) {
    if (want_mp4) {
      snprintf(frame_dir, sizeof frame_dir, "%.*s_frames", (int)(out_len - 4), out);
      fprintf(stderr, "cemrl record: ffmpeg not found (apt-get install ffmpeg, or set "
              "CEMRL_FFMPEG): writing PNG frames to %s/ instead\n", frame_dir);
    } else {
      snprintf(frame_dir, sizeof frame_dir, "%s", out);
    }
    if (core_fs_mkdir_p(frame_dir, &err)) {
      viewer_play_close(&play);
      return app_fail(&err);
    }
    frames_clear(frame_dir);
  }

  ViewerOffscreen off;
  if ((rc = viewer_offscreen_create(&off, play.m, (int)width, (int)height, mjFONTSCALE_100,
                                    &err))) {
    viewer_play_close(&play);
    return app_fail(&err);
  }
  viewer_scene_camera(&off.vs, play.m, play.d,
                      !strcmp(camera, "free") ? VIEWER_CAM_FREE : VIEWER_CAM_TRACK);
  Ffmpeg ff = {0};
  struct sigaction sa = {0}, old_int, old_term, old_pipe;
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  sa.sa_handler = SIG_IGN;  /* a dead ffmpeg must be an error we report, not a silent exit */
  sigaction(SIGPIPE, &sa, &old_pipe);
  if (use_ffmpeg) rc = ffmpeg_start(&ff, ffmpeg, out, (int)width, (int)height, fps, &err);

  long written = 0, seen = 0;
  int episodes_done = 0;
  char titles[128], values[256];
  while (!rc && !stop_flag) {
    /* a frame of the current state, if it is one of the kept ones */
    if (seen++ % every == 0) {
      const char *t = NULL, *vals = NULL;
      if (overlay) {
        snprintf(titles, sizeof titles, "%s\nepisode\nstep\nreward\nreturn", "env");
        snprintf(values, sizeof values, "%s\n%d\n%d\n%.3f\n%.2f", play.env->name,
                 play.episode + 1, play.step, play.reward, play.ret);
        t = titles;
        vals = values;
      }
      viewer_offscreen_render(&off, play.m, play.d, t, vals);
      size_t nbytes = (size_t)width * (size_t)height * 3;
      if (use_ffmpeg) {
        if (fwrite(off.rgb, 1, nbytes, ff.in) != nbytes)
          rc = core_err_set(&err, CORE_ERR_IO, "ffmpeg stopped reading frames (writing %s)", out);
      } else {
        char name[32], path[CORE_PATH_MAX];
        snprintf(name, sizeof name, "frame_%06ld.png", written);
        rc = core_fs_join(path, sizeof path, frame_dir, name, &err);
        if (!rc) rc = viewer_png_write(path, off.rgb, (int)width, (int)height, &err);
      }
      if (rc) break;
      written++;
      if (frames > 0 && written >= frames) break;
    }
    if (play.done) {
      printf("episode %d: return %.2f over %d steps (%s)\n", play.episode + 1, play.ret,
             play.step, play.terminated ? "terminated" : "time limit");
      episodes_done++;
      if (frames == 0 && episodes_done >= episodes) break;
      viewer_play_next_episode(&play);
    } else {
      viewer_play_step(&play);
    }
  }
  if (use_ffmpeg && ff.in) {
    int frc = ffmpeg_finish(&ff, out, rc ? NULL : &err);
    if (!rc) rc = frc;
  }
  sigaction(SIGINT, &old_int, NULL);
  sigaction(SIGTERM, &old_term, NULL);
  sigaction(SIGPIPE, &old_pipe, NULL);
  viewer_offscreen_free(&off);
  if (!rc)
    printf("wrote %ld frames (%ldx%ld, %.3g fps) to %s%s\n", written, width, height, fps,
           use_ffmpeg ? out : frame_dir, use_ffmpeg ? "" : "/frame_*.png");
  viewer_play_close(&play);
  if (rc) return app_fail(&err);
  if (stop_flag) {
    fprintf(stderr, "cemrl record: interrupted; the %ld frames so far were kept\n", written);
    return 130;
  }
  return 0;
}
