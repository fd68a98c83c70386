/* viewer_render.h — drawing a MuJoCo task with MuJoCo's renderer, in a window or offscreen.
 *
 * GL comes from GLFW: a visible window for `cemrl render`, a hidden one for `cemrl record`, whose
 * context renders into MuJoCo's offscreen framebuffer (offwidth x offheight of the model, 1280 x
 * 720 for cemrl's models). On a machine without a display, run under `xvfb-run` (Mesa's software
 * renderer); viewer_gl_init then fails with a message that says so instead of crashing.
 *
 * Cameras: "track" is the model's camera of that name (it follows the torso); a model without one
 * gets the free camera aimed at the model's centre. "free" is MuJoCo's mouse-driven free camera.
 */
#ifndef CEMRL_APP_VIEWER_RENDER_H
#define CEMRL_APP_VIEWER_RENDER_H

#include <GLFW/glfw3.h>
#include <mujoco/mujoco.h>

#include "core/err.h"

typedef enum { VIEWER_CAM_TRACK = 0, VIEWER_CAM_FREE } ViewerCamMode;

/* A scene: what to draw (mjvScene, mjvOption), from where (mjvCamera), and the GL resources
 * (mjrContext) of one context. */
typedef struct {
  mjvScene scn;
  mjvCamera cam;
  mjvOption opt;
  mjvPerturb pert;         /* unused (no mouse perturbation), required by mjv_updateScene */
  mjrContext con;
  int track_id;            /* the model's "track" camera, or -1 */
  int floor_id;            /* the model's ground plane geom (gets distance marks), or -1 */
  int cam_mode;            /* ViewerCamMode */
  int ready;               /* scene and context made */
} ViewerScene;

/* An offscreen renderer: a hidden window's context and a scene, rendering w x h RGB frames. */
typedef struct {
  GLFWwindow *win;         /* owned, hidden */
  ViewerScene vs;
  int w, h;
  unsigned char *rgb;      /* (h, w, 3) the last frame, top row first */
} ViewerOffscreen;

/* Start GLFW; CORE_ERR_RUNTIME with how to get a display (xvfb-run, DISPLAY) if there is none. */
int viewer_gl_init(CoreErr *err);

/* Stop GLFW (after every window is destroyed). */
void viewer_gl_terminate(void);

/* Make a window (visible or hidden) with a current GL context; NULL with err on failure. */
GLFWwindow *viewer_window_create(int w, int h, const char *title, int visible, CoreErr *err);

/* Make the scene and GL context for model m in the current GL context; font scale in percent
 * (mjFONTSCALE_100, ...). Camera: track. CORE_ERR_RUNTIME with MuJoCo's message on failure. */
int viewer_scene_init(ViewerScene *v, const mjModel *m, int fontscale, CoreErr *err);

/* Free the scene and its GL resources (the context must still be current; safe if not made). */
void viewer_scene_free(ViewerScene *v);

/* Switch the camera. Free starts from the model's default free view, looking at the torso. */
void viewer_scene_camera(ViewerScene *v, const mjModel *m, const mjData *d, int mode);

/* Update the scene from d and render it into viewport vp of the current framebuffer. The ground
 * gets a line across it every metre, so that motion shows under a camera that follows the body. */
void viewer_scene_draw(ViewerScene *v, const mjModel *m, mjData *d, mjrRect vp);

/* Make an offscreen renderer of w x h (at most the model's offwidth x offheight). Calls
 * viewer_gl_init itself. Nothing is left allocated on failure. */
int viewer_offscreen_create(ViewerOffscreen *o, const mjModel *m, int w, int h, int fontscale,
                            CoreErr *err);

/* Render the data into o->rgb, with an overlay in the top-left corner when titles and values
 * are non-NULL (newline-separated rows of mjr_overlay's two columns). */
void viewer_offscreen_render(ViewerOffscreen *o, const mjModel *m, mjData *d, const char *titles,
                             const char *values);

/* Free an offscreen renderer (safe on a zeroed one) and stop GLFW. */
void viewer_offscreen_free(ViewerOffscreen *o);

/* Write an (h, w, 3) RGB image, top row first, as a PNG file (cairo). */
int viewer_png_write(const char *path, const unsigned char *rgb, int w, int h, CoreErr *err);

#endif
