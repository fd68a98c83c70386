/* test_agents_replay.c — replay ring: FIFO overwrite, done = terminated only, uniform sampling. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>

#include "test_util.h"
#include "agents/replay.h"
#include "core/alloc.h"

static void add_row(ReplayBuffer *rb, float v, int terminated) {
  float o[2] = {v, -v}, a[1] = {v * 10}, n[2] = {v + 1, -v - 1};
  rb_add(rb, o, a, v * 100, n, terminated);
}

static void test_ring(void **state) {
  (void)state;
  ReplayBuffer *rb = rb_create(3, 2, 1, NULL);
  assert_non_null(rb);
  for (int i = 0; i < 5; i++) add_row(rb, (float)i, i == 4);
  assert_int_equal(rb->size, 3);
  assert_int_equal(rb->ptr, 2);
  assert_int_equal(rb->added, 5);
  /* slots hold 3, 4, 2 */
  assert_true(rb->obs[0] == 3 && rb->obs[2] == 4 && rb->obs[4] == 2);
  assert_true(rb->not_done[1] == 0 && rb->not_done[0] == 1);
  assert_true(rb->rew[1] == 400 && rb->act[1] == 40 && rb->next_obs[3] == -5);
  rb_free(rb);
}

/* rb_repeat appends held transitions again in order, skips overwritten ones, and copes with
 * the source slot being the one written next. */
static void test_repeat(void **state) {
  (void)state;
  ReplayBuffer *rb = rb_create(4, 2, 1, NULL);
  assert_non_null(rb);
  for (int i = 0; i < 3; i++) add_row(rb, (float)i, i == 1);   /* numbers 0 1 2 */
  assert_int_equal(rb_repeat(rb, 1, 2), 2);                   /* numbers 3 4 = copies of 1 2 */
  assert_int_equal(rb->added, 5);
  assert_int_equal(rb->size, 4);
  /* slots: 0 <- number 4 (copy of 2), 1 <- 1, 2 <- 2, 3 <- 3 (copy of 1) */
  assert_true(rb->obs[3 * 2] == 1 && rb->not_done[3] == 0 && rb->rew[3] == 100);
  assert_true(rb->obs[0] == 2 && rb->act[0] == 20 && rb->next_obs[1] == -3);
  /* number 0 is gone (overwritten), 1 is the oldest held: written onto its own slot */
  assert_int_equal(rb_repeat(rb, 0, 2), 1);
  assert_int_equal(rb->added, 6);
  assert_true(rb->obs[1 * 2] == 1 && rb->not_done[1] == 0);
  assert_int_equal(rb_repeat(rb, 6, 3), 0);                   /* not added yet */
  rb_free(rb);
}

static void test_sampling_uniform(void **state) {
  (void)state;
  ReplayBuffer *rb = rb_create(10, 2, 1, NULL);
  for (int i = 0; i < 4; i++) add_row(rb, (float)i, 0);
  ReplayBatch b;
  assert_int_equal(rb_batch_create(&b, rb, 100, NULL), 0);
  CoreRng rng;
  core_rng_stream(&rng, 1, CORE_RNG_REPLAY, 0);
  long count[4] = {0};
  for (int it = 0; it < 400; it++) {
    rb_sample(rb, &rng, &b);
    for (int k = 0; k < 100; k++) {
      int v = (int)b.obs[k * 2];
      assert_true(v >= 0 && v < 4);  /* only held rows */
      assert_true(b.obs[k * 2 + 1] == -v && b.act[k] == v * 10 && b.rew[k] == v * 100 &&
                  b.next_obs[k * 2] == v + 1);
      count[v]++;
    }
  }
  for (int v = 0; v < 4; v++) assert_near(count[v], 10000, 5 * sqrt(40000 * 0.25 * 0.75));
  rb_batch_free(&b);
  rb_free(rb);
}

static void test_save_load(void **state) {
  (void)state;
  ReplayBuffer *rb = rb_create(5, 2, 1, NULL);
  for (int i = 0; i < 7; i++) add_row(rb, (float)i, i % 3 == 0);
  CoreCkptWriter *w = core_ckpt_writer_create();
  assert_int_equal(rb_save(rb, w, "rb", NULL), 0);
  void *buf;
  size_t sz;
  assert_int_equal(core_ckpt_write_buffer(w, &buf, &sz, NULL), 0);
  core_ckpt_writer_free(w);
  CoreCkpt *ck = core_ckpt_load_buffer(buf, sz, "mem", NULL);
  ReplayBuffer *r2 = rb_create(5, 2, 1, NULL);
  assert_int_equal(rb_load(r2, ck, "rb", NULL), 0);
  assert_true(r2->size == 5 && r2->ptr == 2 && r2->added == 7);
  assert_memory_equal(r2->obs, rb->obs, sizeof(float) * 10);
  assert_memory_equal(r2->not_done, rb->not_done, sizeof(float) * 5);
  ReplayBuffer *r3 = rb_create(6, 2, 1, NULL);
  CoreErr err;
  assert_int_equal(rb_load(r3, ck, "rb", &err), CORE_ERR_INVALID);
  assert_contains(err.msg, "different config");
  core_ckpt_free(ck);
  core_free(buf);
  rb_free(rb);
  rb_free(r2);
  rb_free(r3);
}

static void test_bad_create(void **state) {
  (void)state;
  CoreErr err;
  assert_null(rb_create(0, 2, 1, &err));
  assert_int_equal(err.code, CORE_ERR_INVALID);
  assert_null(rb_create(1L << 62, 1000, 1, &err));
  assert_int_equal(err.code, CORE_ERR_NOMEM);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_ring), cmocka_unit_test(test_repeat),
                                     cmocka_unit_test(test_sampling_uniform),
                                     cmocka_unit_test(test_save_load), cmocka_unit_test(test_bad_create)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
