// A deterministic stand-in for libFuzzer, so every build runs the fuzz targets (CTest
// `fuzz_*_short`) without clang: the seeds, every prefix of each seed, then N mutated inputs
// (bit flips, interesting integers, inserts, deletes, splices) from a fixed rng seed.
//
//   fuzz_<target>_short [ITERATIONS [RNG_SEED]]   run (default 20000 iterations, seed 1)
//   fuzz_<target>_short --write-seeds DIR         write the seed corpus for libFuzzer
//   fuzz_<target>_short --replay FILE...          run the target on saved inputs (e.g. crashes)
//
// A target may define tidemq_fuzz_standalone_done(): it is called after a full run (not
// --replay) and fails the run when it returns non-zero (fuzz_handlers: its answer summary).
//
// On a crash or failed invariant the current input is written to
// ./crash-<target>-standalone.bin before the process dies.
#include <fcntl.h>
#include <unistd.h>

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_seeds.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
// Optional (weak): a target's end-of-run report and check.
extern "C" int tidemq_fuzz_standalone_done() __attribute__((weak));

#ifndef TIDEMQ_FUZZ_TARGET
#error "define TIDEMQ_FUZZ_TARGET to the target's name"
#endif

namespace {

constexpr const char* kTarget = TIDEMQ_FUZZ_TARGET;
const uint8_t* g_input = nullptr;
size_t g_input_size = 0;
char g_crash_path[256];

void on_fatal_signal(int sig) {
  // Async-signal-safe: open/write/close only.
  int fd = ::open(g_crash_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd >= 0) {
    if (g_input_size) (void)!::write(fd, g_input, g_input_size);
    ::close(fd);
  }
  const char msg[] = "standalone fuzz driver: input saved to ";
  (void)!::write(2, msg, sizeof msg - 1);
  (void)!::write(2, g_crash_path, std::strlen(g_crash_path));
  (void)!::write(2, "\n", 1);
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

// Runs the target on an exact-size heap copy, so a sanitizer build sees overreads.
void run(const std::string& in) {
  std::unique_ptr<uint8_t[]> copy(new uint8_t[in.size() ? in.size() : 1]);
  std::memcpy(copy.get(), in.data(), in.size());
  g_input = copy.get();
  g_input_size = in.size();
  LLVMFuzzerTestOneInput(copy.get(), in.size());
  g_input = nullptr;
  g_input_size = 0;
}

class Mutator {
 public:
  explicit Mutator(uint64_t seed) : rng_(seed) {}

  std::string mutate(std::string s, const std::vector<std::string>& pool) {
    int rounds = 1 + static_cast<int>(rng_() % 4);
    for (int i = 0; i < rounds; ++i) s = once(std::move(s), pool);
    if (s.size() > kMaxLen) s.resize(kMaxLen);
    return s;
  }

  std::string random_bytes() {
    std::string s(rng_() % 256, '\0');
    for (auto& c : s) c = static_cast<char>(rng_());
    return s;
  }

  uint64_t next() { return rng_(); }

 private:
  static constexpr size_t kMaxLen = 1 << 16;

  size_t pos(const std::string& s) { return s.empty() ? 0 : rng_() % s.size(); }

  std::string once(std::string s, const std::vector<std::string>& pool) {
    static constexpr uint8_t kBytes[] = {0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff};
    switch (rng_() % 8) {
      case 0:  // flip a bit
        if (!s.empty()) s[pos(s)] ^= static_cast<char>(1u << (rng_() % 8));
        break;
      case 1:  // an interesting byte
        if (!s.empty()) s[pos(s)] = static_cast<char>(kBytes[rng_() % sizeof kBytes]);
        break;
      case 2: {  // an interesting 16/32-bit integer, big- or little-endian
        if (s.size() < 4) break;
        const uint32_t n = static_cast<uint32_t>(s.size());
        const uint32_t vals[] = {0, 1, 0xFFFFFFFFu, 0x7FFFFFFFu, 0x80000000u, n, n - 1, n + 1,
                                 static_cast<uint32_t>(rng_() % 512), 0xFFFFu, 0x10000u};
        uint32_t v = vals[rng_() % std::size(vals)];
        size_t p = rng_() % (s.size() - 3);
        int width = (rng_() % 3 == 0) ? 2 : 4;
        bool big = rng_() % 2;
        for (int b = 0; b < width; ++b) {
          int shift = big ? 8 * (width - 1 - b) : 8 * b;
          s[p + static_cast<size_t>(b)] = static_cast<char>((v >> shift) & 0xff);
        }
        break;
      }
      case 3: {  // delete a range
        if (s.empty()) break;
        size_t p = pos(s);
        s.erase(p, 1 + rng_() % std::min<size_t>(16, s.size() - p));
        break;
      }
      case 4: {  // insert random bytes
        std::string ins(1 + rng_() % 8, '\0');
        for (auto& c : ins) c = static_cast<char>(rng_());
        s.insert(s.empty() ? 0 : pos(s), ins);
        break;
      }
      case 5:  // truncate
        s.resize(pos(s));
        break;
      case 6: {  // duplicate a range elsewhere
        if (s.size() < 2) break;
        size_t from = pos(s);
        size_t len = 1 + rng_() % std::min<size_t>(32, s.size() - from);
        std::string piece = s.substr(from, len);
        s.insert(pos(s), piece);
        break;
      }
      case 7: {  // splice with another pool entry
        const std::string& other = pool[rng_() % pool.size()];
        if (other.empty()) break;
        s = s.substr(0, pos(s)) + other.substr(rng_() % other.size());
        break;
      }
    }
    return s;
  }

  std::mt19937_64 rng_;
};

int write_seeds(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  auto seeds = tidemq::fuzz::seeds_for(kTarget);
  for (size_t i = 0; i < seeds.size(); ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "seed-%03zu", i);
    std::ofstream(dir / name, std::ios::binary) << seeds[i];
  }
  std::printf("wrote %zu seeds for %s to %s\n", seeds.size(), kTarget, dir.c_str());
  return 0;
}

int replay(int argc, char** argv) {
  for (int i = 2; i < argc; ++i) {
    std::ifstream f(argv[i], std::ios::binary);
    if (!f) {
      std::fprintf(stderr, "cannot read %s\n", argv[i]);
      return 2;
    }
    std::string in((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    run(in);
    std::printf("%s: ok (%zu bytes)\n", argv[i], in.size());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::snprintf(g_crash_path, sizeof g_crash_path, "crash-%s-standalone.bin", kTarget);
  for (int sig : {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL}) std::signal(sig, on_fatal_signal);

  if (argc >= 2 && std::string(argv[1]) == "--write-seeds") {
    if (argc != 3) return 2;
    return write_seeds(argv[2]);
  }
  if (argc >= 2 && std::string(argv[1]) == "--replay") return replay(argc, argv);

  const long iterations = argc >= 2 ? std::atol(argv[1]) : 20000;
  const uint64_t rng_seed = argc >= 3 ? std::strtoull(argv[2], nullptr, 10) : 1;
  std::vector<std::string> pool = tidemq::fuzz::seeds_for(kTarget, rng_seed);
  if (pool.empty()) {
    std::fprintf(stderr, "no seeds for target %s\n", kTarget);
    return 2;
  }
  size_t executions = 0;
  for (const auto& seed : pool) {
    for (size_t len = 0; len <= seed.size(); ++len) {
      run(seed.substr(0, len));
      ++executions;
    }
  }
  Mutator m(rng_seed);
  const size_t n_seeds = pool.size();
  for (long i = 0; i < iterations; ++i) {
    std::string in;
    if (m.next() % 16 == 0) {
      in = m.random_bytes();
    } else {
      in = m.mutate(pool[m.next() % pool.size()], pool);
    }
    run(in);
    ++executions;
    // Keep some mutants so mutations compound, in a bounded pool.
    if (m.next() % 8 == 0) {
      if (pool.size() < n_seeds + 256) {
        pool.push_back(std::move(in));
      } else {
        pool[n_seeds + m.next() % 256] = std::move(in);
      }
    }
  }
  if (tidemq_fuzz_standalone_done != nullptr && tidemq_fuzz_standalone_done() != 0) {
    std::fprintf(stderr, "fuzz_%s_short: the target's end-of-run check failed\n", kTarget);
    return 1;
  }
  std::printf("fuzz_%s_short: %zu executions (seed %llu), no failures\n", kTarget, executions,
              static_cast<unsigned long long>(rng_seed));
  return 0;
}
