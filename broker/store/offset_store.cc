#include "broker/store/offset_store.h"

#include <fmt/format.h>

#include "broker/store/key_layout.h"
#include "common/coding.h"
#include "common/logging.h"

namespace tidemq::broker {

namespace {

// Committed offset value layout, its one home: u64 offset | u64 commit_ms (big-endian).
constexpr size_t kValueBytes = 8 + 8;

std::string encode_value(const CommittedOffset& c) {
  std::string v;
  v.reserve(kValueBytes);
  coding::append_u64(v, c.offset);
  coding::append_u64(v, static_cast<uint64_t>(c.commit_ms));
  return v;
}

std::string hex(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char ch : bytes) out += fmt::format("{:02x}", ch);
  return out;
}


}  // namespace

OffsetStore::OffsetStore(Db& db, const Clock& clock) : db_(db), clock_(clock) {}

Status OffsetStore::load() {
  std::map<Key, CommittedOffset> loaded;
  auto it = db_.iterator();
  const std::string end = keys::keyspace_end(keys::Keyspace::kOffset);
  for (it->Seek(keys::keyspace_begin(keys::Keyspace::kOffset)); it->Valid(); it->Next()) {
    if (it->key().compare(end) >= 0) break;
    const std::string_view key(it->key().data(), it->key().size());
    const std::string_view value(it->value().data(), it->value().size());
    auto k = keys::parse_offset(key);
    if (!k) return Status::corruption("malformed committed-offset key " + hex(key));
    if (value.size() != kValueBytes) {
      return Status::corruption(fmt::format(
          "unreadable committed offset of group '{}' topic id {} partition {} (key {}): value of {} "
          "bytes, expected {}",
          k->group, k->topic_id, k->partition, hex(key), value.size(), kValueBytes));
    }
    CommittedOffset c;
    c.offset = coding::get_u64(value.data());
    c.commit_ms = static_cast<int64_t>(coding::get_u64(value.data() + 8));
    loaded.emplace(Key{std::string(k->group), k->topic_id, k->partition}, c);
  }
  TIDEMQ_RETURN_IF_ERROR(Db::from_leveldb(it->status()));

  std::lock_guard write_lock(write_mu_);
  std::lock_guard lock(mu_);
  offsets_ = std::move(loaded);
  logging::get("store")->info("loaded {} committed offsets", offsets_.size());
  return Status::ok();
}

Result<std::vector<uint64_t>> OffsetStore::commit(const std::string& group, const std::vector<OffsetUpdate>& updates,
                                                  const std::function<bool(size_t)>& admit) {
  // The map changes only under write_mu_, so what is read below stays true until the write.
  std::lock_guard write_lock(write_mu_);
  const int64_t now = clock_.now_ms();
  std::vector<uint64_t> stored;
  stored.reserve(updates.size());
  std::vector<bool> admitted(updates.size(), true);
  if (admit) {  // outside mu_: the predicate may take other locks
    for (size_t i = 0; i < updates.size(); ++i) admitted[i] = admit(i);
  }
  std::map<Key, CommittedOffset> changed;  // the final value per key (a key may repeat)
  {
    std::lock_guard lock(mu_);
    for (size_t i = 0; i < updates.size(); ++i) {
      const OffsetUpdate& u = updates[i];
      Key key{group, u.topic_id, u.partition};
      std::optional<uint64_t> cur;
      if (auto c = changed.find(key); c != changed.end()) {
        cur = c->second.offset;
      } else if (auto o = offsets_.find(key); o != offsets_.end()) {
        cur = o->second.offset;
      }
      if (!admitted[i]) {
        stored.push_back(cur.value_or(0));
        continue;
      }
      // Never backwards; an equal offset is already stored and costs no write (idle auto-commit).
      if (cur && u.offset <= *cur) {
        stored.push_back(*cur);
        continue;
      }
      changed[std::move(key)] = CommittedOffset{u.offset, now};
      stored.push_back(u.offset);
    }
  }
  if (changed.empty()) return stored;

  leveldb::WriteBatch wb;
  for (const auto& [key, c] : changed) {
    wb.Put(keys::offset(std::get<0>(key), std::get<1>(key), std::get<2>(key)), encode_value(c));
  }
  TIDEMQ_RETURN_IF_ERROR(db_.write(wb));  // broker flush mode (SPEC §5.2)
  std::lock_guard lock(mu_);
  for (auto& [key, c] : changed) offsets_[key] = c;
  return stored;
}

