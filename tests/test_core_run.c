/* test_core_run.c — run outputs: unique run directories, atomic text files, meta.json, path
 * joins; CSV logs (exact numbers, flushed rows, resume with header check, torn-line and
 * past-checkpoint trimming); the progress line (pure formatters, fake clock, terminal and plain
 * modes, rate smoothing). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>

#include "test_util.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/csv.h"
#include "core/fsutil.h"
#include "core/progress.h"
#include "core/rundir.h"

/* ---------------------------------------------------------------- helpers */

static char tmp_root[256];

static int setup_tmp(void **state) {
  (void)state;
  return test_make_tmpdir(tmp_root, sizeof tmp_root, "run") ? 0 : -1;
}

static int teardown_tmp(void **state) {
  (void)state;
  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_root);
  return system(cmd) == 0 ? 0 : -1;
}

static int is_dir(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Whole file as a core_malloc'ed string (test fails if unreadable). */
static char *slurp(const char *path) {
  char *buf;
  size_t len;
  CoreErr err;
  if (core_fs_read_all(path, &buf, &len, &err)) fail_msg("%s", err.msg);
  return buf;
}

static void spit(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

/* ---------------------------------------------------------------- run directories */

static void test_rundir_unique(void **state) {
  (void)state;
  char root[512], want[600];
  snprintf(root, sizeof root, "%s/runs/td3", tmp_root);  /* parents do not exist yet */
  CoreRunDir a, b, c;
  CoreErr err;
  assert_int_equal(core_rundir_create(&a, root, "Pendulum_s0", &err), CORE_OK);
  assert_int_equal(core_rundir_create(&b, root, "Pendulum_s0", &err), CORE_OK);
  assert_int_equal(core_rundir_create(&c, root, "Pendulum_s0", &err), CORE_OK);
  snprintf(want, sizeof want, "%s/Pendulum_s0", root);
  assert_string_equal(a.path, want);
  snprintf(want, sizeof want, "%s/Pendulum_s0-1", root);
  assert_string_equal(b.path, want);
  snprintf(want, sizeof want, "%s/Pendulum_s0-2", root);
  assert_string_equal(c.path, want);
  assert_true(is_dir(a.path) && is_dir(b.path) && is_dir(c.path));
  /* open: the exact directory, existing or not */
  CoreRunDir d;
  assert_int_equal(core_rundir_open(&d, b.path, &err), CORE_OK);
  assert_string_equal(d.path, b.path);
  snprintf(want, sizeof want, "%s/exact/dir", tmp_root);
  assert_int_equal(core_rundir_open(&d, want, &err), CORE_OK);
  assert_true(is_dir(want));
  assert_int_equal(core_rundir_create(&d, root, "", &err), CORE_ERR_INVALID);
}

static void test_rundir_errors(void **state) {
  (void)state;
  char file[512], under[600];
  snprintf(file, sizeof file, "%s/plainfile", tmp_root);
  spit(file, "x");
  CoreRunDir d;
  CoreErr err;
  snprintf(under, sizeof under, "%s/sub", file);  /* a directory below a regular file */
  assert_int_equal(core_rundir_open(&d, under, &err), CORE_ERR_IO);
  assert_contains(err.msg, under);
  assert_int_equal(core_rundir_create(&d, file, "x", &err), CORE_ERR_IO);
  /* a path that cannot fit */
  char longname[CORE_PATH_MAX];
  memset(longname, 'a', sizeof longname - 1);
  longname[sizeof longname - 1] = '\0';
  assert_int_equal(core_rundir_create(&d, tmp_root, longname, &err), CORE_ERR_INVALID);
  assert_contains(err.msg, "path too long");
}

static void test_path_join(void **state) {
  (void)state;
  char out[16];
  CoreErr err;
  assert_int_equal(core_fs_join(out, sizeof out, "a", "b", &err), CORE_OK);
  assert_string_equal(out, "a/b");
  assert_int_equal(core_fs_join(out, sizeof out, "a/", "b", &err), CORE_OK);
  assert_string_equal(out, "a/b");
  assert_int_equal(core_fs_join(out, sizeof out, "", "b", &err), CORE_OK);
  assert_string_equal(out, "b");
  assert_int_equal(core_fs_join(out, sizeof out, "a", "/abs", &err), CORE_OK);
  assert_string_equal(out, "/abs");
  assert_int_equal(core_fs_join(out, sizeof out, "0123456", "89abcde", &err), CORE_OK);  /* 15 */
  assert_string_equal(out, "0123456/89abcde");
  assert_int_equal(core_fs_join(out, sizeof out, "0123456", "89abcdef", &err), CORE_ERR_INVALID);
  assert_string_equal(out, "");
  assert_contains(err.msg, "exceeds 15 bytes");
}

static void test_write_text_and_meta(void **state) {
  (void)state;
  CoreRunDir rd;
  CoreErr err;
  assert_int_equal(core_rundir_create(&rd, tmp_root, "meta", &err), CORE_OK);
  assert_int_equal(core_rundir_write_text(&rd, "notes.txt", "first\n", &err), CORE_OK);
  assert_int_equal(core_rundir_write_text(&rd, "notes.txt", "second\n", &err), CORE_OK);
  char path[CORE_PATH_MAX];
  assert_int_equal(core_rundir_path(&rd, "notes.txt", path, sizeof path, &err), CORE_OK);
  char *text = slurp(path);
  assert_string_equal(text, "second\n");
  core_free(text);
  char when[32];
  core_time_iso8601(when, sizeof when);
  assert_int_equal((int)strlen(when), 20);
  CoreMetaItem items[] = {
      CORE_META_S("command", "cemrl train \"x\"\n"), CORE_META_I("seed", INT64_C(9007199254740993)),
      CORE_META_D("lr", 0.1),                        CORE_META_D("bad", NAN),
      CORE_META_B("resumed", 1),                     CORE_META_JSON("threads", "[1, 2]"),
      CORE_META_S("created", when),
  };
  assert_int_equal(core_rundir_write_meta(&rd, items, 7, &err), CORE_OK);
  assert_int_equal(core_rundir_path(&rd, "meta.json", path, sizeof path, &err), CORE_OK);
  text = slurp(path);
  assert_contains(text, "  \"seed\": 9007199254740993,\n");  /* integers exact beyond 2^53 */
  assert_contains(text, "  \"lr\": 0.1,\n");
  assert_contains(text, "  \"bad\": null,\n");
  assert_contains(text, "\"command\": \"cemrl train \\\"x\\\"\\n\"");
  cJSON *j = cJSON_Parse(text);  /* valid JSON that reads back */
  assert_non_null(j);
  assert_string_equal(cJSON_GetObjectItemCaseSensitive(j, "command")->valuestring,
                      "cemrl train \"x\"\n");
  assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "resumed")));
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "threads")), 2);
  cJSON_Delete(j);
  core_free(text);
  /* atomic writes leave no temporary files behind */
  DIR *d = opendir(rd.path);
  struct dirent *e;
  int n = 0;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    assert_null(strstr(e->d_name, ".tmp"));
    n++;
  }
  closedir(d);
  assert_int_equal(n, 2);
}

