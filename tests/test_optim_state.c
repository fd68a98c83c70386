/* test_optim_state.c — optimizer state through a checkpoint: a resumed run is bit-identical to an
 * uninterrupted one; kind, length and missing-section mismatches are clean errors that leave the
 * optimizer unchanged.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>

#include "test_util.h"
#include "core/alloc.h"
#include "core/ckpt.h"
#include "optim/opt.h"

#define N_VEC 45

/* f(p) = ½ Σ a_i (p_i − c_i)² + 0.1 Σ sin(3 p_i): its gradient depends on p, so a wrong
 * restored state changes the trajectory. */
static void loss_grad(const float *p, float *g, int n) {
  for (int i = 0; i < n; i++) {
    double a = 0.5 + (i % 5) * 0.4, c = sin(0.5 * i);
    g[i] = (float)(a * (p[i] - c) + 0.3 * cos(3.0 * p[i]));
  }
}

static void init_params(float *p, int n) {
  for (int i = 0; i < n; i++) p[i] = (float)(2.0 * cos(1.0 + 0.9 * i));
}

static void run_steps(Opt *o, float *p, int steps) {
  float g[N_VEC];
  for (int t = 0; t < steps; t++) {
    loss_grad(p, g, N_VEC);
    opt_step(o, p, g);
  }
}

/* Save o under prefix into a fresh in-memory checkpoint and load it back. */
static CoreCkpt *save_to_ckpt(const Opt *o, const char *prefix) {
  CoreErr err;
  core_err_clear(&err);
  CoreCkptWriter *w = core_ckpt_writer_create();
  assert_non_null(w);
  if (opt_save(o, w, prefix, &err) < 0) fail_msg("opt_save: %s", err.msg);
  void *buf = NULL;
  size_t size = 0;
  if (core_ckpt_write_buffer(w, &buf, &size, &err) < 0) fail_msg("write_buffer: %s", err.msg);
  core_ckpt_writer_free(w);
  CoreCkpt *c = core_ckpt_load_buffer(buf, size, "mem.ckpt", &err);
  core_free(buf);
  if (!c) fail_msg("load_buffer: %s", err.msg);
  return c;
}

static OptSettings settings_case(int k) {
  OptSettings s;
  switch (k) {
  case 0:
    s = opt_settings_default(OPT_SGD);
    s.lr = 0.05;
    break;
  case 1:
    s = opt_settings_default(OPT_SGD);
    s.lr = 0.02;
    s.momentum = 0.9;
    s.dampening = 0.1;
    s.weight_decay = 1e-3;
    break;
  case 2:
    s = opt_settings_default(OPT_SGD);
    s.lr = 0.02;
    s.momentum = 0.8;
    s.nesterov = 1;
    break;
  case 3:
    s = opt_settings_default(OPT_ADAM);
    s.lr = 0.01;
    s.weight_decay = 1e-2;
    break;
  default:
    s = opt_settings_default(OPT_AMSGRAD);
    s.lr = 0.01;
    s.beta2 = 0.9;
    break;
  }
  return s;
}
#define N_CASES 5

/* k steps, save, load into a fresh optimizer, k more steps == 2k uninterrupted steps, bit for
 * bit; and a fresh optimizer that did not load the state does differ (the test can fail). */
static void test_round_trip_bit_identical(void **state) {
  (void)state;
  long live = core_alloc_live();
  for (int k = 0; k < N_CASES; k++) {
    OptSettings s = settings_case(k);
    float pa[N_VEC], pb[N_VEC], pc[N_VEC];
    init_params(pa, N_VEC);
    Opt *a = opt_create(&s, N_VEC, NULL);
    run_steps(a, pa, 7);
    memcpy(pb, pa, sizeof pa);
    memcpy(pc, pa, sizeof pa);

    CoreCkpt *c = save_to_ckpt(a, "opt.actor");
    CoreErr err;
    core_err_clear(&err);
    Opt *b = opt_create(&s, N_VEC, NULL);
    if (opt_load(b, c, "opt.actor", &err) < 0) fail_msg("case %d: %s", k, err.msg);
    assert_int_equal(b->t, 7);
    Opt *cold = opt_create(&s, N_VEC, NULL);    /* same params, no state */

    run_steps(a, pa, 6);
    run_steps(b, pb, 6);
    run_steps(cold, pc, 6);
    assert_memory_equal(pa, pb, sizeof pa);
    assert_int_equal(a->t, b->t);
    if (k != 0) assert_memory_not_equal(pa, pc, sizeof pa);   /* plain SGD has no state */
    core_ckpt_free(c);
    opt_free(a);
    opt_free(b);
    opt_free(cold);
  }
  assert_int_equal(core_alloc_live(), live);
}

