#pragma once
// OwnedPartitions: the partitions a group member owns and where it reads each of them — the
// bookkeeping shared by Consumer and PushConsumer, without I/O (unit-tested on its own).
//
// Generations and fencing (schemas/group.fbs, broker GroupCoordinator): the broker accepts a
// commit (or fetch) for partition p carrying generation g iff the member owns p now and has owned
// it continuously since a generation <= g.
// - A position is established (FetchOffsets) at the adopted generation s and remembers s as its
//   `since_generation`; commits of p carry s, so a commit made from a position read under an
//   earlier ownership is refused (ILLEGAL_GENERATION) if p was someone else's in between.
// - Fetches carry the adopted generation (the broker answers a long poll at once when that is not
//   the group's current one, so it must be current). The broker then only checks "owner now"; to
//   not read on from a stale position, adopt() keeps a position only when the membership saw p
//   owned without a gap since the position's since_generation (MembershipSnapshot::since), and
//   otherwise drops it: it is read again from the committed offset (maybe delivering again what
//   was not committed — at-least-once — but never what another owner committed meanwhile).
// - A fetch refused with NOT_ASSIGNED / ILLEGAL_GENERATION drops the position until the member
//   knows a generation after the fetch's.
//
// Incarnations: each (partition, position) gets a fresh number when it is assigned or its position
// is dropped; fetch and commit results carry the incarnation they were sent under and are ignored
// when it is no longer current.
//
// Plain data, not thread-safe: the consumer core guards it with its lock.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "tidemq/consumer.h"

namespace tidemq::client {

struct PartitionState {
  uint64_t incarnation = 0;
  std::optional<uint64_t> position;   // next offset to fetch; none until FetchOffsets answered
  uint32_t since_generation = 0;      // generation the position was established under
  std::optional<uint64_t> committed;  // offset the broker holds as committed, as far as we know
  bool in_flight = false;             // a fetch for this incarnation is outstanding
  int64_t retry_at_ms = 0;            // no fetch / FetchOffsets before this (monotonic ms)
  uint32_t min_generation = 0;        // establish the position only at this generation or later
};

struct FetchItem {
  uint32_t partition = 0;
  uint64_t offset = 0;
  uint64_t incarnation = 0;
};
// One group FetchRequest: the fetchable partitions of one topic, at the adopted generation.
struct FetchPlan {
  std::string topic;
  uint32_t generation = 0;
  std::vector<FetchItem> items;
};

struct CommitItem {
  TopicPartition tp;
  uint64_t offset = 0;
  uint64_t incarnation = 0;
};
// One CommitOffsetsRequest: partitions whose positions share a since_generation.
struct CommitPlan {
  uint32_t generation = 0;
  std::vector<CommitItem> items;
};

class OwnedPartitions {
 public:
  struct Change {
    std::vector<TopicPartition> revoked;
    std::vector<TopicPartition> assigned;
    bool empty() const { return revoked.empty() && assigned.empty(); }
  };

  // Adopts the member's assignment at `generation`; `since` gives, per partition, the generation
  // since which the membership saw it owned without a gap (missing: `generation`). Under the same
  // membership (member id and epoch), kept partitions keep their position if since <= its
  // since_generation (otherwise the position is dropped, without a Change entry); under another
  // one (a rejoin after expiry, a reconnect, a broker restart) every old partition is revoked and
  // the new ones start without a position.
  Change adopt(const std::string& member_id, uint64_t epoch, uint32_t generation,
               const std::vector<TopicPartition>& partitions, const std::map<TopicPartition, uint32_t>& since = {});

  const std::string& member_id() const { return member_id_; }
  uint32_t generation() const { return generation_; }
  const PartitionState* find(const TopicPartition& tp) const;
  std::vector<TopicPartition> partitions() const;  // sorted

  // Owned partitions without a position that may ask FetchOffsets now.
  std::vector<TopicPartition> needing_position(int64_t now_ms) const;
  // FetchOffsets answered `offset` for `tp` (committed: whether it is a committed offset) while
  // the member was at generation(). Ignored if `tp` is not owned or already has a position.
  void set_position(const TopicPartition& tp, uint64_t offset, bool committed);
  // FetchOffsets failed for `tp`: ask again at `retry_at_ms`.
  void position_failed(const TopicPartition& tp, int64_t retry_at_ms);

  // Groups the partitions that can be fetched now (position known, nothing in flight, not
  // backing off, not `paused`) by topic and marks them in flight.
  std::vector<FetchPlan> plan_fetches(int64_t now_ms, const std::function<bool(const TopicPartition&)>& paused);
  // A fetch sent under `incarnation` came back: clears in-flight. False when the partition no
  // longer has that incarnation (its result must be dropped).
  bool fetch_returned(const TopicPartition& tp, uint64_t incarnation);
  // Moves the position forward (never backwards).
  void advance(const TopicPartition& tp, uint64_t next_offset);
  // The broker refused the fetch of `tp` sent at `fetch_generation` (after fetch_returned).
  // NotAssigned / IllegalGeneration: the position is dropped and established again once the
  // adopted generation is past `fetch_generation`; returns true (the member should heartbeat
  // now). OffsetOutOfRange: the position is dropped and established again at once. Other errors:
  // retry at `retry_at_ms`.
  bool fetch_failed(const TopicPartition& tp, const Status& st, uint32_t fetch_generation, int64_t now_ms,
                    int64_t retry_at_ms);

  // Commit requests for `wanted` (offset per partition; incarnation 0 = the current one), one per
  // since_generation. Left out: partitions not owned, without a position, or whose incarnation
  // is no longer the given one.
  std::vector<CommitPlan> plan_commits(const std::vector<CommitItem>& wanted) const;
  // Every owned partition whose position differs from its known committed offset.
  std::vector<CommitItem> uncommitted_positions() const;
  // The broker stored `stored` for `tp` (a commit sent under `incarnation`).
  void set_committed(const TopicPartition& tp, uint64_t incarnation, uint64_t stored);

  // The earliest retry_at_ms after `now_ms` of a partition backing off, if any.
  std::optional<int64_t> next_retry_ms(int64_t now_ms) const;

 private:
  void drop_position(PartitionState& s);

  std::string member_id_;
  uint64_t epoch_ = 0;
  uint32_t generation_ = 0;
  uint64_t next_incarnation_ = 1;
  std::map<TopicPartition, PartitionState> parts_;
};

}  // namespace tidemq::client
