/* test_nets_ew.c — the vectorised activation kernels against scalar references: tanh accuracy
 * over its whole range and at special values, every length (the 16-wide blocks and the tail),
 * NaN propagation, column sums in row order. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>

#include "test_util.h"

#include "core/alloc.h"
#include "core/rng.h"
#include "nets/ew.h"

static void test_tanh_accuracy(void **state) {
  (void)state;
  size_t n = 240001;
  float *x = core_malloc(n * sizeof(float)), *y = core_malloc(n * sizeof(float));
  for (size_t i = 0; i < n; i++) x[i] = (float)(-12.0 + 24.0 * (double)i / (double)(n - 1));
  nn_ew_tanh(y, x, n);
  double worst_rel = 0.0;
  for (size_t i = 0; i < n; i++) {
    double t = tanh((double)x[i]);
    assert_true(fabs(y[i]) <= 1.0f);
    if (x[i] != 0.0f) {
      double rel = fabs(y[i] - t) / fabs(t);
      if (rel > worst_rel) worst_rel = rel;
    }
  }
  print_message("  tanh: worst relative error %.3g over [-12, 12]\n", worst_rel);
  assert_true(worst_rel < 2e-7);
  /* odd symmetry, exactly */
  for (size_t i = 0; i < n; i++) x[i] = -x[i];
  float *z = core_malloc(n * sizeof(float));
  nn_ew_tanh(z, x, n);
  for (size_t i = 0; i < n; i++) assert_true(z[i] == -y[i]);
  core_free(z);
  core_free(x);
  core_free(y);

  float sp[] = {0.0f, -0.0f, 1e-30f, -1e-20f, 1e-8f, INFINITY, -INFINITY, NAN, 9.5f, -100.0f};
  float out[10];
  nn_ew_tanh(out, sp, 10);
  assert_true(out[0] == 0.0f && !signbit(out[0]));
  assert_true(out[1] == 0.0f && signbit(out[1]));
  assert_true(out[2] == 1e-30f && out[3] == -1e-20f && out[4] == 1e-8f);
  assert_true(out[5] == 1.0f && out[6] == -1.0f);
  assert_true(isnan(out[7]));
  assert_true(out[8] == 1.0f && out[9] == -1.0f);
}

/* Every length 0..40 (whole blocks and tails), in place and out of place. */
static void test_lengths_and_references(void **state) {
  (void)state;
  CoreRng rng;
  core_rng_stream(&rng, 1, CORE_RNG_TEST, 0);
  float x[40], dy[40], y[40], dx[40], ip[40];
  for (size_t n = 0; n <= 40; n++) {
    core_rng_uniform_fill(&rng, x, 40, -3, 3);
    core_rng_uniform_fill(&rng, dy, 40, -1, 1);
    for (size_t i = 0; i < 40; i++) y[i] = dx[i] = 99.0f;
    nn_ew_relu(y, x, n);
    nn_ew_leaky_relu_backward(dx, x, dy, n, 0.0f);
    for (size_t i = 0; i < n; i++) {
      assert_true(y[i] == (x[i] > 0 ? x[i] : 0.0f));
      assert_true(dx[i] == (x[i] > 0 ? dy[i] : 0.0f));
    }
    for (size_t i = n; i < 40; i++) assert_true(y[i] == 99.0f && dx[i] == 99.0f);
    nn_ew_leaky_relu(y, x, n, 0.01f);
    nn_ew_leaky_relu_backward(dx, x, dy, n, 0.01f);
    for (size_t i = 0; i < n; i++) {
      assert_true(y[i] == (x[i] > 0 ? x[i] : x[i] * 0.01f));
      assert_true(dx[i] == (x[i] > 0 ? dy[i] : dy[i] * 0.01f));
    }
    nn_ew_tanh(y, x, n);
    nn_ew_tanh_backward(dx, y, dy, n);
    for (size_t i = 0; i < n; i++) {
      assert_near(y[i], tanh(x[i]), 2e-7);
      assert_true(dx[i] == dy[i] * (1.0f - y[i] * y[i]));
    }
    /* in place gives the same as out of place */
    memcpy(ip, x, sizeof ip);
    nn_ew_tanh(ip, ip, n);
    for (size_t i = 0; i < n; i++) assert_true(ip[i] == y[i]);
    /* a value's result does not depend on its position (tail vs block) */
    if (n > 0) {
      float one;
      nn_ew_tanh(&one, &x[n - 1], 1);
      assert_true(one == y[n - 1]);
    }
  }
}

static void test_nan_and_inf(void **state) {
  (void)state;
  float x[3] = {NAN, -1.0f, 2.0f}, y[3], dy[3] = {1.0f, INFINITY, 1.0f}, dx[3];
  nn_ew_relu(y, x, 3);
  assert_true(isnan(y[0]));  /* as torch.relu */
  nn_ew_leaky_relu(y, x, 3, 0.01f);
  assert_true(isnan(y[0]));
  /* below the ReLU kink the gradient is an exact 0, even for an infinite upstream gradient */
  nn_ew_leaky_relu_backward(dx, x, dy, 3, 0.0f);
  assert_true(dx[1] == 0.0f);
}

/* Column sums add in row order, element by element as a scalar loop would (so any vector width
 * gives the same bits), over widths with and without a tail; overwrite ignores what s held. */
static void test_sum_rows(void **state) {
  (void)state;
  CoreRng rng;
  core_rng_stream(&rng, 2, CORE_RNG_TEST, 0);
  float x[7 * 37], s[37], s0[37];
  core_rng_uniform_fill(&rng, x, 7 * 37, -5, 5);
  for (int cols = 1; cols <= 37; cols += 6) {
    for (int rows = 1; rows <= 7; rows += 3) {
      core_rng_uniform_fill(&rng, s0, 37, -1, 1);
      memcpy(s, s0, sizeof s);
      nn_ew_sum_rows(s, x, rows, cols, 0);
      for (int j = 0; j < cols; j++) {
        float ref = s0[j];
        for (int r = 0; r < rows; r++) ref += x[r * cols + j];
        assert_true(s[j] == ref);
      }
      for (int j = cols; j < 37; j++) assert_true(s[j] == s0[j]);
      for (int j = 0; j < 37; j++) s[j] = NAN;
      nn_ew_sum_rows(s, x, rows, cols, 1);
      for (int j = 0; j < cols; j++) {
        float ref = 0.0f;
        for (int r = 0; r < rows; r++) ref += x[r * cols + j];
        assert_true(s[j] == ref);
      }
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tanh_accuracy),
      cmocka_unit_test(test_lengths_and_references),
      cmocka_unit_test(test_nan_and_inf),
      cmocka_unit_test(test_sum_rows),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
