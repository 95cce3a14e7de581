// Group-fetch shaping (SPEC §5.2 tag filtering, §5.3 rate cap): stored batches in, valid batches
// with true offsets out; plus record::slice_batch, which the shaping relies on.
#include "broker/delivery/group_filter.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "common/record_batch.h"

using namespace tidemq;
using namespace tidemq::broker;

namespace {

struct Rec {
  uint64_t id;
  std::string tags;
  std::string body;
};

// A stored batch: records as given, stamped with `base` and a store time.
std::string stored_batch(uint64_t base, const std::vector<Rec>& recs, uint64_t producer_id = 0,
                         uint32_t base_sequence = 0) {
  const std::vector<std::pair<std::string, std::string>> props = {{"trace", "t-1"}};
  record::BatchBuilder b;
  for (const auto& r : recs) {
    record::RecordInput in;
    in.id = r.id;
    in.born_ms = 5;
    in.key = "k";
    in.tags = r.tags;
    in.properties = &props;
    in.body = r.body;
    b.add(in);
  }
  std::string batch = b.finish(producer_id, base_sequence);
  record::stamp(batch, base, 1000 + base);
  return batch;
}

// `n` records with ids base*100 + i, tags from `tags` cycled, bodies "b<offset>".
std::string simple_batch(uint64_t base, uint32_t n, const std::vector<std::string>& tags = {""}) {
  std::vector<Rec> recs;
  for (uint32_t i = 0; i < n; ++i) {
    recs.push_back({base * 100 + i, tags[i % tags.size()], "b" + std::to_string(base + i)});
  }
  return stored_batch(base, recs);
}

struct Seen {
  uint64_t offset;
  uint64_t id;
  std::string tags;
  std::string body;
  uint64_t store_ms;
};

std::vector<Seen> decode(const std::string& batches) {
  std::vector<Seen> out;
  Status st = record::for_each_record_in_batches(batches, [&](const record::RecordView& r) {
    REQUIRE(r.properties.size() == 1);
    CHECK(r.properties[0].second == "t-1");
    out.push_back({r.offset, r.id, std::string(r.tags), std::string(r.body), r.store_ms});
  });
  REQUIRE_MESSAGE(st.is_ok(), st.to_string());
  return out;
}

// Headers of the output batches; every one must pass full validation.
std::vector<record::BatchHeader> headers(std::string_view batches) {
  std::vector<record::BatchHeader> out;
  while (!batches.empty()) {
    auto h = record::parse_header(batches);
    REQUIRE(h.is_ok());
    REQUIRE(h->batch_len <= batches.size());
    auto v = record::validate(batches.substr(0, h->batch_len), 1 << 20);
    REQUIRE_MESSAGE(v.is_ok(), v.status().to_string());
    out.push_back(*h);
    batches.remove_prefix(h->batch_len);
  }
  return out;
}

TagFilter filter(std::string_view expr) {
  auto f = TagFilter::parse(expr);
  REQUIRE_MESSAGE(f.is_ok(), f.status().to_string());
  return *f;
}

uint64_t body_bytes(const std::vector<Seen>& seen) {
  uint64_t n = 0;
  for (const auto& s : seen) n += s.body.size();
  return n;
}

constexpr uint64_t kNoCap = UINT64_MAX;

}  // namespace

TEST_CASE("TagFilter: '*', empty and whitespace match everything") {
  for (std::string_view expr : {"*", "", "  ", " * ", "\t*\n"}) {
    CAPTURE(expr);
    TagFilter f = filter(expr);
    CHECK(f.matches_all());
    CHECK(f.matches(""));
    CHECK(f.matches("anything"));
  }
}

TEST_CASE("TagFilter: 'A || B' matches exactly the listed tags, whitespace ignored") {
  for (std::string_view expr : {"TagA || TagB", "TagA||TagB", "  TagA  ||\tTagB \n", "TagB || TagA || TagA"}) {
    CAPTURE(expr);
    TagFilter f = filter(expr);
    CHECK_FALSE(f.matches_all());
    CHECK(f.matches("TagA"));
    CHECK(f.matches("TagB"));
    CHECK_FALSE(f.matches("TagC"));
    CHECK_FALSE(f.matches(""));
    CHECK_FALSE(f.matches("taga"));
    CHECK_FALSE(f.matches("TagA || TagB"));
    CHECK_FALSE(f.matches("TagA "));
  }
  TagFilter one = filter("only");
  CHECK(one.matches("only"));
  CHECK_FALSE(one.matches("onl"));
  // A '*' alternative widens the filter to everything.
  CHECK(filter("A || *").matches_all());
  CHECK(filter(std::string(65535, 't')).matches(std::string(65535, 't')));
}

