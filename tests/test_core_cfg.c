/* test_core_cfg.c — the strict config reader: a corpus of bad configs (tests/data/configs/bad,
 * each NAME.json with NAME.expect naming the error code, line and message substrings), good
 * configs (defaults, nested values, --set overrides), resolved-JSON round trips, the help
 * listing, and allocation-failure injection through the cJSON hooks. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>

#include "test_util.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/cfg.h"
#include "core/fsutil.h"

/* ---------------------------------------------------------------- the test schema */

typedef enum { OPT_SGD, OPT_ADAM, OPT_A2GRAD } TestOpt;
static const char *const opt_names[] = {"sgd", "adam", "a2grad", NULL};

typedef struct {
  int batch_size;
  int buffer_size;
  double lr;
  bool verbose;
} TestTd3;

typedef struct {
  char env[32];
  int64_t seed;
  int opt;
  double sigma;
  bool verbose;
  int antithetic;   /* a bool stored in an int */
  int workers;
  TestTd3 td3;
} TestRun;

static int td3_check(const void *section, CoreCfgCheckCtx *ctx) {
  const TestTd3 *t = section;
  if (t->batch_size > t->buffer_size)
    return core_cfg_reject(ctx, "batch_size", "must not exceed buffer_size (%d)", t->buffer_size);
  return 0;
}

static const CoreCfgField td3_fields[] = {
    CORE_CFG_INT(TestTd3, batch_size, 100, 1, 1 << 20, "minibatch size"),
    CORE_CFG_INT(TestTd3, buffer_size, 1000000, 1, 100000000, "replay capacity"),
    CORE_CFG_DOUBLE_REQ(TestTd3, lr, 1e-6, 1, "learning rate"),
    CORE_CFG_BOOL(TestTd3, verbose, false, "log each update"),
    CORE_CFG_CHECK(td3_check, "batch_size <= buffer_size"),
    CORE_CFG_END,
};

static const CoreCfgField run_fields[] = {
    CORE_CFG_STRING_REQ(TestRun, env, "environment id"),
    CORE_CFG_INT64(TestRun, seed, 0, 0, 1e18, "run seed"),
    CORE_CFG_ENUM(TestRun, opt, "adam", opt_names, "optimizer"),
    CORE_CFG_DOUBLE(TestRun, sigma, 0.1, 0, 10, "initial std"),
    CORE_CFG_BOOL(TestRun, verbose, false, "chatty output"),
    CORE_CFG_BOOL(TestRun, antithetic, true, "mirrored sampling"),
    CORE_CFG_INT(TestRun, workers, 1, 1, 256, "rollout threads"),
    CORE_CFG_SECTION(TestRun, td3, td3_fields, "TD3 settings"),
    CORE_CFG_END,
};

/* A settings struct with zeroed padding, so memcmp compares values. */
static void run_clear(TestRun *r) { memset(r, 0, sizeof *r); }

/* ---------------------------------------------------------------- the bad-config corpus */

typedef struct {
  int code;
  int line;            /* 0: no line expected */
  char msg[8][512];    /* substrings the message must contain */
  int n_msg;
} Expect;

static void expect_read(const char *path, Expect *e) {
  FILE *f = fopen(path, "r");
  if (!f) fail_msg("cannot open %s", path);
  memset(e, 0, sizeof *e);
  e->code = 1;  /* unset */
  char line[512];
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = '\0';
    if (!strncmp(line, "code: ", 6)) {
      const char *c = line + 6;
      e->code = !strcmp(c, "parse") ? CORE_ERR_PARSE : !strcmp(c, "invalid") ? CORE_ERR_INVALID : 1;
    } else if (!strncmp(line, "line: ", 6)) {
      e->line = atoi(line + 6);
    } else if (!strncmp(line, "message: ", 9) && e->n_msg < 8) {
      snprintf(e->msg[e->n_msg++], sizeof e->msg[0], "%s", line + 9);
    }
  }
  fclose(f);
  if (e->code == 1) fail_msg("%s: no valid code line", path);
}

