/* wordnet.c — parse WordNet 3.0's data.noun and index.noun; closures and the mammal subtree.
 *
 * data.noun (wndb(5WN)): after a licence header whose lines start with two spaces, one line per
 * synset:
 *   offset lex_filenum ss_type w_cnt [word lex_id]×w_cnt p_cnt [symbol offset pos st]×p_cnt | gloss
 * with w_cnt in hex, p_cnt as 3 decimal digits, and offset equal to the line's byte offset in the
 * file (pointers name their targets by it). index.noun: one line per lemma:
 *   lemma pos synset_cnt p_cnt [symbol]×p_cnt sense_cnt tagsense_cnt [offset]×synset_cnt
 * A synset's NLTK name is lowercase(first word).n.NN where NN is the 1-based position of the
 * synset's offset on that lemma's index line.
 */
#include "envs/wordnet.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"

#define WORDNET_FIX_HINT "(the file looks truncated or corrupt: reinstall Debian's wordnet-base)"

/* ---------------------------------------------------------------- files and tokens */

/* Read a whole file into a NUL-terminated buffer (core_free it). */
static int read_file_(const char *path, char **buf, size_t *len, CoreErr *err) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return core_err_set(err, CORE_ERR_IO, "cannot open %s: %s (install Debian's wordnet-base, "
                        "or set %s to the folder holding data.noun and index.noun)", path,
                        strerror(errno), WORDNET_DIR_ENV);
  long size = -1;
  if (fseek(f, 0, SEEK_END) == 0) size = ftell(f);
  if (size < 0 || fseek(f, 0, SEEK_SET) != 0) {
    fclose(f);
    return core_err_set(err, CORE_ERR_IO, "cannot read %s: %s", path, strerror(errno));
  }
  char *b = core_malloc((size_t)size + 1);
  if (!b) {
    fclose(f);
    return core_err_set(err, CORE_ERR_NOMEM, "%s: out of memory for %ld bytes", path, size);
  }
  size_t got = fread(b, 1, (size_t)size, f);
  int bad = ferror(f);
  fclose(f);
  if (bad || got != (size_t)size) {
    core_free(b);
    return core_err_set(err, CORE_ERR_IO, "cannot read %s (read %zu of %ld bytes)", path, got,
                        size);
  }
  b[size] = '\0';
  *buf = b;
  *len = (size_t)size;
  return CORE_OK;
}


/* A position inside one line. */
typedef struct {
  const char *p, *end;
} Cursor;

/* The next space-separated token of the line: 1 and (s, len), or 0 at the end of the line. */
static int next_tok_(Cursor *c, const char **s, int *len) {
  while (c->p < c->end && *c->p == ' ') c->p++;
  if (c->p >= c->end) return 0;
  const char *start = c->p;
  while (c->p < c->end && *c->p != ' ') c->p++;
  *s = start;
  *len = (int)(c->p - start);
  return 1;
}


/* Parse a whole token as an unsigned number in base 10 or 16: 0 or -1. */
static int parse_uint_(const char *s, int len, int base, unsigned long *out) {
  if (len < 1 || len > 10) return -1;
  unsigned long v = 0;
  for (int i = 0; i < len; i++) {
    int c = (unsigned char)s[i], dgt;
    if (c >= '0' && c <= '9') dgt = c - '0';
    else if (base == 16 && c >= 'a' && c <= 'f') dgt = c - 'a' + 10;
    else if (base == 16 && c >= 'A' && c <= 'F') dgt = c - 'A' + 10;
    else return -1;
    v = v * (unsigned long)base + (unsigned long)dgt;
  }
  *out = v;
  return 0;
}


/* Line iteration over a buffer: the next line [*ls, *le) and its 1-based number. */
typedef struct {
  const char *p, *end;
  int lineno;
} Lines;

static int next_line_(Lines *it, const char **ls, const char **le) {
  if (it->p >= it->end) return 0;
  const char *nl = memchr(it->p, '\n', (size_t)(it->end - it->p));
  *ls = it->p;
  *le = nl ? nl : it->end;
  it->p = nl ? nl + 1 : it->end;
  it->lineno++;
  return 1;
}


