#pragma once
// Output rendering for mqadmin: aligned text tables for people, JSON for scripts.
// Everything here is pure (strings in, strings out) so it is unit-tested without a broker.
#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace tidemq::tools {

// A JSON value that keeps object keys in insertion order (so output is stable and reads in the
// order the command built it). Numbers are int64, uint64 or double.
class JsonValue {
 public:
  using Array = std::vector<JsonValue>;
  using Object = std::vector<std::pair<std::string, JsonValue>>;

  JsonValue() = default;  // null
  JsonValue(bool b) : v_(b) {}  // NOLINT(implicit)
  template <std::integral T>
    requires(!std::same_as<T, bool>)
  JsonValue(T n) {  // NOLINT(implicit)
    if constexpr (std::is_signed_v<T>) {
      v_ = static_cast<int64_t>(n);
    } else {
      v_ = static_cast<uint64_t>(n);
    }
  }
  JsonValue(double d) : v_(d) {}                     // NOLINT(implicit)
  JsonValue(std::string s) : v_(std::move(s)) {}     // NOLINT(implicit)
  JsonValue(std::string_view s) : v_(std::string(s)) {}  // NOLINT(implicit)
  JsonValue(const char* s) : v_(std::string(s)) {}   // NOLINT(implicit)
  JsonValue(Array a) : v_(std::move(a)) {}           // NOLINT(implicit)
  JsonValue(Object o) : v_(std::move(o)) {}          // NOLINT(implicit)

  static JsonValue object() { return JsonValue(Object{}); }
  static JsonValue array() { return JsonValue(Array{}); }

  // Appends a member to an object (aborts if this is not an object). Returns *this for chaining.
  JsonValue& set(std::string key, JsonValue value);
  // Appends an element to an array (aborts if this is not an array).
  JsonValue& push(JsonValue value);

  // Compact JSON text (one line, no spaces).
  std::string dump() const;

 private:
  void dump_to(std::string& out) const;
  std::variant<std::nullptr_t, bool, int64_t, uint64_t, double, std::string, Array, Object> v_{nullptr};
};

// `s` as a quoted JSON string: `"` `\` and control characters escaped, valid UTF-8 passed through
// unchanged, and each byte that is not part of valid UTF-8 replaced by U+FFFD (JSON text must be
// UTF-8; message bodies are arbitrary bytes).
std::string json_quote(std::string_view s);

// `s` made safe for one table cell or one terminal line: control characters become \n, \t, \r or
// \xNN; valid UTF-8 passes through; invalid bytes become \xNN.
std::string printable(std::string_view s);

// Width of `s` on a terminal, counted in UTF-8 code points (no East Asian wide-char handling).
size_t display_width(std::string_view s);

// `s` cut to at most `max_width` code points, ending in "..." when cut.
std::string truncate_display(std::string_view s, size_t max_width);

// A text table: a header row and rows, columns separated by two spaces and padded to the widest
// cell. Cells are passed through printable(). The last column is not padded (no trailing spaces).
class Table {
 public:
  enum class Align { kLeft, kRight };
  explicit Table(std::vector<std::string> headers);

  void set_align(size_t column, Align align);
  // A row with fewer cells than headers is padded with empty cells; extra cells are an error.
  void add_row(std::vector<std::string> cells);
  size_t rows() const { return rows_.size(); }
  // The header, then one line per row, each ending in '\n'.
  std::string render() const;

 private:
  std::vector<std::string> headers_;
  std::vector<Align> align_;
  std::vector<std::vector<std::string>> rows_;
};

// "name:  value" lines with the values aligned, for single records (one message, broker status).
std::string render_fields(const std::vector<std::pair<std::string, std::string>>& fields);

// Milliseconds since the Unix epoch as local time "2026-03-01 12:00:00.123"; "-" for 0 or less.
std::string format_time_ms(int64_t unix_ms);

// A duration in ms as "3d 4h", "2h 5m", "4m 10s", "12.3s" or "250ms".
std::string format_duration_ms(uint64_t ms);

}  // namespace tidemq::tools
