#include "perf/mqperf/load.h"

#include <thread>

namespace tidemq::perf {

std::string make_body(uint32_t size) {
  std::string body(size, '\0');
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i % 26);
  return body;
}

void RatePacer::wait_turn(uint64_t i) const {
  if (rate_ <= 0) return;
  const auto due = begin_ + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                std::chrono::duration<double>(static_cast<double>(i) / rate_));
  if (std::chrono::steady_clock::now() < due) std::this_thread::sleep_until(due);
}

}  // namespace tidemq::perf
