#include "broker/store/group_config_store.h"

#include <bit>
#include <charconv>
#include <cmath>
#include <set>

#include <fmt/format.h>

#include "broker/store/key_layout.h"
#include "common/retry_policy.h"
#include "broker/store/topic_registry.h"
#include "common/coding.h"
#include "common/logging.h"

namespace tidemq::broker {

namespace {

// GroupConfig value layout, its one home (the name is the key). A version byte, then the fields
// of that version in order; a later version only appends fields, and decode() reads what the
// stored version has (missing later fields keep their defaults):
//   v1: u8 version | u8 strategy | u8 mode | u8 reset kind | i64 reset timestamp_ms |
//       f64 max_msgs_per_sec | f64 max_bytes_per_sec | u32 burst_ms | i64 created_ms |
//       u16 topic_rate_count, (u16 topic_len, topic, f64 max_msgs_per_sec, f64 max_bytes_per_sec)*
//   v2: v1 | u16 retry_policy_len, retry_policy | u32 max_reconsume_times
// Doubles are their IEEE-754 bits as big-endian u64.
constexpr uint8_t kValueVersion = 2;
constexpr uint32_t kMaxReconsumeTimes = 1000;

constexpr uint32_t kMinBurstMs = 1;
constexpr uint32_t kMaxBurstMs = 10'000;

void append_f64(std::string& s, double v) { coding::append_u64(s, std::bit_cast<uint64_t>(v)); }

std::string encode_config(const GroupConfig& c) {
  std::string v;
  v.push_back(static_cast<char>(kValueVersion));
  v.push_back(static_cast<char>(c.strategy));
  v.push_back(static_cast<char>(c.mode));
  v.push_back(static_cast<char>(c.reset.kind));
  coding::append_u64(v, static_cast<uint64_t>(c.reset.timestamp_ms));
  append_f64(v, c.max_msgs_per_sec);
  append_f64(v, c.max_bytes_per_sec);
  coding::append_u32(v, c.burst_ms);
  coding::append_u64(v, static_cast<uint64_t>(c.created_ms));
  TIDEMQ_CHECK(c.topic_rates.size() <= 0xffff, "validate() bounds topic_rates");
  coding::append_u16(v, static_cast<uint16_t>(c.topic_rates.size()));
  for (const auto& r : c.topic_rates) {
    TIDEMQ_CHECK(r.topic.size() <= 0xffff, "validate() bounds topic names");
    coding::append_u16(v, static_cast<uint16_t>(r.topic.size()));
    v.append(r.topic);
    append_f64(v, r.max_msgs_per_sec);
    append_f64(v, r.max_bytes_per_sec);
  }
  TIDEMQ_CHECK(c.retry_policy.size() <= 0xffff, "validate() bounds the retry policy");
  coding::append_u16(v, static_cast<uint16_t>(c.retry_policy.size()));
  v.append(c.retry_policy);
  coding::append_u32(v, c.max_reconsume_times);
  return v;
}

// Bounds-checked big-endian reads; every getter returns false once the bytes run out.
class Reader {
 public:
  explicit Reader(std::string_view v) : v_(v) {}
  bool u8(uint8_t& out) {
    if (v_.empty()) return false;
    out = static_cast<uint8_t>(v_[0]);
    v_.remove_prefix(1);
    return true;
  }
  bool u16(uint16_t& out) { return fixed(2, [&](const char* p) { out = coding::get_u16(p); }); }
  bool u32(uint32_t& out) { return fixed(4, [&](const char* p) { out = coding::get_u32(p); }); }
  bool i64(int64_t& out) {
    return fixed(8, [&](const char* p) { out = static_cast<int64_t>(coding::get_u64(p)); });
  }
  bool f64(double& out) {
    return fixed(8, [&](const char* p) { out = std::bit_cast<double>(coding::get_u64(p)); });
  }
  bool str(std::string& out) {
    uint16_t len = 0;
    if (!u16(len) || v_.size() < len) return false;
    out.assign(v_.substr(0, len));
    v_.remove_prefix(len);
    return true;
  }
  bool done() const { return v_.empty(); }

