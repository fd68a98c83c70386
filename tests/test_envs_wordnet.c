/* test_envs_wordnet.c — WordNet parsing and closures (envs/wordnet.h), the Poincaré embedding
 * task (envs/poincare_task.h) and the PoincareMammal-v0 environment.
 *
 * A tiny WordNet written by the test (exact byte offsets, a licence header, a verb pointer, an
 * instance chain, two senses of one lemma) pins the parser, the NLTK names and both closure
 * semantics; corrupted copies of it pin the error messages (file and line). The installed
 * wordnet-base (Debian; $CEMRL_WORDNET_DIR overrides) must give the counts of spec papers.md
 * part 2 §4d: 82,115 synsets, 743,086 / 743,241 closure edges, mammals 1,180 nodes and 6,540
 * edges after N&K's filter (1,182 / 6,542 before).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>

#include <sys/stat.h>
#include <unistd.h>

#include "test_util.h"
#include "core/alloc.h"
#include "core/rng.h"
#include "envs/env.h"
#include "envs/poincare_env.h"
#include "envs/poincare_task.h"
#include "envs/wordnet.h"
#include "optim/poincare.h"

/* ---------------------------------------------------------------- the tiny WordNet */

typedef struct {
  const char *words;   /* "word 0 [word 0 ...]" */
  int n_words;
  const char *ptrs[4]; /* "@ 3" = hypernym of synset 3, "@i 5", "+v" = a verb pointer */
} FixSynset;

/* 0 entity; 1 animal; 2 mammal; 3 dog (two words); 4 cat; 5 Rex (instance of dog); 6 Puppy
 * (instance of Rex); 7 Robodog (@ Rex: reaches dog only through @i); 8 dog, second sense. */
static const FixSynset fix[] = {
    {"entity 0", 1, {NULL}},
    {"animal 0", 1, {"@ 0", "+v", NULL}},
    {"mammal 0", 1, {"@ 1", NULL}},
    {"dog 0 domestic_dog 0", 2, {"@ 2", NULL}},
    {"cat 0", 1, {"@ 2", NULL}},
    {"Rex 0", 1, {"@i 3", NULL}},
    {"Puppy 0", 1, {"@i 5", NULL}},
    {"Robodog 0", 1, {"@ 5", NULL}},
    {"dog 0", 1, {"@ 0", NULL}},
};
#define NFIX ((int)(sizeof fix / sizeof fix[0]))

static const char *header = "  1 This tiny file imitates WordNet 3.0's data.noun.  \n"
                            "  2 Lines that start with two spaces are the licence.  \n";

/* Write data.noun into buf with the offsets in off (a first pass with zeros sizes the lines). */
static size_t build_data(char *buf, size_t cap, unsigned *off) {
  size_t used = (size_t)snprintf(buf, cap, "%s", header);
  for (int i = 0; i < NFIX; i++) {
    unsigned here = (unsigned)used;
    int np = 0;
    while (np < 4 && fix[i].ptrs[np]) np++;
    used += (size_t)snprintf(buf + used, cap - used, "%08u 03 n %02x %s %03d", off[i],
                             fix[i].n_words, fix[i].words, np);
    for (int k = 0; k < np; k++) {
      const char *p = fix[i].ptrs[k];
      if (p[0] == '+')
        used += (size_t)snprintf(buf + used, cap - used, " + 01234567 v 0101");
      else {
        int inst = p[1] == 'i';
        int tgt = atoi(p + (inst ? 3 : 2));
        used += (size_t)snprintf(buf + used, cap - used, " %s %08u n 0000", inst ? "@i" : "@",
                                 off[tgt]);
      }
    }
    used += (size_t)snprintf(buf + used, cap - used, " | synset %d  \n", i);
    off[i] = here;
  }
  return used;
}

static char g_dir[256];
static unsigned g_off[NFIX];   /* the fixture's synset offsets */

static void write_file(const char *dir, const char *name, const char *text, size_t len) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(text, 1, len, f), len);
  fclose(f);
}