Status OffsetStore::reset(const std::string& group, const std::vector<OffsetUpdate>& updates) {
  std::lock_guard write_lock(write_mu_);
  const int64_t now = clock_.now_ms();
  std::map<Key, CommittedOffset> changed;  // the last update of a key wins
  for (const auto& u : updates) changed[Key{group, u.topic_id, u.partition}] = CommittedOffset{u.offset, now};
  if (changed.empty()) return Status::ok();

  leveldb::WriteBatch wb;
  for (const auto& [key, c] : changed) {
    wb.Put(keys::offset(std::get<0>(key), std::get<1>(key), std::get<2>(key)), encode_value(c));
  }
  TIDEMQ_RETURN_IF_ERROR(db_.write(wb));
  {
    std::lock_guard lock(mu_);
    for (auto& [key, c] : changed) offsets_[key] = c;
  }
  logging::get("store")->info("reset {} offsets of group {}", changed.size(), group);
  return Status::ok();
}

std::optional<CommittedOffset> OffsetStore::get(const std::string& group, uint32_t topic_id,
                                                uint32_t partition) const {
  std::lock_guard lock(mu_);
  auto found = offsets_.find(Key{group, topic_id, partition});
  if (found == offsets_.end()) return std::nullopt;
  return found->second;
}

std::optional<CommittedOffset> OffsetStore::get_settled(const std::string& group, uint32_t topic_id,
                                                        uint32_t partition) const {
  std::lock_guard write_lock(write_mu_);
  return get(group, topic_id, partition);
}

std::map<std::pair<uint32_t, uint32_t>, CommittedOffset> OffsetStore::list(const std::string& group) const {
  std::map<std::pair<uint32_t, uint32_t>, CommittedOffset> out;
  std::lock_guard lock(mu_);
  for (auto it = offsets_.lower_bound(Key{group, 0, 0}); it != offsets_.end() && std::get<0>(it->first) == group;
       ++it) {
    out.emplace(std::pair{std::get<1>(it->first), std::get<2>(it->first)}, it->second);
  }
  return out;
}

std::vector<std::string> OffsetStore::groups() const {
  std::vector<std::string> out;
  std::lock_guard lock(mu_);
  for (const auto& [key, c] : offsets_) {
    if (out.empty() || out.back() != std::get<0>(key)) out.push_back(std::get<0>(key));
  }
  return out;
}

Status OffsetStore::remove_group(const std::string& group) {
  std::lock_guard write_lock(write_mu_);
  return remove_where([&](const Key& key) { return std::get<0>(key) == group; }, "group " + group);
}

Status OffsetStore::remove_topic(uint32_t topic_id) {
  std::lock_guard write_lock(write_mu_);
  return remove_where([&](const Key& key) { return std::get<1>(key) == topic_id; },
                      "topic id " + std::to_string(topic_id));
}

Status OffsetStore::remove_where(const std::function<bool(const Key&)>& doomed_if, const std::string& what) {
  std::vector<Key> doomed;
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, c] : offsets_) {
      if (doomed_if(key)) doomed.push_back(key);
    }
  }
  if (doomed.empty()) return Status::ok();
  // The memory map mirrors the keyspace (load() reads all of it), so its keys are all there is.
  leveldb::WriteBatch wb;
  for (const auto& key : doomed) wb.Delete(keys::offset(std::get<0>(key), std::get<1>(key), std::get<2>(key)));
  TIDEMQ_RETURN_IF_ERROR(db_.write(wb));
  {
    std::lock_guard lock(mu_);
    for (const auto& key : doomed) offsets_.erase(key);
  }
  logging::get("store")->info("removed {} offsets of {}", doomed.size(), what);
  return Status::ok();
}

}  // namespace tidemq::broker