static int name_cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Load one bad config and check code, file:line and message substrings. */
static void check_bad(const char *dir, const char *name) {
  char json[1100], exp[1100], where[1200];
  snprintf(json, sizeof json, "%s/%s.json", dir, name);
  snprintf(exp, sizeof exp, "%s/%s.expect", dir, name);
  Expect e;
  expect_read(exp, &e);
  long live = core_alloc_live();
  TestRun r;
  CoreErr err;
  int rc = core_cfg_load_file(run_fields, &r, json, &err);
  if (getenv("CEMRL_TEST_VERBOSE")) printf("%s\n", err.msg);  /* to review the messages */
  if (rc != e.code) fail_msg("%s: code %d, expected %d; message: %s", name, rc, e.code, err.msg);
  assert_int_equal(err.code, rc);
  if (e.line) snprintf(where, sizeof where, "%s:%d:", json, e.line);
  else snprintf(where, sizeof where, "%s: ", json);
  assert_contains(err.msg, where);
  for (int i = 0; i < e.n_msg; i++) assert_contains(err.msg, e.msg[i]);
  assert_int_equal(core_alloc_live(), live);  /* nothing leaked on the error path */
}

static void test_bad_corpus(void **state) {
  (void)state;
  char dir[1024];
  test_data_path(dir, sizeof dir, "configs/bad");
  DIR *d = opendir(dir);
  assert_non_null(d);
  char *names[256];
  int n = 0;
  struct dirent *ent;
  while ((ent = readdir(d)) && n < 256) {
    size_t len = strlen(ent->d_name);
    if (len > 5 && !strcmp(ent->d_name + len - 5, ".json"))
      names[n++] = strndup(ent->d_name, len - 5);
  }
  closedir(d);
  qsort(names, (size_t)n, sizeof *names, name_cmp);
  assert_true(n >= 30);
  for (int i = 0; i < n; i++) {
    check_bad(dir, names[i]);
    free(names[i]);
  }
}

static void test_unreadable(void **state) {
  (void)state;
  TestRun r;
  CoreErr err;
  assert_int_equal(core_cfg_load_file(run_fields, &r, "/nonexistent/dir/x.json", &err),
                   CORE_ERR_IO);
  assert_contains(err.msg, "/nonexistent/dir/x.json");
  assert_contains(err.msg, "cannot open");
  char dir[1024];
  test_data_path(dir, sizeof dir, "configs");
  assert_int_equal(core_cfg_load_file(run_fields, &r, dir, &err), CORE_ERR_IO);
  assert_contains(err.msg, "not a regular file");
}

/* The caret sits under the column cJSON stopped at, and the line is shown. */
static void test_syntax_caret(void **state) {
  (void)state;
  TestRun r;
  CoreErr err;
  const char *text = "{\n  \"env\": \"x\",\n  \"seed\": 1 2\n}\n";
  assert_int_equal(core_cfg_load_string(run_fields, &r, text, "t.json", NULL, 0, &err),
                   CORE_ERR_PARSE);
  assert_contains(err.msg, "t.json:3:13: JSON syntax error: expected ',' or '}'");
  assert_contains(err.msg, "\n    \"seed\": 1 2\n");
  assert_contains(err.msg, "\n              ^");  /* 2 spaces of indent + 12 columns */
  /* tabs stay tabs under the caret */
  text = "{\n\t\"env\": x\n}";
  assert_int_equal(core_cfg_load_string(run_fields, &r, text, "t.json", NULL, 0, &err),
                   CORE_ERR_PARSE);
  assert_contains(err.msg, "t.json:2:9: JSON syntax error: expected a value");
  assert_contains(err.msg, "\n  \t\"env\": x\n  \t       ^");
}

/* ---------------------------------------------------------------- good configs */

