// Record batch layout (common/record_batch.h): build/parse round trip, stamp(), and validate()
// rejecting every kind of malformed batch without reading out of bounds.
#include "common/record_batch.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "common/coding.h"

namespace tidemq::record {
namespace {

using Props = std::vector<std::pair<std::string, std::string>>;

struct Msg {
  uint64_t id = 0;
  uint64_t born_ms = 0;
  uint32_t reconsume_times = 0;
  std::string key;
  std::string tags;
  Props props;
  std::string body;
};

std::string build(const std::vector<Msg>& msgs, uint64_t producer_id = 0, uint32_t base_seq = 0) {
  BatchBuilder b;
  for (const auto& m : msgs) {
    RecordInput r;
    r.id = m.id;
    r.born_ms = m.born_ms;
    r.reconsume_times = m.reconsume_times;
    r.key = m.key;
    r.tags = m.tags;
    r.properties = m.props.empty() ? nullptr : &m.props;
    r.body = m.body;
    b.add(r);
  }
  return b.finish(producer_id, base_seq);
}

std::vector<Msg> sample_msgs() {
  std::vector<Msg> msgs;
  msgs.push_back({1, 100, 0, "k1", "TagA", {{"a", "1"}, {"trace", "xyz"}}, "hello"});
  msgs.push_back({2, 101, 3, "", "", {}, ""});  // empty everything
  msgs.push_back({3, 102, 0, std::string("bin\0key", 7), "t", {{"", ""}, {"k", std::string(1, '\0')}},
                  std::string("\0\x01\xff", 3)});
  msgs.push_back({4, 103, 1, "k4", "", {{"only", "one"}}, std::string(1 << 20, 'B')});  // large
  return msgs;
}

struct Parsed {
  std::vector<RecordView> views;
  std::vector<Msg> msgs;
};

Parsed parse(std::string_view batch) {
  Parsed out;
  Status st = for_each_record(batch, [&](const RecordView& r) {
    out.views.push_back(r);
    Msg m{r.id, r.born_ms, r.reconsume_times, std::string(r.key), std::string(r.tags), {},
          std::string(r.body)};
    for (const auto& [k, v] : r.properties) m.props.emplace_back(std::string(k), std::string(v));
    out.msgs.push_back(std::move(m));
  });
  REQUIRE(st.is_ok());
  return out;
}

void check_same(const std::vector<Msg>& a, const std::vector<Msg>& b) {
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    CAPTURE(i);
    CHECK(a[i].id == b[i].id);
    CHECK(a[i].born_ms == b[i].born_ms);
    CHECK(a[i].reconsume_times == b[i].reconsume_times);
    CHECK(a[i].key == b[i].key);
    CHECK(a[i].tags == b[i].tags);
    CHECK(a[i].props == b[i].props);
    CHECK(a[i].body == b[i].body);
  }
}

void put32(std::string& s, size_t pos, uint32_t v) { coding::put_u32(s.data() + pos, v); }

constexpr uint32_t kMax = 4u << 20;

TEST_CASE("build/parse round trip: keys, tags, properties, empty and large bodies") {
  auto msgs = sample_msgs();
  std::string batch = build(msgs, /*producer_id=*/77, /*base_seq=*/9);
  auto h = validate(batch, kMax);
  REQUIRE(h.is_ok());
  CHECK(h->batch_len == batch.size());
  CHECK(h->record_count == msgs.size());
  CHECK(h->producer_id == 77);
  CHECK(h->base_sequence == 9);
  CHECK(h->base_offset == 0);
  CHECK(h->store_ms == 0);
  check_same(parse(batch).msgs, msgs);
}

TEST_CASE("record_size matches the encoding; finish() resets the builder") {
  auto msgs = sample_msgs();
  BatchBuilder b;
  CHECK(b.empty());
  CHECK(b.size_bytes() == kHeaderBytes);
  size_t expected = kHeaderBytes;
  for (const auto& m : msgs) {
    RecordInput r;
    r.key = m.key;
    r.tags = m.tags;
    r.properties = m.props.empty() ? nullptr : &m.props;
    r.body = m.body;
    expected += BatchBuilder::record_size(r);
    b.add(r);
    CHECK(b.size_bytes() == expected);
  }
  CHECK(b.count() == msgs.size());
  std::string first = b.finish(1, 2);
  CHECK(first.size() == expected);
  CHECK(b.empty());
  CHECK(b.size_bytes() == kHeaderBytes);
  // The reset builder makes an independent second batch.
  RecordInput r;
  r.body = "second";
  b.add(r);
  std::string second = b.finish(0, 0);
  auto h = validate(second, kMax);
  REQUIRE(h.is_ok());
  CHECK(h->record_count == 1);
  CHECK(validate(first, kMax).is_ok());
}

TEST_CASE("maximum key and tags lengths round trip") {
  std::vector<Msg> msgs = {{5, 6, 7, std::string(kMaxKeyBytes, 'k'), std::string(kMaxKeyBytes, 't'),
                            {{std::string(0xffff, 'p'), std::string(100000, 'v')}}, "b"}};
  std::string batch = build(msgs);
  REQUIRE(validate(batch, kMax).is_ok());
  check_same(parse(batch).msgs, msgs);
}

TEST_CASE("stamp() sets base offset and store time; offsets are implicit") {
  auto msgs = sample_msgs();
  std::string batch = build(msgs, 5, 6);
  stamp(batch, 1000, 1'767'225'600'123);
  auto h = validate(batch, kMax);
  REQUIRE(h.is_ok());
  CHECK(h->base_offset == 1000);
  CHECK(h->store_ms == 1'767'225'600'123);
  CHECK(h->producer_id == 5);
  CHECK(h->base_sequence == 6);
  auto parsed = parse(batch);
  for (size_t i = 0; i < parsed.views.size(); ++i) {
    CHECK(parsed.views[i].offset == 1000 + i);
    CHECK(parsed.views[i].store_ms == 1'767'225'600'123);
  }
  check_same(parsed.msgs, msgs);
}

TEST_CASE("clear_producer() zeroes producer id and base sequence, nothing else") {
  auto msgs = sample_msgs();
  std::string batch = build(msgs, 5, 6);
  stamp(batch, 1000, 42);
  clear_producer(batch);
  auto h = validate(batch, kMax);
  REQUIRE(h.is_ok());
  CHECK(h->producer_id == 0);
  CHECK(h->base_sequence == 0);
  CHECK(h->base_offset == 1000);
  CHECK(h->store_ms == 42);
  check_same(parse(batch).msgs, msgs);
}

TEST_CASE("properties do not leak from one record into the next") {
  std::vector<Msg> msgs = {{1, 0, 0, "", "", {{"a", "1"}, {"b", "2"}, {"c", "3"}}, "x"},
                           {2, 0, 0, "", "", {}, "y"},
                           {3, 0, 0, "", "", {{"d", "4"}}, "z"}};
  std::string batch = build(msgs);
  std::vector<size_t> sizes;
  REQUIRE(for_each_record(batch, [&](const RecordView& r) { sizes.push_back(r.properties.size()); })
              .is_ok());
  CHECK(sizes == std::vector<size_t>{3, 0, 1});
}

TEST_CASE("validate rejects a wrong magic") {
  std::string batch = build(sample_msgs());
  for (size_t i = 0; i < 4; ++i) {
    std::string c = batch;
    c[i] ^= 0x20;
    CHECK(validate(c, kMax).status().code() == StatusCode::kCorruptMessage);
  }
}

TEST_CASE("validate rejects a batch_len that does not match the bytes") {
  std::string batch = build(sample_msgs());
  const auto n = static_cast<uint32_t>(batch.size());
  for (uint32_t bad : {n - 1, n + 1, 0u, uint32_t{kHeaderBytes} - 1, uint32_t{kHeaderBytes},
                       0xFFFFFFFFu}) {
    CAPTURE(bad);
    std::string c = batch;
    put32(c, 4, bad);
    CHECK(validate(c, kMax).status().code() == StatusCode::kCorruptMessage);
  }
}

TEST_CASE("validate rejects a record count that does not match the records") {
  std::string batch = build(sample_msgs());
  const auto n = static_cast<uint32_t>(sample_msgs().size());
  for (uint32_t bad : {n - 1, n + 1, 1u, 0xFFFFFFFFu}) {
    CAPTURE(bad);
    std::string c = batch;
    put32(c, 36, bad);
    CHECK(validate(c, kMax).status().code() == StatusCode::kCorruptMessage);
  }
}

TEST_CASE("validate rejects an empty batch") {
  BatchBuilder b;
  std::string empty = b.finish(0, 0);
  CHECK(empty.size() == kHeaderBytes);
  CHECK(validate(empty, kMax).status().code() == StatusCode::kCorruptMessage);
  CHECK(validate("", kMax).status().code() == StatusCode::kCorruptMessage);
}

TEST_CASE("validate rejects every truncation, with or without batch_len patched to match") {
  std::vector<Msg> msgs = sample_msgs();
  msgs[3].body = std::string(300, 'B');  // keep the O(n) loop over prefixes quick
  std::string batch = build(msgs);
  for (size_t len = 0; len < batch.size(); ++len) {
    CAPTURE(len);
    std::string prefix = batch.substr(0, len);
    CHECK_FALSE(validate(prefix, kMax).is_ok());
    if (len >= kHeaderBytes) {
      // The lie is consistent at the header level; the records must catch it.
      put32(prefix, 4, static_cast<uint32_t>(len));
      CHECK(validate(prefix, kMax).status().code() == StatusCode::kCorruptMessage);
      int calls = 0;
      CHECK_FALSE(for_each_record(prefix, [&](const RecordView&) { ++calls; }).is_ok());
      CHECK(calls < static_cast<int>(msgs.size()));
    }
  }
}

TEST_CASE("validate rejects trailing bytes") {
  std::string batch = build(sample_msgs());
  std::string c = batch + "xyz";
  CHECK(validate(c, kMax).status().code() == StatusCode::kCorruptMessage);  // batch_len mismatch
  put32(c, 4, static_cast<uint32_t>(c.size()));  // now the records must leave bytes over
  CHECK(validate(c, kMax).status().code() == StatusCode::kCorruptMessage);
}

TEST_CASE("validate rejects record lengths pointing past the end or disagreeing with fields") {
  std::vector<Msg> msgs = {{1, 2, 3, "key", "tag", {{"p", "v"}}, "body"}, {4, 5, 6, "", "", {}, "b2"}};
  std::string batch = build(msgs);
  const size_t rec = kHeaderBytes;
  const uint32_t rec_len = coding::get_u32(batch.data() + rec);
  for (uint32_t bad : {rec_len + 1, rec_len - 1, 0u, 3u, 0xFFFFFFFFu,
                       static_cast<uint32_t>(batch.size())}) {
    CAPTURE(bad);
    std::string c = batch;
    put32(c, rec, bad);
    CHECK(validate(c, kMax).status().code() == StatusCode::kCorruptMessage);
  }
  // Inner lengths: key_len, tags_len, prop count, prop value length, body length.
  const size_t key_len_pos = rec + 4 + 8 + 8 + 4;
  for (uint16_t bad : {uint16_t{4}, uint16_t{0xFFFF}}) {
    std::string c = batch;
    coding::put_u16(c.data() + key_len_pos, bad);
    CHECK_FALSE(validate(c, kMax).is_ok());
  }
  const size_t body_len_pos = rec + 4 + rec_len - 4 - 4;  // before "body"
  REQUIRE(coding::get_u32(batch.data() + body_len_pos) == 4);
  for (uint32_t bad : {3u, 5u, 0xFFFFFFFFu}) {
    std::string c = batch;
    put32(c, body_len_pos, bad);
    CHECK_FALSE(validate(c, kMax).is_ok());
  }
}

TEST_CASE("an oversize body is MessageTooLarge; exactly the limit is fine") {
  std::vector<Msg> msgs = {{1, 0, 0, "", "", {}, "small"}, {2, 0, 0, "", "", {}, std::string(1000, 'x')}};
  std::string batch = build(msgs);
  CHECK(validate(batch, 1000).is_ok());
  auto st = validate(batch, 999).status();
  CHECK(st.code() == StatusCode::kMessageTooLarge);
  CHECK(st.message().find("1000") != std::string::npos);
  // Corruption wins over size: a broken batch is reported as corrupt.
  std::string c = batch;
  put32(c, 36, 3);
  CHECK(validate(c, 999).status().code() == StatusCode::kCorruptMessage);
}

TEST_CASE("every single-byte corruption is handled: ok (and re-parses) or an error") {
  std::string batch = build({{1, 2, 3, "key", "tag", {{"p", "v"}}, "body"}, {4, 5, 6, "", "", {}, ""}});
  int ok = 0;
  for (size_t i = 0; i < batch.size(); ++i) {
    for (uint8_t v : {uint8_t{0}, uint8_t{1}, uint8_t{0x7f}, uint8_t{0x80}, uint8_t{0xff}}) {
      std::string c = batch;
      c[i] = static_cast<char>(v);
      auto h = validate(c, kMax);
      if (h.is_ok()) {
        ++ok;
        uint32_t n = 0;
        CHECK(for_each_record(c, [&](const RecordView&) { ++n; }).is_ok());
        CHECK(n == h->record_count);
      }
    }
  }
  CHECK(ok > 0);  // bytes in ids, timestamps and payloads are free to change
}

TEST_CASE("for_each_record_in_batches walks a concatenation in order") {
  std::vector<std::string> batches;
  std::vector<Msg> all;
  uint64_t next_offset = 50;
  for (int b = 0; b < 4; ++b) {
    std::vector<Msg> msgs;
    for (int i = 0; i <= b; ++i) {
      std::string key = std::to_string(i);  // (not "k" + ...: GCC 12 -Wrestrict false positive)
      msgs.push_back({static_cast<uint64_t>(b * 10 + i), 0, 0, key, "", {},
                      std::string(static_cast<size_t>(i * 3), 'x')});
    }
    std::string batch = build(msgs);
    stamp(batch, next_offset, 1000 + static_cast<uint64_t>(b));
    next_offset += msgs.size();
    batches.push_back(batch);
    all.insert(all.end(), msgs.begin(), msgs.end());
  }
  std::string concat;
  for (const auto& b : batches) concat += b;

  std::vector<uint64_t> offsets, ids;
  REQUIRE(for_each_record_in_batches(concat, [&](const RecordView& r) {
            offsets.push_back(r.offset);
            ids.push_back(r.id);
          }).is_ok());
  REQUIRE(offsets.size() == all.size());
  for (size_t i = 0; i < offsets.size(); ++i) {
    CHECK(offsets[i] == 50 + i);
    CHECK(ids[i] == all[i].id);
  }

  int n = 0;
  auto count = [&](const RecordView&) { ++n; };
  CHECK(for_each_record_in_batches("", count).is_ok());
  CHECK(n == 0);
  // A truncated last batch and trailing garbage are errors (records before them were seen).
  CHECK_FALSE(for_each_record_in_batches(concat.substr(0, concat.size() - 1), count).is_ok());
  CHECK_FALSE(for_each_record_in_batches(concat + "garbage", count).is_ok());
  CHECK_FALSE(for_each_record_in_batches(concat + std::string(kHeaderBytes, '\0'), count).is_ok());
  // Every prefix of the concatenation: ok exactly at batch boundaries, an error elsewhere.
  std::vector<size_t> boundaries = {0};
  for (const auto& b : batches) boundaries.push_back(boundaries.back() + b.size());
  for (size_t len = 0; len <= concat.size(); ++len) {
    bool at_boundary = std::find(boundaries.begin(), boundaries.end(), len) != boundaries.end();
    CHECK(for_each_record_in_batches(std::string_view(concat).substr(0, len), count).is_ok() ==
          at_boundary);
  }
}

TEST_CASE("parse_header rejects short input and a batch_len below the header size") {
  CHECK_FALSE(parse_header("").is_ok());
  CHECK_FALSE(parse_header(std::string(kHeaderBytes - 1, '\0')).is_ok());
  std::string batch = build(sample_msgs());
  put32(batch, 4, kHeaderBytes - 1);
  CHECK(parse_header(batch).status().code() == StatusCode::kCorruptMessage);
}

TEST_CASE("random garbage never validates and never crashes") {
  std::mt19937_64 rng(3);
  for (int i = 0; i < 5000; ++i) {
    std::string s(rng() % 200, '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    if (s.size() >= 4 && (i % 2)) coding::put_u32(s.data(), kMagic);  // get past the magic
    if (s.size() >= 8 && (i % 4) == 1) put32(s, 4, static_cast<uint32_t>(s.size()));
    (void)validate(s, kMax);
    (void)for_each_record_in_batches(s, [](const RecordView&) {});
  }
}

}  // namespace
}  // namespace tidemq::record
