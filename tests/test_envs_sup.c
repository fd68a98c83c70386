/* test_envs_sup.c — supervised tasks: IDX loading and its errors, Fashion-MNIST (fixtures made
 * here and the real package files), losses against finite differences, accuracy, evaluation,
 * and the one-step / fitness environments. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>

#include "test_util.h"

#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/alloc.h"
#include "envs/check.h"
#include "envs/idx.h"
#include "envs/sup.h"
#include "envs/sup_env.h"

/* ---------------------------------------------------------------- fixtures */

static char tmpdir[64];

static int setup_dir(void **state) {
  (void)state;
  return test_make_tmpdir(tmpdir, sizeof tmpdir, "sup") ? 0 : -1;
}

static int teardown_dir(void **state) {
  (void)state;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
  return system(cmd) == 0 ? 0 : -1;
}

/* An IDX image in memory: magic 00 00 08 ndim, sizes, then data[i] = (i * 7 + salt) & 255. */
static size_t make_idx(uint8_t *buf, int ndim, const uint32_t *dims, int salt) {
  size_t n = 1, p = 0;
  buf[p++] = 0, buf[p++] = 0, buf[p++] = 8, buf[p++] = (uint8_t)ndim;
  for (int k = 0; k < ndim; k++) {
    buf[p++] = (uint8_t)(dims[k] >> 24), buf[p++] = (uint8_t)(dims[k] >> 16);
    buf[p++] = (uint8_t)(dims[k] >> 8), buf[p++] = (uint8_t)dims[k];
    n *= dims[k];
  }
  for (size_t i = 0; i < n; i++) buf[p++] = (uint8_t)((i * 7 + (size_t)salt) & 255);
  return p;
}

/* gzip a buffer into memory (deflate with the gzip wrapper); returns the length. */
static size_t gzip_buf(const uint8_t *in, size_t len, uint8_t *out, size_t cap) {
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  zs.next_in = (Bytef *)in;
  zs.avail_in = (uInt)len;
  zs.next_out = out;
  zs.avail_out = (uInt)cap;
  assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
  size_t n = cap - zs.avail_out;
  deflateEnd(&zs);
  return n;
}

static void write_file(const char *path, const uint8_t *buf, size_t len) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(buf, 1, len, f), len);
  fclose(f);
}

/* ---------------------------------------------------------------- IDX */

static void test_idx_plain_and_gzip(void **state) {
  (void)state;
  static uint8_t raw[4096], gz[8192];
  const uint32_t dims[3] = {5, 4, 3};
  size_t n = make_idx(raw, 3, dims, 1);
  CoreErr err;
  SupIdx x;
  assert_int_equal(sup_idx_parse(raw, n, "plain", 3, &x, &err), 0);
  assert_int_equal(x.ndim, 3);
  assert_int_equal(x.dims[0], 5);
  assert_int_equal(x.dims[2], 3);
  assert_int_equal(x.n_bytes, 60);
  assert_int_equal(x.data[10], (10 * 7 + 1) & 255);
  sup_idx_release(&x);
  size_t gn = gzip_buf(raw, n, gz, sizeof gz);
  assert_int_equal(sup_idx_parse(gz, gn, "gz", 0, &x, &err), 0);
  assert_int_equal(x.n_bytes, 60);
  assert_memory_equal(x.data, raw + 16, 60);
  sup_idx_release(&x);
  sup_idx_release(&x);  /* twice is harmless */
}

