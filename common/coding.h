#pragma once
// Big-endian fixed-width integer coding: byte order equals numeric order, which LevelDB keys and
// the wire/record layouts rely on.
#include <cstdint>
#include <cstring>
#include <string>

namespace tidemq::coding {

inline void put_u16(char* p, uint16_t v) {
  p[0] = static_cast<char>(v >> 8);
  p[1] = static_cast<char>(v);
}
inline void put_u32(char* p, uint32_t v) {
  for (int i = 3; i >= 0; --i, v >>= 8) p[i] = static_cast<char>(v & 0xff);
}
inline void put_u64(char* p, uint64_t v) {
  for (int i = 7; i >= 0; --i, v >>= 8) p[i] = static_cast<char>(v & 0xff);
}
inline uint16_t get_u16(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return static_cast<uint16_t>((u[0] << 8) | u[1]);
}
inline uint32_t get_u32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t{u[0]} << 24) | (uint32_t{u[1]} << 16) | (uint32_t{u[2]} << 8) | u[3];
}
inline uint64_t get_u64(const char* p) {
  return (uint64_t{get_u32(p)} << 32) | get_u32(p + 4);
}

inline void append_u16(std::string& s, uint16_t v) {
  char b[2];
  put_u16(b, v);
  s.append(b, 2);
}
inline void append_u32(std::string& s, uint32_t v) {
  char b[4];
  put_u32(b, v);
  s.append(b, 4);
}
inline void append_u64(std::string& s, uint64_t v) {
  char b[8];
  put_u64(b, v);
  s.append(b, 8);
}

}  // namespace tidemq::coding
