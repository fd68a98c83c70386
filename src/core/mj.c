/* mj.c — MuJoCo error/warning handlers, guarded loading, model directory. */
#include "core/mj.h"

#include <mujoco/mujoco.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/log.h"

static _Thread_local jmp_buf *mj_guard;
static _Thread_local char mj_last_error[512];
static atomic_long mj_warnings;
static pthread_once_t mj_once = PTHREAD_ONCE_INIT;

static void mj_error_handler(const char *msg) {
  snprintf(mj_last_error, sizeof mj_last_error, "%s", msg);
  if (mj_guard) longjmp(*mj_guard, 1);
  fprintf(stderr, "cemrl: MuJoCo error: %s\n", msg);
  exit(1);
}

static void mj_warning_handler(const char *msg) {
  atomic_fetch_add(&mj_warnings, 1);
  core_log(CORE_LOG_WARN, "MuJoCo: %s", msg);
}

static void install_once(void) {
  mju_user_error = mj_error_handler;
  mju_user_warning = mj_warning_handler;
}

void core_mj_install_handlers(void) { pthread_once(&mj_once, install_once); }

jmp_buf *core_mj_guard_push(jmp_buf *jb) {
  core_mj_install_handlers();
  jmp_buf *prev = mj_guard;
  mj_guard = jb;
  return prev;
}

void core_mj_guard_pop(jmp_buf *prev) { mj_guard = prev; }

const char *core_mj_last_error(void) { return mj_last_error; }

long core_mj_warning_count(void) { return atomic_load(&mj_warnings); }

void *core_mj_load_xml(const char *path, CoreErr *err) {
  struct stat st;
  if (stat(path, &st) != 0) {
    core_err_set(err, CORE_ERR_NOTFOUND, "%s: model file not found", path);
    return NULL;
  }
  char msg[1000] = "";
  mjModel *volatile m = NULL;
  jmp_buf jb;
  jmp_buf *prev = core_mj_guard_push(&jb);
  if (setjmp(jb) == 0) {
    m = mj_loadXML(path, NULL, msg, sizeof msg);
  } else {
    snprintf(msg, sizeof msg, "%s", core_mj_last_error());
    m = NULL;
  }
  core_mj_guard_pop(prev);
  if (!m) core_err_set(err, CORE_ERR_PARSE, "%s: MuJoCo could not load the model: %s", path,
                       msg[0] ? msg : "unknown error");
  return m;
}

static int is_dir(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int core_mj_model_dir(char *buf, size_t n, CoreErr *err) {
  const char *env = getenv("CEMRL_MODEL_DIR");
  if (env && *env) {
    if (!is_dir(env))
      return core_err_set(err, CORE_ERR_NOTFOUND, "CEMRL_MODEL_DIR=%s is not a directory", env);
    snprintf(buf, n, "%s", env);
    return CORE_OK;
  }
#ifdef CEMRL_DATA_BUILD_DIR
  if (is_dir(CEMRL_DATA_BUILD_DIR)) {
    snprintf(buf, n, "%s", CEMRL_DATA_BUILD_DIR);
    return CORE_OK;
  }
#endif
#ifdef CEMRL_DATA_INSTALL_DIR
  if (is_dir(CEMRL_DATA_INSTALL_DIR)) {
    snprintf(buf, n, "%s", CEMRL_DATA_INSTALL_DIR);
    return CORE_OK;
  }
#endif
  return core_err_set(err, CORE_ERR_NOTFOUND,
                      "cannot find cemrl's MJCF model directory; set CEMRL_MODEL_DIR to the "
                      "folder holding half_cheetah.xml (src/envs/models in the source tree)");
}