static void test_idx_errors(void **state) {
  (void)state;
  static uint8_t raw[4096], gz[8192], bad[8192];
  const uint32_t dims[3] = {5, 4, 3};
  size_t n = make_idx(raw, 3, dims, 2);
  CoreErr err;
  SupIdx x;
  long live = core_alloc_live();
  /* bad magic */
  memcpy(bad, raw, n);
  bad[2] = 0x0D;  /* float type */
  assert_int_equal(sup_idx_parse(bad, n, "f.idx", 0, &x, &err), CORE_ERR_CORRUPT);
  assert_contains(err.msg, "f.idx");
  assert_contains(err.msg, "unsigned byte");
  bad[2] = 8, bad[0] = 0x12;
  assert_int_equal(sup_idx_parse(bad, n, "f.idx", 0, &x, &err), CORE_ERR_CORRUPT);
  assert_contains(err.msg, "magic");
  /* the wrong number of dimensions for its role */
  assert_int_equal(sup_idx_parse(raw, n, "labels.idx", 1, &x, &err), CORE_ERR_CORRUPT);
  assert_contains(err.msg, "3 dimensions, expected 1");
  /* plain: truncated and trailing */
  assert_int_equal(sup_idx_parse(raw, n - 1, "t.idx", 3, &x, &err), CORE_ERR_CORRUPT);
  assert_contains(err.msg, "truncated");
  assert_int_equal(sup_idx_parse(raw, 10, "t.idx", 3, &x, &err), CORE_ERR_CORRUPT);
  assert_contains(err.msg, "truncated IDX header");
  /* sizes that would need a huge buffer are refused before any allocation */
  memcpy(bad, raw, n);
  bad[4] = bad[5] = bad[6] = bad[7] = 0xFF;
  core_alloc_fail_after(1);  /* any allocation now would fail: none may happen */
  assert_int_equal(sup_idx_parse(bad, n, "huge.idx", 3, &x, &err), CORE_ERR_CORRUPT);
  core_alloc_fail_after(0);
  assert_contains(err.msg, "implausible");
  /* gzip: truncated stream, corrupt data, trailer disagreeing with the header */
  size_t gn = gzip_buf(raw, n, gz, sizeof gz);
  assert_int_equal(sup_idx_parse(gz, gn - 6, "cut.gz", 3, &x, &err), CORE_ERR_CORRUPT);
  assert_contains(err.msg, "cut.gz");
  memcpy(bad, gz, gn);
  bad[gn - 4] ^= 0x01;  /* ISIZE off by one: caught before allocating the data */
  assert_int_equal(sup_idx_parse(bad, gn, "isize.gz", 3, &x, &err), CORE_ERR_CORRUPT);
  assert_contains(err.msg, "trailer says");
  memcpy(bad, gz, gn);
  bad[gn - 8] ^= 0x40;  /* CRC-32 */
  assert_int_equal(sup_idx_parse(bad, gn, "crc.gz", 3, &x, &err), CORE_ERR_CORRUPT);
  assert_contains(err.msg, "corrupt gzip");
  memcpy(bad, gz, gn);
  for (size_t i = 12; i < gn - 8; i++) bad[i] ^= 0x5A;  /* garbage deflate data */
  assert_int_equal(sup_idx_parse(bad, gn, "junk.gz", 3, &x, &err), CORE_ERR_CORRUPT);
  assert_int_equal(sup_idx_parse(gz, 10, "short.gz", 3, &x, &err), CORE_ERR_CORRUPT);
  assert_contains(err.msg, "too short");
  /* a missing file is an I/O error naming it */
  assert_int_equal(sup_idx_load("/nonexistent/dir/x.gz", 3, &x, &err), CORE_ERR_IO);
  assert_contains(err.msg, "/nonexistent/dir/x.gz");
  assert_int_equal(core_alloc_live(), live);
}

/* ---------------------------------------------------------------- Fashion-MNIST */

/* Write a fake Fashion-MNIST folder: n_tr / n_te items of 28x28; label of item i is i % 10 unless
 * bad_label. */
