/* test_core_err.c — error reports (formatting, truncation, exit statuses, aborts) and the
 * allocator (alignment, overflow checks, failure injection, live counting). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include "test_util.h"

#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/err.h"

/* A report followed by guard bytes: a write past msg (which ASan cannot see inside one struct)
 * shows up as a changed guard. */
typedef struct {
  CoreErr err;
  unsigned char guard[64];
} GuardedErr;

static void guard_init(GuardedErr *g) {
  memset(g, 0x5A, sizeof *g);
  core_err_clear(&g->err);
}

static void guard_check(const GuardedErr *g) {
  for (size_t i = 0; i < sizeof g->guard; i++)
    if (g->guard[i] != 0x5A) fail_msg("guard byte %zu overwritten", i);
  assert_true(strlen(g->err.msg) < CORE_ERR_MSG_SZ);
}

/* ---------------------------------------------------------------- err */

static void test_err_set_and_clear(void **state) {
  (void)state;
  GuardedErr g;
  guard_init(&g);
  assert_int_equal(g.err.code, CORE_OK);
  assert_string_equal(g.err.msg, "");
  int rc = core_err_set(&g.err, CORE_ERR_INVALID, "%s:%d: field '%s' must be > 0", "a.json", 3,
                        "lr");
  assert_int_equal(rc, CORE_ERR_INVALID);
  assert_int_equal(g.err.code, CORE_ERR_INVALID);
  assert_string_equal(g.err.msg, "a.json:3: field 'lr' must be > 0");
  /* NULL reports are allowed everywhere and still return the code */
  assert_int_equal(core_err_set(NULL, CORE_ERR_IO, "x %d", 1), CORE_ERR_IO);
  assert_int_equal(core_err_prefix(NULL, "ctx: "), CORE_OK);
  core_err_clear(NULL);
  core_err_clear(&g.err);
  assert_int_equal(g.err.code, CORE_OK);
  assert_string_equal(g.err.msg, "");
  guard_check(&g);
}

static void test_err_set_truncates_long_messages(void **state) {
  (void)state;
  char longs[5000];
  for (size_t i = 0; i < sizeof longs - 1; i++) longs[i] = (char)('a' + i % 26);
  longs[sizeof longs - 1] = '\0';
  GuardedErr g;
  guard_init(&g);
  core_err_set(&g.err, CORE_ERR_PARSE, "file.json: %s", longs);
  guard_check(&g);
  assert_int_equal(strlen(g.err.msg), CORE_ERR_MSG_SZ - 1);
  assert_memory_equal(g.err.msg, "file.json: abc", 14);
  assert_int_equal(g.err.code, CORE_ERR_PARSE);
  /* exactly at the limit: 1023 characters fit, 1024 lose the last one */
  longs[CORE_ERR_MSG_SZ - 1] = '\0';
  core_err_set(&g.err, CORE_ERR_PARSE, "%s", longs);
  assert_int_equal(strlen(g.err.msg), CORE_ERR_MSG_SZ - 1);
  assert_memory_equal(g.err.msg, longs, CORE_ERR_MSG_SZ - 1);
  guard_check(&g);
}

static void test_err_set_may_quote_its_own_message(void **state) {
  (void)state;
  CoreErr err;
  core_err_set(&err, CORE_ERR_INVALID, "bad value");
  core_err_set(&err, err.code, "x.json: %s (fix it)", err.msg);
  assert_string_equal(err.msg, "x.json: bad value (fix it)");
  assert_int_equal(err.code, CORE_ERR_INVALID);
}

static void test_err_prefix(void **state) {
  (void)state;
  GuardedErr g;
  guard_init(&g);
  core_err_set(&g.err, CORE_ERR_CORRUPT, "section 'x' checksum mismatch");
  int rc = core_err_prefix(&g.err, "loading %s: ", "run/ckpt.bin");
  assert_int_equal(rc, CORE_ERR_CORRUPT);
  assert_int_equal(g.err.code, CORE_ERR_CORRUPT);
  assert_string_equal(g.err.msg, "loading run/ckpt.bin: section 'x' checksum mismatch");
  /* prefixing an empty message */
  core_err_clear(&g.err);
  core_err_prefix(&g.err, "ctx: ");
  assert_string_equal(g.err.msg, "ctx: ");
  /* the old message may be an argument */
  core_err_set(&g.err, CORE_ERR_IO, "abc");
  core_err_prefix(&g.err, "%s; ", g.err.msg);
  assert_string_equal(g.err.msg, "abc; abc");
  guard_check(&g);
}

