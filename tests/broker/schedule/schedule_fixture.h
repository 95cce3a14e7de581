#pragma once
// StoreFixture + DelayStore (+ the group stores and RetryService) for the schedule tests.
#include <doctest/doctest.h>

#include <future>
#include <memory>
#include <string>
#include <vector>

#include "broker/schedule/delay_store.h"
#include "broker/schedule/retry_service.h"
#include "broker/store/group_config_store.h"
#include "broker/store/offset_store.h"
#include "tests/broker/store/store_fixture.h"

namespace tidemq::test {

struct Stored {
  uint64_t offset;
  uint64_t id;
  uint32_t reconsume_times;
  int64_t born_ms;
  std::string key, tags, body;
  std::vector<std::pair<std::string, std::string>> properties;
};

struct ScheduleFixture : StoreFixture {
  broker::DelayOptions delay_options;
  std::unique_ptr<broker::DelayStore> delays;
  std::unique_ptr<broker::GroupConfigStore> configs;
  std::unique_ptr<broker::OffsetStore> offsets;
  std::unique_ptr<broker::RetryService> retries;
  std::vector<std::string> created;  // topics the retry service reported

  explicit ScheduleFixture(size_t max_per_round = 4096) {
    delay_options.max_per_round = max_per_round;
    open_all();
  }
  ~ScheduleFixture() { close_all(); }

  void open_all() {
    open();
    delays = std::make_unique<broker::DelayStore>(*db, *log, clock, delay_options);
    REQUIRE(delays->open().is_ok());
    configs = std::make_unique<broker::GroupConfigStore>(*db, clock);
    REQUIRE(configs->load().is_ok());
    offsets = std::make_unique<broker::OffsetStore>(*db, clock);
    REQUIRE(offsets->load().is_ok());
    retries = std::make_unique<broker::RetryService>(*topics, *configs, *offsets, *log, *delays, clock, 4 << 20,
                                                     [this](const broker::TopicConfig& t) { created.push_back(t.name); });
  }
  void close_all() {
    retries.reset();
    offsets.reset();
    configs.reset();
    delays.reset();
    close();
  }
  void reopen_all() {
    close_all();
    open_all();
  }

  Status schedule(uint32_t topic_id, uint32_t partition, int64_t due, std::string batch) {
    std::promise<Status> p;
    auto f = p.get_future();
    delays->schedule(topic_id, partition, static_cast<uint64_t>(due), std::move(batch),
                     [&p](Status st) { p.set_value(std::move(st)); });
    return f.get();
  }

  size_t move() {
    auto n = delays->move_due();
    REQUIRE_MESSAGE(n.is_ok(), n.status().to_string());
    return *n;
  }

  Result<broker::SendBackResult> send_back(const std::string& group, const std::string& from_topic,
                                           const std::string& batch, bool to_dlq = false) {
    std::promise<Result<broker::SendBackResult>> p;
    auto f = p.get_future();
    retries->send_back(group, from_topic, batch, to_dlq,
                       [&p](Result<broker::SendBackResult> r) { p.set_value(std::move(r)); });
    return f.get();
  }

  // Every record stored in the partition, in offset order.
  std::vector<Stored> records(const std::string& topic, uint32_t partition = 0) {
    auto t = topics->find(topic);
    if (!t) return {};
    auto r = log->read(t->topic_id, partition, 0, 64 << 20);
    REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
    std::vector<Stored> out;
    Status st = record::for_each_record_in_batches(r->batches, [&](const record::RecordView& v) {
      Stored s{v.offset, v.id, v.reconsume_times, static_cast<int64_t>(v.born_ms),
               std::string(v.key), std::string(v.tags), std::string(v.body), {}};
      for (const auto& [k, val] : v.properties) s.properties.emplace_back(k, val);
      out.push_back(std::move(s));
    });
    REQUIRE_MESSAGE(st.is_ok(), st.to_string());
    return out;
  }
};

// One record with every field set.
inline std::string one_message(uint64_t id, uint32_t reconsume_times = 0, const std::string& body = "hello",
                               std::vector<std::pair<std::string, std::string>> props = {{"k1", "v1"}}) {
  record::BatchBuilder b;
  record::RecordInput r;
  r.id = id;
  r.born_ms = 1234;
  r.reconsume_times = reconsume_times;
  r.key = "order-7";
  r.tags = "TagA";
  r.properties = &props;
  r.body = body;
  b.add(r);
  return b.finish(0, 0);
}

// A stored record as a consumer would send it back: one record, every field kept.
inline std::string as_batch(const Stored& s) {
  record::BatchBuilder b;
  record::RecordInput r;
  r.id = s.id;
  r.born_ms = static_cast<uint64_t>(s.born_ms);
  r.reconsume_times = s.reconsume_times;
  r.key = s.key;
  r.tags = s.tags;
  r.properties = &s.properties;
  r.body = s.body;
  b.add(r);
  return b.finish(0, 0);
}

inline std::string property(const Stored& s, const std::string& name) {
  for (const auto& [k, v] : s.properties) {
    if (k == name) return v;
  }
  return "<none>";
}

}  // namespace tidemq::test
