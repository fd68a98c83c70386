/* alloc.h — the one allocator: 64-byte aligned, overflow-checked, countable in tests. */
#ifndef CEMRL_CORE_ALLOC_H
#define CEMRL_CORE_ALLOC_H

#include <stddef.h>

/* Allocate n bytes aligned to 64; NULL on failure (or n == 0 gives a valid minimal block). */
void *core_malloc(size_t n);

/* Allocate and zero count*size bytes, 64-aligned; NULL on failure or on overflow. */
void *core_calloc(size_t count, size_t size);

/* Free a block from core_malloc/core_calloc; NULL is a no-op. */
void core_free(void *p);

/* Multiply with overflow check: 0 and *out set on success, -1 on overflow. */
int core_mul_size(size_t *out, size_t a, size_t b);

/* Test hooks: number of live allocations, and fail the n-th allocation from now (0 = never). */
long core_alloc_live(void);
void core_alloc_fail_after(long n);

#endif
