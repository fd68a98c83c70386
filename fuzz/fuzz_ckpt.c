/* fuzz_ckpt.c — resuming from a damaged checkpoint: the agent refuses it with a message or loads
 * it and trains on, never crashes. The input either replaces the whole file (first byte 'R': the
 * container's header, index and checksums) or edits the sections of a valid CEM-TD3 checkpoint
 * (importance mixing on, so every section kind is present) and re-seals them with valid
 * checksums, so the agent's own range checks are what gets exercised. */
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

static const char *g_config =
    "{\"env\": \"Pendulum-v1\", \"method\": \"cemtd3\", \"seed\": 3, \"total_steps\": 100000,"
    " \"threads\": 1, \"net\": {\"hidden1\": 8, \"hidden2\": 8},"
    " \"cem\": {\"pop_size\": 4}, \"cemrl\": {\"n_grad\": 2, \"importance_mixing\": true},"
    " \"td3\": {\"start_steps\": 400, \"buffer_size\": 3000, \"batch_size\": 16}}";

/* A checkpoint of an agent three generations in: buffer, critic, CEM and mixing state. */
static void setup(void) {
  core_cfg_init();
  CoreErr err;
  if (core_cfg_load_string(app_agent_fields, &g_s, g_config, "<fuzz>", NULL, 0, &err)) abort();
  Agent *a = agent_create(&g_s, &err);
  if (!a) abort();
  for (int i = 0; i < 3; i++)
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

/* Load a checkpoint into a fresh agent; when accepted, one more generation must run. */
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
