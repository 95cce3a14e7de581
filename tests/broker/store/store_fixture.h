#pragma once
// A Db + TopicRegistry + LogStore on a temp dir, a ManualClock and a FaultEnv, for store tests.
#include <doctest/doctest.h>

#include <future>
#include <memory>
#include <string>

#include "broker/store/db.h"
#include "broker/store/key_layout.h"
#include "broker/store/log_store.h"
#include "broker/store/topic_registry.h"
#include "common/clock.h"
#include "common/record_batch.h"
#include "tests/support/fault_env.h"
#include "tests/support/temp_dir.h"

namespace tidemq::test {

// A batch of `n` records with `body_bytes`-byte bodies.
inline std::string make_batch(uint32_t n, size_t body_bytes = 16, uint64_t producer_id = 0,
                              uint32_t base_sequence = 0) {
  record::BatchBuilder b;
  std::string body(body_bytes, 'x');
  for (uint32_t i = 0; i < n; ++i) {
    record::RecordInput r;
    r.id = i + 1;
    r.born_ms = 1;
    r.body = body;
    b.add(r);
  }
  return b.finish(producer_id, base_sequence);
}

struct StoreFixture {
  TempDir dir;
  ManualClock clock;
  FaultEnv env;
  broker::FlushMode flush = broker::FlushMode::kSync;
  std::unique_ptr<broker::Db> db;
  std::unique_ptr<broker::TopicRegistry> topics;
  std::unique_ptr<broker::LogStore> log;

  void open() {
    broker::DbOptions o;
    o.path = dir.str();
    o.flush = flush;
    o.env = &env;
    o.write_buffer_bytes = 1 << 20;
    o.max_file_bytes = 1 << 20;
    o.block_cache_bytes = 1 << 20;
    auto d = broker::Db::open(o);
    REQUIRE_MESSAGE(d.is_ok(), d.status().to_string());
    db = std::move(d).value();
    topics = std::make_unique<broker::TopicRegistry>(*db, clock);
    Status st = topics->load();
    REQUIRE_MESSAGE(st.is_ok(), st.to_string());
    log = std::make_unique<broker::LogStore>(*db, *topics, clock);
    st = log->open();
    REQUIRE_MESSAGE(st.is_ok(), st.to_string());
  }
  void close() {
    log.reset();
    topics.reset();
    db.reset();
  }
  void reopen() {
    close();
    open();
  }

  uint32_t create_topic(const std::string& name, uint32_t partitions = 4,
                        int64_t retention_ms = broker::kDefaultRetentionMs, int64_t retention_bytes = -1) {
    broker::TopicConfig c;
    c.name = name;
    c.partitions = partitions;
    c.retention_ms = retention_ms;
    c.retention_bytes = retention_bytes;
    auto r = topics->create_or_update(c);
    REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
    log->ensure_partitions(r->config.topic_id, partitions);
    return r->config.topic_id;
  }

  // Appends and waits for the callback.
  Result<broker::AppendResult> append(uint32_t topic_id, uint32_t partition, std::string batch) {
    std::promise<Result<broker::AppendResult>> p;
    auto f = p.get_future();
    log->append(topic_id, partition, std::move(batch),
                [&p](Result<broker::AppendResult> r) { p.set_value(std::move(r)); });
    return f.get();
  }

  broker::PartitionInfo info(uint32_t topic_id, uint32_t partition) {
    auto r = log->info(topic_id, partition);
    REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
    return *r;
  }

  // Number of records in all batches of `bytes`.
  static uint64_t count_records(const std::string& bytes) {
    uint64_t n = 0;
    Status st = record::for_each_record_in_batches(bytes, [&](const record::RecordView&) { ++n; });
    REQUIRE_MESSAGE(st.is_ok(), st.to_string());
    return n;
  }
};

}  // namespace tidemq::test