/* The fixture into dir; data and index copied out for corruption tests. */
static void write_fixture(const char *dir, char *data, size_t cap, size_t *data_len, char *index,
                          size_t icap) {
  unsigned off[NFIX] = {0};
  build_data(data, cap, off);              /* sizes: off now holds the real offsets */
  unsigned real[NFIX];
  memcpy(real, off, sizeof off);
  *data_len = build_data(data, cap, off);
  for (int i = 0; i < NFIX; i++) assert_int_equal(off[i], real[i]);
  memcpy(g_off, off, sizeof off);
  write_file(dir, "data.noun", data, *data_len);
  /* index.noun: lemma n synset_cnt p_cnt [sym] sense_cnt tagsense_cnt offsets */
  snprintf(index, icap,
           "  1 licence header  \n"
           "animal n 1 1 @ 1 0 %08u  \n"
           "cat n 1 1 @ 1 0 %08u  \n"
           "dog n 2 2 @ ~ 2 1 %08u %08u  \n"
           "domestic_dog n 1 1 @ 1 0 %08u  \n"
           "entity n 1 0 1 0 %08u  \n"
           "mammal n 1 1 @ 1 0 %08u  \n"
           "puppy n 1 0 1 0 %08u  \n"
           "rex n 1 0 1 0 %08u  \n"
           "robodog n 1 0 1 0 %08u  \n",
           off[1], off[4], off[3], off[8], off[3], off[0], off[2], off[6], off[5], off[7]);
  write_file(dir, "index.noun", index, strlen(index));
}

static char g_data[4096], g_index[4096];
static size_t g_data_len;

static int setup_fixture(void **state) {
  (void)state;
  return test_make_tmpdir(g_dir, sizeof g_dir, "wn") ? 0 : -1;
}

static int teardown_fixture(void **state) {
  (void)state;
  char path[512];
  snprintf(path, sizeof path, "%s/data.noun", g_dir);
  unlink(path);
  snprintf(path, sizeof path, "%s/index.noun", g_dir);
  unlink(path);
  rmdir(g_dir);
  return 0;
}

static int has_edge(const WordnetGraph *g, const char *a, const char *b) {
  int u = wordnet_graph_find(g, a), v = wordnet_graph_find(g, b);
  for (int k = 0; k < g->n_edges; k++)
    if (g->src[k] == u && g->dst[k] == v) return 1;
  return 0;
}

