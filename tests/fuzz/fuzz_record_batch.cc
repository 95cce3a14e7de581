// Fuzz target: record batch parsing (common/record_batch.h) on arbitrary bytes.
//
// Invariants:
// - validate() and for_each_record_in_batches() return a Status and never read out of bounds;
//   every decoded view points inside the input.
// - validate(b, small cap) and validate(b, no cap) agree except for MessageTooLarge.
// - When validate() succeeds, the batch re-encodes bit-for-bit through BatchBuilder + stamp()
//   (the layout has exactly one encoding), and it also decodes as a one-batch concatenation,
//   and as two copies of itself.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/record_batch.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace tidemq;
using namespace tidemq::record;

constexpr uint32_t kSmallMax = 1024;

struct Owned {
  uint64_t id, born_ms;
  uint32_t reconsume_times;
  std::string key, tags, body;
  std::vector<std::pair<std::string, std::string>> props;
};

bool inside(std::string_view v, std::string_view whole) {
  if (v.empty()) return true;
  return v.data() >= whole.data() && v.data() + v.size() <= whole.data() + whole.size();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  // Arbitrary bytes as a fetch response: whatever happens, views stay inside the input.
  size_t seen = 0;
  Status all = for_each_record_in_batches(in, [&](const RecordView& r) {
    TIDEMQ_FUZZ_CHECK(inside(r.key, in) && inside(r.tags, in) && inside(r.body, in));
    for (const auto& [k, v] : r.properties) TIDEMQ_FUZZ_CHECK(inside(k, in) && inside(v, in));
    ++seen;
  });
  TIDEMQ_FUZZ_CHECK(all.is_ok() || all.code() == StatusCode::kCorruptMessage);

  auto small = validate(in, kSmallMax);
  auto any = validate(in, UINT32_MAX);
  if (small.is_ok()) {
    TIDEMQ_FUZZ_CHECK(any.is_ok());
  } else if (small.status().code() == StatusCode::kMessageTooLarge) {
    TIDEMQ_FUZZ_CHECK(any.is_ok());
  } else {
    TIDEMQ_FUZZ_CHECK(small.status().code() == StatusCode::kCorruptMessage);
    TIDEMQ_FUZZ_CHECK(!any.is_ok() && any.status().code() == StatusCode::kCorruptMessage);
  }
  if (!any.is_ok()) return 0;

  const BatchHeader h = *any;
  TIDEMQ_FUZZ_CHECK(h.batch_len == size && h.record_count > 0);
  TIDEMQ_FUZZ_CHECK(all.is_ok() && seen == h.record_count);

  std::vector<Owned> recs;
  bool over = false;
  Status st = for_each_record(in, [&](const RecordView& r) {
    TIDEMQ_FUZZ_CHECK(r.offset == h.base_offset + recs.size());
    TIDEMQ_FUZZ_CHECK(r.store_ms == h.store_ms);
    over = over || r.body.size() > kSmallMax;
    Owned o{r.id, r.born_ms, r.reconsume_times, std::string(r.key), std::string(r.tags),
            std::string(r.body), {}};
    for (const auto& [k, v] : r.properties) o.props.emplace_back(std::string(k), std::string(v));
    recs.push_back(std::move(o));
  });
  TIDEMQ_FUZZ_CHECK(st.is_ok() && recs.size() == h.record_count);
  TIDEMQ_FUZZ_CHECK(over == !small.is_ok());

  BatchBuilder b;
  for (const auto& o : recs) {
    RecordInput r;
    r.id = o.id;
    r.born_ms = o.born_ms;
    r.reconsume_times = o.reconsume_times;
    r.key = o.key;
    r.tags = o.tags;
    r.properties = &o.props;
    r.body = o.body;
    b.add(r);
  }
  std::string again = b.finish(h.producer_id, h.base_sequence);
  stamp(again, h.base_offset, h.store_ms);
  TIDEMQ_FUZZ_CHECK(again == in);

  std::string twice = again + again;
  size_t n2 = 0;
  TIDEMQ_FUZZ_CHECK(for_each_record_in_batches(twice, [&](const RecordView&) { ++n2; }).is_ok());
  TIDEMQ_FUZZ_CHECK(n2 == 2 * recs.size());
  return 0;
}
