/* fsutil.h — small file-system helpers with CoreErr reporting: read a whole file, mkdir -p,
 * atomic writes (temporary file in the same directory, fsync, rename, fsync of the directory),
 * and bounded path joining. */
#ifndef CEMRL_CORE_FSUTIL_H
#define CEMRL_CORE_FSUTIL_H

#include <stddef.h>

#include "core/err.h"

#define CORE_PATH_MAX 4096   /* bytes of a path buffer, NUL included */

/* Read a whole regular file into a new NUL-terminated buffer (core_free it); *len excludes the
 * NUL. A missing, unreadable or non-regular file is CORE_ERR_IO naming the path. */
int core_fs_read_all(const char *path, char **buf, size_t *len, CoreErr *err);

/* Create a directory and its missing parents (mode 0777 minus umask); existing is fine. */
int core_fs_mkdir_p(const char *path, CoreErr *err);

/* Replace path with data atomically: the file either keeps its old content or has the new one,
 * even across a crash. */
int core_fs_write_atomic(const char *path, const void *data, size_t len, CoreErr *err);

/* out = a "/" b (no doubled slash; b absolute or a empty gives b). Too long for n bytes is
 * CORE_ERR_INVALID and out holds "". */
int core_fs_join(char *out, size_t n, const char *a, const char *b, CoreErr *err);

/* True if path exists (any type). */
int core_fs_exists(const char *path);

#endif
