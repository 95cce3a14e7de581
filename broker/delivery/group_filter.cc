#include "broker/delivery/group_filter.h"

#include <algorithm>

#include "common/record_batch.h"

namespace tidemq::broker {

namespace {

constexpr std::string_view kWhitespace = " \t\r\n";
constexpr size_t kMaxTagBytes = 0xffff;  // a record's tags field is u16-length-prefixed

std::string_view trim(std::string_view s) {
  const size_t first = s.find_first_not_of(kWhitespace);
  if (first == std::string_view::npos) return {};
  const size_t last = s.find_last_not_of(kWhitespace);
  return s.substr(first, last - first + 1);
}

}  // namespace

Result<TagFilter> TagFilter::parse(std::string_view expression) {
  TagFilter f;
  const std::string_view expr = trim(expression);
  if (expr.empty() || expr == "*") return f;
  f.all_ = false;
  bool any_star = false;
  std::string_view rest = expr;
  while (true) {
    const size_t bar = rest.find("||");
    const std::string_view tag = trim(rest.substr(0, bar));
    if (tag.empty()) {
      return Status::invalid_argument("subscription expression '" + std::string(expr) +
                                      "' has an empty alternative (expected '*' or 'TagA || TagB')");
    }
    if (tag.size() > kMaxTagBytes) {
      return Status::invalid_argument("a tag in a subscription expression is longer than 65535 bytes");
    }
    if (tag == "*") {
      any_star = true;  // "A || *" matches everything, as "*" does
    } else if (std::find(f.tags_.begin(), f.tags_.end(), tag) == f.tags_.end()) {
      f.tags_.emplace_back(tag);
    }
    if (bar == std::string_view::npos) break;
    rest.remove_prefix(bar + 2);
  }
  if (any_star) {
    f.all_ = true;
    f.tags_.clear();
  }
  return f;
}

bool TagFilter::matches(std::string_view tags) const {
  if (all_) return true;
  return std::find(tags_.begin(), tags_.end(), tags) != tags_.end();
}

Result<ShapedRecords> shape_batches(std::string_view stored, uint64_t from, const TagFilter& filter,
                                    uint64_t max_records) {
  ShapedRecords out;
  out.next_offset = from;
  record::RecordView r;  // reused: its property vector keeps its capacity
  std::string_view rest = stored;
  while (!rest.empty()) {
    auto h = record::parse_header(rest);
    if (!h.is_ok()) return h.status();
    if (h->batch_len > rest.size()) return Status::corruption("truncated batch");
    const std::string_view batch = rest.substr(0, h->batch_len);
    rest.remove_prefix(h->batch_len);

    // A run is a stretch of consecutive kept records of this batch; each becomes one output
    // batch (the whole batch, copied as is, when the run is all of it).
    uint32_t run_first = 0;
    uint32_t run_count = 0;
    const char* run_begin = nullptr;
    auto flush_run = [&](const char* run_end) {
      if (run_count == 0) return;
      if (run_count == h->record_count) {
        out.batches.append(batch);
      } else {
        record::append_batch_slice(out.batches, batch, run_first, run_count,
                                   std::string_view(run_begin, static_cast<size_t>(run_end - run_begin)));
      }
      run_count = 0;
    };

    const char* p = batch.data() + record::kHeaderBytes;
    const char* end = batch.data() + batch.size();
    for (uint32_t i = 0; i < h->record_count; ++i) {
      const char* record_begin = p;
      TIDEMQ_RETURN_IF_ERROR(record::detail::parse_record(p, end, r));
      const uint64_t offset = h->base_offset + i;
      if (offset < from || !filter.matches(r.tags)) {
        flush_run(record_begin);  // skipped for good
        continue;
      }
      if (out.records == max_records) {  // the cap: this record is the next fetch's first
        flush_run(record_begin);
        out.next_offset = offset;
        return out;
      }
      if (run_count == 0) {
        run_first = i;
        run_begin = record_begin;
      }
      ++run_count;
      ++out.records;
      out.bytes += r.body.size();
    }
    if (p != end) return Status::corruption("trailing bytes after the last record");
    flush_run(p);
    out.next_offset = std::max(out.next_offset, h->base_offset + h->record_count);
  }
  return out;
}

}  // namespace tidemq::broker