static void write_fashion(const char *dir, uint32_t n_tr, uint32_t n_te, int bad_label,
                          uint32_t label_count_tr) {
  static uint8_t raw[40 * 784 + 64], gz[2 * 40 * 784 + 1024];
  const char *files[2][2] = {{"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"},
                             {"t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"}};
  char path[256];
  for (int s = 0; s < 2; s++) {
    uint32_t n = s ? n_te : n_tr;
    uint32_t dims[3] = {n, 28, 28};
    size_t len = make_idx(raw, 3, dims, s);
    snprintf(path, sizeof path, "%s/%s", dir, files[s][0]);
    write_file(path, gz, gzip_buf(raw, len, gz, sizeof gz));
    uint32_t nl = s ? n_te : label_count_tr;
    len = make_idx(raw, 1, &nl, 0);
    for (uint32_t i = 0; i < nl; i++) raw[8 + i] = (uint8_t)(i % 10);
    if (bad_label && s == 0) raw[8 + 3] = 12;
    snprintf(path, sizeof path, "%s/%s", dir, files[s][1]);
    write_file(path, gz, gzip_buf(raw, len, gz, sizeof gz));
  }
}

static void test_fashion_fixture(void **state) {
  (void)state;
  char dir[128];
  snprintf(dir, sizeof dir, "%s/fm", tmpdir);
  mkdir(dir, 0777);
  write_fashion(dir, 30, 20, 0, 30);
  SupTaskSpec spec = sup_task_spec_default(SUP_TASK_FASHION_MNIST);
  snprintf(spec.data_dir, sizeof spec.data_dir, "%s", dir);
  spec.n_train = 25;
  CoreErr err;
  SupTask *t = sup_task_create(&spec, &err);
  assert_non_null(t);
  assert_int_equal(t->n[SUP_TRAIN], 25);
  assert_int_equal(t->n[SUP_TEST], 20);
  assert_int_equal(t->in_dim, 784);
  assert_int_equal(t->out_dim, 10);
  assert_int_equal(t->loss, SUP_LOSS_XENT);
  /* standardised with the training subset's global mean/std */
  static float x[25 * 784], y[25];
  sup_task_range(t, SUP_TRAIN, 0, 25, x, y);
  double s = 0, s2 = 0;
  for (int i = 0; i < 25 * 784; i++) s += x[i], s2 += (double)x[i] * x[i];
  assert_near(s / (25 * 784), 0.0, 1e-4);
  assert_near(s2 / (25 * 784), 1.0, 1e-3);
  assert_near(y[13], 3.0, 0);
  /* a batch by index matches the range */
  int64_t idx[2] = {13, 0};
  float xb[2 * 784], yb[2];
  sup_task_batch(t, SUP_TRAIN, idx, 2, xb, yb);
  assert_memory_equal(xb, x + 13 * 784, 784 * sizeof(float));
  assert_near(yb[1], 0.0, 0);
  sup_task_free(t);
  /* pixels/255 without standardisation */
  spec.standardize = 0;
  t = sup_task_create(&spec, &err);
  assert_non_null(t);
  sup_task_range(t, SUP_TEST, 0, 1, x, y);
  assert_near(x[5], ((5 * 7 + 1) & 255) / 255.0, 1e-6);
  sup_task_free(t);
  /* more examples than the files hold */
  spec.n_train = 31;
  assert_null(sup_task_create(&spec, &err));
  assert_int_equal(err.code, CORE_ERR_INVALID);
  assert_contains(err.msg, "only 30");
}

