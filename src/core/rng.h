/* rng.h — seeded random streams.
 *
 * One run seed derives independent streams by (purpose, index): worker 3, individual 17,
 * evaluation episode 5, ... Each stream is xoshiro256** seeded through splitmix64 from a hash of
 * (seed, purpose, index), so a stream's numbers depend only on those three values — never on
 * thread scheduling or on how many other streams were drawn from. CoreRng is plain data: save
 * it with memcpy, restore it the same way.
 */
#ifndef CEMRL_CORE_RNG_H
#define CEMRL_CORE_RNG_H

#include <stdint.h>

typedef enum {
  CORE_RNG_MAIN = 0,       /* the run's own decisions */
  CORE_RNG_INIT,           /* network initialization */
  CORE_RNG_ENV,            /* environment resets */
  CORE_RNG_EXPLORE,        /* exploration noise */
  CORE_RNG_REPLAY,         /* replay-buffer sampling */
  CORE_RNG_POPULATION,     /* CEM sampling */
  CORE_RNG_WORKER,         /* per-worker streams */
  CORE_RNG_EVAL,           /* evaluation episodes */
  CORE_RNG_DATA,           /* data shuffling and minibatches */
  CORE_RNG_TEST,           /* tests */
  CORE_NRNG
} CoreRngPurpose;

typedef struct {
  uint64_t s[4];           /* xoshiro256** state */
  double spare;            /* cached second normal deviate */
  int has_spare;
  int pad_;
} CoreRng;

/* Seed a stream from (seed, purpose, index). */
void core_rng_stream(CoreRng *rng, uint64_t seed, int purpose, uint64_t index);

/* Derive a 64-bit seed (e.g. for an env reset) from (seed, purpose, index) without a stream. */
uint64_t core_rng_derive(uint64_t seed, int purpose, uint64_t index);

/* Next raw 64 bits. */
uint64_t core_rng_u64(CoreRng *rng);

/* Uniform double in [0, 1) with 53 random bits. */
double core_rng_uniform(CoreRng *rng);

/* Uniform double in [lo, hi). */
double core_rng_uniform_range(CoreRng *rng, double lo, double hi);

/* Uniform integer in [0, n) without modulo bias; n > 0. */
uint64_t core_rng_below(CoreRng *rng, uint64_t n);

/* Standard normal deviate (Box-Muller; pairs cached in the state). */
double core_rng_normal(CoreRng *rng);

/* Fill x[0..n) with mean + std * N(0,1) as floats. */
void core_rng_normal_fill(CoreRng *rng, float *x, long n, double mean, double std);

/* Fill x[0..n) with uniform floats in [lo, hi). */
void core_rng_uniform_fill(CoreRng *rng, float *x, long n, double lo, double hi);

#endif
