#pragma once
// Group-fetch shaping of stored batches: tag filtering (SPEC §5.2 "TagA || TagB") and a cap on
// the number of records (rate limit). The result is again a concatenation of valid record
// batches that keep their true offsets: a run of kept records becomes its own batch whose
// base_offset is the first kept record's offset (record::slice_batch). Unchanged batches are
// copied as they are (no re-encoding when nothing is filtered).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace tidemq::broker {

// A parsed subscription expression. "*" or "" matches everything; "A || B" matches a record
// whose tags equal one of the listed tags (whitespace around names ignored).
class TagFilter {
 public:
  // InvalidArgument for an empty alternative ("A ||") or a tag longer than 65535 bytes.
  static Result<TagFilter> parse(std::string_view expression);
  bool matches_all() const { return all_; }
  bool matches(std::string_view tags) const;

 private:
  bool all_ = true;
  std::vector<std::string> tags_;
};

struct ShapedRecords {
  std::string batches;       // what to send
  uint64_t next_offset = 0;  // where the next fetch should start
  uint64_t records = 0;      // records in `batches`
  uint64_t bytes = 0;        // their body bytes (for byte-rate charging)
};

// Keeps the records of `stored` (concatenated batches as LogStore::read returns them) with
// offset >= `from`, matching `filter`, at most `max_records` of them. `next_offset` is one past
// the last record examined: after the cap, the first record not delivered; otherwise the end of
// the last batch (filtered-out records are skipped for good). CorruptMessage if a batch does not
// parse.
Result<ShapedRecords> shape_batches(std::string_view stored, uint64_t from, const TagFilter& filter,
                                    uint64_t max_records);

}  // namespace tidemq::broker
