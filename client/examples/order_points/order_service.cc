// order_service: creates orders in its own LevelDB and announces each one with a transactional
// message on topic `orders` (SPEC §6, §10).
//
// For every order, send_in_transaction() first stores a half-message on the broker (invisible to
// consumers), then runs the local transaction: the order row and a transaction-log row
// (txn id -> order id) in one synced WriteBatch. COMMIT after the local commit makes the message
// visible. If the process dies in between, the broker later asks a live producer of the same
// producer group (CheckTransaction) and the checker answers from the local store: a txn-log row
// means the order exists (COMMIT), none means the local transaction never happened (ROLLBACK).
//
// Orders already in the store are skipped, so a restarted service goes on where it stopped.
// Prints one JSON line on stdout at the end. Exit code 0, or 1 when an order could not be sent.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <set>
#include <thread>

#include "client/examples/common/local_db.h"
#include "client/examples/order_points/order.h"
#include "tidemq/transaction.h"

namespace order_points {
using tidemq_examples::LocalDb;
namespace {

using tidemq::Message;
using tidemq::Status;
using tidemq::TxnAction;

std::atomic<bool> g_stop{false};

// Local store keys: "order/<order id>" -> body, "txn/<txn id, 16 hex>" -> order id.
std::string order_key(const std::string& order_id) { return "order/" + order_id; }
std::string txn_key(uint64_t txn_id) { return "txn/" + tidemq::format_message_id(txn_id); }

// Answers check-backs from the local store. Runs on the producer's checker thread.
class StoreChecker : public tidemq::TransactionChecker {
 public:
  explicit StoreChecker(LocalDb& db) : db_(db) {}

  TxnAction check(const Message& half, uint64_t txn_id) override {
    TxnAction action = decide(txn_id);
    ++answered_;
    fmt::print(stderr, "check txn={} order={} -> {}\n", tidemq::format_message_id(txn_id), half.key,
               tidemq::txn_action_name(action));
    return action;
  }

  // A local transaction of this process is running: "no txn-log row" does not mean "never" yet.
  void begin(uint64_t txn_id) {
    std::lock_guard lock(mu_);
    running_.insert(txn_id);
  }
  void end(uint64_t txn_id) {
    std::lock_guard lock(mu_);
    running_.erase(txn_id);
  }
  uint64_t answered() const { return answered_; }

 private:
  TxnAction decide(uint64_t txn_id) {
    {
      std::lock_guard lock(mu_);
      if (running_.count(txn_id)) return TxnAction::kUnknown;  // ask again later
    }
    auto row = db_.get(txn_key(txn_id));
    if (!row.is_ok()) return TxnAction::kUnknown;  // cannot tell now; the broker asks again
    return row->has_value() ? TxnAction::kCommit : TxnAction::kRollback;
  }

