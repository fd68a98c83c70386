/* fuzz_ckpt_sup.c — damaged checkpoints of the supervised learner (network, optimizer state, data
 * order RNG, FDR accumulators), two epochs of a small regression in. */
#define FUZZ_CKPT_CONFIG                                                                       \
  "{\"env\": \"Sup-Regress-v0\", \"method\": \"supervised\", \"seed\": 3,"                   \
  " \"total_steps\": 100000, \"sup\": {\"batch_size\": 50, \"hidden1\": 8, \"hidden2\": 8,"   \
  " \"fdr\": true, \"opt\": {\"kind\": \"sgd\", \"lr\": 0.05}}}"
#define FUZZ_CKPT_ITERATIONS 2
#include "ckpt_harness.h"
