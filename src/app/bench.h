/* bench.h — the benchmarks behind `cemrl bench WHAT` (argv[0] is WHAT). */
#ifndef CEMRL_APP_BENCH_H
#define CEMRL_APP_BENCH_H

int bench_nets(int argc, char **argv);
int bench_envs(int argc, char **argv);
int bench_td3(int argc, char **argv);

#endif