static void test_defaults(void **state) {
  (void)state;
  TestRun r;
  run_clear(&r);
  CoreErr err;
  int rc = core_cfg_load_string(
      run_fields, &r, "{\"env\": \"Pendulum-v1\", \"td3\": {\"lr\": 0.01}}", "<t>", NULL, 0, &err);
  assert_int_equal(rc, CORE_OK);
  assert_int_equal(err.code, CORE_OK);
  assert_string_equal(r.env, "Pendulum-v1");
  assert_true(r.seed == 0 && r.opt == OPT_ADAM && r.sigma == 0.1 && !r.verbose);
  assert_true(r.antithetic == 1 && r.workers == 1);
  assert_true(r.td3.batch_size == 100 && r.td3.buffer_size == 1000000 && r.td3.lr == 0.01);
  assert_false(r.td3.verbose);
}

static void test_full_file(void **state) {
  (void)state;
  char path[1024];
  test_data_path(path, sizeof path, "configs/good/full.json");
  TestRun r;
  CoreErr err;
  assert_int_equal(core_cfg_load_file(run_fields, &r, path, &err), CORE_OK);
  assert_string_equal(r.env, "HalfCheetah-v4");
  assert_true(r.seed == INT64_C(123456789012));
  assert_true(r.opt == OPT_A2GRAD && r.sigma == 0.25 && r.verbose && !r.antithetic);
  assert_int_equal(r.workers, 8);
  assert_true(r.td3.batch_size == 256 && r.td3.buffer_size == 200000 && r.td3.lr == 3e-4);
  assert_true(r.td3.verbose);
  test_data_path(path, sizeof path, "configs/good/bom.json");
  assert_int_equal(core_cfg_load_file(run_fields, &r, path, &err), CORE_OK);
  assert_true(r.td3.lr == 0.5);
}

static void test_overrides(void **state) {
  (void)state;
  const char *sets[] = {
      "td3.batch_size=64", "opt=a2grad", "env=123",       "td3.lr=1e-4",
      "verbose=true",      "seed=42",    "sigma=\"0.5\"", "td3={\"lr\":0.2, \"batch_size\":7}"};
  TestRun r;
  CoreErr err;
  const char *text = "{\"env\": \"Pendulum-v1\", \"seed\": 1}";
  /* the first five, applied to a file without a td3 section: the section is created */
  assert_int_equal(core_cfg_load_string(run_fields, &r, text, "<t>", sets, 6, &err), CORE_OK);
  assert_int_equal(r.td3.batch_size, 64);
  assert_true(r.opt == OPT_A2GRAD && r.td3.lr == 1e-4 && r.verbose && r.seed == 42);
  assert_string_equal(r.env, "123");  /* string settings take the text verbatim */
  /* a JSON string where a number is expected is a located error */
  assert_int_equal(core_cfg_load_string(run_fields, &r, text, "<t>", sets + 6, 1, &err),
                   CORE_ERR_INVALID);
  assert_contains(err.msg, "--set sigma=\"0.5\": sigma: expected a number, got a string");
  /* a whole section as JSON; later overrides win */
  assert_int_equal(core_cfg_load_string(run_fields, &r, text, "<t>", sets + 7, 1, &err), CORE_OK);
  assert_true(r.td3.lr == 0.2 && r.td3.batch_size == 7);
}

static void test_override_errors(void **state) {
  (void)state;
  static const struct {
    const char *set, *msg;
  } cases[] = {
      {"td3.batch_sise=3",
       "--set td3.batch_sise=3: td3.batch_sise: unknown key; did you mean \"batch_size\"?"},
      {"seed=abc", "--set seed=abc: seed: expected an integer, got a string"},
      {"workers=1e400", "--set workers=1e400: workers: value out of range"},
      {"nokey", "--set nokey: expected KEY=VALUE"},
      {"=5", "--set =5: expected KEY=VALUE"},
      {"td3..lr=5", "--set td3..lr=5: expected KEY=VALUE"},
      {"env.x=1", "--set env.x=1: env is not a section"},
      {"td3={\"lr\":1,\"lr\":2}", "--set td3={\"lr\":1,\"lr\":2}: td3.lr: duplicate key"},
      {"td3.lr=5", "--set td3.lr=5: td3.lr: value 5 out of range; allowed [1e-06, 1]"},
  };
  const char *text = "{\"env\": \"Pendulum-v1\",\n \"td3\": {\"lr\": 0.1}}";
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    TestRun r;
    CoreErr err;
    long live = core_alloc_live();
    int rc = core_cfg_load_string(run_fields, &r, text, "<t>", &cases[i].set, 1, &err);
    if (rc != CORE_ERR_INVALID) fail_msg("--set %s: rc %d (%s)", cases[i].set, rc, err.msg);
    assert_contains(err.msg, cases[i].msg);
    assert_int_equal(core_alloc_live(), live);
  }
}

