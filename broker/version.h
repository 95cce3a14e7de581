#pragma once
#include <cstdint>
#include <string_view>

namespace tidemq::broker {
inline constexpr std::string_view kVersion = "0.1.0";
inline constexpr uint32_t kProtocolVersion = 1;
}  // namespace tidemq::broker