static void test_fashion_errors(void **state) {
  (void)state;
  SupTaskSpec spec = sup_task_spec_default(SUP_TASK_FASHION_MNIST);
  CoreErr err;
  char dir[160];
  /* missing folder: the message names the file and where the package puts them */
  snprintf(spec.data_dir, sizeof spec.data_dir, "%s/none", tmpdir);
  assert_null(sup_task_create(&spec, &err));
  assert_int_equal(err.code, CORE_ERR_IO);
  assert_contains(err.msg, "train-images-idx3-ubyte.gz");
  assert_contains(err.msg, "dataset-fashion-mnist");
  /* a label outside 0..9 */
  snprintf(dir, sizeof dir, "%s/badlabel", tmpdir);
  mkdir(dir, 0777);
  write_fashion(dir, 12, 10, 1, 12);
  snprintf(spec.data_dir, sizeof spec.data_dir, "%s", dir);
  assert_null(sup_task_create(&spec, &err));
  assert_int_equal(err.code, CORE_ERR_CORRUPT);
  assert_contains(err.msg, "label 12 of item 3");
  /* images and labels that disagree in count */
  snprintf(dir, sizeof dir, "%s/count", tmpdir);
  mkdir(dir, 0777);
  write_fashion(dir, 12, 10, 0, 11);
  snprintf(spec.data_dir, sizeof spec.data_dir, "%s", dir);
  assert_null(sup_task_create(&spec, &err));
  assert_int_equal(err.code, CORE_ERR_CORRUPT);
  assert_contains(err.msg, "12 images");
  /* the environment variable is the fallback folder */
  setenv(SUP_FASHION_MNIST_ENV, tmpdir, 1);
  spec.data_dir[0] = '\0';
  assert_null(sup_task_create(&spec, &err));
  assert_contains(err.msg, tmpdir);
  unsetenv(SUP_FASHION_MNIST_ENV);
}

/* The package's files (scripts/install-deps.sh installs dataset-fashion-mnist). */
static void test_fashion_real(void **state) {
  (void)state;
  SupTaskSpec spec = sup_task_spec_default(SUP_TASK_FASHION_MNIST);
  CoreErr err;
  SupTask *t = sup_task_create(&spec, &err);
  if (!t) fail_msg("%s", err.msg);
  assert_int_equal(t->n[SUP_TRAIN], 60000);
  assert_int_equal(t->n[SUP_TEST], 10000);
  /* balanced classes: 6000 / 1000 of each */
  for (int s = 0; s < SUP_NSPLIT; s++) {
    int count[10] = {0};
    for (int64_t i = 0; i < t->n[s]; i++) count[(int)t->y[s][i]]++;
    for (int c = 0; c < 10; c++) assert_int_equal(count[c], s == SUP_TRAIN ? 6000 : 1000);
  }
  /* Fashion-MNIST's known pixel statistics: mean 72.94, std 90.02 (of 0..255) */
  assert_near(t->x_shift, 72.94, 0.05);
  assert_near(1.0 / t->x_scale, 90.02, 0.05);
  /* first training label of the published file is 9 (ankle boot), first test label 9 too */
  assert_near(t->y[SUP_TRAIN][0], 9.0, 0);
  assert_near(t->y[SUP_TEST][0], 9.0, 0);
  sup_task_free(t);
}

/* ---------------------------------------------------------------- losses and accuracy */

static SupTask *make_(int kind, int64_t n_train, int64_t n_test) {
  SupTaskSpec spec = sup_task_spec_default(kind);
  if (n_train) spec.n_train = n_train;
  spec.n_test = n_test;
  CoreErr err;
  SupTask *t = sup_task_create(&spec, &err);
  if (!t) fail_msg("%s", err.msg);
  return t;
}

/* dLoss/dpred against central differences of the loss, for a task's loss kind. */
static void check_loss_grad(SupTask *t, const float *y, int n) {
  const int D = t->out_dim;
  float pred[4 * 10], dpred[4 * 10];
  CoreRng rng;
  core_rng_stream(&rng, 5, CORE_RNG_TEST, 0);
  for (int k = 0; k < n * D; k++) pred[k] = (float)core_rng_normal(&rng);
  double l = sup_task_loss(t, pred, y, n, dpred);
  assert_true(l > 0);
  for (int k = 0; k < n * D; k++) {
    float keep = pred[k];
    const float h = 1e-2f;
    pred[k] = keep + h;
    double lp = sup_task_loss(t, pred, y, n, NULL);
    pred[k] = keep - h;
    double lm = sup_task_loss(t, pred, y, n, NULL);
    pred[k] = keep;
    assert_near(dpred[k], (lp - lm) / (2 * h), 2e-4);
  }
}