/* Write the resolved config, read it back: the same settings. */
static void test_resolved_round_trip(void **state) {
  (void)state;
  char path[1024];
  test_data_path(path, sizeof path, "configs/good/full.json");
  TestRun a, b;
  run_clear(&a);
  run_clear(&b);
  CoreErr err;
  const char *sets[] = {"sigma=0.1", "td3.lr=0.30000000000000004"};
  assert_int_equal(core_cfg_load_file_set(run_fields, &a, path, sets, 2, &err), CORE_OK);
  char tmpl[256];
  assert_non_null(test_make_tmpdir(tmpl, sizeof tmpl, "cfg"));
  char out[1100];
  snprintf(out, sizeof out, "%s/config.resolved.json", tmpl);
  assert_int_equal(core_cfg_write_json(run_fields, &a, out, &err), CORE_OK);
  assert_int_equal(core_cfg_load_file(run_fields, &b, out, &err), CORE_OK);
  char diff[128];
  assert_int_equal(core_cfg_compare(run_fields, &a, &b, diff, sizeof diff), 0);
  assert_memory_equal(&a, &b, sizeof a);
  /* the text is readable: 2-space indent, nested section, doubles keep a fraction */
  char *text;
  size_t len;
  assert_int_equal(core_fs_read_all(out, &text, &len, &err), CORE_OK);
  assert_contains(text, "  \"seed\": 123456789012,\n");
  assert_contains(text, "  \"opt\": \"a2grad\",\n");
  assert_contains(text, "  \"td3\": {\n    \"batch_size\": 256,\n");
  assert_contains(text, "\"lr\": 0.30000000000000004");
  assert_contains(text, "\"antithetic\": false");
  core_free(text);
  unlink(out);
  rmdir(tmpl);
  /* compare names the first differing field */
  b.td3.buffer_size++;
  assert_int_equal(core_cfg_compare(run_fields, &a, &b, diff, sizeof diff), 1);
  assert_string_equal(diff, "td3.buffer_size");
}

/* The defaults alone render and re-read identically (required fields set). */
static void test_defaults_round_trip(void **state) {
  (void)state;
  TestRun a, b;
  run_clear(&a);
  run_clear(&b);
  CoreErr err;
  const char *text = "{\"env\": \"e\", \"td3\": {\"lr\": 1e-6}}";
  assert_int_equal(core_cfg_load_string(run_fields, &a, text, "<t>", NULL, 0, &err), CORE_OK);
  char *json = core_cfg_to_json(run_fields, &a);
  assert_non_null(json);
  assert_contains(json, "\"sigma\": 0.1,");
  assert_contains(json, "\"lr\": 1e-06");
  assert_int_equal(core_cfg_load_string(run_fields, &b, json, "<resolved>", NULL, 0, &err),
                   CORE_OK);
  assert_memory_equal(&a, &b, sizeof a);
  core_free(json);
}

