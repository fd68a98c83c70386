/* alloc.c — aligned allocation with a live counter and a failure-injection hook. */
#include "core/alloc.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static atomic_long live_blocks;
static atomic_long fail_countdown;  /* 0: never fail; k > 0: the k-th allocation from now fails */

void *core_malloc(size_t n) {
  long c = atomic_load(&fail_countdown);
  if (c > 0 && atomic_fetch_sub(&fail_countdown, 1) == 1) return NULL;
  size_t rounded = (n + 63) & ~(size_t)63;
  if (rounded < n) return NULL;
  void *p = aligned_alloc(64, rounded ? rounded : 64);
  if (p) atomic_fetch_add(&live_blocks, 1);
  return p;
}

void *core_calloc(size_t count, size_t size) {
  size_t n;
  if (core_mul_size(&n, count, size)) return NULL;
  void *p = core_malloc(n);
  if (p) memset(p, 0, n);
  return p;
}

void core_free(void *p) {
  if (!p) return;
  atomic_fetch_sub(&live_blocks, 1);
  free(p);
}

int core_mul_size(size_t *out, size_t a, size_t b) {
  if (a != 0 && b > (size_t)-1 / a) return -1;
  *out = a * b;
  return 0;
}

long core_alloc_live(void) { return atomic_load(&live_blocks); }

void core_alloc_fail_after(long n) { atomic_store(&fail_countdown, n); }
