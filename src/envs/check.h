/* check.h — the environment checker (`cemrl envs check NAME`).
 *
 * What users expect from Gymnasium's env_checker and SB3's, in one pass over two fresh
 * instances: spaces sized with finite bounds low < high; observations and rewards finite; reset
 * seed determinism; different seeds giving different observations; a non-degenerate reset
 * distribution; step determinism across instances and across episodes of one instance;
 * truncation exactly at the limit; the no-step-before-reset guard; no core_malloc growth while
 * stepping; and the get/set_state round trip when the hooks exist.
 */
#ifndef CEMRL_ENVS_CHECK_H
#define CEMRL_ENVS_CHECK_H

#include <stdint.h>

#include "envs/env.h"

typedef enum {
  ENV_CHECK_PASS = 0,
  ENV_CHECK_FAIL,
  ENV_CHECK_SKIP,
  ENV_NCHECK_VERDICT
} EnvCheckVerdict;

extern const char *const env_check_verdict_names[];  /* "PASS", "FAIL", "SKIP" */

#define ENV_CHECK_MAX 16
#define ENV_CHECK_DETAIL_SZ 256

/* One check's outcome. */
typedef struct {
  const char *name;                  /* static, e.g. "reset determinism" */
  int verdict;                       /* EnvCheckVerdict */
  char detail[ENV_CHECK_DETAIL_SZ];  /* what was measured, or what went wrong */
} EnvCheckItem;

/* All outcomes, in the order run. */
typedef struct {
  int n;
  int n_fail;
  EnvCheckItem item[ENV_CHECK_MAX];
} EnvCheckReport;

/* Run every check on instances made from entry, with episodes seeded from seed. Returns the
 * number of failed checks (>= 0), or a negative CORE_ERR_* with err when no instance could be
 * made (the report then holds the failed "make" check). */
int env_check(const EnvEntry *entry, uint64_t seed, EnvCheckReport *rep, CoreErr *err);

/* The item with this name, or NULL (for tests). */
const EnvCheckItem *env_check_find(const EnvCheckReport *rep, const char *name);

#endif
