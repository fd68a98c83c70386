/* test_nets_io.c — saving and loading networks through the checkpoint container: round trips,
 * architecture mismatches with clear messages, damaged descriptions. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>

#include "test_util.h"

#include "core/alloc.h"
#include "core/ckpt.h"
#include "core/rng.h"
#include "nets/mlp.h"

static const float max_action[] = {1.0f, 0.5f, 2.0f};

/* actor-like net: 5-16-8-3 tanh, scaled per output */
static NnMlp *make_actor(int hidden2, int act2, const float *scale, uint64_t seed) {
  NnLayerDesc d[] = {{NN_LINEAR, 16, 0, NULL},     {NN_TANH, 0, 0, NULL},
                     {NN_LINEAR, hidden2, 0, NULL}, {act2, 0, 0.01f, NULL},
                     {NN_LINEAR, 3, 0, NULL},      {NN_TANH, 0, 0, NULL},
                     {NN_SCALE, 0, 1.0f, scale}};
  NnMlp *net = nn_mlp_create(5, d, 7, 4, NULL);
  assert_non_null(net);
  CoreRng rng;
  core_rng_stream(&rng, seed, CORE_RNG_INIT, 0);
  nn_mlp_init(net, NN_INIT_TORCH, 0, &rng);
  return net;
}

/* Serialize the writer's sections to memory and load them back. */
static CoreCkpt *round_trip(CoreCkptWriter *w) {
  void *buf = NULL;
  size_t size = 0;
  CoreErr err;
  core_err_clear(&err);
  assert_int_equal(core_ckpt_write_buffer(w, &buf, &size, &err), 0);
  CoreCkpt *c = core_ckpt_load_buffer(buf, size, "mem.ckpt", &err);
  if (!c) fail_msg("%s", err.msg);
  core_free(buf);
  return c;
}

static CoreCkpt *save_one(const NnMlp *net, const char *prefix) {
  CoreCkptWriter *w = core_ckpt_writer_create();
  assert_non_null(w);
  CoreErr err;
  assert_int_equal(nn_mlp_save(net, w, prefix, &err), 0);
  CoreCkpt *c = round_trip(w);
  core_ckpt_writer_free(w);
  return c;
}

static void test_round_trip(void **state) {
  (void)state;
  NnMlp *a = make_actor(8, NN_TANH, max_action, 1);
  NnMlp *b = make_actor(8, NN_TANH, max_action, 2);
  assert_true(memcmp(a->params, b->params, a->n_params * sizeof(float)) != 0);
  CoreCkpt *c = save_one(a, "actor");
  assert_non_null(core_ckpt_find(c, "actor.arch", NULL));
  size_t size = 0;
  assert_non_null(core_ckpt_find(c, "actor.params", &size));
  assert_int_equal(size, a->n_params * sizeof(float));
  CoreErr err;
  core_err_clear(&err);
  assert_int_equal(nn_mlp_load(b, c, "actor", &err), 0);
  assert_memory_equal(a->params, b->params, a->n_params * sizeof(float));

  /* a network rebuilt from the checkpoint alone computes the same outputs */
  NnMlp *r = nn_mlp_create_from_ckpt(c, "actor", 2, &err);
  if (!r) fail_msg("%s", err.msg);
  char da[128], dr[128];
  nn_mlp_describe(a, da, sizeof da);
  nn_mlp_describe(r, dr, sizeof dr);
  assert_string_equal(da, dr);
  float x[2 * 5] = {0.1f, -0.2f, 0.3f, 0.9f, -1.0f, 0.5f, 0.5f, -0.5f, 0.0f, 0.25f};
  float ya[6];
  memcpy(ya, nn_mlp_forward(a, x, 2), sizeof ya);
  const float *yr = nn_mlp_forward(r, x, 2);
  for (int i = 0; i < 6; i++) assert_true(ya[i] == yr[i]);
  nn_mlp_free(r);

  /* loading into a bound row writes the row */
  float *row = core_calloc(a->n_params, sizeof(float));
  nn_mlp_bind_params(b, row);
  assert_int_equal(nn_mlp_load(b, c, "actor", &err), 0);
  assert_memory_equal(row, a->params, a->n_params * sizeof(float));
  nn_mlp_bind_params(b, NULL);
  core_free(row);

  core_ckpt_free(c);
  nn_mlp_free(a);
  nn_mlp_free(b);
}