TEST_CASE("TagFilter: empty alternatives and over-long tags are InvalidArgument") {
  for (std::string_view bad : {"A ||", "|| A", "A || || B", "||", " || ", "A ||   "}) {
    CAPTURE(bad);
    CHECK(TagFilter::parse(bad).status().code() == StatusCode::kInvalidArgument);
  }
  CHECK(TagFilter::parse(std::string(65536, 't')).status().code() == StatusCode::kInvalidArgument);
  CHECK(TagFilter::parse("A || " + std::string(65536, 't')).status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("slice_batch: a valid batch of the chosen records with true offsets and adjusted header") {
  const std::string batch = stored_batch(40, {{1, "a", "one"}, {2, "b", "two"}, {3, "c", "three"}, {4, "d", "4"}},
                                         /*producer_id=*/77, /*base_sequence=*/500);
  auto s = record::slice_batch(batch, 1, 2);
  REQUIRE(s.is_ok());
  auto v = record::validate(*s, 1 << 20);
  REQUIRE_MESSAGE(v.is_ok(), v.status().to_string());
  CHECK(v->base_offset == 41);
  CHECK(v->record_count == 2);
  CHECK(v->batch_len == s->size());
  CHECK(v->store_ms == 1040);
  CHECK(v->producer_id == 77);
  CHECK(v->base_sequence == 501);
  auto seen = decode(*s);
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].offset == 41);
  CHECK(seen[0].id == 2);
  CHECK(seen[0].body == "two");
  CHECK(seen[1].offset == 42);
  CHECK(seen[1].tags == "c");
  // The record bytes are the original's, unchanged.
  CHECK(batch.find(s->substr(record::kHeaderBytes)) != std::string::npos);
  // The whole batch sliced is the batch itself; the last record alone works too.
  CHECK(*record::slice_batch(batch, 0, 4) == batch);
  auto last = record::slice_batch(batch, 3, 1);
  REQUIRE(last.is_ok());
  CHECK(record::validate(*last, 1 << 20)->base_offset == 43);

  CHECK(record::slice_batch(batch, 0, 0).status().code() == StatusCode::kInvalidArgument);
  CHECK(record::slice_batch(batch, 3, 2).status().code() == StatusCode::kInvalidArgument);
  CHECK(record::slice_batch(batch, UINT32_MAX, 2).status().code() == StatusCode::kInvalidArgument);
  CHECK(record::slice_batch(batch.substr(0, batch.size() - 1), 0, 1).status().code() ==
        StatusCode::kCorruptMessage);
  std::string bad_len = batch;
  bad_len[record::kHeaderBytes] = '\x7f';  // first record claims ~2 GB
  CHECK(record::slice_batch(bad_len, 1, 1).status().code() == StatusCode::kCorruptMessage);
}

TEST_CASE("no filter and no cap: the stored bytes come back identical") {
  const std::string stored = simple_batch(10, 5) + simple_batch(15, 1) + simple_batch(16, 4);
  auto r = shape_batches(stored, 10, filter("*"), kNoCap);
  REQUIRE(r.is_ok());
  CHECK(r->batches == stored);
  CHECK(r->records == 10);
  CHECK(r->next_offset == 20);
  CHECK(r->bytes == body_bytes(decode(stored)));
  // A `from` below the first stored offset (retention moved the start) changes nothing.
  auto below = shape_batches(stored, 3, filter(""), kNoCap);
  REQUIRE(below.is_ok());
  CHECK(below->batches == stored);
  CHECK(below->next_offset == 20);
  // Nothing stored: nothing to send, and the next fetch starts where this one did.
  auto none = shape_batches("", 42, filter("*"), kNoCap);
  REQUIRE(none.is_ok());
  CHECK(none->batches.empty());
  CHECK(none->records == 0);
  CHECK(none->bytes == 0);
  CHECK(none->next_offset == 42);
}