static void test_help_listing(void **state) {
  (void)state;
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  core_cfg_print_help(run_fields, f);
  fclose(f);
  if (getenv("CEMRL_TEST_VERBOSE")) printf("%s", buf);
  /* every key with its type, default and range on its own line */
  static const char *rows[][4] = {
      {"env ", "string", "(required)", "<= 31 chars"},
      {"seed ", "int64", " 0 ", "[0, 9007199254740992]"},
      {"opt ", "enum", "adam", "sgd|adam|a2grad"},
      {"sigma ", "double", "0.1", "[0, 10]"},
      {"verbose ", "bool", "false", "chatty output"},
      {"antithetic ", "bool", "true", "mirrored sampling"},
      {"workers ", "int", " 1 ", "[1, 256]"},
      {"td3 ", "section", "TD3 settings", ""},
      {"td3.batch_size ", "int", "100", "[1, 1048576]"},
      {"td3.buffer_size ", "int", "1000000", "[1, 100000000]"},
      {"td3.lr ", "double", "(required)", "[1e-06, 1]"},
      {"td3.verbose ", "bool", "false", "log each update"},
      {"td3 ", "rule", "batch_size <= buffer_size", ""},
  };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    const char *line = NULL;
    for (const char *p = buf; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
      char one[512];
      size_t n = strcspn(p, "\n");
      snprintf(one, sizeof one, "%.*s", (int)n, p);
      if (strncmp(one + 2, rows[i][0], strlen(rows[i][0])) || !strstr(one, rows[i][1])) continue;
      if (!strstr(one, rows[i][2]) || !strstr(one, rows[i][3])) continue;
      line = p;
      break;
    }
    if (!line) fail_msg("help row for %s missing in:\n%s", rows[i][0], buf);
  }
  free(buf);
}

/* Every allocation failing in turn gives a clean CORE_ERR_NOMEM and no leak. */
static void test_alloc_failures(void **state) {
  (void)state;
  char path[1024];
  test_data_path(path, sizeof path, "configs/good/full.json");
  const char *sets[] = {"td3.batch_size=64", "opt=sgd"};
  int ok = 0, k;
  for (k = 1; k < 2000 && !ok; k++) {
    TestRun r;
    CoreErr err;
    long live = core_alloc_live();
    core_alloc_fail_after(k);
    int rc = core_cfg_load_file_set(run_fields, &r, path, sets, 2, &err);
    core_alloc_fail_after(0);
    assert_int_equal(core_alloc_live(), live);
    if (rc == CORE_OK) {
      ok = 1;
      assert_true(r.td3.batch_size == 64 && r.opt == OPT_SGD);
    } else if (rc != CORE_ERR_NOMEM) {
      fail_msg("failing allocation %d gave %d (%s)", k, rc, err.msg);
    }
  }
  assert_true(ok);
  assert_true(k > 20);  /* the load really allocates (cJSON goes through core_malloc) */
}

/* A rule that fails without core_cfg_reject still gets a message with its help text. */
static int always_fail(const void *s, CoreCfgCheckCtx *ctx) {
  (void)s;
  (void)ctx;
  return -1;
}

typedef struct {
  int a;
} Tiny;

static void test_rule_fallback(void **state) {
  (void)state;
  static const CoreCfgField tiny[] = {
      CORE_CFG_INT(Tiny, a, 1, 0, 10, "a"),
      CORE_CFG_CHECK(always_fail, "a must be odd on Tuesdays"),
      CORE_CFG_END,
  };
  Tiny t;
  CoreErr err;
  assert_int_equal(core_cfg_load_string(tiny, &t, "{}", "<t>", NULL, 0, &err), CORE_ERR_INVALID);
  assert_contains(err.msg, "rule violated: a must be odd on Tuesdays");
  assert_int_equal(core_cfg_load_string(tiny, &t, "{}", "<t>", NULL, 0, NULL), CORE_ERR_INVALID);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bad_corpus),       cmocka_unit_test(test_unreadable),
      cmocka_unit_test(test_syntax_caret),     cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_full_file),        cmocka_unit_test(test_overrides),
      cmocka_unit_test(test_override_errors),  cmocka_unit_test(test_resolved_round_trip),
      cmocka_unit_test(test_defaults_round_trip), cmocka_unit_test(test_help_listing),
      cmocka_unit_test(test_alloc_failures),   cmocka_unit_test(test_rule_fallback),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