/* ---------------------------------------------------------------- CSV */

static const char *const cols[] = {"step", "return", "loss"};

static void csv_path(char *out, size_t n, const char *name) {
  snprintf(out, n, "%s/%s", tmp_root, name);
}

static void test_csv_create_rows(void **state) {
  (void)state;
  char path[512];
  csv_path(path, sizeof path, "a.csv");
  CoreErr err;
  CoreCsv *c = core_csv_create(path, cols, 3, &err);
  assert_non_null(c);
  assert_int_equal(core_csv_row_step(c, 1000, (double[]){12.5, 0.1}, 2, &err), CORE_OK);
  /* flushed: the row is in the file before close */
  char *text = slurp(path);
  assert_string_equal(text, "step,return,loss\n1000,12.5,0.1\n");
  core_free(text);
  assert_int_equal(
      core_csv_row_step(c, INT64_C(9007199254740993), (double[]){-1e-300, NAN}, 2, &err), CORE_OK);
  assert_int_equal(core_csv_row(c, (double[]){3000, 1.0 / 3.0, INFINITY}, 3, &err), CORE_OK);
  assert_int_equal((int)core_csv_rows(c), 3);
  core_csv_close(c);
  text = slurp(path);
  assert_string_equal(text, "step,return,loss\n1000,12.5,0.1\n9007199254740993,-1e-300,nan\n"
                            "3000,0.3333333333333333,inf\n");
  core_free(text);
  assert_true(strtod("0.3333333333333333", NULL) == 1.0 / 3.0);  /* the shortest exact form */
  core_csv_close(NULL);
}

