#pragma once
// Admin: topic management and broker/message queries, as mqadmin uses them.
// Thread-safety: every method may be called from any thread; each call blocks for its response.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "tidemq/message.h"
#include "tidemq/options.h"

namespace tidemq {

struct TopicSettings {
  std::string name;
  uint32_t partitions = 4;
  int64_t retention_ms = -1;     // -1: broker default (72 h)
  int64_t retention_bytes = -1;  // per partition; -1: unlimited
};

struct PartitionStatus {
  uint32_t partition = 0;
  uint64_t start_offset = 0;
  uint64_t end_offset = 0;
  int64_t last_store_ms = 0;
};

struct TopicStatus {
  TopicSettings settings;
  std::vector<PartitionStatus> partitions;
};

struct BrokerStatus {
  std::string version;
  std::string flush_mode;
  std::string data_dir;
  std::string listen;
  uint64_t uptime_ms = 0;
  std::string storage_error;  // empty while healthy
  std::vector<std::pair<std::string, std::string>> stats;
};

class Admin {
 public:
  static Result<std::unique_ptr<Admin>> create(ClientOptions options);
  ~Admin();

  // Creates or updates a topic. Returns true when it was created. Errors: InvalidArgument
  // (bad name, reserved name, fewer partitions than before, over 1024).
  Result<bool> update_topic(const TopicSettings& settings);
  Status delete_topic(const std::string& name);
  Result<std::vector<TopicSettings>> list_topics();
  Result<TopicStatus> topic_status(const std::string& name);
  Result<BrokerStatus> broker_status();

  // The message at (topic, partition, offset). NotFound / OffsetOutOfRange otherwise.
  Result<Message> query_by_offset(const std::string& topic, uint32_t partition, uint64_t offset);
  // Messages with this id (normally one); `topic` narrows the search. NotFound if none.
  Result<std::vector<Message>> query_by_id(uint64_t id, const std::string& topic = "");

 private:
  struct Impl;
  explicit Admin(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tidemq
