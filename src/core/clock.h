/* clock.h — the one monotonic clock for rates, ETAs and benchmarks. */
#ifndef CEMRL_CORE_CLOCK_H
#define CEMRL_CORE_CLOCK_H

/* Seconds on CLOCK_MONOTONIC (an arbitrary origin; use differences). */
double core_clock_seconds(void);

/* Seconds of CPU time used by the calling thread (CLOCK_THREAD_CPUTIME_ID). */
double core_clock_thread_cpu(void);

#endif
