/* fuzz_wordnet.c — the WordNet noun reader (data.noun + index.noun) and the transitive closures
 * built on it: files are read or refused with a message, and a closure of whatever graph they
 * hold (cycles included) ends. The input is data.noun, a NUL byte, then index.noun; they are
 * written to a private directory because the reader takes a directory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "envs/wordnet.h"
#include "fuzz.h"

static char g_dir[64];

static void write_part(const char *name, const uint8_t *p, size_t n) {
  char path[128];
  snprintf(path, sizeof path, "%s/%s", g_dir, name);
  FILE *f = fopen(path, "wb");
  if (!f || (n && fwrite(p, 1, n, f) != n) || fclose(f)) abort();
}

/* Remove the private directory when the process ends. */
static void remove_dir(void) {
  char path[128];
  const char *files[] = {"data.noun", "index.noun"};
  for (int i = 0; i < 2; i++) {
    snprintf(path, sizeof path, "%s/%s", g_dir, files[i]);
    unlink(path);
  }
  rmdir(g_dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!g_dir[0]) {
    const char *tmp = getenv("TMPDIR");
    snprintf(g_dir, sizeof g_dir, "%s/cemrl_fuzz_wn_XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(g_dir)) abort();
    atexit(remove_dir);
  }
  const uint8_t *nul = memchr(data, 0, size);
  size_t n_data = nul ? (size_t)(nul - data) : size;
  write_part("data.noun", data, n_data);
  write_part("index.noun", nul ? nul + 1 : data, nul ? size - n_data - 1 : 0);
  CoreErr err;
  core_err_clear(&err);
  WordnetNouns *wn = wordnet_nouns_load(g_dir, &err);
  if (!wn) {
    if (!err.msg[0]) abort();  /* a refusal always says why */
    return 0;
  }
  for (int mode = 0; mode < WORDNET_NCLOSURE; mode++) {
    WordnetGraph *g = wordnet_closure(wn, mode, &err);
    if (!g && !err.msg[0]) abort();
    wordnet_graph_free(g);
  }
  WordnetGraph *m = wordnet_mammals(wn, &err);
  if (!m && !err.msg[0]) abort();
  wordnet_graph_free(m);
  wordnet_nouns_free(wn);
  return 0;
}