static void test_fixture_parse_and_closure(void **state) {
  (void)state;
  write_fixture(g_dir, g_data, sizeof g_data, &g_data_len, g_index, sizeof g_index);
  CoreErr err;
  WordnetNouns *wn = wordnet_nouns_load(g_dir, &err);
  if (!wn) fail_msg("load: %s", err.msg);
  assert_int_equal(wn->n, NFIX);
  /* NLTK names: lowercase first word, sense from the lemma's index line */
  static const char *names[NFIX] = {"entity.n.01", "animal.n.01", "mammal.n.01",
                                    "dog.n.01",    "cat.n.01",    "rex.n.01",
                                    "puppy.n.01",  "robodog.n.01", "dog.n.02"};
  for (int i = 0; i < NFIX; i++) assert_string_equal(wn->name[i], names[i]);
  assert_int_equal(wordnet_nouns_find(wn, "dog.n.02"), 8);
  assert_int_equal(wordnet_nouns_find(wn, "domestic_dog.n.01"), -1);
  /* pointers: the verb pointer is skipped, @ and @i kept apart */
  assert_int_equal(wn->hyp_start[2] - wn->hyp_start[1], 1);
  assert_int_equal(wn->hyp[wn->hyp_start[1]], 0);
  assert_int_equal(wn->inst_start[NFIX], 2);

  /* NLTK: Rex gets dog and dog's ancestors; Puppy gets Rex, dog and up; Robodog only Rex */
  WordnetGraph *c = wordnet_closure(wn, WORDNET_CLOSURE_NLTK, &err);
  assert_non_null(c);
  assert_int_equal(c->n_nodes, NFIX);
  assert_int_equal(c->n_edges, 20);
  assert_true(has_edge(c, "rex.n.01", "mammal.n.01"));
  assert_true(has_edge(c, "puppy.n.01", "rex.n.01"));
  assert_true(has_edge(c, "puppy.n.01", "entity.n.01"));
  assert_true(has_edge(c, "robodog.n.01", "rex.n.01"));
  assert_false(has_edge(c, "robodog.n.01", "dog.n.01"));
  assert_false(has_edge(c, "entity.n.01", "entity.n.01"));
  WordnetGraph *j = wordnet_closure(wn, WORDNET_CLOSURE_JOINT, &err);
  assert_int_equal(j->n_edges, 24);
  assert_true(has_edge(j, "robodog.n.01", "dog.n.01"));

  /* the subtree below mammal, with and without a dropped source */
  WordnetGraph *s = wordnet_subtree(c, "mammal.n.01", NULL, 0, &err);
  assert_int_equal(s->n_nodes, 5);
  assert_int_equal(s->n_edges, 7);
  static const char *drop[] = {"cat.n.01"};
  WordnetGraph *s2 = wordnet_subtree(c, "mammal.n.01", drop, 1, &err);
  assert_int_equal(s2->n_nodes, 4);
  assert_int_equal(s2->n_edges, 6);
  assert_int_equal(wordnet_graph_find(s2, "cat.n.01"), -1);
  assert_true(has_edge(s2, "puppy.n.01", "dog.n.01"));
  assert_null(wordnet_subtree(c, "unicorn.n.01", NULL, 0, &err));
  assert_int_equal(err.code, CORE_ERR_NOTFOUND);
  assert_contains(err.msg, "unicorn.n.01");
  wordnet_graph_free(s);
  wordnet_graph_free(s2);
  wordnet_graph_free(c);
  wordnet_graph_free(j);
  wordnet_nouns_free(wn);
  wordnet_nouns_free(NULL);
  wordnet_graph_free(NULL);
}

/* Write a corrupted data.noun (replace the first occurrence of `from` by `to`, or cut at `cut`
 * bytes) and expect a load error of code with `want` in the message. */
static void expect_bad_data(const char *from, const char *to, long cut, int code,
                            const char *want) {
  char buf[4096];
  size_t len = g_data_len;
  memcpy(buf, g_data, len);
  if (from) {
    char *p = strstr(buf, from);
    assert_non_null(p);
    assert_int_equal(strlen(from), strlen(to));
    memcpy(p, to, strlen(to));
  }
  if (cut >= 0) len = (size_t)cut;
  write_file(g_dir, "data.noun", buf, len);
  CoreErr err;
  core_err_clear(&err);
  WordnetNouns *wn = wordnet_nouns_load(g_dir, &err);
  if (wn) fail_msg("corrupted data.noun (%s) loaded", want);
  assert_int_equal(err.code, code);
  assert_contains(err.msg, "data.noun");
  assert_contains(err.msg, want);
}

