#pragma once
// A TxnService over a real LevelDB in a temp dir (StoreFixture), a ManualClock, a fake
// CheckSender and a blocking pool (2 threads unless a test asks for 1). round() runs one scheduler round and waits until
// everything it started has completed (TxnService::drain), so tests never sleep.
#include <doctest/doctest.h>

#include <asio/thread_pool.hpp>

#include <algorithm>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "broker/txn/check_sender.h"
#include "broker/txn/txn_service.h"
#include "tests/broker/store/store_fixture.h"

namespace tidemq::test {

class FakeSender : public broker::txn::CheckSender {
 public:
  struct Sent {
    uint64_t session;
    broker::txn::CheckRequest request;
  };

  std::vector<uint64_t> live_producers(const std::string& group) override {
    std::lock_guard lock(mu_);
    auto it = live_.find(group);
    if (it == live_.end()) return {};
    std::vector<uint64_t> out(it->second.begin(), it->second.end());
    return out;  // sorted: a std::set
  }
  bool send(uint64_t session, const broker::txn::CheckRequest& request) override {
    {
      std::lock_guard lock(mu_);
      if (gone_.contains(session)) return false;
      sent_.push_back(Sent{session, request});
    }
    if (on_send) on_send(session, request);
    return true;
  }
  // Runs inside send(), after it succeeded (a producer answering at once). Set before start().
  std::function<void(uint64_t session, const broker::txn::CheckRequest&)> on_send;

  void set_live(const std::string& group, std::set<uint64_t> sessions) {
    std::lock_guard lock(mu_);
    live_[group] = std::move(sessions);
  }
  // send() to this session returns false (it closed after live_producers listed it).
  void set_gone(std::set<uint64_t> sessions) {
    std::lock_guard lock(mu_);
    gone_ = std::move(sessions);
  }
  // The checks sent since the last take().
  std::vector<Sent> take() {
    std::lock_guard lock(mu_);
    return std::exchange(sent_, {});
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::set<uint64_t>> live_;
  std::set<uint64_t> gone_;
  std::vector<Sent> sent_;
};

// A SendHalf batch: one record whose id is the txn id. The producer id and sequence are set, as
// a client might, to check that a commit clears them.
inline std::string half_batch(uint64_t txn_id, const std::string& body = "order-1 paid") {
  record::BatchBuilder b;
  record::RecordInput r;
  r.id = txn_id;
  r.born_ms = 1;
  r.key = "k";
  r.body = body;
  b.add(r);
  return b.finish(/*producer_id=*/77, /*base_sequence=*/3);
}

struct TxnFixture : StoreFixture {
  FakeSender sender;
  broker::txn::TxnOptions opt;
  // Checks are sent from the pool: with one thread they go out in the order they were picked.
  size_t pool_threads = 2;
  std::unique_ptr<asio::thread_pool> pool;
  std::unique_ptr<broker::txn::TxnService> txn;
  uint32_t topic = 0;

  TxnFixture() { opt.check_max = 15; }
  ~TxnFixture() { shutdown(); }

  // Opens the store (creating topic "orders" with 2 partitions the first time) and the service.
  void start() {
    open();
    if (topic == 0) topic = create_topic("orders", 2);
    Status st = open_txn();
    REQUIRE_MESSAGE(st.is_ok(), st.to_string());
  }
  Status open_txn() {
    pool = std::make_unique<asio::thread_pool>(pool_threads);
    txn = std::make_unique<broker::txn::TxnService>(*db, *log, *topics, clock, opt, sender, pool->get_executor());
    return txn->open();
  }
  // Service, store, then pool: the store's writer posts to the pool, so the pool goes last (the
  // broker's shutdown order too).
  void shutdown() {
    txn.reset();  // stop(): waits for what is in flight
    close();
    if (pool) pool->join();
    pool.reset();
  }
  // A broker restart: service and store closed and opened again on the same data.
  void restart() {
    shutdown();
    open();
    Status st = open_txn();
    REQUIRE_MESSAGE(st.is_ok(), st.to_string());
  }

  Result<broker::txn::SendHalfAck> send_half(uint64_t txn_id, const std::string& group = "pg",
                                             uint32_t immunity_ms = 0, uint32_t partition = 0,
                                             const std::string& body = "order-1 paid") {
    std::promise<Result<broker::txn::SendHalfAck>> p;
    auto f = p.get_future();
    txn->send_half(group, topic, partition, half_batch(txn_id, body), immunity_ms,
                   [&p](Result<broker::txn::SendHalfAck> r) { p.set_value(std::move(r)); });
    return f.get();
  }
  void must_send_half(uint64_t txn_id, const std::string& group = "pg", uint32_t immunity_ms = 0) {
    auto r = send_half(txn_id, group, immunity_ms);
    REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
  }
  Result<broker::txn::Outcome> end(uint64_t txn_id, broker::txn::Action action,
                                   broker::txn::Source source = broker::txn::Source::kProducer) {
    std::promise<Result<broker::txn::Outcome>> p;
    auto f = p.get_future();
    txn->end(txn_id, action, source, [&p](Result<broker::txn::Outcome> r) { p.set_value(std::move(r)); });
    return f.get();
  }

  // One scheduler round, and everything it started.
  void round() {
    txn->run_checks();
    txn->drain();
  }
  // Advances both clocks, then runs a round.
  void advance(int64_t ms) {
    clock.advance_ms(ms);
    round();
  }

  bool has_key(const std::string& key) { return db->get(key).is_ok(); }
  // The service holds a stored half record of the transaction (read back from the half log).
  bool has_half(uint64_t txn_id) {
    auto r = txn->read_half(txn_id);
    REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
    return r->has_value();
  }
  std::filesystem::path half_log_dir() const { return dir.path() / "halflog"; }
  uint64_t end_offset(uint32_t partition = 0) { return info(topic, partition).end_offset; }
};

}  // namespace tidemq::test