/* Two networks in one checkpoint under different prefixes stay apart. */
static void test_two_prefixes(void **state) {
  (void)state;
  NnMlp *a = make_actor(8, NN_TANH, max_action, 1);
  NnMlp *t = make_actor(8, NN_TANH, max_action, 3);
  CoreCkptWriter *w = core_ckpt_writer_create();
  CoreErr err;
  assert_int_equal(nn_mlp_save(a, w, "actor", &err), 0);
  assert_int_equal(nn_mlp_save(t, w, "actor_target", &err), 0);
  CoreCkpt *c = round_trip(w);
  core_ckpt_writer_free(w);
  NnMlp *b = make_actor(8, NN_TANH, max_action, 9);
  assert_int_equal(nn_mlp_load(b, c, "actor_target", &err), 0);
  assert_memory_equal(b->params, t->params, t->n_params * sizeof(float));
  /* a missing prefix is NOTFOUND and says which section */
  assert_int_equal(nn_mlp_load(b, c, "critic", &err), CORE_ERR_NOTFOUND);
  assert_contains(err.msg, "no section 'critic.arch'");
  /* a prefix too long for a section name */
  char longp[80];
  memset(longp, 'p', sizeof longp - 1);
  longp[sizeof longp - 1] = '\0';
  w = core_ckpt_writer_create();
  assert_int_equal(nn_mlp_save(a, w, longp, &err), CORE_ERR_INVALID);
  assert_contains(err.msg, "too long");
  core_ckpt_writer_free(w);
  core_ckpt_free(c);
  nn_mlp_free(a);
  nn_mlp_free(t);
  nn_mlp_free(b);
}

/* Each kind of difference is rejected, the parameters stay untouched, and the message says what
 * differs. */
static void test_arch_mismatch(void **state) {
  (void)state;
  NnMlp *a = make_actor(8, NN_TANH, max_action, 1);
  CoreCkpt *c = save_one(a, "actor");
  CoreErr err;
  struct {
    NnMlp *net;
    const char *want;
  } cases[4];
  const float other_scale[] = {1.0f, 0.5f, 3.0f};
  cases[0].net = make_actor(12, NN_TANH, max_action, 1);
  cases[0].want = "layer 2 is linear(8) in the checkpoint but linear(12) here";
  cases[1].net = make_actor(8, NN_LEAKY_RELU, max_action, 1);
  cases[1].want = "layer 3 is tanh in the checkpoint but leaky_relu(0.01) here";
  cases[2].net = make_actor(8, NN_TANH, other_scale, 1);
  cases[2].want = "layer 6 (scale): factor 2 is 2 in the checkpoint but 3 here";
  cases[3].net = make_actor(8, NN_TANH, NULL, 1);
  cases[3].want = "layer 6 is scale[per-unit] in the checkpoint but scale(1) here";
  for (int i = 0; i < 4; i++) {
    float *keep = core_malloc(cases[i].net->n_params * sizeof(float));
    memcpy(keep, cases[i].net->params, cases[i].net->n_params * sizeof(float));
    core_err_clear(&err);
    assert_int_equal(nn_mlp_load(cases[i].net, c, "actor", &err), CORE_ERR_INVALID);
    print_message("  %s\n", err.msg);
    assert_contains(err.msg, "mem.ckpt: network 'actor' does not match");
    assert_contains(err.msg, cases[i].want);
    assert_contains(err.msg, "checkpoint: 5-16-8-3");
    assert_memory_equal(keep, cases[i].net->params, cases[i].net->n_params * sizeof(float));
    core_free(keep);
    nn_mlp_free(cases[i].net);
  }
  /* input width and layer count */
  NnLayerDesc d6[] = {{NN_LINEAR, 16, 0, NULL}, {NN_TANH, 0, 0, NULL}, {NN_LINEAR, 3, 0, NULL}};
  NnMlp *n6 = nn_mlp_create(6, d6, 3, 1, NULL);
  assert_int_equal(nn_mlp_load(n6, c, "actor", &err), CORE_ERR_INVALID);
  assert_contains(err.msg, "input width is 5 in the checkpoint but 6 here");
  nn_mlp_free(n6);
  NnMlp *n5 = nn_mlp_create(5, d6, 3, 1, NULL);
  assert_int_equal(nn_mlp_load(n5, c, "actor", &err), CORE_ERR_INVALID);
  assert_contains(err.msg, "the checkpoint has 7 layers, this network 3");
  nn_mlp_free(n5);
  core_ckpt_free(c);
  nn_mlp_free(a);
}

