/* fsutil.c — whole-file reads, mkdir -p, atomic writes, path joins. */
#include "core/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"

/* Read exactly len bytes from fd into buf; 0 on success, else errno-style failure (-1). */
static int fs_read_exact(int fd, char *buf, size_t len) {
  size_t got = 0;
  while (got < len) {
    ssize_t r = read(fd, buf + got, len - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    got += (size_t)r;
  }
  return 0;
}

int core_fs_read_all(const char *path, char **buf, size_t *len, CoreErr *err) {
  *buf = NULL;
  *len = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return core_err_set(err, CORE_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
    close(fd);
    return core_err_set(err, CORE_ERR_IO, "%s: not a regular file", path);
  }
  size_t n = (size_t)st.st_size;
  char *p = core_malloc(n + 1);
  if (!p) {
    close(fd);
    return core_err_set(err, CORE_ERR_NOMEM, "%s: out of memory reading %zu bytes", path, n);
  }
  int rc = fs_read_exact(fd, p, n);
  int saved = errno;
  close(fd);
  if (rc) {
    core_free(p);
    return core_err_set(err, CORE_ERR_IO, "%s: read failed: %s", path,
                        saved ? strerror(saved) : "file shrank while reading");
  }
  p[n] = '\0';
  *buf = p;
  *len = n;
  return CORE_OK;
}

int core_fs_mkdir_p(const char *path, CoreErr *err) {
  char tmp[CORE_PATH_MAX];
  size_t n = strlen(path);
  if (n == 0 || n >= sizeof tmp)
    return core_err_set(err, CORE_ERR_INVALID, "mkdir: bad path length (%zu bytes)", n);
  memcpy(tmp, path, n + 1);
  /* create each prefix ending before a '/', then the whole path */
  for (size_t i = 1; i <= n; i++) {
    if (tmp[i] != '/' && tmp[i] != '\0') continue;
    char c = tmp[i];
    tmp[i] = '\0';
    if (mkdir(tmp, 0777) && errno != EEXIST) {
      int e = errno;
      tmp[i] = c;
      return core_err_set(err, CORE_ERR_IO, "%s: cannot create directory: %s", path, strerror(e));
    }
    tmp[i] = c;
  }
  struct stat st;
  if (stat(path, &st) || !S_ISDIR(st.st_mode))
    return core_err_set(err, CORE_ERR_IO, "%s: exists and is not a directory", path);
  return CORE_OK;
}

/* fsync the directory holding path, so a rename inside it is durable. */
static void fs_sync_parent(const char *path) {
  char dir[CORE_PATH_MAX];
  const char *slash = strrchr(path, '/');
  if (!slash) {
    snprintf(dir, sizeof dir, ".");
  } else {
    size_t n = (size_t)(slash - path);
    if (n == 0) n = 1;  /* "/file" lives in "/" */
    if (n >= sizeof dir) return;
    memcpy(dir, path, n);
    dir[n] = '\0';
  }
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  (void)fsync(fd);  /* best effort: some file systems refuse fsync on directories */
  close(fd);
}

/* Write all of data to fd; 0 on success. */
static int fs_write_exact(int fd, const char *data, size_t len) {
  size_t done = 0;
  while (done < len) {
    ssize_t w = write(fd, data + done, len - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    done += (size_t)w;
  }
  return 0;
}

int core_fs_write_atomic(const char *path, const void *data, size_t len, CoreErr *err) {
  char tmp[CORE_PATH_MAX];
  int n = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
  if (n < 0 || (size_t)n >= sizeof tmp)
    return core_err_set(err, CORE_ERR_INVALID, "%s: path too long", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) return core_err_set(err, CORE_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
  /* data reaches the disk before the rename makes it visible under the real name */
  int e = 0;
  if (fs_write_exact(fd, data, len) || fsync(fd)) e = errno;
  if (close(fd) && !e) e = errno;
  if (!e && rename(tmp, path)) e = errno;
  if (e) {
    unlink(tmp);
    return core_err_set(err, CORE_ERR_IO, "%s: write failed: %s", path, strerror(e));
  }
  fs_sync_parent(path);
  return CORE_OK;
}

int core_fs_join(char *out, size_t n, const char *a, const char *b, CoreErr *err) {
  CORE_ASSERT(out && n > 0 && a && b);
  int w;
  size_t la = strlen(a);
  if (la == 0 || b[0] == '/') w = snprintf(out, n, "%s", b);
  else if (a[la - 1] == '/') w = snprintf(out, n, "%s%s", a, b);
  else w = snprintf(out, n, "%s/%s", a, b);
  if (w < 0 || (size_t)w >= n) {
    out[0] = '\0';
    return core_err_set(err, CORE_ERR_INVALID, "path too long: \"%s\" + \"%s\" exceeds %zu bytes",
                        a, b, n - 1);
  }
  return CORE_OK;
}

int core_fs_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}