static void test_fixture_errors(void **state) {
  (void)state;
  write_fixture(g_dir, g_data, sizeof g_data, &g_data_len, g_index, sizeof g_index);
  /* line 3 is the first synset (after the two header lines) */
  char from[64], to[64], want[256];
  snprintf(from, sizeof from, "%08u 03 n", g_off[0]);
  snprintf(to, sizeof to, "%08u 03 n", g_off[0] + 1);
  expect_bad_data(from, to, -1, CORE_ERR_CORRUPT, "data.noun:3: field synset_offset");
  expect_bad_data(" | synset 0", " ! synset 0", -1, CORE_ERR_PARSE, "data.noun:3: expected '|'");
  expect_bad_data("mammal 0 001", "mammal 0 002", -1, CORE_ERR_PARSE,
                  "data.noun:5: pointer 2 of 2");
  expect_bad_data("03 n 01 cat", "03 n 0g cat", -1, CORE_ERR_PARSE, "data.noun:7: field w_cnt");
  /* a cut inside the last line's pointer */
  char *last = strstr(g_data, "| synset 8");
  expect_bad_data(NULL, NULL, (long)(last - g_data) - 12, CORE_ERR_PARSE,
                  "data.noun:11: pointer 1 of 1");
  /* a pointer (animal's, line 4) to a synset that is not in the file */
  snprintf(from, sizeof from, "@ %08u n", g_off[0]);
  snprintf(to, sizeof to, "@ %08u n", g_off[0] + 1);
  snprintf(want, sizeof want, "data.noun:4: pointer 1 (@): target offset %08u", g_off[0] + 1);
  expect_bad_data(from, to, -1, CORE_ERR_CORRUPT, want);

  /* a missing folder names the file and the package */
  CoreErr err;
  assert_null(wordnet_nouns_load("/nonexistent/wordnet", &err));
  assert_int_equal(err.code, CORE_ERR_IO);
  assert_contains(err.msg, "/nonexistent/wordnet/data.noun");
  assert_contains(err.msg, "wordnet-base");

  /* index.noun: a synset without a name, and an offset that is no synset */
  write_file(g_dir, "data.noun", g_data, g_data_len);
  char idx[4096];
  snprintf(idx, sizeof idx, "%s", g_index);
  char *robo = strstr(idx, "robodog n");
  assert_non_null(robo);
  *robo = '\0';
  write_file(g_dir, "index.noun", idx, strlen(idx));
  assert_null(wordnet_nouns_load(g_dir, &err));
  assert_int_equal(err.code, CORE_ERR_CORRUPT);
  assert_contains(err.msg, "'Robodog') has no entry in index.noun");
  snprintf(idx, sizeof idx, "%s", g_index);
  snprintf(from, sizeof from, "entity n 1 0 1 0 %08u", g_off[0]);
  char *e = strstr(idx, from);
  assert_non_null(e);
  snprintf(to, sizeof to, "%08u", g_off[0] + 1);
  memcpy(e + strlen("entity n 1 0 1 0 "), to, 8);
  write_file(g_dir, "index.noun", idx, strlen(idx));
  assert_null(wordnet_nouns_load(g_dir, &err));
  snprintf(want, sizeof want, "index.noun:6: synset offset %s is not a synset", to);
  assert_contains(err.msg, want);
  write_fixture(g_dir, g_data, sizeof g_data, &g_data_len, g_index, sizeof g_index);
}

/* Failing the k-th allocation of load, closure, subtree and task creation gives a clean error
 * (and, under ASan, no leak) for every k. */
static void test_fixture_out_of_memory(void **state) {
  (void)state;
  write_fixture(g_dir, g_data, sizeof g_data, &g_data_len, g_index, sizeof g_index);
  long live = core_alloc_live();
  int failures = 0;
  for (long k = 1; k < 200; k++) {
    CoreErr err;
    core_err_clear(&err);
    core_alloc_fail_after(k);
    WordnetNouns *wn = wordnet_nouns_load(g_dir, &err);
    WordnetGraph *c = wn ? wordnet_closure(wn, WORDNET_CLOSURE_NLTK, &err) : NULL;
    WordnetGraph *s = c ? wordnet_subtree(c, "mammal.n.01", NULL, 0, &err) : NULL;
    PoincareTask *t = s ? poincare_task_create(s, &err) : NULL;
    core_alloc_fail_after(0);
    if (!t) {
      failures++;
      assert_int_equal(err.code, CORE_ERR_NOMEM);
      assert_true(err.msg[0] != '\0');
    }
    poincare_task_free(t);
    wordnet_graph_free(s);
    wordnet_graph_free(c);
    wordnet_nouns_free(wn);
    assert_int_equal(core_alloc_live(), live);
    if (t) break;   /* every allocation of the chain has been failed once */
  }
  assert_true(failures > 10);
}

/* ---------------------------------------------------------------- the installed wordnet-base */

static WordnetNouns *g_wn;

static int setup_real(void **state) {
  (void)state;
  CoreErr err;
  g_wn = wordnet_nouns_load(NULL, &err);
  if (!g_wn) print_error("%s\n", err.msg);
  return g_wn ? 0 : -1;
}