TEST_CASE("from in the middle of a stored batch: that batch is sliced, later ones copied") {
  const std::string first = simple_batch(10, 5);
  const std::string second = simple_batch(15, 3);
  auto r = shape_batches(first + second, 12, filter("*"), kNoCap);
  REQUIRE(r.is_ok());
  auto hs = headers(r->batches);
  REQUIRE(hs.size() == 2);
  CHECK(hs[0].base_offset == 12);
  CHECK(hs[0].record_count == 3);
  CHECK(hs[0].store_ms == 1010);
  CHECK(r->batches.substr(hs[0].batch_len) == second);
  auto seen = decode(r->batches);
  REQUIRE(seen.size() == 6);
  for (size_t i = 0; i < seen.size(); ++i) {
    CHECK(seen[i].offset == 12 + i);
    CHECK(seen[i].body == "b" + std::to_string(12 + i));
  }
  CHECK(seen[0].id == 1002);
  CHECK(seen[3].id == 1500);
  CHECK(r->records == 6);
  CHECK(r->bytes == body_bytes(seen));
  CHECK(r->next_offset == 18);
  // `from` on the last record of a batch, and past everything read.
  auto tail = shape_batches(first, 14, filter("*"), kNoCap);
  REQUIRE(tail.is_ok());
  CHECK(decode(tail->batches).size() == 1);
  CHECK(tail->next_offset == 15);
  auto past = shape_batches(first, 30, filter("*"), kNoCap);
  REQUIRE(past.is_ok());
  CHECK(past->batches.empty());
  CHECK(past->next_offset == 30);
}

TEST_CASE("a tag filter splits batches into runs that keep their true offsets") {
  // Offsets 100..107: A A B A C C B A ; then 108..110: B B B ; then 111..112: A A
  const std::string b1 = stored_batch(100, {{1, "A", "a100"}, {2, "A", "a101"}, {3, "B", "b102"}, {4, "A", "a103"},
                                            {5, "C", "c104"}, {6, "C", "c105"}, {7, "B", "b106"}, {8, "A", "a107"}});
  const std::string b2 = simple_batch(108, 3, {"B"});
  const std::string b3 = stored_batch(111, {{9, "A", "a111"}, {10, "C", "c112"}});
  const std::string stored = b1 + b2 + b3;

  auto r = shape_batches(stored, 100, filter(" A || C "), kNoCap);
  REQUIRE(r.is_ok());
  auto hs = headers(r->batches);
  // Runs: [100,101] [103,104,105] [107] from b1; none from b2; b3 whole.
  REQUIRE(hs.size() == 4);
  CHECK(hs[0].base_offset == 100);
  CHECK(hs[0].record_count == 2);
  CHECK(hs[1].base_offset == 103);
  CHECK(hs[1].record_count == 3);
  CHECK(hs[2].base_offset == 107);
  CHECK(hs[2].record_count == 1);
  CHECK(hs[3].base_offset == 111);
  CHECK(r->batches.substr(r->batches.size() - b3.size()) == b3);  // whole batch copied as is

  auto seen = decode(r->batches);
  const std::vector<uint64_t> offsets = {100, 101, 103, 104, 105, 107, 111, 112};
  const std::vector<uint64_t> ids = {1, 2, 4, 5, 6, 8, 9, 10};
  const std::vector<std::string> bodies = {"a100", "a101", "a103", "c104", "c105", "a107", "a111", "c112"};
  REQUIRE(seen.size() == offsets.size());
  for (size_t i = 0; i < seen.size(); ++i) {
    CAPTURE(i);
    CHECK(seen[i].offset == offsets[i]);
    CHECK(seen[i].id == ids[i]);
    CHECK(seen[i].body == bodies[i]);
    CHECK(seen[i].tags != "B");
  }
  CHECK(r->records == 8);
  CHECK(r->bytes == 8 * 4);
  CHECK(r->next_offset == 113);

  // Only B: two runs in b1, b2 whole, nothing from b3 — the filtered-out tail still advances.
  auto only_b = shape_batches(stored, 100, filter("B"), kNoCap);
  REQUIRE(only_b.is_ok());
  auto b_seen = decode(only_b->batches);
  REQUIRE(b_seen.size() == 5);
  CHECK(b_seen[0].offset == 102);
  CHECK(b_seen[1].offset == 106);
  CHECK(b_seen[2].offset == 108);
  CHECK(only_b->next_offset == 113);
  // Nothing matches: nothing sent, but the next fetch starts after everything examined.
  auto nothing = shape_batches(stored, 100, filter("Z"), kNoCap);
  REQUIRE(nothing.is_ok());
  CHECK(nothing->batches.empty());
  CHECK(nothing->records == 0);
  CHECK(nothing->next_offset == 113);
  // Filter and `from` together.
  auto mid = shape_batches(stored, 104, filter("A"), kNoCap);
  REQUIRE(mid.is_ok());
  auto m = decode(mid->batches);
  REQUIRE(m.size() == 2);
  CHECK(m[0].offset == 107);
  CHECK(m[1].offset == 111);
}