static void test_losses(void **state) {
  (void)state;
  /* MSE: regress (out 1) */
  SupTask *t = make_(SUP_TASK_REGRESS, 16, 0);
  float y[4] = {0.5f, -0.2f, 1.0f, 0.0f};
  check_loss_grad(t, y, 4);
  float u[4] = {1.5f, -0.2f, 0.0f, 0.0f};
  assert_near(sup_task_loss(t, u, y, 4, NULL), (1.0 + 0 + 1.0 + 0) / 4, 1e-9);
  assert_int_equal(sup_task_correct(t, u, y, 4), -1);
  assert_false(sup_task_has_accuracy(t));
  sup_task_free(t);
  /* logistic: ji-telgarsky */
  t = make_(SUP_TASK_JI_TELGARSKY, 0, 0);
  float s[4] = {1, -1, 1, -1};
  check_loss_grad(t, s, 4);
  float v[4] = {0.0f, 0.0f, 2.0f, 3.0f};
  assert_near(sup_task_loss(t, v, s, 2, NULL), log(2.0), 1e-9);
  /* (u, y) = (2, 1): softplus(−2); (3, −1): softplus(3) = 3 + log1p(e^−3) */
  double want = (log1p(exp(-2.0)) + 3 + log1p(exp(-3.0))) / 2;
  assert_near(sup_task_loss(t, v + 2, s + 2, 2, NULL), want, 1e-6);
  /* a huge margin neither overflows nor loses the small loss */
  float big[1] = {800.0f}, one[1] = {1};
  assert_near(sup_task_loss(t, big, one, 1, NULL), 0.0, 1e-300);
  big[0] = -800.0f;
  assert_near(sup_task_loss(t, big, one, 1, NULL), 800.0, 1e-6);
  assert_int_equal(sup_task_correct(t, v + 2, s + 2, 2), 1);
  sup_task_free(t);
}

static void test_xent_fixture_task(void **state) {
  (void)state;
  char dir[128];
  snprintf(dir, sizeof dir, "%s/fmx", tmpdir);
  mkdir(dir, 0777);
  write_fashion(dir, 12, 10, 0, 12);
  SupTaskSpec spec = sup_task_spec_default(SUP_TASK_FASHION_MNIST);
  snprintf(spec.data_dir, sizeof spec.data_dir, "%s", dir);
  CoreErr err;
  SupTask *t = sup_task_create(&spec, &err);
  assert_non_null(t);
  float y[3] = {3, 0, 9};
  check_loss_grad(t, y, 3);
  float z[2 * 10] = {0};
  z[3] = 5.0f;            /* right */
  z[10 + 4] = 5.0f;       /* wrong: label 0 */
  assert_int_equal(sup_task_correct(t, z, y, 2), 1);
  float zeros[10] = {0};
  assert_near(sup_task_loss(t, zeros, y, 1, NULL), log(10.0), 1e-6);
  /* large logits: max-subtracted */
  float hot[10] = {0};
  hot[3] = 1000.0f;
  assert_near(sup_task_loss(t, hot, y, 1, NULL), 0.0, 1e-9);
  sup_task_free(t);
}

/* ---------------------------------------------------------------- synthetic data */

static void test_du_and_regress_data(void **state) {
  (void)state;
  SupTask *t = make_(SUP_TASK_DU, 0, 0);
  assert_int_equal(t->n[SUP_TRAIN], 200);
  assert_int_equal(t->in_dim, 200);
  for (int i = 0; i < 200; i++) {
    double s = 0;
    for (int j = 0; j < 200; j++) s += (double)t->x[0][i * 200 + j] * t->x[0][i * 200 + j];
    assert_near(s, 1.0, 1e-5);
    assert_true(fabs(t->y[0][i]) <= t->pred_bound);
  }
  /* same spec, same data */
  SupTask *t2 = make_(SUP_TASK_DU, 0, 0);
  assert_memory_equal(t->x[0], t2->x[0], 200 * 200 * sizeof(float));
  sup_task_free(t2);
  sup_task_free(t);
  t = make_(SUP_TASK_REGRESS, 100, 10);
  for (int i = 0; i < 100; i++) {
    const float *x = t->x[0] + 4 * i;
    double y = 0.6 * sin(M_PI * x[0]) + 0.4 * x[1] * x[2] - 0.3 * x[3] * x[3] + 0.1;
    assert_near(t->y[0][i], y, 1e-6);
  }
  sup_task_free(t);
  SupTaskSpec bad = sup_task_spec_default(SUP_TASK_REGRESS);
  bad.dim = 3;
  CoreErr err;
  assert_null(sup_task_create(&bad, &err));
  assert_contains(err.msg, "fixed at 4");
}