static int teardown_real(void **state) {
  (void)state;
  wordnet_nouns_free(g_wn);
  return 0;
}

static void test_real_counts(void **state) {
  (void)state;
  CoreErr err;
  assert_int_equal(g_wn->n, 82115);
  assert_string_equal(g_wn->name[0], "entity.n.01");
  assert_int_equal(g_wn->offset[0], 1740);
  assert_true(wordnet_nouns_find(g_wn, "mammal.n.01") >= 0);
  /* 57 instance -> instance links */
  int ii = 0;
  for (int s = 0; s < g_wn->n; s++)
    for (int k = g_wn->inst_start[s]; k < g_wn->inst_start[s + 1]; k++) {
      int h = g_wn->inst[k];
      ii += g_wn->inst_start[h + 1] > g_wn->inst_start[h];
    }
  assert_int_equal(ii, 57);

  WordnetGraph *c = wordnet_closure(g_wn, WORDNET_CLOSURE_NLTK, &err);
  assert_non_null(c);
  assert_int_equal(c->n_nodes, 82115);
  assert_int_equal(c->n_edges, 743086);
  /* a single root */
  char *has_out = core_calloc((size_t)c->n_nodes, 1);
  for (int k = 0; k < c->n_edges; k++) has_out[c->src[k]] = 1;
  int roots = 0;
  for (int i = 0; i < c->n_nodes; i++) roots += !has_out[i];
  assert_int_equal(roots, 1);
  assert_int_equal(has_out[0], 0);
  core_free(has_out);
  WordnetGraph *raw = wordnet_subtree(c, "mammal.n.01", NULL, 0, &err);
  assert_int_equal(raw->n_nodes, 1182);
  assert_int_equal(raw->n_edges, 6542);
  wordnet_graph_free(raw);
  wordnet_graph_free(c);
  WordnetGraph *j = wordnet_closure(g_wn, WORDNET_CLOSURE_JOINT, &err);
  assert_int_equal(j->n_edges, 743241);
  wordnet_graph_free(j);

  WordnetGraph *m = wordnet_mammals(g_wn, &err);
  assert_non_null(m);
  assert_int_equal(m->n_nodes, 1180);
  assert_int_equal(m->n_edges, 6540);
  int r = wordnet_graph_find(m, "mammal.n.01");
  assert_true(r >= 0);
  assert_int_equal(wordnet_graph_find(m, "tusker.n.01"), -1);
  assert_int_equal(wordnet_graph_find(m, "female_mammal.n.01"), -1);
  int *out = core_calloc((size_t)m->n_nodes, sizeof(int)), *in = core_calloc((size_t)m->n_nodes,
                                                                              sizeof(int));
  int to_root = 0, leaves = 0, max_out = 0;
  for (int k = 0; k < m->n_edges; k++) {
    out[m->src[k]]++;
    in[m->dst[k]]++;
    to_root += m->dst[k] == r;
  }
  for (int i = 0; i < m->n_nodes; i++) {
    leaves += in[i] == 0;
    if (out[i] > max_out) max_out = out[i];
  }
  assert_int_equal(to_root, 1179);
  assert_int_equal(leaves, 887);
  assert_int_equal(max_out, 9);
  assert_int_equal(out[r], 0);
  core_free(out);
  core_free(in);
  wordnet_graph_free(m);
}

/* ---------------------------------------------------------------- the task */

/* 0 root; 1, 2 children of 0; 3 child of 1 (closure edges). */
static WordnetGraph *small_tree(void) {
  static const int src[] = {1, 2, 3, 3}, dst[] = {0, 0, 1, 0};
  CoreErr err;
  WordnetGraph *g = wordnet_graph_from_edges(4, NULL, src, dst, 4, &err);
  if (!g) fail_msg("from_edges: %s", err.msg);
  return g;
}

