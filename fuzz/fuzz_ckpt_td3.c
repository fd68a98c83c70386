/* fuzz_ckpt_td3.c — damaged TD3 checkpoints (twin critics, replay buffer, both RNG streams),
 * three episodes in, past the random start so the learner has state. */
#define FUZZ_CKPT_CONFIG                                                                       \
  "{\"env\": \"Pendulum-v1\", \"method\": \"td3\", \"seed\": 3, \"total_steps\": 100000,"       \
  " \"net\": {\"hidden1\": 8, \"hidden2\": 8},"                                              \
  " \"td3\": {\"start_steps\": 300, \"buffer_size\": 2000, \"batch_size\": 16}}"
#define FUZZ_CKPT_ITERATIONS 3
#include "ckpt_harness.h"