 private:
  template <typename Fn>
  bool fixed(size_t n, Fn&& fn) {
    if (v_.size() < n) return false;
    fn(v_.data());
    v_.remove_prefix(n);
    return true;
  }
  std::string_view v_;
};

bool group_char_ok(char ch) {
  return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' ||
         ch == '.' || ch == '-';
}

Status check_rate(const std::string& what, double v) {
  if (!std::isfinite(v) || v < 0) return Status::invalid_argument(fmt::format("{} must be >= 0, got {}", what, v));
  return Status::ok();
}

Status validate_config(const GroupConfig& c) {
  TIDEMQ_RETURN_IF_ERROR(validate_group_name(c.name));
  if (c.strategy > AssignStrategy::kSticky) {
    return Status::invalid_argument(fmt::format("unknown assignment strategy {}", static_cast<int>(c.strategy)));
  }
  if (c.mode > ConsumeMode::kBroadcasting) {
    return Status::invalid_argument(fmt::format("unknown consume mode {}", static_cast<int>(c.mode)));
  }
  if (c.reset.kind > ResetPolicy::Kind::kTimestamp) {
    return Status::invalid_argument(fmt::format("unknown reset policy {}", static_cast<int>(c.reset.kind)));
  }
  if (c.reset.kind == ResetPolicy::Kind::kTimestamp && c.reset.timestamp_ms < 0) {
    return Status::invalid_argument(fmt::format("reset timestamp must be >= 0, got {}", c.reset.timestamp_ms));
  }
  TIDEMQ_RETURN_IF_ERROR(check_rate("max_msgs_per_sec", c.max_msgs_per_sec));
  TIDEMQ_RETURN_IF_ERROR(check_rate("max_bytes_per_sec", c.max_bytes_per_sec));
  if (c.burst_ms < kMinBurstMs || c.burst_ms > kMaxBurstMs) {
    return Status::invalid_argument(
        fmt::format("burst_ms must be {}..{}, got {}", kMinBurstMs, kMaxBurstMs, c.burst_ms));
  }
  if (c.topic_rates.size() > 0xffff) return Status::invalid_argument("too many per-topic rates");
  std::set<std::string_view> seen;
  for (const auto& r : c.topic_rates) {
    // The broker's own topics (%RETRY%group) may be paced too, so reserved names are allowed.
    TIDEMQ_RETURN_IF_ERROR(validate_topic_name(r.topic, /*allow_reserved=*/true));
    if (!seen.insert(r.topic).second) {
      return Status::invalid_argument("topic '" + r.topic + "' has more than one rate");
    }
    TIDEMQ_RETURN_IF_ERROR(check_rate("max_msgs_per_sec of topic '" + r.topic + "'", r.max_msgs_per_sec));
    TIDEMQ_RETURN_IF_ERROR(check_rate("max_bytes_per_sec of topic '" + r.topic + "'", r.max_bytes_per_sec));
  }
  if (c.retry_policy.size() > 0xffff) return Status::invalid_argument("retry policy text too long");
  if (auto p = RetryPolicy::parse(c.retry_policy); !p.is_ok()) return p.status();
  if (c.max_reconsume_times > kMaxReconsumeTimes) {
    return Status::invalid_argument(
        fmt::format("max_reconsume_times must be 0..{}, got {}", kMaxReconsumeTimes, c.max_reconsume_times));
  }
  return Status::ok();
}

Result<GroupConfig> decode_config(std::string_view name, std::string_view value) {
  auto bad = [&](std::string_view why) {
    return Status::corruption(fmt::format("unreadable config of group '{}': {}", name, why));
  };
  Reader r(value);
  uint8_t version = 0;
  if (!r.u8(version)) return bad("empty value");
  if (version == 0 || version > kValueVersion) {
    return bad(fmt::format("value version {} (this broker reads 1..{}; written by a newer tidemq?)", version,
                           kValueVersion));
  }
  GroupConfig c;
  c.name = std::string(name);
  uint8_t strategy = 0, mode = 0, kind = 0;
  uint16_t n_rates = 0;
  if (!r.u8(strategy) || !r.u8(mode) || !r.u8(kind) || !r.i64(c.reset.timestamp_ms) ||
      !r.f64(c.max_msgs_per_sec) || !r.f64(c.max_bytes_per_sec) || !r.u32(c.burst_ms) || !r.i64(c.created_ms) ||
      !r.u16(n_rates)) {
    return bad("truncated");
  }
  c.strategy = static_cast<AssignStrategy>(strategy);
  c.mode = static_cast<ConsumeMode>(mode);
  c.reset.kind = static_cast<ResetPolicy::Kind>(kind);
  c.topic_rates.resize(n_rates);
  for (auto& tr : c.topic_rates) {
    if (!r.str(tr.topic) || !r.f64(tr.max_msgs_per_sec) || !r.f64(tr.max_bytes_per_sec)) {
      return bad("truncated topic rates");
    }
  }
  if (version >= 2 && (!r.str(c.retry_policy) || !r.u32(c.max_reconsume_times))) return bad("truncated retry fields");
  if (!r.done()) return bad("trailing bytes");
  if (Status st = validate_config(c); !st.is_ok()) return bad(st.message());
  return c;
}

}  // namespace

Status validate_group_name(const std::string& name) {
  if (name.empty() || name.size() > 127) {
    return Status::invalid_argument("group name must be 1..127 characters, got " + std::to_string(name.size()));
  }
  for (char ch : name) {
    if (!group_char_ok(ch)) {
      return Status::invalid_argument("group name '" + name + "' has a character outside [A-Za-z0-9_.-]");
    }
  }
  return Status::ok();
}

Result<ResetPolicy> parse_reset_policy(const std::string& text) {
  constexpr std::string_view kTimestamp = "timestamp:";
  ResetPolicy p;
  if (text.empty() || text == "latest") return p;
  if (text == "earliest") {
    p.kind = ResetPolicy::Kind::kEarliest;
    return p;
  }
  if (text.starts_with(kTimestamp)) {
    const char* first = text.data() + kTimestamp.size();
    const char* last = text.data() + text.size();
    int64_t ms = -1;
    auto [ptr, ec] = std::from_chars(first, last, ms);
    if (first != last && ec == std::errc() && ptr == last && ms >= 0) {
      p.kind = ResetPolicy::Kind::kTimestamp;
      p.timestamp_ms = ms;
      return p;
    }
  }
  return Status::invalid_argument("reset policy '" + text +
                                  "' is not one of latest, earliest, timestamp:<unix ms>");
}

std::string format_reset_policy(const ResetPolicy& policy) {
  switch (policy.kind) {
    case ResetPolicy::Kind::kLatest:
      return "latest";
    case ResetPolicy::Kind::kEarliest:
      return "earliest";
    case ResetPolicy::Kind::kTimestamp:
      return fmt::format("timestamp:{}", policy.timestamp_ms);
  }
  TIDEMQ_CHECK(false, "ResetPolicy::Kind out of range");
}

GroupConfigStore::GroupConfigStore(Db& db, const Clock& clock) : db_(db), clock_(clock) {}

Status GroupConfigStore::load() {
  std::map<std::string, GroupConfig> loaded;
  auto it = db_.iterator();
  const std::string end = keys::keyspace_end(keys::Keyspace::kGroupConfig);
  for (it->Seek(keys::keyspace_begin(keys::Keyspace::kGroupConfig)); it->Valid(); it->Next()) {
    if (it->key().compare(end) >= 0) break;
    auto name = keys::parse_group_config(std::string_view(it->key().data(), it->key().size()));
    if (!name) return Status::corruption("malformed group config key");
    TIDEMQ_ASSIGN_OR_RETURN(GroupConfig c,
                            decode_config(*name, std::string_view(it->value().data(), it->value().size())));
    loaded.emplace(c.name, std::move(c));
  }
  TIDEMQ_RETURN_IF_ERROR(Db::from_leveldb(it->status()));

  std::lock_guard write_lock(write_mu_);
  std::lock_guard lock(mu_);
  configs_ = std::move(loaded);
  logging::get("store")->info("loaded {} group configs", configs_.size());
  return Status::ok();
}

Result<bool> GroupConfigStore::upsert(GroupConfig config) {
  TIDEMQ_RETURN_IF_ERROR(validate_config(config));
  std::lock_guard write_lock(write_mu_);  // decide created-vs-replaced and write as one step
  bool created = true;
  {
    std::lock_guard lock(mu_);
    if (auto found = configs_.find(config.name); found != configs_.end()) {
      created = false;
      config.created_ms = found->second.created_ms;
    }
  }
  if (created) config.created_ms = clock_.now_ms();
  leveldb::WriteBatch wb;
  wb.Put(keys::group_config(config.name), encode_config(config));
  TIDEMQ_RETURN_IF_ERROR(db_.write(wb));  // broker flush mode
  logging::get("store")->info("{} config of group {} (reset {}, {} msg/s, {} B/s, {} per-topic rates)",
                              created ? "created" : "replaced", config.name, format_reset_policy(config.reset),
                              config.max_msgs_per_sec, config.max_bytes_per_sec, config.topic_rates.size());
  std::lock_guard lock(mu_);
  configs_[config.name] = std::move(config);
  return created;
}

Status GroupConfigStore::remove(const std::string& name) {
  std::lock_guard write_lock(write_mu_);
  {
    std::lock_guard lock(mu_);
    if (!configs_.contains(name)) return Status(StatusCode::kGroupNotFound, "no config for group '" + name + "'");
  }
  leveldb::WriteBatch wb;
  wb.Delete(keys::group_config(name));
  TIDEMQ_RETURN_IF_ERROR(db_.write(wb));
  {
    std::lock_guard lock(mu_);
    configs_.erase(name);
  }
  logging::get("store")->info("removed config of group {}", name);
  return Status::ok();
}

std::optional<GroupConfig> GroupConfigStore::find(const std::string& name) const {
  std::lock_guard lock(mu_);
  auto found = configs_.find(name);
  if (found == configs_.end()) return std::nullopt;
  return found->second;
}

GroupConfig GroupConfigStore::find_or_default(const std::string& name) const {
  if (auto c = find(name)) return std::move(*c);
  GroupConfig c;
  c.name = name;
  return c;
}

std::vector<GroupConfig> GroupConfigStore::list() const {
  std::lock_guard lock(mu_);
  std::vector<GroupConfig> out;
  out.reserve(configs_.size());
  for (const auto& [name, c] : configs_) out.push_back(c);
  return out;
}

}  // namespace tidemq::broker
