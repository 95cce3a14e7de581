// CRC-32C: a byte-at-a-time table (built at compile time) and the SSE4.2 crc32 instruction,
// picked once at run time.
#include "common/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <nmmintrin.h>
#define TIDEMQ_CRC32C_X86 1
#endif

namespace tidemq::crc32c {

namespace {

constexpr uint32_t kPolyReflected = 0x82F63B78u;  // 0x1EDC6F41 bit-reversed

constexpr std::array<uint32_t, 256> make_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ kPolyReflected : c >> 1;
    t[i] = c;
  }
  return t;
}

constexpr std::array<uint32_t, 256> kTable = make_table();

#if defined(TIDEMQ_CRC32C_X86)
__attribute__((target("sse4.2"))) uint32_t sse42_extend(uint32_t crc, const char* data, size_t n) {
  const auto* p = reinterpret_cast<const unsigned char*>(data);
  uint32_t c = ~crc;
  // Byte steps up to an 8-byte boundary, then 8 bytes per instruction, then the tail.
  while (n > 0 && (reinterpret_cast<uintptr_t>(p) & 7) != 0) {
    c = _mm_crc32_u8(c, *p++);
    --n;
  }
#if defined(__x86_64__)
  uint64_t c64 = c;
  while (n >= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    c64 = _mm_crc32_u64(c64, word);
    p += 8;
    n -= 8;
  }
  c = static_cast<uint32_t>(c64);
#endif
  while (n > 0) {
    c = _mm_crc32_u8(c, *p++);
    --n;
  }
  return ~c;
}
#endif

using ExtendFn = uint32_t (*)(uint32_t, const char*, size_t);

ExtendFn pick() {
#if defined(TIDEMQ_CRC32C_X86)
  if (__builtin_cpu_supports("sse4.2")) return &sse42_extend;
#endif
  return &detail::software_extend;
}

}  // namespace

namespace detail {

uint32_t software_extend(uint32_t crc, const char* data, size_t n) {
  const auto* p = reinterpret_cast<const unsigned char*>(data);
  uint32_t c = ~crc;
  for (size_t i = 0; i < n; ++i) c = kTable[(c ^ p[i]) & 0xff] ^ (c >> 8);
  return ~c;
}

uint32_t hardware_extend(uint32_t crc, const char* data, size_t n) {
#if defined(TIDEMQ_CRC32C_X86)
  return sse42_extend(crc, data, n);
#else
  return software_extend(crc, data, n);
#endif
}

bool hardware_available() {
#if defined(TIDEMQ_CRC32C_X86)
  return __builtin_cpu_supports("sse4.2");
#else
  return false;
#endif
}

}  // namespace detail

uint32_t extend(uint32_t crc, const char* data, size_t n) {
  static const ExtendFn fn = pick();
  return fn(crc, data, n);
}

uint32_t value(const char* data, size_t n) { return extend(0, data, n); }

}  // namespace tidemq::crc32c