static void test_csv_resume(void **state) {
  (void)state;
  char path[512];
  csv_path(path, sizeof path, "r.csv");
  CoreErr err;
  CoreCsv *c = core_csv_create(path, cols, 3, &err);
  assert_int_equal(core_csv_row_step(c, 1000, (double[]){1, 2}, 2, &err), CORE_OK);
  assert_int_equal(core_csv_row_step(c, 2000, (double[]){3, 4}, 2, &err), CORE_OK);
  core_csv_close(c);
  /* a resume appends: the curve continues at 3000, not 0 */
  c = core_csv_resume(path, cols, 3, -1, &err);
  assert_non_null(c);
  assert_int_equal((int)core_csv_rows(c), 2);
  assert_int_equal(core_csv_row_step(c, 3000, (double[]){5, 6}, 2, &err), CORE_OK);
  assert_int_equal((int)core_csv_rows(c), 3);
  core_csv_close(c);
  char *text = slurp(path);
  assert_string_equal(text, "step,return,loss\n1000,1,2\n2000,3,4\n3000,5,6\n");
  core_free(text);
}

static void test_csv_resume_torn_and_past(void **state) {
  (void)state;
  char path[512];
  csv_path(path, sizeof path, "t.csv");
  CoreErr err;
  /* a crash mid-row left "4000,7" without its newline: dropped */
  spit(path, "step,return,loss\n1000,1,2\n2000,3,4\n3000,5,6\n4000,7");
  CoreCsv *c = core_csv_resume(path, cols, 3, -1, &err);
  assert_non_null(c);
  assert_int_equal((int)core_csv_rows(c), 3);
  assert_int_equal(core_csv_row_step(c, 4000, (double[]){8, 9}, 2, &err), CORE_OK);
  core_csv_close(c);
  char *text = slurp(path);
  assert_string_equal(text, "step,return,loss\n1000,1,2\n2000,3,4\n3000,5,6\n4000,8,9\n");
  core_free(text);
  /* resuming the checkpoint of step 2000 drops rows written after it */
  c = core_csv_resume(path, cols, 3, 2000, &err);
  assert_non_null(c);
  assert_int_equal((int)core_csv_rows(c), 2);
  assert_int_equal(core_csv_row_step(c, 3000, (double[]){-5, -6}, 2, &err), CORE_OK);
  core_csv_close(c);
  text = slurp(path);
  assert_string_equal(text, "step,return,loss\n1000,1,2\n2000,3,4\n3000,-5,-6\n");
  core_free(text);
}