static void test_task_eval_by_hand(void **state) {
  (void)state;
  WordnetGraph *g = small_tree();
  CoreErr err;
  PoincareTask *t = poincare_task_create(g, &err);
  assert_non_null(t);
  assert_string_equal(g->name[3], "n3");
  /* 1-D squared Euclidean distances; see the hand computation: ranks 2, 1, 1, 2 and average
   * precisions 1/3 (a tie counts as sklearn counts it), 1/2, 5/6 */
  float emb[4] = {0.0f, 1.0f, 0.5f, 2.0f};
  PoincareEval ev;
  assert_int_equal(poincare_task_eval(t, emb, 1, ROPT_EUCLID, 1, &ev, &err), 0);
  assert_int_equal(ev.n_sources, 3);
  assert_int_equal(ev.n_pairs, 4);
  assert_near(ev.mean_rank, 1.5, 1e-12);
  assert_near(ev.map, (1.0 / 3 + 0.5 + 5.0 / 6) / 3, 1e-12);
  assert_int_equal(poincare_task_eval(t, emb, 1, ROPT_EUCLID, 2, &ev, &err), 0);
  assert_int_equal(ev.n_sources, 2);
  assert_near(ev.mean_rank, 5.0 / 3, 1e-12);
  assert_near(ev.map, 7.0 / 12, 1e-12);
  /* a perfect layout (2-D) */
  float good[8] = {0.0f, 0.0f, 1.0f, 0.0f, 0.0f, -1.0f, 0.2f, 1.2f};
  assert_int_equal(poincare_task_eval(t, good, 2, ROPT_EUCLID, 1, &ev, &err), 0);
  assert_near(ev.mean_rank, 1.0, 0.0);
  assert_near(ev.map, 1.0, 1e-15);
  poincare_task_free(t);
  wordnet_graph_free(g);
  assert_null(wordnet_graph_from_edges(2, NULL, (int[]){0}, (int[]){2}, 1, &err));
  assert_contains(err.msg, "outside nodes");
}

static void test_task_negatives(void **state) {
  (void)state;
  /* a chain 0 <- 1 <- ... <- 9 closure plus leaves 10..29 under 9 */
  enum { N = 30 };
  int src[200], dst[200], m = 0;
  for (int u = 1; u < 10; u++)
    for (int v = 0; v < u; v++) src[m] = u, dst[m++] = v;
  for (int u = 10; u < N; u++) src[m] = u, dst[m++] = 9;
  CoreErr err;
  WordnetGraph *g = wordnet_graph_from_edges(N, NULL, src, dst, m, &err);
  PoincareTask *t = poincare_task_create(g, &err);
  assert_non_null(t);
  assert_true(poincare_task_excluded(t, 3, 3));
  assert_true(poincare_task_excluded(t, 3, 0));
  assert_true(poincare_task_excluded(t, 0, 3));
  assert_false(poincare_task_excluded(t, 10, 11));
  assert_int_equal(t->n_allowed[10], N - 2);
  assert_int_equal(t->n_allowed[9], N - 1 - 9 - 20);   /* 9's neighbours: 0..8 and 10..29 */
  CoreRng rng;
  core_rng_stream(&rng, 3, CORE_RNG_TEST, 0);
  int neg[50], count[N] = {0};
  for (int rep = 0; rep < 200; rep++) {
    for (int deg = 0; deg < 2; deg++) {
      int u = (int)core_rng_below(&rng, N);
      poincare_task_negatives(t, &rng, u, 50, deg, neg);
      for (int k = 0; k < 50; k++) {
        if (t->n_allowed[u] == 0) {
          assert_int_equal(neg[k], -1);
          continue;
        }
        assert_true(neg[k] >= 0 && neg[k] < N);
        assert_false(poincare_task_excluded(t, u, neg[k]));
        if (deg) count[neg[k]]++;
      }
    }
  }
  /* degree^0.75: node 0 (degree 9) is drawn more often than a leaf (degree 1) */
  int leaves = 0;
  for (int i = 10; i < N; i++) leaves += count[i];
  assert_true(count[0] > 2 * leaves / 20);
  poincare_task_free(t);
  wordnet_graph_free(g);
}