  LocalDb& db_;
  std::mutex mu_;
  std::set<uint64_t> running_;
  std::atomic<uint64_t> answered_{0};
};

struct Flags {
  std::string broker = "127.0.0.1:7911";
  std::string topic = "orders";
  std::string producer_group = "order-pg";
  std::string db;
  uint32_t orders = 10;
  uint32_t fail_local = 0;                // order whose local transaction fails
  uint32_t crash_after_local_commit = 0;  // order after whose local commit the process dies
  int64_t serve_checks_ms = 0;
};

int run(const Flags& f) {
  auto db_or = LocalDb::open(f.db);
  if (!db_or.is_ok()) {
    fmt::print(stderr, "order_service: {}\n", db_or.status().to_string());
    return 1;
  }
  LocalDb& db = **db_or;
  auto checker = std::make_shared<StoreChecker>(db);

  tidemq::TransactionalProducerOptions options;
  options.producer.client.broker = f.broker;
  options.producer.producer_group = f.producer_group;
  auto producer_or = tidemq::TransactionalProducer::create(options, checker);
  if (!producer_or.is_ok()) {
    fmt::print(stderr, "order_service: {}\n", producer_or.status().to_string());
    return 1;
  }
  auto& producer = *producer_or;

  uint32_t created = 0, rolled_back = 0, skipped = 0;
  for (uint32_t n = 1; n <= f.orders && !g_stop; ++n) {
    const Order order = make_order(n);
    auto existing = db.get(order_key(order.id));
    if (existing.is_ok() && existing->has_value()) {
      ++skipped;  // created by an earlier run
      continue;
    }
    Message msg;
    msg.topic = f.topic;
    msg.key = order.id;
    msg.body = to_body(order);

    // The local transaction: runs after the half-message is stored, with its transaction id.
    auto local_txn = [&](const Message&, uint64_t txn_id) {
      if (n == f.fail_local) return TxnAction::kRollback;  // e.g. out of stock: nothing written
      checker->begin(txn_id);
      leveldb::WriteBatch batch;
      batch.Put(order_key(order.id), to_body(order));
      batch.Put(txn_key(txn_id), order.id);
      Status st = db.commit(batch);  // sync: the order exists once this returns
      checker->end(txn_id);
      if (!st.is_ok()) return TxnAction::kRollback;
      if (n == f.crash_after_local_commit) {
        fmt::print(stderr, "order_service: crashing after the local commit of {} (txn {})\n", order.id,
                   tidemq::format_message_id(txn_id));
        ::raise(SIGKILL);  // dies before EndTransaction(COMMIT) is sent
      }
      return TxnAction::kCommit;
    };
    auto sent = producer->send_in_transaction(std::move(msg), local_txn);
    if (!sent.is_ok()) {  // the half-message was not stored: the local transaction did not run
      fmt::print(stderr, "order_service: order {}: {}\n", order.id, sent.status().to_string());
      return 1;
    }
    if (!sent->end_status.is_ok()) {  // the check-back will ask the local store
      fmt::print(stderr, "order_service: order {}: end of transaction lost: {}\n", order.id,
                 sent->end_status.to_string());
    }
    if (sent->local_action == TxnAction::kCommit) {
      ++created;
    } else {
      ++rolled_back;
    }
  }

  // Stay connected so the broker can ask about transactions left open (by a crash, say).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(f.serve_checks_ms);
  if (f.serve_checks_ms > 0) fmt::print(stderr, "order_service: serving check-backs for {} ms\n", f.serve_checks_ms);
  while (!g_stop && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  producer->close();

  uint64_t store_orders = 0, store_points = 0;
  db.scan("order/", [&](const std::string&, const std::string& body) {
    auto o = parse_body(body);
    ++store_orders;
    store_points += o ? o->points : 0;
  });
  fmt::print(R"({{"created":{},"rolled_back":{},"skipped":{},"checks_answered":{},"store_orders":{},"store_points":{}}})"
             "\n",
             created, rolled_back, skipped, checker->answered(), store_orders, store_points);
  return 0;
}

}  // namespace
}  // namespace order_points

int main(int argc, char** argv) {
  order_points::Flags f;
  CLI::App app{"order_service: orders in a local LevelDB, announced with transactional messages", "order_service"};
  app.add_option("-b,--broker", f.broker, "Broker host:port")->capture_default_str();
  app.add_option("--topic", f.topic, "Topic the orders go to")->capture_default_str();
  app.add_option("--producer-group", f.producer_group, "Producer group (check-backs go to its live members)")
      ->capture_default_str();
  app.add_option("--db", f.db, "The service's LevelDB directory (created if missing)")->required();
  app.add_option("--orders", f.orders, "Create orders 1..N (those already in --db are skipped)")->capture_default_str();
  app.add_option("--fail-local", f.fail_local, "Order K's local transaction fails (nothing written, ROLLBACK)");
  app.add_option("--crash-after-local-commit", f.crash_after_local_commit,
                 "SIGKILL itself right after order K's local commit, before the commit reaches the broker");
  app.add_option("--serve-checks-ms", f.serve_checks_ms,
                 "Stay connected this long after the last order to answer check-backs (SIGINT/SIGTERM end it)")
      ->check(CLI::NonNegativeNumber);
  CLI11_PARSE(app, argc, argv);

  ::signal(SIGINT, [](int) { order_points::g_stop = true; });
  ::signal(SIGTERM, [](int) { order_points::g_stop = true; });
  try {
    return order_points::run(f);
  } catch (const std::exception& e) {
    fmt::print(stderr, "order_service: {}\n", e.what());
    return 1;
  }
}
