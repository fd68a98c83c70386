/* log.c — leveled logging with a replaceable sink. */
#include "core/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

static CoreLogSink log_sink;
static void *log_user;
static int log_level = CORE_LOG_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void core_log_set_sink(CoreLogSink sink, void *user) {
  pthread_mutex_lock(&log_lock);
  log_sink = sink;
  log_user = user;
  pthread_mutex_unlock(&log_lock);
}

void core_log_set_level(int level) { log_level = level; }

void core_log(int level, const char *fmt, ...) {
  if (level < log_level) return;
  char msg[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  static const char *tag[] = {"debug", "info", "warning", "error"};
  pthread_mutex_lock(&log_lock);
  if (log_sink) {
    log_sink(level, msg, log_user);
  } else {
    fprintf(stderr, "cemrl: %s%s%s\n", level == CORE_LOG_INFO ? "" : tag[level & 3],
            level == CORE_LOG_INFO ? "" : ": ", msg);
  }
  pthread_mutex_unlock(&log_lock);
}
