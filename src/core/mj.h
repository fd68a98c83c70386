/* mj.h — MuJoCo 2.2.2 hygiene in one place.
 *
 * 2.2.2's default mju_error prints "Press Enter to exit" and waits on stdin; its default
 * mju_warning appends to MUJOCO_LOG.TXT in the working directory. core_mj_install_handlers()
 * replaces both (call it before any model loads; env code calls it too, it is idempotent).
 * An mju_error inside a guarded region longjmps back to it; outside one it is reported and the
 * process exits with status 1 (mju_error handlers must not return).
 */
#ifndef CEMRL_CORE_MJ_H
#define CEMRL_CORE_MJ_H

#include <setjmp.h>

#include "core/err.h"

/* Install cemrl's MuJoCo error and warning handlers (idempotent, thread-safe). */
void core_mj_install_handlers(void);

/* Guard a region against mju_error on this thread:
 *   jmp_buf jb; jmp_buf *prev = core_mj_guard_push(&jb);
 *   if (setjmp(jb) == 0) { ...MuJoCo calls... } else { msg = core_mj_last_error(); }
 *   core_mj_guard_pop(prev);
 */
jmp_buf *core_mj_guard_push(jmp_buf *jb);
void core_mj_guard_pop(jmp_buf *prev);

/* The text of the last mju_error on this thread. */
const char *core_mj_last_error(void);

/* Number of MuJoCo warnings seen by the handler since start (all threads). */
long core_mj_warning_count(void);

/* Load and compile an MJCF file; returns an mjModel* (as void*) or NULL with err naming the file
 * and MuJoCo's message. Never blocks, never writes MUJOCO_LOG.TXT. */
void *core_mj_load_xml(const char *path, CoreErr *err);

/* Directory holding cemrl's MJCF models: $CEMRL_MODEL_DIR, else the source tree, else the install
 * prefix (share/cemrl/models). Writes it into buf; returns 0 or CORE_ERR_NOTFOUND. */
int core_mj_model_dir(char *buf, size_t n, CoreErr *err);

#endif
