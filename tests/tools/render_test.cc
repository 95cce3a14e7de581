#include "tools/mqadmin/render.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tests/support/text_lines.h"

namespace tidemq::tools {
namespace {

using test::lines_of;

TEST_CASE("json_quote escapes quotes, backslashes and control characters") {
  CHECK(json_quote("plain") == "\"plain\"");
  CHECK(json_quote("say \"hi\"") == "\"say \\\"hi\\\"\"");
  CHECK(json_quote("a\\b") == "\"a\\\\b\"");
  CHECK(json_quote("l1\nl2\tx\r") == "\"l1\\nl2\\tx\\r\"");
  CHECK(json_quote("\b\f") == "\"\\b\\f\"");
  CHECK(json_quote(std::string("\x01\x1f\x7f", 3)) == "\"\\u0001\\u001f\\u007f\"");
  CHECK(json_quote(std::string("nul\0byte", 8)) == "\"nul\\u0000byte\"");
  CHECK(json_quote("") == "\"\"");
}

TEST_CASE("json_quote passes valid UTF-8 through and replaces invalid bytes") {
  CHECK(json_quote("h\xC3\xA9llo") == "\"h\xC3\xA9llo\"");                  // é
  CHECK(json_quote("\xE4\xB8\xAD\xE6\x96\x87") == "\"\xE4\xB8\xAD\xE6\x96\x87\"");  // 中文
  CHECK(json_quote("\xF0\x9F\x98\x80") == "\"\xF0\x9F\x98\x80\"");          // emoji, 4 bytes
  CHECK(json_quote("a\xFF" "b") == "\"a\\ufffdb\"");                        // never valid
  CHECK(json_quote("\xC3") == "\"\\ufffd\"");                               // truncated
  CHECK(json_quote("\xC0\xAF") == "\"\\ufffd\\ufffd\"");                    // overlong '/'
  CHECK(json_quote("\xED\xA0\x80") == "\"\\ufffd\\ufffd\\ufffd\"");         // surrogate
  CHECK(json_quote("\x80x") == "\"\\ufffdx\"");                             // stray continuation
}

TEST_CASE("JsonValue builds objects in insertion order with typed numbers") {
  auto v = JsonValue::object()
               .set("topic", "orders")
               .set("count", uint64_t{18446744073709551615ULL})
               .set("neg", int64_t{-5})
               .set("ok", true)
               .set("none", JsonValue())
               .set("ratio", 0.5)
               .set("list", JsonValue::array().push(1).push("two").push(JsonValue::object()));
  CHECK(v.dump() ==
        "{\"topic\":\"orders\",\"count\":18446744073709551615,\"neg\":-5,\"ok\":true,\"none\":null,"
        "\"ratio\":0.5,\"list\":[1,\"two\",{}]}");
  CHECK(JsonValue::object().set("k\"ey", "v\n").dump() == "{\"k\\\"ey\":\"v\\n\"}");
  CHECK(JsonValue(1.0 / 0.0).dump() == "null");
  CHECK(JsonValue(2000.0).dump() == "2000");  // whole doubles print as integers, not 2e+03
  CHECK(JsonValue(-3.0).dump() == "-3");
  CHECK(JsonValue(1e20).dump() == "1e+20");
  CHECK(JsonValue(0.1).dump() == "0.1");
}

TEST_CASE("Table aligns columns by the widest cell and leaves no trailing spaces") {
  Table t({"PARTITION", "OFFSET", "KEY"});
  t.set_align(1, Table::Align::kRight);
  t.add_row({"0", "7", "k"});
  t.add_row({"12", "123456", "longer-key"});
  const auto lines = lines_of(t.render());
  REQUIRE(lines.size() == 3);
  CHECK(lines[0] == "PARTITION  OFFSET  KEY");
  CHECK(lines[1] == "0               7  k");
  CHECK(lines[2] == "12         123456  longer-key");
  CHECK(t.rows() == 2);
}

TEST_CASE("Table counts UTF-8 code points, pads short rows and escapes control characters") {
  Table t({"A", "B"});
  t.add_row({"\xC3\xA9\xC3\xA9", "x"});  // "éé": 2 columns wide, 4 bytes
  t.add_row({"abc"});                    // missing cell -> empty
  t.add_row({"l\nm", "y"});              // newline must not break the table
  const auto lines = lines_of(t.render());
  REQUIRE(lines.size() == 4);
  CHECK(lines[0] == "A     B");
  CHECK(lines[1] == "\xC3\xA9\xC3\xA9    x");
  CHECK(lines[2] == "abc");
  CHECK(lines[3] == "l\\nm  y");
}

TEST_CASE("printable, display_width and truncate_display") {
  CHECK(printable("ok") == "ok");
  CHECK(printable(std::string("a\0b", 3)) == "a\\x00b");
  CHECK(printable("tab\there") == "tab\\there");
  CHECK(printable("\xFF") == "\\xff");
  CHECK(printable("\xE4\xB8\xAD") == "\xE4\xB8\xAD");
  CHECK(display_width("\xE4\xB8\xAD\xE6\x96\x87") == 2);
  CHECK(display_width("abc") == 3);
  CHECK(truncate_display("abcdef", 10) == "abcdef");
  CHECK(truncate_display("abcdefghijkl", 8) == "abcde...");
  CHECK(truncate_display("\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9", 4) == "\xC3\xA9...");
  CHECK(display_width(truncate_display(std::string(500, 'x'), 120)) == 120);
}

TEST_CASE("render_fields aligns values after the labels") {
  const auto lines = lines_of(render_fields({{"id", "00ab"}, {"partition", "3"}, {"key", ""}}));
  REQUIRE(lines.size() == 3);
  CHECK(lines[0] == "id:         00ab");
  CHECK(lines[1] == "partition:  3");
  CHECK(lines[2] == "key:");
}

TEST_CASE("format_duration_ms and format_time_ms") {
  CHECK(format_duration_ms(250) == "250ms");
  CHECK(format_duration_ms(12'300) == "12.3s");
  CHECK(format_duration_ms(250'000) == "4m 10s");
  CHECK(format_duration_ms(7'500'000) == "2h 5m");
  CHECK(format_duration_ms(259'200'000) == "3d 0h");
  CHECK(format_time_ms(0) == "-");
  const std::string t = format_time_ms(1'767'225'600'123);
  CHECK(t.size() == 23);
  CHECK(t.substr(19) == ".123");
}

}  // namespace
}  // namespace tidemq::tools