static void test_csv_resume_edge_cases(void **state) {
  (void)state;
  char path[512];
  CoreErr err;
  /* missing: created with its header */
  csv_path(path, sizeof path, "new.csv");
  CoreCsv *c = core_csv_resume(path, cols, 3, 100, &err);
  assert_non_null(c);
  core_csv_close(c);
  char *text = slurp(path);
  assert_string_equal(text, "step,return,loss\n");
  core_free(text);
  /* a torn header: started over */
  csv_path(path, sizeof path, "torn.csv");
  spit(path, "step,ret");
  c = core_csv_resume(path, cols, 3, -1, &err);
  assert_non_null(c);
  assert_int_equal(core_csv_row_step(c, 1, (double[]){2, 3}, 2, &err), CORE_OK);
  core_csv_close(c);
  text = slurp(path);
  assert_string_equal(text, "step,return,loss\n1,2,3\n");
  core_free(text);
  /* another run's columns: refused, file untouched */
  csv_path(path, sizeof path, "other.csv");
  spit(path, "step,fitness\n1,2\n");
  long live = core_alloc_live();
  assert_null(core_csv_resume(path, cols, 3, -1, &err));
  assert_int_equal(err.code, CORE_ERR_INVALID);
  assert_contains(err.msg,
                  "header \"step,fitness\" does not match this run's columns \"step,return,loss\"");
  assert_int_equal(core_alloc_live(), live);
  text = slurp(path);
  assert_string_equal(text, "step,fitness\n1,2\n");
  core_free(text);
  /* trimming by step needs an integer first column */
  csv_path(path, sizeof path, "bad.csv");
  spit(path, "step,return,loss\n1,2,3\nx,4,5\n");
  assert_null(core_csv_resume(path, cols, 3, 10, &err));
  assert_int_equal(err.code, CORE_ERR_PARSE);
  assert_contains(err.msg, "bad.csv:3: first column is not an integer step");
  /* unwritable location */
  assert_null(core_csv_create("/nonexistent/dir/x.csv", cols, 3, &err));
  assert_int_equal(err.code, CORE_ERR_IO);
  assert_contains(err.msg, "/nonexistent/dir/x.csv");
}

/* ---------------------------------------------------------------- progress */

static void test_format_eta(void **state) {
  (void)state;
  static const struct {
    double s;
    const char *want;
  } cases[] = {
      {0, "0s"},         {42, "42s"},        {59.4, "59s"},          {59.6, "1m00s"},
      {185, "3m05s"},    {3599, "59m59s"},   {3600, "1h00m"},        {3720, "1h02m"},
      {86399, "23h59m"}, {183600, "2d03h"},  {-1, "--"},             {NAN, "--"},
      {INFINITY, "--"},
  };
  char buf[32];
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    core_progress_format_eta(buf, sizeof buf, cases[i].s);
    if (strcmp(buf, cases[i].want))
      fail_msg("eta(%g) = %s, want %s", cases[i].s, buf, cases[i].want);
  }
}

static void test_format_rate(void **state) {
  (void)state;
  static const struct {
    double r;
    const char *want;
  } cases[] = {
      {0, "0.000"},      {0.1234, "0.123"}, {1.234, "1.23"},   {12.34, "12.3"},  {123.4, "123"},
      {999.4, "999"},    {999.6, "1.00k"},  {1234, "1.23k"},   {45678, "45.7k"}, {1.5e6, "1.50M"},
      {-1, "--"},        {NAN, "--"},
  };
  char buf[32];
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    core_progress_format_rate(buf, sizeof buf, cases[i].r);
    if (strcmp(buf, cases[i].want))
      fail_msg("rate(%g) = %s, want %s", cases[i].r, buf, cases[i].want);
  }
}

static void test_format_line(void **state) {
  (void)state;
  char buf[256];
  core_progress_format_line(buf, sizeof buf, "train", "steps", 452000, 1000000, 1234,
                            "return 3512.2");
  assert_string_equal(
      buf, "train   45.2%  452000/1000000 steps  1.23k steps/s  ETA 7m24s  return 3512.2");
  core_progress_format_line(buf, sizeof buf, "eval", "episodes", 3, 0, -1, NULL);
  assert_string_equal(buf, "eval  3 episodes  -- episodes/s");
  core_progress_format_line(buf, sizeof buf, "t", "u", 5, 10, -1, "");
  assert_string_equal(buf, "t   50.0%  5/10 u  -- u/s  ETA --");
}

typedef struct {
  double t;
} FakeClock;

static double fake_now(void *user) { return ((FakeClock *)user)->t; }

