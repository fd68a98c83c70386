/* log.h — diagnostics to stderr through a replaceable sink (tests capture it). */
#ifndef CEMRL_CORE_LOG_H
#define CEMRL_CORE_LOG_H

#include "core/err.h"

typedef enum { CORE_LOG_DEBUG = 0, CORE_LOG_INFO, CORE_LOG_WARN, CORE_LOG_ERROR } CoreLogLevel;

typedef void (*CoreLogSink)(int level, const char *msg, void *user);

/* Log a formatted message at a level (messages below the threshold are dropped). */
void core_log(int level, const char *fmt, ...) CORE_PRINTF(2, 3);

/* Replace the sink (NULL restores stderr); returns nothing. */
void core_log_set_sink(CoreLogSink sink, void *user);

/* Drop messages below this level (default CORE_LOG_INFO). */
void core_log_set_level(int level);

#endif
