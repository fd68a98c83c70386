/* viewer_render.c — MuJoCo scenes on GLFW contexts, offscreen frames, PNG files. */
#include "app/viewer_render.h"

#include <math.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cairo.h>

#include "core/alloc.h"
#include "core/mj.h"

/* GLFW reports errors through one process-wide callback: keep the last one for our messages. */
static char glfw_last_error[512];

static void glfw_error_cb(int code, const char *desc) {
  snprintf(glfw_last_error, sizeof glfw_last_error, "%s (GLFW error 0x%x)", desc ? desc : "?",
           code);
}

int viewer_gl_init(CoreErr *err) {
  glfwSetErrorCallback(glfw_error_cb);
  glfw_last_error[0] = '\0';
  if (glfwInit()) return CORE_OK;
  const char *disp = getenv("DISPLAY");
  return core_err_set(err, CORE_ERR_RUNTIME,
                      "no display: GLFW could not start (%s; DISPLAY is %s%s%s). Run under a "
                      "virtual X server: `xvfb-run -a cemrl ...` (apt-get install xvfb), or set "
                      "DISPLAY to a running X server",
                      glfw_last_error[0] ? glfw_last_error : "no reason given",
                      disp ? "'" : "", disp ? disp : "unset", disp ? "'" : "");
}

void viewer_gl_terminate(void) {
#ifndef CEMRL_SANITIZED
  glfwTerminate();
#else
  /* Terminating closes the X connection and Mesa unloads its driver, orphaning ~100 bytes the
   * driver allocated: LeakSanitizer would fail every run on memory that is not ours (and cannot
   * name the unloaded module to suppress it). Sanitized builds let process exit clean up. */
#endif
}

GLFWwindow *viewer_window_create(int w, int h, const char *title, int visible, CoreErr *err) {
  glfwDefaultWindowHints();
  glfwWindowHint(GLFW_VISIBLE, visible ? GLFW_TRUE : GLFW_FALSE);
  /* a hidden window only lends its context to the offscreen framebuffer: one buffer is enough */
  glfwWindowHint(GLFW_DOUBLEBUFFER, visible ? GLFW_TRUE : GLFW_FALSE);
  if (visible) glfwWindowHint(GLFW_SAMPLES, 4);
  glfw_last_error[0] = '\0';
  GLFWwindow *win = glfwCreateWindow(w, h, title, NULL, NULL);
  if (!win) {
    core_err_set(err, CORE_ERR_RUNTIME,
                 "could not create an OpenGL window: %s. Under xvfb-run, the X server needs GLX "
                 "and Mesa (apt-get install xvfb libgl1-mesa-dri)",
                 glfw_last_error[0] ? glfw_last_error : "no reason given");
    return NULL;
  }
  glfwMakeContextCurrent(win);
  return win;
}

/* The free view: MuJoCo's default distance and angles from the model, aimed at the body the track
 * camera follows (or the model centre), seen from the side like the track camera. */
static void camera_free_init(ViewerScene *v, const mjModel *m, const mjData *d) {
  mjv_defaultFreeCamera(m, &v->cam);
  int body = v->track_id >= 0 ? m->cam_bodyid[v->track_id] : (m->nbody > 1 ? 1 : 0);
  if (d && body > 0)
    for (int k = 0; k < 3; k++) v->cam.lookat[k] = d->xpos[3 * body + k];
  v->cam.azimuth = 90.0;
  v->cam.elevation = -15.0;
  /* the model's extent counts the whole floor: start at the track camera's range instead */
  if (v->track_id >= 0) v->cam.distance = 4.0;
}

void viewer_scene_camera(ViewerScene *v, const mjModel *m, const mjData *d, int mode) {
  v->cam_mode = mode;
  if (mode == VIEWER_CAM_TRACK && v->track_id >= 0) {
    mjv_defaultCamera(&v->cam);
    v->cam.type = mjCAMERA_FIXED;
    v->cam.fixedcamid = v->track_id;
  } else {
    camera_free_init(v, m, d);
  }
}