/* The sections are named "<prefix>.<field>" and hold what the docs say. */
static void test_section_names(void **state) {
  (void)state;
  OptSettings s = settings_case(4);
  float p[N_VEC];
  init_params(p, N_VEC);
  Opt *o = opt_create(&s, N_VEC, NULL);
  run_steps(o, p, 3);
  CoreCkpt *c = save_to_ckpt(o, "critic");
  size_t size = 0;
  const char *kind = core_ckpt_find(c, "critic.kind", &size);
  assert_non_null(kind);
  assert_int_equal(size, 7);
  assert_memory_equal(kind, "amsgrad", 7);
  int64_t t = 0;
  assert_int_equal(core_ckpt_read(c, "critic.t", &t, sizeof t, NULL), 0);
  assert_int_equal(t, 3);
  const char *fields[] = {"critic.m", "critic.v", "critic.vmax"};
  for (int i = 0; i < 3; i++) {
    assert_non_null(core_ckpt_find(c, fields[i], &size));
    assert_int_equal(size, N_VEC * sizeof(float));
  }
  assert_int_equal(core_ckpt_count(c), 5);
  core_ckpt_free(c);
  opt_free(o);
}

/* Two optimizers in one checkpoint under different prefixes. */
static void test_two_prefixes(void **state) {
  (void)state;
  OptSettings sa = settings_case(3), sb = settings_case(1);
  float pa[N_VEC], pb[N_VEC];
  init_params(pa, N_VEC);
  init_params(pb, N_VEC);
  Opt *a = opt_create(&sa, N_VEC, NULL), *b = opt_create(&sb, N_VEC, NULL);
  run_steps(a, pa, 4);
  run_steps(b, pb, 2);
  CoreErr err;
  CoreCkptWriter *w = core_ckpt_writer_create();
  assert_int_equal(opt_save(a, w, "actor", &err), 0);
  assert_int_equal(opt_save(b, w, "critic", &err), 0);
  void *buf = NULL;
  size_t size = 0;
  assert_int_equal(core_ckpt_write_buffer(w, &buf, &size, &err), 0);
  core_ckpt_writer_free(w);
  CoreCkpt *c = core_ckpt_load_buffer(buf, size, "two.ckpt", &err);
  core_free(buf);
  assert_non_null(c);
  Opt *a2 = opt_create(&sa, N_VEC, NULL), *b2 = opt_create(&sb, N_VEC, NULL);
  assert_int_equal(opt_load(a2, c, "actor", &err), 0);
  assert_int_equal(opt_load(b2, c, "critic", &err), 0);
  assert_int_equal(a2->t, 4);
  assert_int_equal(b2->t, 2);
  /* the critic's prefix holds SGD state: loading it as Adam names both kinds */
  Opt *a3 = opt_create(&sa, N_VEC, NULL);
  assert_int_equal(opt_load(a3, c, "critic", &err), CORE_ERR_INVALID);
  assert_contains(err.msg, "two.ckpt");
  assert_contains(err.msg, "\"critic.kind\" is \"sgd\" but this optimizer is \"adam\"");
  core_ckpt_free(c);
  opt_free(a);
  opt_free(b);
  opt_free(a2);
  opt_free(b2);
  opt_free(a3);
}

/* Step both optimizers once on the same input and compare: equal state gives equal output. */
static void assert_same_state(Opt *x, Opt *y) {
  assert_int_equal(x->t, y->t);
  float px[N_VEC], py[N_VEC], g[N_VEC];
  init_params(px, N_VEC);
  init_params(py, N_VEC);
  loss_grad(px, g, N_VEC);
  opt_step(x, px, g);
  opt_step(y, py, g);
  assert_memory_equal(px, py, sizeof px);
}

typedef struct {
  int save_case, load_case;   /* settings_case indices */
  size_t load_n;
  const char *prefix;         /* loaded prefix */
  int code;
  const char *expect;
} LoadBad;

