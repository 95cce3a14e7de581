// points_service: credits loyalty points for every order on topic `orders`, as a member of the
// consumer group `points` (SPEC §10).
//
// Delivery is at-least-once (a message whose offset was not committed yet comes again after a
// crash or a rebalance), so crediting is idempotent by message id: the processed-id row and the
// user's new balance are written in one synced WriteBatch; a message whose id is already there
// is skipped. Offsets are committed after a poll's messages are processed.
//
// Prints one JSON line on stdout at the end. Exit code 0, or 1 on a timeout or a failure.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "client/examples/common/local_db.h"
#include "client/examples/order_points/order.h"
#include "tidemq/consumer.h"

namespace order_points {
using tidemq_examples::LocalDb;
namespace {

std::atomic<bool> g_stop{false};

// Local store keys: "msg/<message id, 16 hex>" -> order id, "balance/<user>" -> points (decimal).
constexpr char kMsgPrefix[] = "msg/";
constexpr char kBalancePrefix[] = "balance/";
std::string msg_key(uint64_t id) { return kMsgPrefix + tidemq::format_message_id(id); }
std::string balance_key(const std::string& user) { return kBalancePrefix + user; }

// Credits the order in `msg` once. Returns true when credited now, false when its message id was
// processed before (a redelivery).
tidemq::Result<bool> credit(LocalDb& db, uint64_t msg_id, const Order& order) {
  TIDEMQ_ASSIGN_OR_RETURN(auto processed, db.get(msg_key(msg_id)));
  if (processed) return false;
  TIDEMQ_ASSIGN_OR_RETURN(auto balance, db.get(balance_key(order.user)));
  const uint64_t before = balance ? std::stoull(*balance) : 0;
  leveldb::WriteBatch batch;  // both rows or neither: a crash cannot credit twice or lose the id
  batch.Put(msg_key(msg_id), order.id);
  batch.Put(balance_key(order.user), std::to_string(before + order.points));
  TIDEMQ_RETURN_IF_ERROR(db.commit(batch));  // sync
  return true;
}

struct Flags {
  std::string broker = "127.0.0.1:7911";
  std::string topic = "orders";
  std::string group = "points";
  std::string db;
  uint32_t until_orders = 0;
  int64_t timeout_ms = 0;
};

int run(const Flags& f) {
  auto db_or = LocalDb::open(f.db);
  if (!db_or.is_ok()) {
    fmt::print(stderr, "points_service: {}\n", db_or.status().to_string());
    return 1;
  }
  LocalDb& db = **db_or;

  tidemq::ConsumerOptions options;
  options.client.broker = f.broker;
  options.group = f.group;
  options.auto_commit = false;  // commit_sync() below, after processing
  options.max_poll_wait = std::chrono::milliseconds(500);
  auto consumer_or = tidemq::Consumer::create(options);
  if (!consumer_or.is_ok()) {
    fmt::print(stderr, "points_service: {}\n", consumer_or.status().to_string());
    return 1;
  }
  auto& consumer = *consumer_or;
  if (tidemq::Status st = consumer->subscribe(f.topic); !st.is_ok()) {
    fmt::print(stderr, "points_service: {}\n", st.to_string());
    return 1;
  }

  uint64_t credited = 0, duplicates = 0;
  std::set<std::string> orders_seen;  // this run, credited now or before
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(f.timeout_ms);
  int rc = 0;
  while (!g_stop && (f.until_orders == 0 || orders_seen.size() < f.until_orders)) {
    if (f.timeout_ms > 0 && std::chrono::steady_clock::now() >= deadline) {
      fmt::print(stderr, "points_service: timeout: {} of {} orders seen\n", orders_seen.size(), f.until_orders);
      rc = 1;
      break;
    }
    auto msgs = consumer->poll(std::chrono::milliseconds(200));
    if (!msgs.is_ok()) {
      fmt::print(stderr, "points_service: poll: {}\n", msgs.status().to_string());
      rc = 1;
      break;
    }
    if (msgs->empty()) continue;
    for (const tidemq::Message& m : *msgs) {
      auto order = parse_body(m.body);
      if (!order) {
        fmt::print(stderr, "points_service: not an order: {}\n", m.body);
        continue;
      }
      auto done = credit(db, m.id, *order);
      if (!done.is_ok()) {  // not committed: the message comes again after a restart
        fmt::print(stderr, "points_service: {}\n", done.status().to_string());
        return 1;
      }
      if (*done) {
        ++credited;
      } else {
        ++duplicates;
      }
      orders_seen.insert(order->id);
    }
    // At-least-once: a crash before this line only means redeliveries, which credit() skips.
    if (tidemq::Status st = consumer->commit_sync(); !st.is_ok()) {
      fmt::print(stderr, "points_service: commit: {}\n", st.to_string());
    }
  }
  (void)consumer->close();

  // Totals from the store (every run so far).
  std::set<std::string> store_orders;
  uint64_t store_messages = 0, store_points = 0;
  std::string by_user;
  db.scan(kMsgPrefix, [&](const std::string&, const std::string& order_id) {
    ++store_messages;
    store_orders.insert(order_id);
  });
  db.scan(kBalancePrefix, [&](const std::string& key, const std::string& points) {
    store_points += std::stoull(points);
    by_user += fmt::format(R"({}"{}":{})", by_user.empty() ? "" : ",", key.substr(sizeof(kBalancePrefix) - 1), points);
  });
  fmt::print(R"({{"credited":{},"duplicates_skipped":{},"orders_seen":{},"store_messages":{},"store_orders":{},)"
             R"("store_points":{},"points_by_user":{{{}}}}})"
             "\n",
             credited, duplicates, orders_seen.size(), store_messages, store_orders.size(), store_points, by_user);
  return rc;
}

}  // namespace
}  // namespace order_points

int main(int argc, char** argv) {
  order_points::Flags f;
  CLI::App app{"points_service: credits points per order, idempotently by message id", "points_service"};
  app.add_option("-b,--broker", f.broker, "Broker host:port")->capture_default_str();
  app.add_option("--topic", f.topic, "Topic of the orders")->capture_default_str();
  app.add_option("--group", f.group, "Consumer group")->capture_default_str();
  app.add_option("--db", f.db, "The service's LevelDB directory (created if missing)")->required();
  app.add_option("--until-orders", f.until_orders,
                 "Exit once this run has seen N distinct orders (credited now or before); 0: run until SIGINT");
  app.add_option("--timeout-ms", f.timeout_ms, "Give up (exit 1) after this long; 0: never")
      ->check(CLI::NonNegativeNumber);
  CLI11_PARSE(app, argc, argv);

  ::signal(SIGINT, [](int) { order_points::g_stop = true; });
  ::signal(SIGTERM, [](int) { order_points::g_stop = true; });
  try {
    return order_points::run(f);
  } catch (const std::exception& e) {
    fmt::print(stderr, "points_service: {}\n", e.what());
    return 1;
  }
}