static void test_task_loss_and_grad(void **state) {
  (void)state;
  enum { N = 6, DIM = 3 };
  CoreRng rng;
  core_rng_stream(&rng, 9, CORE_RNG_TEST, 0);
  float emb[N * DIM];
  for (int i = 0; i < N * DIM; i++) emb[i] = (float)(0.3 * core_rng_normal(&rng));
  int cand[4] = {2, 4, 5, 2};   /* a repeated negative counts twice */
  for (int man = 0; man < 2; man++) {
    int manifold = man ? ROPT_EUCLID : ROPT_BALL;
    /* the loss by hand */
    double d[4], ud[DIM], cd[DIM], s = 0.0;
    for (int i = 0; i < DIM; i++) ud[i] = emb[1 * DIM + i];
    for (int j = 0; j < 4; j++) {
      for (int i = 0; i < DIM; i++) cd[i] = emb[cand[j] * DIM + i];
      if (man) {
        d[j] = 0.0;
        for (int i = 0; i < DIM; i++) d[j] += (ud[i] - cd[i]) * (ud[i] - cd[i]);
      } else {
        d[j] = poincare_dist(ud, cd, DIM);
      }
      s += exp(-d[j]);
    }
    double want = -log(exp(-d[0]) / s);
    float grad[N * DIM] = {0};
    double loss = poincare_task_edge_loss(emb, DIM, manifold, 1, cand, 4, grad, 0.5);
    assert_near(loss, want, 1e-12);
    /* the gradient against central differences (perturbing in double through a copy) */
    for (int i = 0; i < N * DIM; i++) {
      float ep[N * DIM], em[N * DIM];
      memcpy(ep, emb, sizeof emb);
      memcpy(em, emb, sizeof emb);
      const float h = 1e-3f;
      ep[i] += h;
      em[i] -= h;
      double fd = (poincare_task_edge_loss(ep, DIM, manifold, 1, cand, 4, NULL, 0.0) -
                   poincare_task_edge_loss(em, DIM, manifold, 1, cand, 4, NULL, 0.0)) /
                  ((double)ep[i] - (double)em[i]);
      assert_near(grad[i], 0.5 * fd, 2e-5);
      if (i / DIM == 0 || i / DIM == 3) assert_true(grad[i] == 0.0f);   /* untouched rows */
    }
  }
}

static void test_task_loss_deterministic(void **state) {
  (void)state;
  WordnetGraph *g = small_tree();
  CoreErr err;
  PoincareTask *t = poincare_task_create(g, &err);
  float emb[4 * 2] = {0.0f, 0.0f, 0.3f, 0.1f, -0.3f, 0.2f, 0.6f, 0.2f};
  double a = poincare_task_loss(t, emb, 2, ROPT_BALL, 3, 5);
  double b = poincare_task_loss(t, emb, 2, ROPT_BALL, 3, 5);
  assert_true(a == b && isfinite(a) && a > 0.0);
  /* node 3's only valid negative is 2, node 1's are 2 (and never 0 or 3) */
  CoreRng rng;
  core_rng_stream(&rng, 5, CORE_RNG_DATA, 1);
  double sum = 0.0;
  for (int e = 0; e < g->n_edges; e++) {
    int cand[4];
    int nc = poincare_task_candidates(t, &rng, g->src[e], g->dst[e], 3, 0, cand);
    assert_int_equal(nc, 4);
    for (int j = 1; j < nc; j++) assert_false(poincare_task_excluded(t, g->src[e], cand[j]));
    sum += poincare_task_edge_loss(emb, 2, ROPT_BALL, g->src[e], cand, nc, NULL, 0.0);
  }
  assert_near(a, sum / g->n_edges, 1e-15);
  assert_null(poincare_task_create(&(WordnetGraph){.n_nodes = 3, .n_edges = 0}, &err));
  assert_contains(err.msg, "at least 2 nodes and 1 edge");
  poincare_task_free(t);
  wordnet_graph_free(g);
}

/* ---------------------------------------------------------------- the environment */