/* The licence header (two leading spaces) and empty lines carry no synset. */
static int skip_line_(const char *ls, const char *le) {
  return le == ls || (le - ls >= 2 && ls[0] == ' ' && ls[1] == ' ');
}

/* ---------------------------------------------------------------- nouns */

void wordnet_nouns_free(WordnetNouns *wn) {
  if (!wn) return;
  core_free(wn->offset);
  core_free(wn->name);
  core_free(wn->hyp_start);
  core_free(wn->hyp);
  core_free(wn->inst_start);
  core_free(wn->inst);
  core_free(wn->pool_);
  core_free(wn);
}


/* Index of the synset at offset off, or -1 (binary search; offsets ascend). */
static int find_offset_(const WordnetNouns *wn, unsigned long off) {
  int lo = 0, hi = wn->n - 1;
  while (lo <= hi) {
    int mid = lo + (hi - lo) / 2;
    if (wn->offset[mid] == off) return mid;
    if (wn->offset[mid] < off) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}


/* What the first pass remembers of each synset line. */
typedef struct {
  const char *word;        /* first word (into the file buffer) */
  int word_len;
  int lineno;
  const char *ptrs;        /* the pointer section (after p_cnt) ... */
  const char *line_end;    /* ... up to the end of the line */
  int p_cnt;
  int name_len;            /* bytes of its name, once named */
} SynsetLine;


/* Pass 1 over one synset line: check every field, fill sl and the offset, count the @ and @i
 * pointers to nouns. */
static int parse_data_line_(const char *path, const char *buf, const char *ls, const char *le,
                            int lineno, uint32_t *offset, SynsetLine *sl, int *n_hyp, int *n_inst,
                            CoreErr *err) {
  Cursor c = {ls, le};
  const char *s;
  int len;
  unsigned long v;
  /* offset, lex_filenum, ss_type */
  if (!next_tok_(&c, &s, &len) || len != 8 || parse_uint_(s, len, 10, &v) < 0)
    return core_err_set(err, CORE_ERR_PARSE, "%s:%d: field synset_offset: expected 8 digits "
                        "%s", path, lineno, WORDNET_FIX_HINT);
  if (v != (unsigned long)(ls - buf))
    return core_err_set(err, CORE_ERR_CORRUPT, "%s:%d: field synset_offset: %08lu is not the "
                        "line's byte offset %ld %s", path, lineno, v, (long)(ls - buf),
                        WORDNET_FIX_HINT);
  *offset = (uint32_t)v;
  if (!next_tok_(&c, &s, &len) || parse_uint_(s, len, 10, &v) < 0)
    return core_err_set(err, CORE_ERR_PARSE, "%s:%d: field lex_filenum: expected a number %s",
                        path, lineno, WORDNET_FIX_HINT);
  if (!next_tok_(&c, &s, &len) || len != 1 || s[0] != 'n')
    return core_err_set(err, CORE_ERR_PARSE, "%s:%d: field ss_type: expected 'n' (is this "
                        "data.noun?) %s", path, lineno, WORDNET_FIX_HINT);
  /* words */
  unsigned long w_cnt;
  if (!next_tok_(&c, &s, &len) || parse_uint_(s, len, 16, &w_cnt) < 0 || w_cnt < 1)
    return core_err_set(err, CORE_ERR_PARSE, "%s:%d: field w_cnt: expected a hex count >= 1 %s",
                        path, lineno, WORDNET_FIX_HINT);
  for (unsigned long k = 0; k < w_cnt; k++) {
    const char *w;
    int wl;
    if (!next_tok_(&c, &w, &wl) || !next_tok_(&c, &s, &len) || parse_uint_(s, len, 16, &v) < 0)
      return core_err_set(err, CORE_ERR_PARSE, "%s:%d: word %lu of %lu: expected 'word lex_id' "
                          "%s", path, lineno, k + 1, w_cnt, WORDNET_FIX_HINT);
    if (k == 0) {
      sl->word = w;
      sl->word_len = wl;
    }
  }
  /* pointers */
  unsigned long p_cnt;
  if (!next_tok_(&c, &s, &len) || len != 3 || parse_uint_(s, len, 10, &p_cnt) < 0)
    return core_err_set(err, CORE_ERR_PARSE, "%s:%d: field p_cnt: expected 3 digits %s", path,
                        lineno, WORDNET_FIX_HINT);
  sl->ptrs = c.p;
  sl->line_end = le;
  sl->p_cnt = (int)p_cnt;
  sl->lineno = lineno;
  for (unsigned long k = 0; k < p_cnt; k++) {
    const char *sym, *pos;
    int sym_len, pos_len;
    if (!next_tok_(&c, &sym, &sym_len) || !next_tok_(&c, &s, &len) || len != 8 ||
        parse_uint_(s, len, 10, &v) < 0 || !next_tok_(&c, &pos, &pos_len) || pos_len != 1 ||
        !strchr("nvasr", pos[0]) || !next_tok_(&c, &s, &len) || len != 4 ||
        parse_uint_(s, len, 16, &v) < 0)
      return core_err_set(err, CORE_ERR_PARSE, "%s:%d: pointer %lu of %lu: expected 'symbol "
                          "offset pos source/target' %s", path, lineno, k + 1, p_cnt,
                          WORDNET_FIX_HINT);
    if (pos[0] != 'n') continue;
    if (sym_len == 1 && sym[0] == '@') (*n_hyp)++;
    else if (sym_len == 2 && sym[0] == '@' && sym[1] == 'i') (*n_inst)++;
  }
  if (!next_tok_(&c, &s, &len) || len != 1 || s[0] != '|')
    return core_err_set(err, CORE_ERR_PARSE, "%s:%d: expected '|' and the gloss after %lu "
                        "pointers %s", path, lineno, p_cnt, WORDNET_FIX_HINT);
  return CORE_OK;
}


/* Pass 2 over one synset's pointer section: store its @ and @i targets as synset indices. */
static int fill_pointers_(const char *path, const WordnetNouns *wn, const SynsetLine *sl,
                          int *hyp, int *inst, CoreErr *err) {
  /* pass 1 checked every token of this section */
  Cursor c = {sl->ptrs, sl->line_end};
  int nh = 0, ni = 0;
  for (int k = 0; k < sl->p_cnt; k++) {
    const char *sym, *off, *pos, *st;
    int sym_len, off_len, pos_len, st_len;
    next_tok_(&c, &sym, &sym_len);
    next_tok_(&c, &off, &off_len);
    next_tok_(&c, &pos, &pos_len);
    next_tok_(&c, &st, &st_len);
    if (pos[0] != 'n') continue;
    int is_hyp = sym_len == 1 && sym[0] == '@';
    int is_inst = sym_len == 2 && sym[0] == '@' && sym[1] == 'i';
    if (!is_hyp && !is_inst) continue;
    unsigned long v;
    parse_uint_(off, off_len, 10, &v);
    int t = find_offset_(wn, v);
    if (t < 0)
      return core_err_set(err, CORE_ERR_CORRUPT, "%s:%d: pointer %d (%.*s): target offset %08lu "
                          "is not a synset of this file %s", path, sl->lineno, k + 1, sym_len,
                          sym, v, WORDNET_FIX_HINT);
    if (is_hyp) hyp[nh++] = t;
    else inst[ni++] = t;
  }
  return CORE_OK;
}


/* Read data.noun into wn: offsets, first words, CSR pointer lists. */
static int load_data_(WordnetNouns *wn, const char *path, const char *buf, size_t len,
                      SynsetLine **lines_out, CoreErr *err) {
  /* count synset lines */
  Lines it = {buf, buf + len, 0};
  const char *ls, *le;
  int n = 0;
  while (next_line_(&it, &ls, &le)) n += !skip_line_(ls, le);
  if (n == 0)
    return core_err_set(err, CORE_ERR_PARSE, "%s: no synset lines %s", path, WORDNET_FIX_HINT);

  SynsetLine *sl = core_calloc((size_t)n, sizeof *sl);
  int *nh = core_calloc((size_t)n, sizeof(int)), *ni = core_calloc((size_t)n, sizeof(int));
  wn->offset = core_calloc((size_t)n, sizeof(uint32_t));
  wn->hyp_start = core_calloc((size_t)n + 1, sizeof(int));
  wn->inst_start = core_calloc((size_t)n + 1, sizeof(int));
  int rc = CORE_OK;
  if (!sl || !nh || !ni || !wn->offset || !wn->hyp_start || !wn->inst_start)
    rc = core_err_set(err, CORE_ERR_NOMEM, "%s: out of memory for %d synsets", path, n);

  /* pass 1: check and count */
  it = (Lines){buf, buf + len, 0};
  int i = 0;
  while (rc == CORE_OK && next_line_(&it, &ls, &le)) {
    if (skip_line_(ls, le)) continue;
    rc = parse_data_line_(path, buf, ls, le, it.lineno, &wn->offset[i], &sl[i], &nh[i], &ni[i],
                          err);
    if (rc == CORE_OK && i > 0 && wn->offset[i] <= wn->offset[i - 1])
      rc = core_err_set(err, CORE_ERR_CORRUPT, "%s:%d: synset offsets are not ascending %s", path,
                        it.lineno, WORDNET_FIX_HINT);
    i++;
  }
  wn->n = n;

  /* pass 2: CSR of @ and @i targets */
  if (rc == CORE_OK) {
    for (int k = 0; k < n; k++) {
      wn->hyp_start[k + 1] = wn->hyp_start[k] + nh[k];
      wn->inst_start[k + 1] = wn->inst_start[k] + ni[k];
    }
    wn->hyp = core_malloc(sizeof(int) * (size_t)(wn->hyp_start[n] + 1));
    wn->inst = core_malloc(sizeof(int) * (size_t)(wn->inst_start[n] + 1));
    if (!wn->hyp || !wn->inst)
      rc = core_err_set(err, CORE_ERR_NOMEM, "%s: out of memory for pointers", path);
  }
  for (int k = 0; rc == CORE_OK && k < n; k++)
    rc = fill_pointers_(path, wn, &sl[k], wn->hyp + wn->hyp_start[k],
                        wn->inst + wn->inst_start[k], err);
  core_free(nh);
  core_free(ni);
  if (rc < 0) {
    core_free(sl);
    return rc;
  }
  *lines_out = sl;
  return CORE_OK;
}


/* Case-insensitive equality of a data.noun word and an index.noun lemma. */
static int lemma_eq_(const char *word, int wl, const char *lemma, int ll) {
  if (wl != ll) return 0;
  for (int i = 0; i < wl; i++)
    if (tolower((unsigned char)word[i]) != (unsigned char)lemma[i]) return 0;
  return 1;
}


/* Read index.noun and name every synset. */
static int load_index_(WordnetNouns *wn, SynsetLine *sl, const char *path, const char *buf,
                       size_t len, CoreErr *err) {
  /* the pool holds "word.n.NN\0" per synset; NN <= synset_cnt <= n (< 2^31) fits in 12 */
  size_t pool = 0;
  for (int i = 0; i < wn->n; i++) pool += (size_t)sl[i].word_len + 16;
  wn->pool_ = core_malloc(pool);
  wn->name = core_calloc((size_t)wn->n, sizeof(char *));
  if (!wn->pool_ || !wn->name)
    return core_err_set(err, CORE_ERR_NOMEM, "%s: out of memory for names", path);
  size_t used = 0;

  Lines it = {buf, buf + len, 0};
  const char *ls, *le;
  while (next_line_(&it, &ls, &le)) {
    if (skip_line_(ls, le)) continue;
    Cursor c = {ls, le};
    const char *lemma, *s;
    int ll, len_;
    unsigned long synset_cnt, p_cnt, v;
    if (!next_tok_(&c, &lemma, &ll) || !next_tok_(&c, &s, &len_) || len_ != 1 || s[0] != 'n')
      return core_err_set(err, CORE_ERR_PARSE, "%s:%d: expected 'lemma n' (is this index.noun?) "
                          "%s", path, it.lineno, WORDNET_FIX_HINT);
    if (!next_tok_(&c, &s, &len_) || parse_uint_(s, len_, 10, &synset_cnt) < 0 ||
        synset_cnt < 1 || synset_cnt > (unsigned long)wn->n || !next_tok_(&c, &s, &len_) ||
        parse_uint_(s, len_, 10, &p_cnt) < 0)
      return core_err_set(err, CORE_ERR_PARSE, "%s:%d: fields synset_cnt, p_cnt: expected two "
                          "counts (synset_cnt in 1..%d) %s", path, it.lineno, wn->n,
                          WORDNET_FIX_HINT);
    for (unsigned long k = 0; k < p_cnt; k++)
      if (!next_tok_(&c, &s, &len_))
        return core_err_set(err, CORE_ERR_PARSE, "%s:%d: %lu pointer symbols announced, %lu "
                            "found %s", path, it.lineno, p_cnt, k, WORDNET_FIX_HINT);
    for (int k = 0; k < 2; k++)
      if (!next_tok_(&c, &s, &len_) || parse_uint_(s, len_, 10, &v) < 0)
        return core_err_set(err, CORE_ERR_PARSE, "%s:%d: field %s: expected a count %s", path,
                            it.lineno, k ? "tagsense_cnt" : "sense_cnt", WORDNET_FIX_HINT);
    for (unsigned long k = 0; k < synset_cnt; k++) {
      if (!next_tok_(&c, &s, &len_) || len_ != 8 || parse_uint_(s, len_, 10, &v) < 0)
        return core_err_set(err, CORE_ERR_PARSE, "%s:%d: synset offset %lu of %lu: expected 8 "
                            "digits %s", path, it.lineno, k + 1, synset_cnt, WORDNET_FIX_HINT);
      int idx = find_offset_(wn, v);
      if (idx < 0)
        return core_err_set(err, CORE_ERR_CORRUPT, "%s:%d: synset offset %08lu is not a synset "
                            "of data.noun (do the two files come from one WordNet?)", path,
                            it.lineno, v);
      if (wn->name[idx] || !lemma_eq_(sl[idx].word, sl[idx].word_len, lemma, ll)) continue;
      char *name = wn->pool_ + used;
      int w = snprintf(name, pool - used, "%.*s.n.%02lu", ll, lemma, k + 1);
      CORE_ASSERT(w > 0 && (size_t)w < pool - used);
      used += (size_t)w + 1;
      wn->name[idx] = name;
    }
    if (next_tok_(&c, &s, &len_))
      return core_err_set(err, CORE_ERR_PARSE, "%s:%d: unexpected '%.*s' after %lu synset "
                          "offsets %s", path, it.lineno, len_, s, synset_cnt, WORDNET_FIX_HINT);
  }
  for (int i = 0; i < wn->n; i++)
    if (!wn->name[i])
      return core_err_set(err, CORE_ERR_CORRUPT, "%s: synset %08u (data.noun line %d, first "
                          "word '%.*s') has no entry in index.noun %s", path,
                          (unsigned)wn->offset[i], sl[i].lineno, sl[i].word_len, sl[i].word,
                          WORDNET_FIX_HINT);
  return CORE_OK;
}


const char *wordnet_default_dir(void) {
  const char *d = getenv(WORDNET_DIR_ENV);
  return d && d[0] ? d : WORDNET_DEFAULT_DIR;
}


WordnetNouns *wordnet_nouns_load(const char *dir, CoreErr *err) {
  if (!dir) dir = wordnet_default_dir();
  char data_path[1024], index_path[1024];
  snprintf(data_path, sizeof data_path, "%s/data.noun", dir);
  snprintf(index_path, sizeof index_path, "%s/index.noun", dir);
  WordnetNouns *wn = core_calloc(1, sizeof *wn);
  if (!wn) {
    core_err_set(err, CORE_ERR_NOMEM, "wordnet: out of memory");
    return NULL;
  }
  char *data = NULL, *index = NULL;
  size_t data_len = 0, index_len = 0;
  SynsetLine *sl = NULL;
  int rc = read_file_(data_path, &data, &data_len, err);
  if (rc == CORE_OK) rc = load_data_(wn, data_path, data, data_len, &sl, err);
  if (rc == CORE_OK) rc = read_file_(index_path, &index, &index_len, err);
  if (rc == CORE_OK) rc = load_index_(wn, sl, index_path, index, index_len, err);
  core_free(sl);
  core_free(data);
  core_free(index);
  if (rc < 0) {
    wordnet_nouns_free(wn);
    return NULL;
  }
  return wn;
}


int wordnet_nouns_find(const WordnetNouns *wn, const char *name) {
  for (int i = 0; i < wn->n; i++)
    if (!strcmp(wn->name[i], name)) return i;
  return -1;
}

/* ---------------------------------------------------------------- graphs */

void wordnet_graph_free(WordnetGraph *g) {
  if (!g) return;
  core_free(g->name);
  core_free(g->src);
  core_free(g->dst);
  core_free(g->pool_);
  core_free(g);
}


int wordnet_graph_find(const WordnetGraph *g, const char *name) {
  for (int i = 0; i < g->n_nodes; i++)
    if (!strcmp(g->name[i], name)) return i;
  return -1;
}


/* A graph with room for n_nodes names of pool_bytes in all and n_edges edges. */
static WordnetGraph *graph_alloc_(int n_nodes, size_t pool_bytes, int n_edges, CoreErr *err) {
  WordnetGraph *g = core_calloc(1, sizeof *g);
  if (g) {
    g->n_nodes = n_nodes;
    g->n_edges = n_edges;
    g->name = core_calloc((size_t)n_nodes + 1, sizeof(char *));
    g->pool_ = core_malloc(pool_bytes + 1);
    g->src = core_malloc(sizeof(int) * ((size_t)n_edges + 1));
    g->dst = core_malloc(sizeof(int) * ((size_t)n_edges + 1));
  }
  if (!g || !g->name || !g->pool_ || !g->src || !g->dst) {
    wordnet_graph_free(g);
    core_err_set(err, CORE_ERR_NOMEM, "wordnet: out of memory for a graph of %d nodes and %d "
                 "edges", n_nodes, n_edges);
    return NULL;
  }
  return g;
}


/* Copy names[0..n) into g's pool. */
static void graph_set_names_(WordnetGraph *g, const char *const *names, const int *pick) {
  size_t used = 0;
  for (int i = 0; i < g->n_nodes; i++) {
    const char *s = names[pick ? pick[i] : i];
    size_t l = strlen(s) + 1;
    memcpy(g->pool_ + used, s, l);
    g->name[i] = g->pool_ + used;
    used += l;
  }
}


/* Work space of one closure: visit stamps and a BFS queue. */
typedef struct {
  int *seen;    /* (n) == s: already an ancestor of s (edge added) */
  int *ivis;    /* (n) == s: visited by the instance walk of s */
  int *queue;   /* (n) */
  int *iqueue;  /* (n) */
} ClosureWork;


/* Breadth-first walk from start over @ (and @i when joint), adding each node not yet seen for s
 * to out (if not NULL). Returns the number added. */
static int walk_up_(const WordnetNouns *wn, ClosureWork *w, int s, int start, int joint, int *out) {
  int head = 0, tail = 0, added = 0;
  w->queue[tail++] = start;
  while (head < tail) {
    int x = w->queue[head++];
    for (int pass = 0; pass < 1 + joint; pass++) {
      const int *lst = pass ? wn->inst : wn->hyp;
      const int *st = pass ? wn->inst_start : wn->hyp_start;
      for (int k = st[x]; k < st[x + 1]; k++) {
        int h = lst[k];
        if (w->seen[h] == s) continue;
        w->seen[h] = s;
        w->queue[tail++] = h;
        if (out) out[added] = h;
        added++;
      }
    }
  }
  return added;
}


/* The closure ancestors of synset s into out (NULL: count only); returns their number. */
static int closure_of_(const WordnetNouns *wn, ClosureWork *w, int s, int mode, int *out) {
  w->seen[s] = s;   /* never an edge to itself */
  if (mode == WORDNET_CLOSURE_JOINT) return walk_up_(wn, w, s, s, 1, out);
  /* NLTK: the @ closure ... */
  int added = walk_up_(wn, w, s, s, 0, out);
  if (wn->inst_start[s] == wn->inst_start[s + 1]) return added;
  /* ... and for an instance: its @i closure h (followed through @i only), each h with its @
   * ancestors */
  int head = 0, tail = 0;
  w->ivis[s] = s;
  w->iqueue[tail++] = s;
  while (head < tail) {
    int x = w->iqueue[head++];
    for (int k = wn->inst_start[x]; k < wn->inst_start[x + 1]; k++) {
      int h = wn->inst[k];
      if (w->ivis[h] == s) continue;
      w->ivis[h] = s;
      w->iqueue[tail++] = h;
      if (w->seen[h] != s) {
        w->seen[h] = s;
        if (out) out[added] = h;
        added++;
      }
      added += walk_up_(wn, w, s, h, 0, out ? out + added : NULL);
    }
  }
  return added;
}


WordnetGraph *wordnet_closure(const WordnetNouns *wn, int mode, CoreErr *err) {
  CORE_ASSERT(wn && mode >= 0 && mode < WORDNET_NCLOSURE);
  int n = wn->n;
  ClosureWork w = {core_malloc(sizeof(int) * (size_t)n), core_malloc(sizeof(int) * (size_t)n),
                   core_malloc(sizeof(int) * (size_t)n), core_malloc(sizeof(int) * (size_t)n)};
  WordnetGraph *g = NULL;
  if (!w.seen || !w.ivis || !w.queue || !w.iqueue) {
    core_err_set(err, CORE_ERR_NOMEM, "wordnet closure: out of memory");
    goto done;
  }
  for (int i = 0; i < n; i++) w.seen[i] = w.ivis[i] = -1;
  /* count, then fill */
  long total = 0;
  for (int s = 0; s < n; s++) total += closure_of_(wn, &w, s, mode, NULL);
  if (total > 0x7fffffffL) {
    core_err_set(err, CORE_ERR_NOMEM, "wordnet closure: %ld edges overflow int", total);
    goto done;
  }
  size_t pool = 0;
  for (int i = 0; i < n; i++) pool += strlen(wn->name[i]) + 1;
  g = graph_alloc_(n, pool, (int)total, err);
  if (!g) goto done;
  graph_set_names_(g, wn->name, NULL);
  for (int i = 0; i < n; i++) w.seen[i] = w.ivis[i] = -1;
  int e = 0;
  for (int s = 0; s < n; s++) {
    int k = closure_of_(wn, &w, s, mode, g->dst + e);
    for (int j = 0; j < k; j++) g->src[e + j] = s;
    e += k;
  }
  CORE_ASSERT(e == g->n_edges);
done:
  core_free(w.seen);
  core_free(w.ivis);
  core_free(w.queue);
  core_free(w.iqueue);
  return g;
}


WordnetGraph *wordnet_subtree(const WordnetGraph *closure, const char *root,
                              const char *const *drop_src, int n_drop, CoreErr *err) {
  int r = wordnet_graph_find(closure, root);
  if (r < 0) {
    core_err_set(err, CORE_ERR_NOTFOUND, "wordnet: '%s' is not a node of the closure (names look "
                 "like 'mammal.n.01')", root);
    return NULL;
  }
  int n = closure->n_nodes, m = closure->n_edges;
  char *member = core_calloc((size_t)n, 1), *dropped = core_calloc((size_t)n, 1);
  int *newid = core_malloc(sizeof(int) * (size_t)n), *pick = core_malloc(sizeof(int) * (size_t)n);
  WordnetGraph *g = NULL;
  if (!member || !dropped || !newid || !pick) {
    core_err_set(err, CORE_ERR_NOMEM, "wordnet subtree: out of memory");
    goto done;
  }
  member[r] = 1;
  for (int k = 0; k < m; k++)
    if (closure->dst[k] == r) member[closure->src[k]] = 1;
  for (int j = 0; j < n_drop; j++) {
    int d = wordnet_graph_find(closure, drop_src[j]);
    if (d >= 0) dropped[d] = 1;
  }
  /* kept edges, and the nodes that appear in them */
  int kept = 0;
  for (int i = 0; i < n; i++) newid[i] = -1;
  for (int k = 0; k < m; k++) {
    int u = closure->src[k], v = closure->dst[k];
    if (!member[u] || !member[v] || dropped[u]) continue;
    kept++;
    newid[u] = newid[v] = 0;
  }
  int nn = 0;
  size_t pool = 0;
  for (int i = 0; i < n; i++) {
    if (newid[i] < 0) continue;
    pick[nn] = i;
    newid[i] = nn++;
    pool += strlen(closure->name[i]) + 1;
  }
  g = graph_alloc_(nn, pool, kept, err);
  if (!g) goto done;
  graph_set_names_(g, closure->name, pick);
  int e = 0;
  for (int k = 0; k < m; k++) {
    int u = closure->src[k], v = closure->dst[k];
    if (!member[u] || !member[v] || dropped[u]) continue;
    g->src[e] = newid[u];
    g->dst[e] = newid[v];
    e++;
  }
done:
  core_free(member);
  core_free(dropped);
  core_free(newid);
  core_free(pick);
  return g;
}


WordnetGraph *wordnet_mammals(const WordnetNouns *wn, CoreErr *err) {
  static const char *const drop[] = {"tusker.n.01", "female_mammal.n.01"};
  WordnetGraph *closure = wordnet_closure(wn, WORDNET_CLOSURE_NLTK, err);
  if (!closure) return NULL;
  WordnetGraph *g = wordnet_subtree(closure, "mammal.n.01", drop, 2, err);
  wordnet_graph_free(closure);
  return g;
}


WordnetGraph *wordnet_graph_load(const char *dir, const char *which, CoreErr *err) {
  int mammals = !strcmp(which, "mammals"), nouns = !strcmp(which, "nouns");
  if (!mammals && !nouns) {
    core_err_set(err, CORE_ERR_INVALID, "wordnet graph '%s': expected 'mammals' or 'nouns'",
                 which);
    return NULL;
  }
  WordnetNouns *wn = wordnet_nouns_load(dir, err);
  if (!wn) return NULL;
  WordnetGraph *g = mammals ? wordnet_mammals(wn, err)
                            : wordnet_closure(wn, WORDNET_CLOSURE_NLTK, err);
  wordnet_nouns_free(wn);
  return g;
}


WordnetGraph *wordnet_graph_from_edges(int n_nodes, const char *const *names, const int *src,
                                       const int *dst, int n_edges, CoreErr *err) {
  if (n_nodes < 1 || n_edges < 0) {
    core_err_set(err, CORE_ERR_INVALID, "wordnet graph: %d nodes and %d edges (need >= 1, >= 0)",
                 n_nodes, n_edges);
    return NULL;
  }
  for (int k = 0; k < n_edges; k++)
    if (src[k] < 0 || src[k] >= n_nodes || dst[k] < 0 || dst[k] >= n_nodes || src[k] == dst[k]) {
      core_err_set(err, CORE_ERR_INVALID, "wordnet graph: edge %d (%d -> %d) is outside nodes "
                   "0..%d or a self-loop", k, src[k], dst[k], n_nodes - 1);
      return NULL;
    }
  size_t pool = 0;
  for (int i = 0; i < n_nodes; i++) pool += names ? strlen(names[i]) + 1 : 16;
  WordnetGraph *g = graph_alloc_(n_nodes, pool, n_edges, err);
  if (!g) return NULL;
  if (names) {
    graph_set_names_(g, names, NULL);
  } else {
    size_t used = 0;
    for (int i = 0; i < n_nodes; i++) {
      g->name[i] = g->pool_ + used;
      used += (size_t)snprintf(g->pool_ + used, 16, "n%d", i) + 1;
    }
  }
  memcpy(g->src, src, sizeof(int) * (size_t)n_edges);
  memcpy(g->dst, dst, sizeof(int) * (size_t)n_edges);
  return g;
}
