/* ckpt_harness.h — the body of the checkpoint fuzzers (fuzz_ckpt*.c): resuming from a damaged
 * checkpoint refuses it with a message or loads it and trains on, never crashes or hangs. The
 * input either replaces the whole file (first byte 'R': the container's header, index and
 * checksums) or edits the sections of a valid checkpoint and re-seals them with valid checksums
 * (edit.h), so the agent's own range checks are what gets exercised. Define FUZZ_CKPT_CONFIG (a
 * `cemrl train` config) and FUZZ_CKPT_ITERATIONS, then include this once. */
#include <stdlib.h>
#include <string.h>

#include "agents/agent.h"
#include "app/settings.h"
#include "core/alloc.h"
#include "core/ckpt.h"
#include "edit.h"
#include "fuzz.h"

static AgentSettings g_s;
static CoreCkpt *g_valid;

/* A checkpoint of the agent of FUZZ_CKPT_CONFIG after FUZZ_CKPT_ITERATIONS iterations. */
static void setup(void) {
  core_cfg_init();
  CoreErr err;
  if (core_cfg_load_string(app_agent_fields, &g_s, FUZZ_CKPT_CONFIG, "<fuzz>", NULL, 0, &err)) abort();
  Agent *a = agent_create(&g_s, &err);
  if (!a) abort();
  for (int i = 0; i < FUZZ_CKPT_ITERATIONS; i++)
    if (a->vt->iterate(a, &err)) abort();
  CoreCkptWriter *w = core_ckpt_writer_create();
  void *buf;
  size_t n;
  if (!w || agent_save(a, w, &err) || core_ckpt_write_buffer(w, &buf, &n, &err)) abort();
  if (!(g_valid = core_ckpt_load_buffer(buf, n, "<valid>", &err))) abort();
  core_free(buf);
  core_ckpt_writer_free(w);
  agent_free(a);
}

/* Load a checkpoint into a fresh agent; when accepted, one more iteration must run. */
static void try_load(const CoreCkpt *c) {
  CoreErr err;
  core_err_clear(&err);
  Agent *a = agent_create(&g_s, &err);
  if (!a) abort();
  if (agent_load(a, c, &err) == CORE_OK) {
    if (a->vt->iterate(a, &err) && !err.msg[0]) abort();
  } else if (!err.msg[0]) {
    abort();  /* a refusal always says why */
  }
  agent_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t size) {
  if (!g_valid) setup();
  CoreErr err;
  if (size > 0 && d[0] == 'R') {
    CoreCkpt *c = core_ckpt_load_buffer(d + 1, size - 1, "<fuzz>", &err);
    if (c) try_load(c);
    else if (!err.msg[0]) abort();
    core_ckpt_free(c);
    return 0;
  }
  CoreCkpt *c = fuzz_edit_ckpt(g_valid, d, size);
  try_load(c);
  core_ckpt_free(c);
  return 0;
}