static void test_err_prefix_truncation(void **state) {
  (void)state;
  char longs[3000];
  memset(longs, 'p', sizeof longs - 1);
  longs[sizeof longs - 1] = '\0';
  GuardedErr g;
  guard_init(&g);
  /* a long old message keeps its start after a short prefix */
  char old[2000];
  memset(old, 'o', sizeof old - 1);
  old[sizeof old - 1] = '\0';
  core_err_set(&g.err, CORE_ERR_PARSE, "%s", old);
  core_err_prefix(&g.err, "ctx: ");
  assert_int_equal(strlen(g.err.msg), CORE_ERR_MSG_SZ - 1);
  assert_memory_equal(g.err.msg, "ctx: ooo", 8);
  guard_check(&g);
  /* a prefix longer than the buffer fills it alone */
  core_err_set(&g.err, CORE_ERR_PARSE, "tail");
  core_err_prefix(&g.err, "%s", longs);
  assert_int_equal(strlen(g.err.msg), CORE_ERR_MSG_SZ - 1);
  assert_int_equal(g.err.msg[0], 'p');
  assert_int_equal(g.err.msg[CORE_ERR_MSG_SZ - 2], 'p');
  assert_null(strstr(g.err.msg, "tail"));
  guard_check(&g);
  /* both long: prefix then as much of the old message as fits */
  core_err_set(&g.err, CORE_ERR_PARSE, "%s", old);
  core_err_prefix(&g.err, "%.1000s", longs);
  assert_int_equal(strlen(g.err.msg), CORE_ERR_MSG_SZ - 1);
  assert_int_equal(g.err.msg[999], 'p');
  assert_int_equal(g.err.msg[1000], 'o');
  guard_check(&g);
  /* repeated prefixing stays bounded */
  for (int i = 0; i < 100; i++) core_err_prefix(&g.err, "level %d: ", i);
  assert_int_equal(strlen(g.err.msg), CORE_ERR_MSG_SZ - 1);
  assert_memory_equal(g.err.msg, "level 99: level 98: ", 20);
  guard_check(&g);
}

static void test_err_exit_status(void **state) {
  (void)state;
  assert_int_equal(core_err_exit_status(CORE_OK), 0);
  /* bad input from the user: exit 2 */
  assert_int_equal(core_err_exit_status(CORE_ERR_PARSE), 2);
  assert_int_equal(core_err_exit_status(CORE_ERR_INVALID), 2);
  assert_int_equal(core_err_exit_status(CORE_ERR_CORRUPT), 2);
  assert_int_equal(core_err_exit_status(CORE_ERR_NOTFOUND), 2);
  assert_int_equal(core_err_exit_status(CORE_ERR_IO), 2);  /* as err.c defines it today */
  /* runtime failures: exit 1 */
  assert_int_equal(core_err_exit_status(CORE_ERR_RUNTIME), 1);
  assert_int_equal(core_err_exit_status(CORE_ERR_NOMEM), 1);
  assert_int_equal(core_err_exit_status(-99), 1);  /* unknown codes are failures, never 0 */
  assert_int_equal(core_err_exit_status(7), 1);
  /* interrupted after a final checkpoint: 130 like a shell's SIGINT status */
  assert_int_equal(core_err_exit_status(CORE_ERR_INTERRUPTED), 130);
}

static void test_err_names(void **state) {
  (void)state;
  assert_string_equal(core_err_name(CORE_OK), "ok");
  assert_string_equal(core_err_name(CORE_ERR_IO), "io");
  assert_string_equal(core_err_name(CORE_ERR_PARSE), "parse");
  assert_string_equal(core_err_name(CORE_ERR_INVALID), "invalid");
  assert_string_equal(core_err_name(CORE_ERR_CORRUPT), "corrupt");
  assert_string_equal(core_err_name(CORE_ERR_NOMEM), "nomem");
  assert_string_equal(core_err_name(CORE_ERR_NOTFOUND), "notfound");
  assert_string_equal(core_err_name(CORE_ERR_RUNTIME), "runtime");
  assert_string_equal(core_err_name(CORE_ERR_INTERRUPTED), "interrupted");
  assert_string_equal(core_err_name(-CORE_NERR), "unknown");
  assert_string_equal(core_err_name(3), "unknown");
}

/* CORE_ASSERT aborts with file:line and the expression, in a child process. */
static void test_assert_aborts_with_location(void **state) {
  (void)state;
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    dup2(fds[1], 2);
    close(fds[0]);
    int two = 2;
    CORE_ASSERT(two == 3);
    _exit(0);  /* not reached when the assertion works */
  }
  close(fds[1]);
  char out[1024] = {0};
  size_t got = 0;
  ssize_t r;
  while (got < sizeof out - 1 && (r = read(fds[0], out + got, sizeof out - 1 - got)) > 0)
    got += (size_t)r;
  close(fds[0]);
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFSIGNALED(status));
  assert_int_equal(WTERMSIG(status), SIGABRT);
  assert_contains(out, "internal error at ");
  assert_contains(out, "test_core_err.c:");
  assert_contains(out, "assertion failed: two == 3");
}

/* ---------------------------------------------------------------- alloc */

