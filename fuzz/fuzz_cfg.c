/* fuzz_cfg.c — `cemrl train`'s config loader on arbitrary text: a config is accepted or refused
 * with a message, never a crash; an accepted one survives a round trip through
 * config.resolved.json unchanged (what --resume relies on). */
#include <stdlib.h>
#include <string.h>

#include "app/settings.h"
#include "core/alloc.h"
#include "core/err.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  if (!text) return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  core_cfg_init();
  AgentSettings s, back;
  CoreErr err;
  core_err_clear(&err);
  if (core_cfg_load_string(app_agent_fields, &s, text, "<fuzz>", NULL, 0, &err) == CORE_OK) {
    char *json = core_cfg_to_json(app_agent_fields, &s);
    if (!json) abort();
    if (core_cfg_load_string(app_agent_fields, &back, json, "<resolved>", NULL, 0, &err)) abort();
    char where[256];
    if (core_cfg_compare(app_agent_fields, &s, &back, where, sizeof where)) abort();
    core_free(json);
  } else if (!err.msg[0]) {
    abort();  /* a refusal always says why */
  }
  free(text);
  return 0;
}
