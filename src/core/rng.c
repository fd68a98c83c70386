/* rng.c — splitmix64-seeded xoshiro256** streams. */
#include "core/rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t core_rng_derive(uint64_t seed, int purpose, uint64_t index) {
  /* chain the three values through splitmix64 so nearby inputs give unrelated outputs */
  uint64_t x = seed;
  uint64_t h = splitmix64(&x);
  x = h ^ ((uint64_t)(unsigned)purpose * 0xd1b54a32d192ed03ULL);
  h = splitmix64(&x);
  x = h ^ (index * 0x8cb92ba72f3d8dd7ULL);
  return splitmix64(&x);
}

void core_rng_stream(CoreRng *rng, uint64_t seed, int purpose, uint64_t index) {
  uint64_t x = core_rng_derive(seed, purpose, index);
  for (int i = 0; i < 4; i++) rng->s[i] = splitmix64(&x);
  rng->spare = 0.0;
  rng->has_spare = 0;
  rng->pad_ = 0;
}

uint64_t core_rng_u64(CoreRng *rng) {
  uint64_t *s = rng->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

double core_rng_uniform(CoreRng *rng) { return (double)(core_rng_u64(rng) >> 11) * 0x1.0p-53; }

double core_rng_uniform_range(CoreRng *rng, double lo, double hi) {
  return lo + (hi - lo) * core_rng_uniform(rng);
}

uint64_t core_rng_below(CoreRng *rng, uint64_t n) {
  /* rejection on the top of the range removes modulo bias */
  uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t r;
  do r = core_rng_u64(rng);
  while (r >= limit);
  return r % n;
}

double core_rng_normal(CoreRng *rng) {
  if (rng->has_spare) {
    rng->has_spare = 0;
    return rng->spare;
  }
  double u1, u2;
  do u1 = core_rng_uniform(rng);
  while (u1 <= 0.0);
  u2 = core_rng_uniform(rng);
  double r = sqrt(-2.0 * log(u1)), th = 2.0 * M_PI * u2;
  rng->spare = r * sin(th);
  rng->has_spare = 1;
  return r * cos(th);
}

void core_rng_normal_fill(CoreRng *rng, float *x, long n, double mean, double std) {
  for (long i = 0; i < n; i++) x[i] = (float)(mean + std * core_rng_normal(rng));
}

void core_rng_uniform_fill(CoreRng *rng, float *x, long n, double lo, double hi) {
  for (long i = 0; i < n; i++) x[i] = (float)core_rng_uniform_range(rng, lo, hi);
}