TEST_CASE("the record cap stops in the middle of a batch; next_offset is the first record not sent") {
  const std::string first = simple_batch(10, 5);
  const std::string second = simple_batch(15, 5);
  auto r = shape_batches(first + second, 10, filter("*"), 3);
  REQUIRE(r.is_ok());
  auto hs = headers(r->batches);
  REQUIRE(hs.size() == 1);
  CHECK(hs[0].base_offset == 10);
  CHECK(hs[0].record_count == 3);
  CHECK(r->records == 3);
  CHECK(r->next_offset == 13);
  CHECK(r->bytes == body_bytes(decode(r->batches)));

  // A cap in the second batch: the first is copied whole, the second sliced.
  auto r7 = shape_batches(first + second, 10, filter("*"), 7);
  REQUIRE(r7.is_ok());
  CHECK(r7->batches.substr(0, first.size()) == first);
  auto s7 = decode(r7->batches);
  REQUIRE(s7.size() == 7);
  CHECK(s7.back().offset == 16);
  CHECK(r7->next_offset == 17);

  // With `from` inside the batch and a cap.
  auto rf = shape_batches(first + second, 12, filter("*"), 2);
  REQUIRE(rf.is_ok());
  auto sf = decode(rf->batches);
  REQUIRE(sf.size() == 2);
  CHECK(sf[0].offset == 12);
  CHECK(rf->next_offset == 14);

  // A cap of exactly what there is reaches the end; a cap of 0 sends nothing and stays put.
  auto exact = shape_batches(first + second, 10, filter("*"), 10);
  REQUIRE(exact.is_ok());
  CHECK(exact->batches == first + second);
  CHECK(exact->next_offset == 20);
  auto zero = shape_batches(first + second, 12, filter("*"), 0);
  REQUIRE(zero.is_ok());
  CHECK(zero->batches.empty());
  CHECK(zero->records == 0);
  CHECK(zero->next_offset == 12);
}

TEST_CASE("cap and filter: skipped records before the capped one are passed over") {
  // 0..5: A B B A B A
  const std::string b = simple_batch(0, 6, {"A", "B", "B", "A", "B", "A"});
  auto r = shape_batches(b, 0, filter("A"), 1);
  REQUIRE(r.is_ok());
  auto seen = decode(r->batches);
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].offset == 0);
  CHECK(r->next_offset == 3);  // offsets 1, 2 filtered out; 3 is the first one not delivered
  auto next = shape_batches(b, r->next_offset, filter("A"), 1);
  REQUIRE(next.is_ok());
  CHECK(decode(next->batches).at(0).offset == 3);
  CHECK(next->next_offset == 5);
  auto zero = shape_batches(b, 1, filter("A"), 0);
  REQUIRE(zero.is_ok());
  CHECK(zero->next_offset == 3);
  // The cap hit on the last match: the filtered-out tail is still skipped.
  const std::string tail = simple_batch(0, 4, {"A", "B", "B", "B"});
  auto t = shape_batches(tail, 0, filter("A"), 1);
  REQUIRE(t.is_ok());
  CHECK(t->records == 1);
  CHECK(t->next_offset == 4);
}

TEST_CASE("corrupt stored bytes are CorruptMessage") {
  const std::string good = simple_batch(10, 3) + simple_batch(13, 2);
  auto code = [](std::string_view s) { return shape_batches(s, 0, TagFilter(), kNoCap).status().code(); };
  CHECK(code(good.substr(0, good.size() - 1)) == StatusCode::kCorruptMessage);  // truncated batch
  CHECK(code(good.substr(0, 20)) == StatusCode::kCorruptMessage);                // truncated header
  std::string magic = good;
  magic[0] = 'X';
  CHECK(code(magic) == StatusCode::kCorruptMessage);
  std::string count = good;
  count[39] = static_cast<char>(count[39] + 1);  // one record more than the bytes hold
  CHECK(code(count) == StatusCode::kCorruptMessage);
  std::string fewer = good;
  fewer[39] = static_cast<char>(fewer[39] - 1);  // one record fewer: trailing bytes
  CHECK(code(fewer) == StatusCode::kCorruptMessage);
  std::string rec_len = good;
  rec_len[record::kHeaderBytes] = '\x7f';
  CHECK(code(rec_len) == StatusCode::kCorruptMessage);
  CHECK(shape_batches(good, 0, TagFilter(), kNoCap).is_ok());
}
