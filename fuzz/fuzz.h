/* fuzz.h — the libFuzzer entry point every fuzz/fuzz_*.c defines. Built with -DCEMRL_FUZZ=ON
 * (clang) they are fuzzers; otherwise replay.c gives them a main that runs the files of a corpus,
 * which is how the committed corpora run as tests. */
#ifndef CEMRL_FUZZ_H
#define CEMRL_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