/* ---------------------------------------------------------------- evaluation and fitness */

static void test_evaluate_and_fitness(void **state) {
  (void)state;
  SupTask *t = make_(SUP_TASK_REGRESS, 50, 37);
  NnLayerDesc layers[3] = {
      {.kind = NN_LINEAR, .out = 8}, {.kind = NN_TANH}, {.kind = NN_LINEAR, .out = 1}};
  CoreErr err;
  NnMlp *net = nn_mlp_create(4, layers, 3, 16, &err);
  assert_non_null(net);
  CoreRng rng;
  core_rng_stream(&rng, 1, CORE_RNG_TEST, 0);
  nn_mlp_init(net, NN_INIT_XAVIER, 0, &rng);
  float x[16 * 4], y[16];
  SupEval ev;
  sup_task_evaluate(t, net, SUP_TEST, 0, x, y, &ev);
  assert_int_equal(ev.n, 37);
  assert_true(isnan(ev.acc));
  /* the same by hand, one example at a time */
  double s = 0;
  for (int i = 0; i < 37; i++) {
    sup_task_range(t, SUP_TEST, i, 1, x, y);
    s += sup_task_loss(t, nn_mlp_forward(net, x, 1), y, 1, NULL);
  }
  assert_near(ev.loss, s / 37, 1e-6);
  /* fitness: −loss with another parameter vector, own parameters untouched */
  float *other = core_malloc(sizeof(float) * net->n_params);
  for (size_t i = 0; i < net->n_params; i++) other[i] = 0.0f;
  float keep0 = net->params[0];
  sup_task_range(t, SUP_TRAIN, 0, 16, x, y);
  double f = sup_task_fitness(t, net, other, x, y, 16);
  double want = 0;
  for (int i = 0; i < 16; i++) want += (double)y[i] * y[i];  /* zero net predicts 0 */
  assert_near(f, -want / 16, 1e-6);
  assert_ptr_equal(net->params, net->own_params);
  assert_true(net->params[0] == keep0);
  core_free(other);
  nn_mlp_free(net);
  sup_task_free(t);
  /* shuffles are permutations */
  int64_t perm[100];
  sup_perm_shuffle(perm, 100, &rng);
  int seen[100] = {0};
  for (int i = 0; i < 100; i++) seen[perm[i]]++;
  for (int i = 0; i < 100; i++) assert_int_equal(seen[i], 1);
}

/* ---------------------------------------------------------------- environments */

