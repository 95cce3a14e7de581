#pragma once
// OffsetTracker: one partition's bookkeeping in the push consumer (RocketMQ's ProcessQueue):
// which fetched offsets are not consumed yet, how much is buffered (flow control), and which
// offset may be committed — the lowest offset fetched and not yet consumed, or the fetch position
// when nothing is pending. Committing that offset never skips an unconsumed message; messages
// consumed above a pending one are delivered again after a crash (at-least-once).
//
// Plain data, not thread-safe: the push consumer guards it with its lock.
#include <cstddef>
#include <cstdint>
#include <map>

namespace tidemq::client {

class OffsetTracker {
 public:
  // `position`: the offset the partition's next fetch starts at.
  explicit OffsetTracker(uint64_t position) : position_(position) {}

  // A fetched message at `offset` (at or after the position) with `bytes` body bytes; the
  // position moves past it.
  void add(uint64_t offset, size_t bytes);
  // The next fetch starts at `next_offset` (records the broker skipped, e.g. filtered by tag,
  // are never delivered). Never moves the position backwards.
  void advance(uint64_t next_offset);
  // The message at `offset` is done (consumed, or given up). Returns false if it was not pending.
  // A message being retried in place stays pending until then.
  bool complete(uint64_t offset);

  uint64_t commit_offset() const { return pending_.empty() ? position_ : pending_.begin()->first; }
  uint64_t position() const { return position_; }
  size_t buffered_messages() const { return pending_.size(); }
  size_t buffered_bytes() const { return bytes_; }
  // Flow control: true while fetching this partition must pause.
  bool over_limit(size_t max_messages, size_t max_bytes) const {
    return pending_.size() >= max_messages || bytes_ >= max_bytes;
  }

 private:
  std::map<uint64_t, size_t> pending_;  // offset -> body bytes
  uint64_t position_;
  size_t bytes_ = 0;
};

}  // namespace tidemq::client
