// sms_service: sends one SMS per successful recharge (SPEC §10, best-effort notification). A
// PushConsumer in group `sms` on topic `recharge-notify`; for each notification it asks the
// recharge service's query interface for the recharge's status before sending:
// - SUCCESS: send the SMS, once: the sent row ("sms/<recharge id>") is written before success is
//   returned, and a recharge already there is skipped (deliveries are at-least-once);
// - FAILED: nothing to send;
// - PENDING, UNKNOWN, or the recharge service unreachable: ReconsumeLater — the broker brings the
//   message back after the next step of the group's retry policy (`notify` in production), and
//   past the group's max reconsume times it goes to %DLQ%sms for an operator.
// The SMS gateway is simulated: --gateway-fail-first N makes the first N attempts of every SMS
// fail (ReconsumeLater too).
//
// Prints "final <recharge id> <sent|duplicate|failed>" on stderr for each notification it is done
// with, and one JSON line on stdout at exit (SIGTERM/SIGINT). Exit 0, or 1 on error.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <thread>

#include "client/examples/common/local_db.h"
#include "client/examples/recharge_notify/recharge.h"
#include "tidemq/push_consumer.h"

namespace recharge_notify {
namespace {

using tidemq_examples::LocalDb;

std::atomic<bool> g_stop{false};

struct Flags {
  std::string broker = "127.0.0.1:7911";
  std::string topic = "recharge-notify";
  std::string group = "sms";
  std::string db;
  uint16_t query_port = 0;
  uint32_t gateway_fail_first = 0;
};

struct Counters {
  std::atomic<uint64_t> sent{0}, duplicates{0}, failed_recharges{0}, not_final{0}, gateway_failures{0};
  std::atomic<uint32_t> max_reconsume_times{0};
};

class SmsHandler {
 public:
  SmsHandler(const Flags& f, LocalDb& db, Counters& c) : f_(f), db_(db), c_(c) {}

  tidemq::ConsumeStatus operator()(const tidemq::Message& m) {
    uint32_t seen = c_.max_reconsume_times.load();
    while (m.reconsume_times > seen && !c_.max_reconsume_times.compare_exchange_weak(seen, m.reconsume_times)) {
    }
    const std::string id(id_of(m.body));
    auto status = ask("127.0.0.1", f_.query_port, "STATUS " + id);
    if (!status.is_ok() || (*status != "SUCCESS" && *status != "FAILED")) {
      ++c_.not_final;  // not settled yet (or the service is down): ask again later
      return tidemq::ConsumeStatus::kReconsumeLater;
    }
    if (*status == "FAILED") {
      ++c_.failed_recharges;
      fmt::print(stderr, "final {} failed\n", id);
      return tidemq::ConsumeStatus::kSuccess;
    }
    if (m.reconsume_times < f_.gateway_fail_first) {
      ++c_.gateway_failures;
      return tidemq::ConsumeStatus::kReconsumeLater;
    }
    // Once per recharge: the check and the row under one lock (the listener runs on a pool).
    std::lock_guard lock(mu_);
    auto sent = db_.get("sms/" + id);
    if (!sent.is_ok()) return tidemq::ConsumeStatus::kReconsumeLater;
    if (*sent) {
      ++c_.duplicates;
      fmt::print(stderr, "final {} duplicate\n", id);
      return tidemq::ConsumeStatus::kSuccess;
    }
    leveldb::WriteBatch b;  // "the SMS is sent" and its row: the example's gateway is this row
    b.Put("sms/" + id, m.body);
    if (!db_.commit(b).is_ok()) return tidemq::ConsumeStatus::kReconsumeLater;
    ++c_.sent;
    fmt::print(stderr, "final {} sent (attempt {})\n", id, m.reconsume_times + 1);
    return tidemq::ConsumeStatus::kSuccess;
  }

 private:
  const Flags& f_;
  LocalDb& db_;
  Counters& c_;
  std::mutex mu_;
};

int run(const Flags& f) {
  auto db_or = LocalDb::open(f.db);
  if (!db_or.is_ok()) {
    fmt::print(stderr, "sms_service: {}\n", db_or.status().to_string());
    return 1;
  }
  LocalDb& db = **db_or;
  Counters c;
  SmsHandler handler(f, db, c);
  tidemq::PushConsumerOptions options;
  options.consumer.client.broker = f.broker;
  options.consumer.group = f.group;
  auto consumer_or = tidemq::PushConsumer::create(options, [&](const tidemq::Message& m) { return handler(m); });
  if (!consumer_or.is_ok()) {
    fmt::print(stderr, "sms_service: {}\n", consumer_or.status().to_string());
    return 1;
  }
  auto& consumer = *consumer_or;
  if (tidemq::Status st = consumer->subscribe(f.topic); !st.is_ok() || !(st = consumer->start()).is_ok()) {
    fmt::print(stderr, "sms_service: {}\n", st.to_string());
    return 1;
  }
  while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const tidemq::PushConsumerStats stats = consumer->stats();
  (void)consumer->shutdown();
  uint64_t store_sms = 0;
  db.scan("sms/", [&](const std::string&, const std::string&) { ++store_sms; });
  fmt::print(R"({{"sent":{},"duplicates":{},"failed_recharges":{},"not_final":{},"gateway_failures":{},)"
             R"("max_reconsume_times":{},"reconsume_later":{},"store_sms":{}}})"
             "\n",
             c.sent.load(), c.duplicates.load(), c.failed_recharges.load(), c.not_final.load(),
             c.gateway_failures.load(), c.max_reconsume_times.load(), stats.reconsume_later, store_sms);
  return 0;
}

}  // namespace
}  // namespace recharge_notify

int main(int argc, char** argv) {
  recharge_notify::Flags f;
  CLI::App app{"recharge_notify: the SMS service (consumes notifications, retries, sends once)"};
  app.add_option("-b,--broker", f.broker, "broker host:port")->capture_default_str();
  app.add_option("--topic", f.topic, "notification topic")->capture_default_str();
  app.add_option("--group", f.group, "consumer group")->capture_default_str();
  app.add_option("--db", f.db, "the service's own LevelDB directory")->required();
  app.add_option("--query-port", f.query_port, "the recharge service's query interface on 127.0.0.1")->required();
  app.add_option("--gateway-fail-first", f.gateway_fail_first, "the first N attempts of every SMS fail")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  signal(SIGTERM, [](int) { recharge_notify::g_stop = true; });
  signal(SIGINT, [](int) { recharge_notify::g_stop = true; });
  return recharge_notify::run(f);
}