int viewer_scene_init(ViewerScene *v, const mjModel *m, int fontscale, CoreErr *err) {
  memset(v, 0, sizeof *v);
  mjv_defaultScene(&v->scn);
  mjv_defaultOption(&v->opt);
  mjv_defaultPerturb(&v->pert);
  mjr_defaultContext(&v->con);
  v->track_id = mj_name2id(m, mjOBJ_CAMERA, "track");
  v->floor_id = -1;
  for (int g = 0; g < m->ngeom && v->floor_id < 0; g++)
    if (m->geom_type[g] == mjGEOM_PLANE && m->geom_bodyid[g] == 0) v->floor_id = g;
  /* mjr_makeContext calls mju_error when GL lacks what it needs: catch it (core/mj.h) */
  jmp_buf jb;
  jmp_buf *prev = core_mj_guard_push(&jb);
  int ok = 0;
  if (setjmp(jb) == 0) {
    mjv_makeScene(m, &v->scn, 2000);
    mjr_makeContext(m, &v->con, fontscale);
    ok = 1;
  }
  core_mj_guard_pop(prev);
  if (!ok) {
    mjv_freeScene(&v->scn);
    mjr_freeContext(&v->con);
    return core_err_set(err, CORE_ERR_RUNTIME, "MuJoCo could not set up rendering: %s",
                        core_mj_last_error());
  }
  v->ready = 1;
  viewer_scene_camera(v, m, NULL, VIEWER_CAM_TRACK);
  return CORE_OK;
}

void viewer_scene_free(ViewerScene *v) {
  if (!v->ready) return;
  mjv_freeScene(&v->scn);
  mjr_freeContext(&v->con);
  v->ready = 0;
}

/* The ground under a body that runs far: MuJoCo collides with a plane everywhere but draws only
 * its size (40 m for HalfCheetah, which a good policy leaves behind in 80 steps). Slide the drawn
 * plane along x in whole metres to stay under x0, and draw a line across it every metre: our MJCF
 * floors are plain colour, and without marks a body that the camera follows would seem to run on
 * the spot. */
