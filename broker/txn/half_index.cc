#include "broker/txn/half_index.h"

#include <algorithm>

#include "common/check.h"

namespace tidemq::broker::txn {

HalfIndex::HalfIndex(uint32_t check_max) : check_max_(check_max), histogram_(check_max + 1, 0) {}

HalfMeta* HalfIndex::find(uint64_t txn_id) {
  auto it = by_txn_.find(txn_id);
  return it == by_txn_.end() ? nullptr : &slots_[it->second];
}

const HalfMeta* HalfIndex::find(uint64_t txn_id) const {
  auto it = by_txn_.find(txn_id);
  return it == by_txn_.end() ? nullptr : &slots_[it->second];
}

uint32_t HalfIndex::group_id(const std::string& name) {
  auto [it, inserted] = group_ids_.try_emplace(name, static_cast<uint32_t>(groups_.size()));
  if (inserted) {
    Group g;
    g.name = name;
    g.histogram.assign(check_max_ + 1, 0);
    groups_.push_back(std::move(g));
  }
  return it->second;
}

std::optional<uint32_t> HalfIndex::find_group(const std::string& name) const {
  auto it = group_ids_.find(name);
  if (it == group_ids_.end()) return std::nullopt;
  return it->second;
}

void HalfIndex::count_in(const HalfMeta& m, int64_t delta) {
  Group& g = groups_[m.group];
  g.halves += static_cast<uint64_t>(delta);
  g.histogram[bucket(m.check_count)] += static_cast<uint64_t>(delta);
  histogram_[bucket(m.check_count)] += static_cast<uint64_t>(delta);
  if (m.state == HalfState::kParked) {
    g.parked += static_cast<uint64_t>(delta);
    parked_ += static_cast<uint64_t>(delta);
  }
}

HalfMeta& HalfIndex::insert(const HalfMeta& meta, bool link) {
  TIDEMQ_CHECK(meta.group < groups_.size(), "HalfIndex::insert with an unknown group id");
  uint32_t slot;
  if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
  } else {
    slot = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  auto [it, inserted] = by_txn_.emplace(meta.txn_id, slot);
  TIDEMQ_CHECK(inserted, "HalfIndex::insert of a transaction already in the index");
  HalfMeta& m = slots_[slot];
  m = meta;
  m.heap_pos = kNoSlot;
  m.prev = kNoSlot;
  m.next = kNoSlot;
  count_in(m, +1);
  if (!link) return m;
  Group& g = groups_[m.group];
  // Receive order: walk back from the tail past newer ones (none for a new half-message).
  uint32_t after = g.tail;
  while (after != kNoSlot && slots_[after].received_mono > m.received_mono) after = slots_[after].prev;
  m.prev = after;
  m.next = after == kNoSlot ? g.head : slots_[after].next;
  (after == kNoSlot ? g.head : slots_[after].next) = slot;
  (m.next == kNoSlot ? g.tail : slots_[m.next].prev) = slot;
  return m;
}

void HalfIndex::link_all() {
  std::vector<std::vector<uint32_t>> members(groups_.size());
  for (const auto& [txn_id, slot] : by_txn_) members[slots_[slot].group].push_back(slot);
  for (size_t gid = 0; gid < groups_.size(); ++gid) {
    std::vector<uint32_t>& v = members[gid];
    std::sort(v.begin(), v.end(), [&](uint32_t a, uint32_t b) {
      return slots_[a].received_mono != slots_[b].received_mono ? slots_[a].received_mono < slots_[b].received_mono
                                                                : slots_[a].txn_id < slots_[b].txn_id;
    });
    Group& g = groups_[gid];
    g.head = v.empty() ? kNoSlot : v.front();
    g.tail = v.empty() ? kNoSlot : v.back();
    for (size_t i = 0; i < v.size(); ++i) {
      slots_[v[i]].prev = i == 0 ? kNoSlot : v[i - 1];
      slots_[v[i]].next = i + 1 == v.size() ? kNoSlot : v[i + 1];
    }
  }
}

void HalfIndex::erase(uint64_t txn_id) {
  auto it = by_txn_.find(txn_id);
  if (it == by_txn_.end()) return;
  const uint32_t slot = it->second;
  HalfMeta& m = slots_[slot];
  unschedule(m);
  Group& g = groups_[m.group];
  (m.prev == kNoSlot ? g.head : slots_[m.prev].next) = m.next;
  (m.next == kNoSlot ? g.tail : slots_[m.next].prev) = m.prev;
  count_in(m, -1);
  by_txn_.erase(it);
  m = HalfMeta{};
  free_.push_back(slot);
}

void HalfIndex::set_check_count(HalfMeta& m, uint32_t count) {
  Group& g = groups_[m.group];
  --g.histogram[bucket(m.check_count)];
  --histogram_[bucket(m.check_count)];
  m.check_count = count;
  ++g.histogram[bucket(count)];
  ++histogram_[bucket(count)];
}

void HalfIndex::set_state(HalfMeta& m, HalfState state) {
  if (m.state == state) return;
  count_in(m, -1);
  m.state = state;
  count_in(m, +1);
}

void HalfIndex::heap_set(Group& g, uint32_t pos, uint32_t slot) {
  g.heap[pos] = slot;
  slots_[slot].heap_pos = pos;
}

void HalfIndex::sift_up(Group& g, uint32_t pos) {
  const uint32_t slot = g.heap[pos];
  while (pos > 0) {
    const uint32_t parent = (pos - 1) / 2;
    if (!before(slot, g.heap[parent])) break;
    heap_set(g, pos, g.heap[parent]);
    pos = parent;
  }
  heap_set(g, pos, slot);
}

void HalfIndex::sift_down(Group& g, uint32_t pos) {
  const uint32_t slot = g.heap[pos];
  const auto n = static_cast<uint32_t>(g.heap.size());
  while (true) {
    uint32_t child = 2 * pos + 1;
    if (child >= n) break;
    if (child + 1 < n && before(g.heap[child + 1], g.heap[child])) ++child;
    if (!before(g.heap[child], slot)) break;
    heap_set(g, pos, g.heap[child]);
    pos = child;
  }
  heap_set(g, pos, slot);
}

void HalfIndex::schedule(HalfMeta& m, int64_t due_mono) {
  Group& g = groups_[m.group];
  m.due_mono = due_mono;
  if (m.heap_pos == kNoSlot) {
    g.heap.push_back(slot_of(m));
    sift_up(g, static_cast<uint32_t>(g.heap.size() - 1));
  } else {
    sift_up(g, m.heap_pos);
    sift_down(g, m.heap_pos);
  }
}

void HalfIndex::unschedule(HalfMeta& m) {
  if (m.heap_pos == kNoSlot) return;
  Group& g = groups_[m.group];
  const uint32_t pos = m.heap_pos;
  const uint32_t last = g.heap.back();
  g.heap.pop_back();
  m.heap_pos = kNoSlot;
  if (pos < g.heap.size()) {
    heap_set(g, pos, last);
    sift_up(g, pos);
    sift_down(g, slots_[last].heap_pos);
  }
}

HalfMeta* HalfIndex::top(uint32_t group) {
  const Group& g = groups_[group];
  return g.heap.empty() ? nullptr : &slots_[g.heap.front()];
}

const HalfMeta* HalfIndex::oldest(uint32_t group) const {
  const Group& g = groups_[group];
  return g.head == kNoSlot ? nullptr : &slots_[g.head];
}

size_t HalfIndex::memory_bytes() const {
  // unordered_map: one node (next pointer, key, value; malloc rounds it to 32 bytes) per entry
  // plus one bucket pointer per bucket.
  constexpr size_t kNodeBytes = 32;
  size_t bytes = slots_.capacity() * sizeof(HalfMeta) + free_.capacity() * sizeof(uint32_t) +
                 by_txn_.size() * kNodeBytes + by_txn_.bucket_count() * sizeof(void*);
  for (const Group& g : groups_) {
    bytes += sizeof(Group) + g.name.capacity() + g.heap.capacity() * sizeof(uint32_t) +
             g.histogram.capacity() * sizeof(uint64_t);
  }
  return bytes + group_ids_.size() * (kNodeBytes + sizeof(std::string));
}

}  // namespace tidemq::broker::txn