/* Plain mode: a line per interval, constant speed gives the exact rate and ETA. */
static void test_progress_plain(void **state) {
  (void)state;
  char *buf = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&buf, &len);
  FakeClock clk = {100.0};
  CoreProgress p;
  core_progress_init(&p, &(CoreProgressOpts){.label = "train", .unit = "steps", .total = 10000,
                                             .interval = 10, .tty = 0, .out = out,
                                             .clock = fake_now, .clock_user = &clk});
  int printed = 0;
  for (int i = 1; i <= 2000; i++) {  /* 100 steps/s for 20 s, one update per step */
    clk.t = 100.0 + i * 0.01;
    printed += core_progress_update(&p, i, "ret 1.5");
  }
  assert_int_equal(printed, 2);  /* at 10 s and 20 s */
  assert_near(p.rate, 100.0, 1e-6);
  core_progress_finish(&p, NULL);
  fclose(out);
  assert_contains(buf, "train   10.0%  1000/10000 steps  100 steps/s  ETA 1m30s  ret 1.5\n");
  assert_contains(buf, "train   20.0%  2000/10000 steps  100 steps/s  ETA 1m20s  ret 1.5\n");
  assert_contains(buf, "train: 2000 steps in 20s (100 steps/s)\n");
  assert_null(strchr(buf, '\r'));
  free(buf);
}

/* Terminal mode: redrawn in place at most every 0.1 s, padded over longer lines. */
static void test_progress_tty(void **state) {
  (void)state;
  char *buf = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&buf, &len);
  FakeClock clk = {0};
  CoreProgress p;
  core_progress_init(&p, &(CoreProgressOpts){.label = "cem", .unit = "evals", .total = 100,
                                             .tty = 1, .out = out, .clock = fake_now,
                                             .clock_user = &clk});
  clk.t = 0.05;
  assert_int_equal(core_progress_update(&p, 1, NULL), 0);  /* too soon */
  clk.t = 0.2;
  assert_int_equal(core_progress_update(&p, 2, "a long extra text"), 1);
  clk.t = 0.4;
  assert_int_equal(core_progress_update(&p, 4, NULL), 1);
  fflush(out);
  assert_null(strchr(buf, '\n'));
  assert_int_equal(buf[0], '\r');
  /* the second draw is padded with spaces to the first one's length */
  const char *second = strchr(buf + 1, '\r');
  assert_non_null(second);
  assert_int_equal((int)strlen(second), (int)(second - buf));
  core_progress_finish(&p, "done");
  fclose(out);
  assert_contains(buf, "\rcem: 4 evals in 0s (10.0 evals/s)  done");
  assert_int_equal(buf[strlen(buf) - 1], '\n');
  free(buf);
}

/* The smoothed rate follows a speed change with the time constant (5 s). */
static void test_progress_smoothing(void **state) {
  (void)state;
  FILE *out = fopen("/dev/null", "w");
  FakeClock clk = {0};
  CoreProgress p;
  core_progress_init(&p, &(CoreProgressOpts){.total = 0, .start = 5000, .tty = 0, .out = out,
                                             .clock = fake_now, .clock_user = &clk});
  int64_t done = 5000;  /* resumed at 5000: the rate counts only this process's work */
  for (int i = 1; i <= 200; i++) {  /* 100 units/s for 10 s */
    clk.t = i * 0.05;
    done += 5;
    core_progress_update(&p, done, NULL);
  }
  assert_near(p.rate, 100.0, 1e-9);
  for (int i = 1; i <= 100; i++) {  /* then 200 units/s for 5 s = one time constant */
    clk.t = 10.0 + i * 0.05;
    done += 10;
    core_progress_update(&p, done, NULL);
  }
  assert_near(p.rate, 200.0 - 100.0 * exp(-1.0), 1e-6);
  fclose(out);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rundir_unique),    cmocka_unit_test(test_rundir_errors),
      cmocka_unit_test(test_path_join),        cmocka_unit_test(test_write_text_and_meta),
      cmocka_unit_test(test_csv_create_rows),  cmocka_unit_test(test_csv_resume),
      cmocka_unit_test(test_csv_resume_torn_and_past), cmocka_unit_test(test_csv_resume_edge_cases),
      cmocka_unit_test(test_format_eta),       cmocka_unit_test(test_format_rate),
      cmocka_unit_test(test_format_line),      cmocka_unit_test(test_progress_plain),
      cmocka_unit_test(test_progress_tty),     cmocka_unit_test(test_progress_smoothing),
  };
  return cmocka_run_group_tests(tests, setup_tmp, teardown_tmp);
}
