/* fuzz_policy.c — `cemrl eval` building a network from a damaged policy file: refused with a
 * message, or built with a forward pass that runs, never a crash. The input edits the sections
 * of a valid policy (edit.h) whose network has every layer kind an actor can have. */
#include <stdlib.h>

#include "core/alloc.h"
#include "edit.h"
#include "fuzz.h"
#include "nets/mlp.h"

static CoreCkpt *g_valid;

static void setup(void) {
  static const float high[2] = {2.0f, 0.5f};
  NnLayerDesc l[] = {{.kind = NN_LINEAR, .out = 8},       {.kind = NN_LAYER_NORM},
                     {.kind = NN_TANH},                   {.kind = NN_LINEAR, .out = 8},
                     {.kind = NN_LEAKY_RELU, .alpha = 0.01f}, {.kind = NN_LINEAR, .out = 2},
                     {.kind = NN_TANH},                   {.kind = NN_SCALE, .scale = high}};
  CoreErr err;
  NnMlp *net = nn_mlp_create(3, l, (int)(sizeof l / sizeof l[0]), 1, &err);
  if (!net) abort();
  CoreRng rng;
  core_rng_stream(&rng, 1, CORE_RNG_TEST, 0);
  nn_mlp_init(net, NN_INIT_TORCH, 0.0, &rng);
  CoreCkptWriter *w = core_ckpt_writer_create();
  void *buf;
  size_t n;
  if (!w || nn_mlp_save(net, w, "policy", &err) || core_ckpt_write_buffer(w, &buf, &n, &err)) abort();
  if (!(g_valid = core_ckpt_load_buffer(buf, n, "<valid>", &err))) abort();
  core_free(buf);
  core_ckpt_writer_free(w);
  nn_mlp_free(net);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t size) {
  if (!g_valid) setup();
  CoreCkpt *c = fuzz_edit_ckpt(g_valid, d, size);
  CoreErr err;
  core_err_clear(&err);
  NnMlp *net = nn_mlp_create_from_ckpt(c, "policy", 1, &err);
  if (net) {
    float *x = core_calloc((size_t)net->in_dim, sizeof(float));
    if (!x) abort();
    nn_mlp_forward(net, x, 1);
    core_free(x);
    nn_mlp_free(net);
  } else if (!err.msg[0]) {
    abort();
  }
  core_ckpt_free(c);
  return 0;
}
