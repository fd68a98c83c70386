/* bench.h — the benchmarks behind `cemrl bench WHAT` (argv[0] is WHAT). */
#ifndef CEMRL_APP_BENCH_H
#define CEMRL_APP_BENCH_H

int bench_nets(int argc, char **argv);

#endif