static void test_env_return_is_minus_loss(void **state) {
  (void)state;
  CoreErr err;
  Env *e = env_make("PoincareMammal-v0", &err);
  if (!e) fail_msg("env_make: %s", err.msg);
  assert_int_equal(e->obs_dim, 1180);
  assert_int_equal(e->act_dim, POINCARE_ENV_DIM);
  assert_int_equal(e->max_episode_steps, 1180);
  WordnetGraph *g = wordnet_graph_load(NULL, "mammals", &err);
  PoincareTask *t = poincare_task_create(g, &err);
  assert_non_null(t);
  int n = g->n_nodes;
  float *emb = core_malloc(sizeof(float) * (size_t)n * POINCARE_ENV_DIM);
  float *obs = core_malloc(sizeof(float) * (size_t)n);
  char *seen = core_calloc((size_t)n, 1);
  CoreRng rng;
  core_rng_stream(&rng, 11, CORE_RNG_TEST, 0);
  for (int i = 0; i < n * POINCARE_ENV_DIM; i++) emb[i] = (float)(0.35 * core_rng_normal(&rng));
  for (int i = 0; i < n; i++) {
    double x[POINCARE_ENV_DIM];
    for (int k = 0; k < POINCARE_ENV_DIM; k++) x[k] = emb[i * POINCARE_ENV_DIM + k];
    poincare_project(x, POINCARE_ENV_DIM, 0.1);
    for (int k = 0; k < POINCARE_ENV_DIM; k++) emb[i * POINCARE_ENV_DIM + k] = (float)x[k];
  }
  for (int pass = 0; pass < 2; pass++) {
    uint64_t seed = pass ? 4242 : 17;
    memset(seen, 0, (size_t)n);
    env_reset(e, seed, obs);
    double ret = 0.0;
    int steps = 0;
    EnvStep st = {0};
    while (!st.terminated) {
      int node = -1, ones = 0;
      for (int i = 0; i < n; i++)
        if (obs[i] != 0.0f) {
          node = i;
          ones++;
        }
      assert_int_equal(ones, 1);
      assert_false(seen[node]);
      seen[node] = 1;
      env_step(e, emb + (size_t)node * POINCARE_ENV_DIM, obs, &st);
      assert_true(st.reward <= 0.0);
      assert_false(st.truncated);
      ret += st.reward;
      steps++;
    }
    assert_int_equal(steps, n);
    double loss = poincare_task_loss(t, emb, POINCARE_ENV_DIM, ROPT_BALL, POINCARE_ENV_NEGATIVES,
                                     seed);
    assert_near(ret, -loss, 1e-9 * loss);
  }
  /* out-of-bounds actions are clipped and projected: rewards stay finite */
  env_reset(e, 1, obs);
  float big[POINCARE_ENV_DIM] = {5.0f, -7.0f, 1.0f, 1.0f, 1.0f};
  EnvStep st = {0};
  for (int k = 0; k < n && !st.terminated; k++) {
    env_step(e, big, obs, &st);
    assert_true(isfinite(st.reward));
  }
  core_free(emb);
  core_free(obs);
  core_free(seen);
  poincare_task_free(t);
  wordnet_graph_free(g);
  env_free(e);
}

int main(void) {
  const struct CMUnitTest fixture[] = {
      cmocka_unit_test(test_fixture_parse_and_closure),
      cmocka_unit_test(test_fixture_errors),
      cmocka_unit_test(test_fixture_out_of_memory),
      cmocka_unit_test(test_task_eval_by_hand),
      cmocka_unit_test(test_task_negatives),
      cmocka_unit_test(test_task_loss_and_grad),
      cmocka_unit_test(test_task_loss_deterministic),
  };
  const struct CMUnitTest real[] = {
      cmocka_unit_test(test_real_counts),
      cmocka_unit_test(test_env_return_is_minus_loss),
  };
  int fails = cmocka_run_group_tests_name("fixture", fixture, setup_fixture, teardown_fixture);
  fails += cmocka_run_group_tests_name("wordnet-base", real, setup_real, teardown_real);
  return fails;
}
