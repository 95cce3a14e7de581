#pragma once
// Splits rendered text into its lines (without the '\n'), for golden-output checks of tables.
// Header-only.
#include <sstream>
#include <string>
#include <vector>

namespace tidemq::test {

inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

}  // namespace tidemq::test
