/* fuzz_ckpt.c — damaged CEM-TD3 checkpoints (importance mixing on, so every CEM-RL section kind
 * is present), three generations in. */
#define FUZZ_CKPT_CONFIG                                                                       \
  "{\"env\": \"Pendulum-v1\", \"method\": \"cemtd3\", \"seed\": 3, \"total_steps\": 100000,"    \
  " \"threads\": 1, \"net\": {\"hidden1\": 8, \"hidden2\": 8},"                              \
  " \"cem\": {\"pop_size\": 4}, \"cemrl\": {\"n_grad\": 2, \"importance_mixing\": true},"    \
  " \"td3\": {\"start_steps\": 400, \"buffer_size\": 3000, \"batch_size\": 16}}"
#define FUZZ_CKPT_ITERATIONS 3
#include "ckpt_harness.h"
