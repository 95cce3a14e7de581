#pragma once
// HalfLog: the bodies of half-messages, in append-only segment files of their own (RocketMQ's
// half topic), not in LevelDB. A half-message that commits within milliseconds would otherwise
// be written into LevelDB twice (the half, then the committed copy) and flushed and compacted
// twice; here its body is written once, sequentially, and its segment file is deleted when no
// live half is left in it.
//
// Layout: `<dir>/<id, 10 digits>.half`, ids from 1 up; the highest id is the head (appends go
// there). A record is
//   u32 payload_len | u32 crc32c(payload) | payload        (little-endian)
// and a HalfPos names one record. The payload is opaque here (TxnService stores an encoded
// HalfRecord; the newest record of a transaction is its current state).
//
// Liveness: every segment has a live count. A successful append() counts its record as live;
// retain() does so for records found by open(); release() uncounts one. A segment that is not
// the head and whose live count is 0 is deleted. The owner is responsible for releasing a record
// once it is superseded or resolved, and for re-appending (compacting) old live records so that
// no segment stays around for ever.
//
// Threads: one log thread ("tmq-halflog") group-commits appends: each round writes every queued
// record with one write, fdatasyncs (unless `sync` is false), then runs the callbacks on the log
// thread (they must not block). It also deletes segments. read() is a pread: blocking, any
// non-network thread. Everything else is cheap and thread-safe.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace leveldb {
class Env;
}

namespace tidemq::broker::txn {

struct HalfPos {
  uint32_t segment = 0;  // 0: no position
  uint32_t offset = 0;   // of the record header in the segment
  uint32_t length = 0;   // payload bytes
  explicit operator bool() const { return segment != 0; }
  friend bool operator==(const HalfPos&, const HalfPos&) = default;
};

struct HalfLogOptions {
  std::string dir;                          // created if missing
  uint32_t segment_bytes = 64u << 20;       // a segment rolls before it would grow past this
  uint32_t max_record_bytes = 64u << 20;    // larger payloads are refused (and are corrupt on read)
  bool sync = true;                         // fdatasync each round (the broker's --flush sync)
  leveldb::Env* env = nullptr;              // creates, appends to and syncs segment files (the
                                            // broker's, so tests' fault injection covers it too);
                                            // nullptr: leveldb::Env::Default(). Reads are preads.
};

struct HalfSegmentInfo {
  uint32_t id = 0;
  uint64_t bytes = 0;
  uint64_t live = 0;
  int64_t created_mono_ms = 0;  // when this process created or opened it (Clock::monotonic_ms)
  bool head = false;
};

class HalfLog {
 public:
  using AppendCallback = std::function<void(Result<HalfPos>)>;
  // Called by open() for every intact record, oldest first.
  using Visitor = std::function<Status(HalfPos, std::string_view payload)>;

  HalfLog(HalfLogOptions options, const Clock& clock);
  ~HalfLog();  // stop()

  // Reads every segment in id order and calls `visit` for each record. A torn tail of the HEAD
  // segment (a record cut short, the last record failing its checksum, or zeros to the end, as a
  // crash during a write leaves it; it was never acknowledged) is truncated away with a warning.
  // A damaged record anywhere else (in the head: one with more data after it) is a StorageError
  // naming the file and offset (never served as data). Then
  // starts the log thread; all live counts are 0 until retain().
  Status open(const Visitor& visit);
  // Completes the queued appends, then stops the log thread. Idempotent.
  void stop();

  // Queues a record. `cb` runs on the log thread once it is durable (per `sync`), with its
  // position (already counted live), or with a StorageError: a failed write or sync is sticky,
  // every later append fails too (no acknowledgement without persistence). Before open() or
  // after stop(): ShuttingDown at once, on the calling thread. Payloads of 0 or more than
  // max_record_bytes: InvalidArgument at once. Non-blocking, any thread.
  void append(std::string payload, AppendCallback cb);

  // The payload at `pos`, checksum verified (StorageError if it does not match, or `pos` is not
  // a record of a live segment). Blocking (pread): not on network threads.
  Result<std::string> read(HalfPos pos) const;

  // Live counting (see above). release() of the last live record of a non-head segment deletes
  // the segment (on the log thread).
  void retain(HalfPos pos);
  void release(HalfPos pos);

  // Starts a new head segment at the next append (an old head with nothing live is deleted).
  void roll();
  // Deletes (on the log thread) every non-head segment with nothing live. Call it after open()
  // and the retain() calls for the records the owner keeps: open() leaves every count at 0, so
  // segments none of whose records were retained are only deleted here.
  void collect();

  // Blocks until everything queued before it (appends, deletions, rolls) has been done; returns
  // at once when the log is not running. Not from the log thread or its callbacks.
  void barrier();

  std::vector<HalfSegmentInfo> segments() const;  // oldest first
  uint64_t bytes() const;                          // all segments

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tidemq::broker::txn