static void test_mul_size(void **state) {
  (void)state;
  size_t out = 123;
  assert_int_equal(core_mul_size(&out, 6, 7), 0);
  assert_int_equal(out, 42);
  assert_int_equal(core_mul_size(&out, 0, SIZE_MAX), 0);
  assert_int_equal(out, 0);
  assert_int_equal(core_mul_size(&out, SIZE_MAX, 0), 0);
  assert_int_equal(out, 0);
  assert_int_equal(core_mul_size(&out, SIZE_MAX, 1), 0);
  assert_int_equal(out, SIZE_MAX);
  assert_int_equal(core_mul_size(&out, SIZE_MAX / 2, 2), 0);
  assert_int_equal(out, SIZE_MAX - 1);
  out = 77;
  assert_int_equal(core_mul_size(&out, SIZE_MAX / 2 + 1, 2), -1);
  assert_int_equal(out, 77);  /* untouched on overflow */
  assert_int_equal(core_mul_size(&out, 2, SIZE_MAX / 2 + 1), -1);
  assert_int_equal(core_mul_size(&out, (size_t)1 << 32, (size_t)1 << 32), -1);
  assert_int_equal(core_mul_size(&out, ((size_t)1 << 32) - 1, ((size_t)1 << 32) + 1), 0);
  assert_int_equal(out, SIZE_MAX);
  assert_int_equal(core_mul_size(&out, SIZE_MAX, SIZE_MAX), -1);
}

static void test_malloc_alignment(void **state) {
  (void)state;
  long live0 = core_alloc_live();
  static const size_t sizes[] = {0, 1, 3, 63, 64, 65, 127, 1000, 4095, 4097, 1 << 20, 12345679};
  enum { NS = sizeof sizes / sizeof sizes[0] };
  void *p[NS];
  for (int i = 0; i < NS; i++) {
    p[i] = core_malloc(sizes[i]);
    assert_non_null(p[i]);
    if ((uintptr_t)p[i] % 64 != 0) fail_msg("core_malloc(%zu) = %p not 64-aligned", sizes[i], p[i]);
    memset(p[i], 0xAB, sizes[i]);  /* the whole block is usable (ASan checks the bounds) */
  }
  assert_int_equal(core_alloc_live(), live0 + NS);
  for (int i = 0; i < NS; i++) core_free(p[i]);
  assert_int_equal(core_alloc_live(), live0);

  /* calloc: aligned and zeroed */
  unsigned char *z = core_calloc(333, 3);
  assert_non_null(z);
  assert_int_equal((uintptr_t)z % 64, 0);
  for (int i = 0; i < 999; i++) assert_int_equal(z[i], 0);
  core_free(z);
  assert_non_null(z = core_calloc(0, 5));
  core_free(z);
  assert_int_equal(core_alloc_live(), live0);
}

static void test_malloc_overflow(void **state) {
  (void)state;
  long live0 = core_alloc_live();
  /* sizes whose rounding to 64 wraps around, and products that overflow: NULL, never a small
   * block handed out for a huge request */
  assert_null(core_malloc(SIZE_MAX));
  assert_null(core_malloc(SIZE_MAX - 62));
  assert_null(core_calloc(SIZE_MAX / 2 + 1, 2));
  assert_null(core_calloc(2, SIZE_MAX / 2 + 1));
  assert_null(core_calloc((size_t)1 << 33, (size_t)1 << 33));
  assert_int_equal(core_alloc_live(), live0);
  core_free(NULL);
  assert_int_equal(core_alloc_live(), live0);
}

static void test_malloc_fail_after(void **state) {
  (void)state;
  long live0 = core_alloc_live();
  core_alloc_fail_after(3);
  void *a = core_malloc(10), *b = core_calloc(2, 8), *c = core_malloc(10), *d = core_malloc(10);
  assert_non_null(a);
  assert_non_null(b);
  assert_null(c);      /* the third allocation from the call fails */
  assert_non_null(d);  /* one-shot: later ones succeed again */
  assert_int_equal(core_alloc_live(), live0 + 3);  /* failures are not counted as live */
  core_free(a);
  core_free(b);
  core_free(d);
  /* calloc goes through the same hook */
  core_alloc_fail_after(1);
  assert_null(core_calloc(4, 4));
  void *e = core_calloc(4, 4);
  assert_non_null(e);
  core_free(e);
  /* an overflowing calloc fails by itself and does not consume the countdown */
  core_alloc_fail_after(2);
  assert_null(core_calloc(SIZE_MAX, 2));
  void *f = core_malloc(1);
  assert_non_null(f);
  assert_null(core_malloc(1));
  core_free(f);
  /* 0 disarms the hook */
  core_alloc_fail_after(5);
  core_alloc_fail_after(0);
  void *many[100];
  for (int i = 0; i < 100; i++) assert_non_null(many[i] = core_malloc(8));
  assert_int_equal(core_alloc_live(), live0 + 100);
  for (int i = 0; i < 100; i++) core_free(many[i]);
  assert_int_equal(core_alloc_live(), live0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_err_set_and_clear),
    cmocka_unit_test(test_err_set_truncates_long_messages),
    cmocka_unit_test(test_err_set_may_quote_its_own_message),
    cmocka_unit_test(test_err_prefix),
    cmocka_unit_test(test_err_prefix_truncation),
    cmocka_unit_test(test_err_exit_status),
    cmocka_unit_test(test_err_names),
    cmocka_unit_test(test_assert_aborts_with_location),
    cmocka_unit_test(test_mul_size),
    cmocka_unit_test(test_malloc_alignment),
    cmocka_unit_test(test_malloc_overflow),
    cmocka_unit_test(test_malloc_fail_after),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
