/* wordnet.h — the WordNet 3.0 noun hierarchy from Debian's wordnet-base (spec papers.md part 2
 * §4d): the synsets of data.noun with their hypernym (@) and instance-hypernym (@i) pointers, the
 * NLTK-style names from index.noun ("mammal.n.01"), the transitive closure and the mammal subtree
 * of Nickel & Kiela.
 *
 * A closure is a directed graph whose edge u → v means "v is a (transitive) hypernym of u". With
 * the NLTK semantics of N&K's script it has 82,115 nodes and 743,086 edges; the mammal closure
 * (after N&K's filter) 1,180 nodes and 6,540 edges.
 *
 * Nullable: every CoreErr *err.
 */
#ifndef CEMRL_ENVS_WORDNET_H
#define CEMRL_ENVS_WORDNET_H

#include <stdint.h>

#include "core/err.h"

/* Environment variable naming the folder of data.noun and index.noun. */
#define WORDNET_DIR_ENV "CEMRL_WORDNET_DIR"
/* Where Debian's wordnet-base installs them. */
#define WORDNET_DEFAULT_DIR "/usr/share/wordnet"

/* The noun synsets of data.noun and their direct hypernym pointers. */
typedef struct {
  int n;                   /* synsets */
  uint32_t *offset;        /* (n) byte offset in data.noun (WordNet's synset id), ascending */
  const char **name;       /* (n) NLTK-style name "lemma.n.NN" */
  int *hyp_start;          /* (n + 1) CSR starts into hyp */
  int *hyp;                /* (hyp_start[n]) @ targets, as synset indices */
  int *inst_start;         /* (n + 1) CSR starts into inst */
  int *inst;               /* (inst_start[n]) @i targets, as synset indices */
  char *pool_;             /* storage of the names */
} WordnetNouns;

/* A directed graph of named nodes: edge (src[k], dst[k]) says dst is a hypernym of src. */
typedef struct {
  int n_nodes;
  int n_edges;
  const char **name;       /* (n_nodes) node names (into pool_) */
  int *src, *dst;          /* (n_edges) each */
  char *pool_;
} WordnetGraph;

typedef enum {
  WORDNET_CLOSURE_NLTK = 0,  /* N&K's script: @ closure, plus the instance rule (743,086 edges) */
  WORDNET_CLOSURE_JOINT,     /* closure over @ and @i together (743,241 edges) */
  WORDNET_NCLOSURE
} WordnetClosureMode;

/* The folder to read: $CEMRL_WORDNET_DIR if set and not empty, else WORDNET_DEFAULT_DIR. */
const char *wordnet_default_dir(void);

/* Parse dir/data.noun and dir/index.noun. NULL with err naming the file and line on a missing,
 * truncated or malformed file, or on no memory. */
WordnetNouns *wordnet_nouns_load(const char *dir, CoreErr *err);

/* Free (NULL is a no-op). */
void wordnet_nouns_free(WordnetNouns *wn);

/* The synset index of an NLTK-style name, or -1. */
int wordnet_nouns_find(const WordnetNouns *wn, const char *name);

/* The transitive closure over all noun synsets (node i = synset i). NULL with err on no memory. */
WordnetGraph *wordnet_closure(const WordnetNouns *wn, int mode, CoreErr *err);

/* The subtree of a closure below root: the nodes u with (u, root) in the closure plus root, the
 * closure edges among them, minus the edges whose source is named in drop_src[0..n_drop); the
 * nodes are then those that still appear in an edge (N&K build them from the edge list). Nodes
 * keep their closure order. NULL with err if root is not a node, or on no memory. */
WordnetGraph *wordnet_subtree(const WordnetGraph *closure, const char *root,
                              const char *const *drop_src, int n_drop, CoreErr *err);

/* N&K's mammal closure: the NLTK closure's subtree below mammal.n.01 without the edges of
 * tusker.n.01 and female_mammal.n.01 (the two patterns of their filter that can match). */
WordnetGraph *wordnet_mammals(const WordnetNouns *wn, CoreErr *err);

/* Load a named graph from the WordNet files in dir (NULL: wordnet_default_dir()): "mammals" or
 * "nouns" (the NLTK closure). NULL with err on an unknown name or a load failure. */
WordnetGraph *wordnet_graph_load(const char *dir, const char *which, CoreErr *err);

/* A graph from explicit edges over nodes 0..n_nodes-1 named by names (NULL: "n0", "n1", ...):
 * small hierarchies for tests. NULL with err on an out-of-range endpoint or no memory. */
WordnetGraph *wordnet_graph_from_edges(int n_nodes, const char *const *names, const int *src,
                                       const int *dst, int n_edges, CoreErr *err);

/* Free (NULL is a no-op). */
void wordnet_graph_free(WordnetGraph *g);

/* The node index of a name, or -1. */
int wordnet_graph_find(const WordnetGraph *g, const char *name);

#endif