static void test_env_step_mode(void **state) {
  (void)state;
  CoreErr err;
  Env *e = env_make("Sup-Regress-v0", &err);
  if (!e) fail_msg("%s", err.msg);
  const SupTask *t = sup_env_task(e);
  assert_non_null(t);
  assert_int_equal(e->obs_dim, 4);
  assert_int_equal(e->act_dim, 1);
  assert_int_equal(e->max_episode_steps, 1);
  assert_near(e->act_high[0], t->pred_bound, 0);
  int mode = -1;
  assert_int_equal(sup_env_task_kind("SupFit-FashionMNIST-v0", &mode), SUP_TASK_FASHION_MNIST);
  assert_int_equal(mode, SUP_ENV_FIT);
  assert_int_equal(sup_env_task_kind("Pendulum-v1", NULL), -1);
  float obs[4], obs2[4], act[1] = {0.25f};
  env_reset(e, 42, obs);
  double st_buf[8];
  assert_int_equal(e->vt->get_state(e, st_buf, 8), 2);
  int64_t i = (int64_t)st_buf[1];
  float x[4], y[1];
  sup_task_batch(t, SUP_TRAIN, &i, 1, x, y);
  assert_memory_equal(obs, x, sizeof x);
  EnvStep st;
  env_step(e, act, obs2, &st);
  assert_near(st.reward, -(0.25 - y[0]) * (0.25 - y[0]), 1e-6);
  assert_int_equal(st.terminated, 1);
  /* the same seed shows the same example; another seed (almost surely) another */
  env_reset(e, 42, obs2);
  assert_memory_equal(obs, obs2, sizeof obs);
  env_reset(e, 43, obs2);
  assert_true(memcmp(obs, obs2, sizeof obs) != 0);
  /* actions beyond the bounds are clipped before the loss */
  act[0] = 100.0f;
  env_reset(e, 42, obs);
  env_step(e, act, obs2, &st);
  assert_near(st.reward, -(t->pred_bound - y[0]) * (t->pred_bound - y[0]), 1e-5);
  assert_null(sup_env_task(NULL));
  env_free(e);
}

static void test_env_fit_mode(void **state) {
  (void)state;
  CoreErr err;
  Env *e = env_make("SupFit-Regress-v0", &err);
  if (!e) fail_msg("%s", err.msg);
  const SupTask *t = sup_env_task(e);
  const int K = SUP_ENV_FIT_BATCH;
  assert_int_equal(e->max_episode_steps, K);
  float obs[4], act[1];
  env_reset(e, 7, obs);
  double state_buf[1 + SUP_ENV_FIT_BATCH];
  assert_int_equal(e->vt->get_state(e, state_buf, 1 + K), 1 + K);
  /* play the constant prediction 0.1: the return is −(mean squared error of the batch) */
  double ret = 0.0, want = 0.0;
  act[0] = 0.1f;
  for (int k = 0; k < K; k++) {
    int64_t i = (int64_t)state_buf[1 + k];
    float x[4], y[1];
    sup_task_batch(t, SUP_TRAIN, &i, 1, x, y);
    assert_memory_equal(obs, x, sizeof x);
    want += (0.1 - y[0]) * (0.1 - y[0]);
    EnvStep st;
    env_step(e, act, obs, &st);
    ret += st.reward;
    assert_int_equal(st.terminated, k == K - 1);
  }
  assert_near(ret, -want / K, 1e-9);
  env_free(e);
}

/* The generic env checker passes on every supervised env of the small tasks. */
static void test_env_checker(void **state) {
  (void)state;
  const char *names[] = {"Sup-Regress-v0", "SupFit-Regress-v0", "Sup-Du-v0", "SupFit-Du-v0",
                         "Sup-JiTelgarsky-v0", "SupFit-JiTelgarsky-v0"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    EnvCheckReport rep;
    CoreErr err;
    int fails = env_check(env_registry_find(names[i]), 3, &rep, &err);
    for (int k = 0; k < rep.n; k++)
      if (rep.item[k].verdict == ENV_CHECK_FAIL)
        print_message("%s: %s: %s\n", names[i], rep.item[k].name, rep.item[k].detail);
    assert_int_equal(fails, 0);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_idx_plain_and_gzip),
      cmocka_unit_test(test_idx_errors),
      cmocka_unit_test(test_fashion_fixture),
      cmocka_unit_test(test_fashion_errors),
      cmocka_unit_test(test_fashion_real),
      cmocka_unit_test(test_losses),
      cmocka_unit_test(test_xent_fixture_task),
      cmocka_unit_test(test_du_and_regress_data),
      cmocka_unit_test(test_evaluate_and_fitness),
      cmocka_unit_test(test_env_step_mode),
      cmocka_unit_test(test_env_fit_mode),
      cmocka_unit_test(test_env_checker),
  };
  return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
