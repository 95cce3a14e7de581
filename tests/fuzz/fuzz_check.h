#pragma once
// An invariant of a fuzz target: prints the failed condition and aborts, which libFuzzer and the
// standalone driver both report as a crash (with the input saved).
#include <cstdio>
#include <cstdlib>

#define TIDEMQ_FUZZ_CHECK(cond)                                                            \
  do {                                                                                     \
    if (!(cond)) {                                                                         \
      std::fprintf(stderr, "fuzz invariant failed: %s at %s:%d\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                        \
    }                                                                                      \
  } while (0)