static void test_load_mismatches(void **state) {
  (void)state;
  const LoadBad cases[] = {
    /* kind */
    {3, 4, N_VEC, "opt", CORE_ERR_INVALID,
     "mem.ckpt: section \"opt.kind\" is \"adam\" but this optimizer is \"amsgrad\""},
    {4, 1, N_VEC, "opt", CORE_ERR_INVALID, "is \"amsgrad\" but this optimizer is \"sgd\""},
    /* length */
    {3, 3, N_VEC + 1, "opt", CORE_ERR_INVALID,
     "section \"opt.m\" holds 180 bytes (45 floats) but the optimizer has n = 46"},
    {1, 1, N_VEC - 5, "opt", CORE_ERR_INVALID, "\"opt.buf\" holds 180 bytes (45 floats)"},
    /* plain SGD saved no momentum buffer */
    {0, 1, N_VEC, "opt", CORE_ERR_CORRUPT, "section \"opt.buf\" is missing"},
    /* nothing under that prefix */
    {3, 3, N_VEC, "actor", CORE_ERR_CORRUPT,
     "section \"actor.kind\" is missing (no optimizer state under \"actor\")"},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    const LoadBad *b = &cases[k];
    OptSettings ss = settings_case(b->save_case), ls = settings_case(b->load_case);
    float p[N_VEC];
    init_params(p, N_VEC);
    Opt *src = opt_create(&ss, N_VEC, NULL);
    run_steps(src, p, 3);
    CoreCkpt *c = save_to_ckpt(src, "opt");

    /* the target has its own history; a failed load must keep it */
    Opt *dst = opt_create(&ls, b->load_n, NULL), *twin = opt_create(&ls, b->load_n, NULL);
    float q[N_VEC + 8], r[N_VEC + 8], g[N_VEC + 8];
    for (int i = 0; i < N_VEC + 8; i++) q[i] = r[i] = g[i] = 0.1f * (float)(i % 4) - 0.1f;
    opt_step(dst, q, g);
    opt_step(twin, r, g);
    CoreErr err;
    core_err_clear(&err);
    int rc = opt_load(dst, c, b->prefix, &err);
    if (rc != b->code) fail_msg("case %zu: rc %d (%s)", k, rc, err.msg);
    assert_int_equal(err.code, b->code);
    assert_contains(err.msg, b->expect);
    if (b->load_n == N_VEC) assert_same_state(dst, twin);
    else assert_int_equal(dst->t, twin->t);
    core_ckpt_free(c);
    opt_free(src);
    opt_free(dst);
    opt_free(twin);
  }
}

/* A negative or odd-sized step count is rejected as corrupt. */
static void test_load_bad_step_count(void **state) {
  (void)state;
  OptSettings s = settings_case(3);
  Opt *o = opt_create(&s, N_VEC, NULL);
  float m[N_VEC] = {0};
  const int64_t bad_t = -4;
  const int32_t short_t = 3;
  for (int variant = 0; variant < 2; variant++) {
    CoreErr err;
    CoreCkptWriter *w = core_ckpt_writer_create();
    assert_int_equal(core_ckpt_add(w, "opt.kind", "adam", 4, &err), 0);
    if (variant == 0) assert_int_equal(core_ckpt_add(w, "opt.t", &bad_t, sizeof bad_t, &err), 0);
    else assert_int_equal(core_ckpt_add(w, "opt.t", &short_t, sizeof short_t, &err), 0);
    assert_int_equal(core_ckpt_add(w, "opt.m", m, sizeof m, &err), 0);
    assert_int_equal(core_ckpt_add(w, "opt.v", m, sizeof m, &err), 0);
    void *buf = NULL;
    size_t size = 0;
    assert_int_equal(core_ckpt_write_buffer(w, &buf, &size, &err), 0);
    core_ckpt_writer_free(w);
    CoreCkpt *c = core_ckpt_load_buffer(buf, size, "forged.ckpt", &err);
    core_free(buf);
    assert_non_null(c);
    assert_int_equal(opt_load(o, c, "opt", &err), CORE_ERR_CORRUPT);
    assert_contains(err.msg, "forged.ckpt: section \"opt.t\"");
    assert_contains(err.msg, variant == 0 ? "step count -4 is negative" : "not an 8-byte");
    assert_int_equal(o->t, 0);
    core_ckpt_free(c);
  }
  opt_free(o);
}

static void test_prefix_too_long(void **state) {
  (void)state;
  OptSettings s = settings_case(3);
  Opt *o = opt_create(&s, N_VEC, NULL);
  char prefix[CORE_CKPT_NAME_MAX];
  memset(prefix, 'p', sizeof prefix - 1);
  prefix[sizeof prefix - 1] = '\0';
  CoreErr err;
  CoreCkptWriter *w = core_ckpt_writer_create();
  assert_int_equal(opt_save(o, w, prefix, &err), CORE_ERR_INVALID);
  assert_contains(err.msg, "is longer than 63 bytes");
  core_ckpt_writer_free(w);
  opt_free(o);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_round_trip_bit_identical),
    cmocka_unit_test(test_section_names),
    cmocka_unit_test(test_two_prefixes),
    cmocka_unit_test(test_load_mismatches),
    cmocka_unit_test(test_load_bad_step_count),
    cmocka_unit_test(test_prefix_too_long),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
