// crc32c: the standard check values, extend() composing, and the SSE4.2 path agreeing with the
// table on every length and alignment.
#include "common/crc32c.h"

#include <doctest/doctest.h>

#include <random>
#include <string>

using namespace tidemq;

TEST_CASE("crc32c of the standard check inputs") {
  const std::string digits = "123456789";
  CHECK(crc32c::value(digits.data(), digits.size()) == 0xE3069283u);
  CHECK(crc32c::value("", 0) == 0u);
  // RFC 3720 (iSCSI) B.4 vectors.
  const std::string zeros(32, '\0');
  CHECK(crc32c::value(zeros.data(), zeros.size()) == 0x8A9136AAu);
  const std::string ones(32, '\xff');
  CHECK(crc32c::value(ones.data(), ones.size()) == 0x62A8AB43u);
  std::string inc(32, '\0');
  for (int i = 0; i < 32; ++i) inc[i] = static_cast<char>(i);
  CHECK(crc32c::value(inc.data(), inc.size()) == 0x46DD794Eu);
  std::string dec(32, '\0');
  for (int i = 0; i < 32; ++i) dec[i] = static_cast<char>(31 - i);
  CHECK(crc32c::value(dec.data(), dec.size()) == 0x113FDB5Cu);
  for (const std::string& s : {digits, zeros, ones, inc, dec}) {
    CHECK(crc32c::detail::software_extend(0, s.data(), s.size()) == crc32c::value(s.data(), s.size()));
  }
}

TEST_CASE("crc32c extend of a split input equals the value of the whole") {
  std::mt19937 rng(11);
  std::string s(1000, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  const uint32_t whole = crc32c::value(s.data(), s.size());
  for (size_t cut : {size_t{0}, size_t{1}, size_t{7}, size_t{8}, size_t{500}, size_t{999}, size_t{1000}}) {
    CHECK(crc32c::extend(crc32c::value(s.data(), cut), s.data() + cut, s.size() - cut) == whole);
  }
}

TEST_CASE("crc32c hardware and software paths agree on random data of many lengths and alignments") {
  if (!crc32c::detail::hardware_available()) {
    MESSAGE("no SSE4.2 on this CPU: only the table is tested");
    return;
  }
  std::mt19937_64 rng(42);
  std::string buf(5000, '\0');
  for (char& c : buf) c = static_cast<char>(rng());
  size_t compared = 0;
  for (size_t align = 0; align < 16; ++align) {
    for (size_t len = 0; len < 300; ++len) {
      const char* p = buf.data() + align;
      const uint32_t seed = static_cast<uint32_t>(rng());
      REQUIRE(crc32c::detail::hardware_extend(seed, p, len) ==
              crc32c::detail::software_extend(seed, p, len));
      ++compared;
    }
    const size_t big = 4000 + align * 37;
    REQUIRE(crc32c::detail::hardware_extend(0, buf.data() + align, big) ==
            crc32c::detail::software_extend(0, buf.data() + align, big));
  }
  CHECK(compared == 16 * 300);
}
