#pragma once
// The in-memory part of the pending and parked half-messages: metadata only, never a body
// (bodies stay in the half log and are read when a check or a commit needs them). 80 bytes per
// transaction plus its hash-map entry and a 4-byte heap slot: about 130 bytes, so 1,000,000
// pending fit in ~130 MB (tests/broker/txn/half_index_test.cc measures it).
//
// Per producer group: a min-heap of its scheduled halves by due time (the check-back order) and
// a list in receive order (its oldest half in O(1)); per group and overall, a histogram of check
// counts. Not thread-safe: TxnService holds its lock around every call. HalfMeta references are
// valid until the next insert().
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "broker/txn/half_log.h"

namespace tidemq::broker::txn {

enum class HalfState : uint8_t { kPending, kParked };

// The persistent operation in flight for a transaction. At most one at a time, so the writes of
// one transaction's keys are queued on the store's writer in the order they were decided; a
// request that finds one in flight waits for it (TxnService's waiters).
enum class HalfOp : uint8_t { kNone, kStoring, kChecking, kParking, kResolving, kResuming, kMoving };

inline constexpr uint32_t kNoSlot = std::numeric_limits<uint32_t>::max();

struct HalfMeta {
  uint64_t txn_id = 0;
  int64_t received_mono = 0;  // ms; age = now - received
  int64_t age_base_mono = 0;  // the max-age allowance counts from here (received, or last resume)
  int64_t due_mono = 0;       // when it is next looked at: the next check, or later while a
                              // check is outstanding. The heap key.
  uint32_t topic_id = 0;
  uint32_t partition = 0;
  uint32_t group = 0;         // HalfIndex group id
  uint32_t check_count = 0;
  uint32_t heap_pos = kNoSlot;             // in its group's heap; kNoSlot when not scheduled
  uint32_t prev = kNoSlot, next = kNoSlot;  // its group's receive-order list
  HalfPos pos;                // its newest record in the half log (none while being stored)
  HalfState state = HalfState::kPending;
  HalfOp op = HalfOp::kNone;
};

class HalfIndex {
 public:
  struct Group {
    std::string name;
    uint64_t halves = 0;  // every transaction of the group in the index (any state or op)
    uint64_t parked = 0;
    std::vector<uint32_t> heap;  // slots, min-heap by due_mono
    uint32_t head = kNoSlot, tail = kNoSlot;  // receive order, oldest first
    uint64_t last_session = 0;   // round-robin cursor: the session the last check went to
    std::vector<uint64_t> histogram;
  };

  // Histograms get check_max + 1 buckets; the last one counts check_max and more.
  explicit HalfIndex(uint32_t check_max);

  size_t size() const { return by_txn_.size(); }
  uint64_t parked() const { return parked_; }

  HalfMeta* find(uint64_t txn_id);
  const HalfMeta* find(uint64_t txn_id) const;

  // The id of a group, created on first use. Ids are never reused.
  uint32_t group_id(const std::string& name);
  std::optional<uint32_t> find_group(const std::string& name) const;
  size_t group_count() const { return groups_.size(); }
  const Group& group(uint32_t id) const { return groups_[id]; }
  void set_last_session(uint32_t group, uint64_t session) { groups_[group].last_session = session; }

  // Adds a transaction that is not in the index (aborts otherwise), unscheduled, counted in its
  // group and histograms, and linked into its group's receive-order list: O(1) when its
  // received_mono is the group's newest (always, for a new half-message). A bulk load passes
  // link = false and calls link_all() once before any erase().
  HalfMeta& insert(const HalfMeta& meta, bool link = true);
  // Rebuilds every group's receive-order list (O(n log n)).
  void link_all();
  // Every transaction, in no particular order (`f` must not insert or erase).
  template <class F>
  void for_each(F&& f) {
    for (auto& [txn_id, slot] : by_txn_) f(slots_[slot]);
  }

  // Removes it from everything. No-op if absent.
  void erase(uint64_t txn_id);

  void set_check_count(HalfMeta& m, uint32_t count);
  void set_state(HalfMeta& m, HalfState state);

  // (Re)places it in its group's heap at `due_mono`.
  void schedule(HalfMeta& m, int64_t due_mono);
  void unschedule(HalfMeta& m);
  // The earliest-due scheduled transaction of a group, or nullptr.
  HalfMeta* top(uint32_t group);
  // The group's oldest transaction (receive order), or nullptr.
  const HalfMeta* oldest(uint32_t group) const;

  const std::vector<uint64_t>& histogram() const { return histogram_; }

  // Bytes this index holds on the heap (capacity-based estimate, for the memory bound).
  size_t memory_bytes() const;

 private:
  uint32_t slot_of(const HalfMeta& m) const { return static_cast<uint32_t>(&m - slots_.data()); }
  size_t bucket(uint32_t count) const { return count < check_max_ ? count : check_max_; }
  void count_in(const HalfMeta& m, int64_t delta);
  bool before(uint32_t a, uint32_t b) const { return slots_[a].due_mono < slots_[b].due_mono; }
  void heap_set(Group& g, uint32_t pos, uint32_t slot);
  void sift_up(Group& g, uint32_t pos);
  void sift_down(Group& g, uint32_t pos);

  uint32_t check_max_;
  std::vector<HalfMeta> slots_;
  std::vector<uint32_t> free_;
  std::unordered_map<uint64_t, uint32_t> by_txn_;
  std::vector<Group> groups_;
  std::unordered_map<std::string, uint32_t> group_ids_;
  std::vector<uint64_t> histogram_;
  uint64_t parked_ = 0;
};

}  // namespace tidemq::broker::txn