static void floor_follow(ViewerScene *v, const mjModel *m, double x0) {
  const int g = v->floor_id;
  const double *gp = m->geom_pos + 3 * g;
  double shift = round(x0 - gp[0]);
  for (int i = 0; i < v->scn.ngeom; i++) {
    mjvGeom *geom = v->scn.geoms + i;
    if (geom->objtype == mjOBJ_GEOM && geom->objid == g) geom->pos[0] = (float)(gp[0] + shift);
  }
  double half_y = m->geom_size[3 * g + 1] > 0 ? fmin(m->geom_size[3 * g + 1], 3.0) : 3.0;
  const float rgba[4] = {m->geom_rgba[4 * g] * 1.25f, m->geom_rgba[4 * g + 1] * 1.2f,
                         m->geom_rgba[4 * g + 2] * 1.15f, 1.0f};
  const mjtNum mat[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
  for (int k = -12; k <= 12 && v->scn.ngeom < v->scn.maxgeom; k++) {
    const mjtNum size[3] = {0.012, half_y, 0.0005};
    const mjtNum pos[3] = {floor(x0) + k, gp[1], gp[2] + 0.0005};
    mjvGeom *geom = v->scn.geoms + v->scn.ngeom++;
    mjv_initGeom(geom, mjGEOM_BOX, size, pos, mat, rgba);
    geom->category = mjCAT_DECOR;
    geom->objtype = mjOBJ_UNKNOWN;
    geom->objid = -1;
  }
}

void viewer_scene_draw(ViewerScene *v, const mjModel *m, mjData *d, mjrRect vp) {
  mjv_updateScene(m, d, &v->opt, &v->pert, &v->cam, mjCAT_ALL, &v->scn);
  /* the floor is flat only when it is axis-aligned (identity quaternion): mark it then */
  if (v->floor_id >= 0 && m->geom_quat[4 * v->floor_id] == 1.0) {
    int body = v->track_id >= 0 ? m->cam_bodyid[v->track_id] : (m->nbody > 1 ? 1 : 0);
    floor_follow(v, m, d->xpos[3 * body]);
  }
  mjr_render(vp, &v->scn, &v->con);
}

/* ---------------------------------------------------------------- offscreen */

int viewer_offscreen_create(ViewerOffscreen *o, const mjModel *m, int w, int h, int fontscale,
                            CoreErr *err) {
  memset(o, 0, sizeof *o);
  if (w < 16 || h < 16 || w > m->vis.global.offwidth || h > m->vis.global.offheight)
    return core_err_set(err, CORE_ERR_INVALID,
                        "frame size %dx%d: must be between 16x16 and the model's offscreen buffer "
                        "%dx%d", w, h, m->vis.global.offwidth, m->vis.global.offheight);
  int rc = viewer_gl_init(err);
  if (rc) return rc;
  o->win = viewer_window_create(64, 64, "cemrl offscreen", 0, err);
  if (!o->win) {
    viewer_gl_terminate();
    return CORE_ERR_RUNTIME;
  }
  if ((rc = viewer_scene_init(&o->vs, m, fontscale, err))) goto fail;
  mjr_setBuffer(mjFB_OFFSCREEN, &o->vs.con);
  if (o->vs.con.currentBuffer != mjFB_OFFSCREEN) {
    rc = core_err_set(err, CORE_ERR_RUNTIME, "this OpenGL has no offscreen framebuffer support");
    goto fail;
  }
  o->w = w;
  o->h = h;
  o->rgb = core_malloc((size_t)w * (size_t)h * 3);
  if (!o->rgb) {
    rc = core_err_set(err, CORE_ERR_NOMEM, "out of memory for a %dx%d frame", w, h);
    goto fail;
  }
  return CORE_OK;
fail:
  viewer_offscreen_free(o);
  return rc;
}

void viewer_offscreen_render(ViewerOffscreen *o, const mjModel *m, mjData *d, const char *titles,
                             const char *values) {
  mjrRect vp = {0, 0, o->w, o->h};
  viewer_scene_draw(&o->vs, m, d, vp);
  if (titles && values) mjr_overlay(mjFONT_NORMAL, mjGRID_TOPLEFT, vp, titles, values, &o->vs.con);
  mjr_readPixels(o->rgb, NULL, vp, &o->vs.con);
  /* GL rows run bottom-up; images top-down: swap rows in place */
  size_t row = (size_t)o->w * 3;
  for (int y = 0; y < o->h / 2; y++) {
    unsigned char *a = o->rgb + (size_t)y * row, *b = o->rgb + (size_t)(o->h - 1 - y) * row;
    for (size_t k = 0; k < row; k++) {
      unsigned char t = a[k];
      a[k] = b[k];
      b[k] = t;
    }
  }
}

void viewer_offscreen_free(ViewerOffscreen *o) {
  if (o->win) {
    glfwMakeContextCurrent(o->win);
    viewer_scene_free(&o->vs);
    glfwDestroyWindow(o->win);
    viewer_gl_terminate();
  }
  core_free(o->rgb);
  memset(o, 0, sizeof *o);
}

/* ---------------------------------------------------------------- PNG */

int viewer_png_write(const char *path, const unsigned char *rgb, int w, int h, CoreErr *err) {
  int stride = cairo_format_stride_for_width(CAIRO_FORMAT_RGB24, w);
  unsigned char *px = core_malloc((size_t)stride * (size_t)h);
  if (!px) return core_err_set(err, CORE_ERR_NOMEM, "%s: out of memory", path);
  for (int y = 0; y < h; y++) {
    uint32_t *dst = (uint32_t *)(px + (size_t)y * (size_t)stride);
    const unsigned char *src = rgb + (size_t)y * (size_t)w * 3;
    for (int x = 0; x < w; x++)
      dst[x] = (uint32_t)src[3 * x] << 16 | (uint32_t)src[3 * x + 1] << 8 | src[3 * x + 2];
  }
  cairo_surface_t *s = cairo_image_surface_create_for_data(px, CAIRO_FORMAT_RGB24, w, h, stride);
  cairo_status_t st = cairo_surface_write_to_png(s, path);
  cairo_surface_destroy(s);
  core_free(px);
  if (st != CAIRO_STATUS_SUCCESS)
    return core_err_set(err, CORE_ERR_IO, "%s: cannot write the PNG: %s", path,
                        cairo_status_to_string(st));
  return CORE_OK;
}
