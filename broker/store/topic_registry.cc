#include "broker/store/topic_registry.h"

#include "broker/store/key_layout.h"
#include "common/coding.h"
#include "common/logging.h"

namespace tidemq::broker {

namespace {

constexpr std::string_view kNextTopicIdKey = "next_topic_id";

// TopicConfig value layout, its one home (the name is the key):
//   u8 version (1) | u32 topic_id | u32 partitions | i64 retention_ms | i64 retention_bytes |
//   i64 created_ms
constexpr uint8_t kConfigVersion = 1;
constexpr size_t kConfigBytes = 1 + 4 + 4 + 8 + 8 + 8;

std::string encode_config(const TopicConfig& c) {
  std::string v;
  v.reserve(kConfigBytes);
  v.push_back(static_cast<char>(kConfigVersion));
  coding::append_u32(v, c.topic_id);
  coding::append_u32(v, c.partitions);
  coding::append_u64(v, static_cast<uint64_t>(c.retention_ms));
  coding::append_u64(v, static_cast<uint64_t>(c.retention_bytes));
  coding::append_u64(v, static_cast<uint64_t>(c.created_ms));
  return v;
}

Result<TopicConfig> decode_config(std::string_view name, std::string_view v) {
  if (v.size() != kConfigBytes || static_cast<uint8_t>(v[0]) != kConfigVersion) {
    return Status::storage("unreadable config of topic '" + std::string(name) + "'");
  }
  TopicConfig c;
  c.name = std::string(name);
  const char* p = v.data() + 1;
  c.topic_id = coding::get_u32(p);
  c.partitions = coding::get_u32(p + 4);
  c.retention_ms = static_cast<int64_t>(coding::get_u64(p + 8));
  c.retention_bytes = static_cast<int64_t>(coding::get_u64(p + 16));
  c.created_ms = static_cast<int64_t>(coding::get_u64(p + 24));
  return c;
}

std::string encode_u32(uint32_t v) {
  std::string s;
  coding::append_u32(s, v);
  return s;
}

bool name_char_ok(char ch) {
  return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
         ch == '_' || ch == '.' || ch == '%' || ch == '-';
}

Status validate_settings(const TopicConfig& c) {
  if (c.partitions < 1 || c.partitions > kMaxPartitions) {
    return Status::invalid_argument("partitions must be 1.." + std::to_string(kMaxPartitions) +
                                    ", got " + std::to_string(c.partitions));
  }
  if (c.retention_ms <= 0 && c.retention_ms != -1) {
    return Status::invalid_argument("retention_ms must be > 0 or -1 (forever), got " +
                                    std::to_string(c.retention_ms));
  }
  if (c.retention_bytes <= 0 && c.retention_bytes != -1) {
    return Status::invalid_argument("retention_bytes must be > 0 or -1 (unlimited), got " +
                                    std::to_string(c.retention_bytes));
  }
  return Status::ok();
}

}  // namespace

Status validate_topic_name(const std::string& name, bool allow_reserved) {
  if (name.empty() || name.size() > 127) {
    return Status::invalid_argument("topic name must be 1..127 characters, got " +
                                    std::to_string(name.size()));
  }
  for (char ch : name) {
    if (!name_char_ok(ch)) {
      return Status::invalid_argument("topic name '" + name +
                                      "' has a character outside [A-Za-z0-9_.%-]");
    }
  }
  if (!allow_reserved && (name.front() == '%' || name.starts_with("RMQ_SYS_"))) {
    return Status::invalid_argument("topic name '" + name +
                                    "' is reserved (names starting with '%' or 'RMQ_SYS_')");
  }
  return Status::ok();
}

TopicRegistry::TopicRegistry(Db& db, const Clock& clock) : db_(db), clock_(clock) {}

Status TopicRegistry::load() {
  std::map<std::string, TopicConfig> loaded;
  uint32_t next_id = 1;
  auto counter = db_.get(keys::meta(kNextTopicIdKey));
  if (counter.is_ok()) {
    if (counter->size() != 4) return Status::storage("unreadable meta key next_topic_id");
    next_id = coding::get_u32(counter->data());
  } else if (counter.status().code() != StatusCode::kNotFound) {
    return counter.status();
  }

  auto it = db_.iterator();
  const std::string end = keys::keyspace_end(keys::Keyspace::kTopic);
  for (it->Seek(keys::keyspace_begin(keys::Keyspace::kTopic)); it->Valid(); it->Next()) {
    if (it->key().compare(end) >= 0) break;
    auto name = keys::parse_topic(std::string_view(it->key().data(), it->key().size()));
    if (!name) return Status::storage("malformed topic key");
    TIDEMQ_ASSIGN_OR_RETURN(TopicConfig c,
                            decode_config(*name, std::string_view(it->value().data(), it->value().size())));
    // Invariant: the counter is persisted with every create, so it is above every id in use.
    if (c.topic_id >= next_id) return Status::storage("topic id counter behind topic '" + c.name + "'");
    loaded.emplace(c.name, std::move(c));
  }
  TIDEMQ_RETURN_IF_ERROR(Db::from_leveldb(it->status()));

  std::lock_guard write_lock(write_mu_);
  std::lock_guard lock(mu_);
  by_name_ = std::move(loaded);
  by_id_.clear();
  for (const auto& [name, c] : by_name_) by_id_.emplace(c.topic_id, &c);
  next_topic_id_ = next_id;
  logging::get("store")->info("loaded {} topics", by_name_.size());
  return Status::ok();
}

Result<TopicRegistry::Change> TopicRegistry::create_or_update(TopicConfig config) {
  return create_or_update(std::move(config), /*allow_reserved=*/false);
}

Result<TopicRegistry::Change> TopicRegistry::create_or_update(TopicConfig config, bool allow_reserved) {
  TIDEMQ_RETURN_IF_ERROR(validate_topic_name(config.name, allow_reserved));
  TIDEMQ_RETURN_IF_ERROR(validate_settings(config));

  std::lock_guard write_lock(write_mu_);  // one mutation at a time: ids cannot be taken twice
  std::optional<TopicConfig> cur;
  uint32_t next_id = 0;
  {
    std::lock_guard lock(mu_);
    if (auto found = by_name_.find(config.name); found != by_name_.end()) cur = found->second;
    next_id = next_topic_id_;
  }

  if (cur) {
    if (config.partitions < cur->partitions) {
      return Status::invalid_argument("topic '" + cur->name + "' has " + std::to_string(cur->partitions) +
                                      " partitions; partitions can only grow");
    }
    if (config.partitions == cur->partitions && config.retention_ms == cur->retention_ms &&
        config.retention_bytes == cur->retention_bytes) {
      return Change{*cur, false};
    }
    TopicConfig next = *cur;
    next.partitions = config.partitions;
    next.retention_ms = config.retention_ms;
    next.retention_bytes = config.retention_bytes;
    leveldb::WriteBatch wb;
    wb.Put(keys::topic(next.name), encode_config(next));
    TIDEMQ_RETURN_IF_ERROR(db_.write(wb, /*sync=*/true));
    {
      std::lock_guard lock(mu_);
      by_name_[next.name] = next;  // same node: by_id_ still points at it
    }
    logging::get("store")->info("updated topic {} (id {}, {} partitions)", next.name, next.topic_id,
                                next.partitions);
    return Change{std::move(next), false};
  }

  if (next_id == UINT32_MAX) return Status::internal("topic ids exhausted");
  config.topic_id = next_id;
  config.created_ms = clock_.now_ms();
  leveldb::WriteBatch wb;
  wb.Put(keys::topic(config.name), encode_config(config));
  wb.Put(keys::meta(kNextTopicIdKey), encode_u32(next_id + 1));
  TIDEMQ_RETURN_IF_ERROR(db_.write(wb, /*sync=*/true));
  {
    std::lock_guard lock(mu_);
    next_topic_id_ = next_id + 1;
    auto [pos, inserted] = by_name_.emplace(config.name, config);
    by_id_[config.topic_id] = &pos->second;
  }
  logging::get("store")->info("created topic {} (id {}, {} partitions)", config.name, config.topic_id,
                              config.partitions);
  return Change{std::move(config), true};
}

Result<TopicConfig> TopicRegistry::remove(const std::string& name) {
  std::lock_guard write_lock(write_mu_);
  {
    std::lock_guard lock(mu_);
    if (!by_name_.contains(name)) return Status(StatusCode::kTopicNotFound, "no topic '" + name + "'");
  }
  leveldb::WriteBatch wb;
  wb.Delete(keys::topic(name));
  TIDEMQ_RETURN_IF_ERROR(db_.write(wb, /*sync=*/true));
  TopicConfig removed;
  {
    std::lock_guard lock(mu_);
    auto found = by_name_.find(name);
    removed = std::move(found->second);
    by_id_.erase(removed.topic_id);
    by_name_.erase(found);
  }
  logging::get("store")->info("removed topic {} (id {})", removed.name, removed.topic_id);
  return removed;
}

std::optional<TopicConfig> TopicRegistry::find(const std::string& name) const {
  std::lock_guard lock(mu_);
  auto found = by_name_.find(name);
  if (found == by_name_.end()) return std::nullopt;
  return found->second;
}

std::optional<TopicConfig> TopicRegistry::find_by_id(uint32_t topic_id) const {
  std::lock_guard lock(mu_);
  auto found = by_id_.find(topic_id);
  if (found == by_id_.end()) return std::nullopt;
  return *found->second;
}

std::optional<uint32_t> TopicRegistry::partition_count(uint32_t topic_id) const {
  std::lock_guard lock(mu_);
  auto found = by_id_.find(topic_id);
  if (found == by_id_.end()) return std::nullopt;
  return found->second->partitions;
}

std::vector<TopicConfig> TopicRegistry::list() const {
  std::lock_guard lock(mu_);
  std::vector<TopicConfig> out;
  out.reserve(by_name_.size());
  for (const auto& [name, c] : by_name_) out.push_back(c);
  return out;
}

}  // namespace tidemq::broker
