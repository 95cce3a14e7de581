#include "common/check.h"

#include <cstdio>
#include <cstdlib>

namespace tidemq::detail {

void check_failed(const char* expr, const char* msg, const char* file, int line) {
  std::fprintf(stderr, "FATAL %s:%d: check failed: %s — %s\n", file, line, expr, msg);
  std::fflush(stderr);
  std::abort();
}

}  // namespace tidemq::detail