/* A damaged description is CORE_ERR_CORRUPT, never a crash; checked for every truncation and a
 * few field corruptions (the container's CRC would catch these in a file; sections written
 * directly here bypass it). */
static void test_damaged_arch(void **state) {
  (void)state;
  NnMlp *a = make_actor(8, NN_TANH, max_action, 1);
  CoreCkpt *good = save_one(a, "actor");
  size_t size;
  const unsigned char *arch = core_ckpt_find(good, "actor.arch", &size);
  assert_non_null(arch);
  unsigned char *copy = core_malloc(size);
  CoreErr err;
  /* variants 0..size-1: truncated to that many bytes; then four field corruptions at full size */
  for (size_t v = 0; v < size + 4; v++) {
    memcpy(copy, arch, size);
    size_t len = v < size ? v : size;
    if (v == size) copy[12] = 0xff, copy[13] = 0xff;    /* n_layers = 65535 */
    if (v == size + 1) copy[16] = 42;                     /* layer 0 kind */
    if (v == size + 2) copy[16 + 6 * 16 + 12] = 2;       /* layer 6 scale count 3 → 2 */
    if (v == size + 3) copy[0] = 'X';                     /* magic */
    CoreCkptWriter *w = core_ckpt_writer_create();
    assert_int_equal(core_ckpt_add(w, "actor.arch", copy, len, &err), 0);
    assert_int_equal(core_ckpt_add(w, "actor.params", a->params, a->n_params * 4, &err), 0);
    CoreCkpt *c = round_trip(w);
    core_ckpt_writer_free(w);
    NnMlp *b = make_actor(8, NN_TANH, max_action, 2);
    assert_int_equal(nn_mlp_load(b, c, "actor", &err), CORE_ERR_CORRUPT);
    assert_contains(err.msg, "actor.arch");
    assert_null(nn_mlp_create_from_ckpt(c, "actor", 1, &err));
    assert_int_equal(err.code, CORE_ERR_CORRUPT);
    nn_mlp_free(b);
    core_ckpt_free(c);
  }
  /* parameters of the wrong size: the container's exact-size read rejects them */
  CoreCkptWriter *w = core_ckpt_writer_create();
  assert_int_equal(core_ckpt_add(w, "actor.arch", arch, size, &err), 0);
  assert_int_equal(core_ckpt_add(w, "actor.params", a->params, a->n_params * 4 - 4, &err), 0);
  CoreCkpt *c = round_trip(w);
  core_ckpt_writer_free(w);
  assert_int_equal(nn_mlp_load(a, c, "actor", &err), CORE_ERR_CORRUPT);
  assert_contains(err.msg, "actor.params");
  core_ckpt_free(c);
  /* a description of a huge network beside small parameters is refused before anything of that
   * size is allocated (found by fuzz/fuzz_policy.c: 2 GB for a 100-byte file) */
  memcpy(copy, arch, size);
  copy[20] = 0x00, copy[21] = 0x00, copy[22] = 0x80, copy[23] = 0x00;  /* layer 0: linear(2^23) */
  w = core_ckpt_writer_create();
  assert_int_equal(core_ckpt_add(w, "actor.arch", copy, size, &err), 0);
  assert_int_equal(core_ckpt_add(w, "actor.params", a->params, a->n_params * 4, &err), 0);
  c = round_trip(w);
  core_ckpt_writer_free(w);
  assert_null(nn_mlp_create_from_ckpt(c, "actor", 1, &err));
  assert_int_equal(err.code, CORE_ERR_CORRUPT);
  assert_contains(err.msg, "describes");
  core_ckpt_free(c);
  core_free(copy);
  core_ckpt_free(good);
  nn_mlp_free(a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_two_prefixes),
      cmocka_unit_test(test_arch_mismatch),
      cmocka_unit_test(test_damaged_arch),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
