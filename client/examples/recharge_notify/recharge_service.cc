// recharge_service: performs recharges and notifies the SMS service of each with a plain message
// on topic `recharge-notify` (best-effort notification, SPEC §10). A recharge is PENDING until
// its payment settles (--settle-ms later: SUCCESS, or FAILED for every --fail-every-th one; a
// --stuck one stays PENDING until an operator SETs it), so a notification can arrive before its
// outcome is known: the SMS service asks this service's query interface and retries later.
//
// The recharges live in the service's own LevelDB; the query interface (recharge.h) answers
// from it. Runs until SIGTERM/SIGINT, then prints one JSON line on stdout. Exit 0, or 1 on error.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <istream>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "client/examples/common/local_db.h"
#include "client/examples/recharge_notify/recharge.h"
#include "tidemq/producer.h"

namespace recharge_notify {
namespace {

using tidemq_examples::LocalDb;

std::atomic<bool> g_stop{false};

std::string status_key(const std::string& id) { return "status/" + id; }

struct Flags {
  std::string broker = "127.0.0.1:7911";
  std::string topic = "recharge-notify";
  std::string db;
  uint32_t recharges = 20;
  uint32_t fail_every = 0;  // recharge n fails when n % fail_every == 0
  std::vector<uint32_t> stuck;
  int64_t settle_ms = 300;
  uint16_t query_port = 0;
};

tidemq::Status put_status(LocalDb& db, const std::string& id, const std::string& status) {
  leveldb::WriteBatch b;
  b.Put(status_key(id), status);
  return db.commit(b);
}

// The query interface: one thread, one connection at a time, one line per request.
class QueryServer {
 public:
  QueryServer(LocalDb& db, uint16_t port)
      : db_(db), acceptor_(io_, {asio::ip::make_address("127.0.0.1"), port}) {}

  void run() {
    while (!g_stop) {
      asio::ip::tcp::socket s(io_);
      asio::error_code ec;
      acceptor_.accept(s, ec);
      if (ec) continue;
      serve(s);
    }
  }
  // After g_stop is set: wakes the blocked accept with a connection of our own.
  void stop() {
    asio::error_code ec;
    asio::ip::tcp::socket wake(io_);
    wake.connect(acceptor_.local_endpoint(ec), ec);
  }
  uint64_t queries() const { return queries_.load(); }

 private:
  void serve(asio::ip::tcp::socket& s) {
    asio::streambuf buf;
    asio::error_code ec;
    while (asio::read_until(s, buf, '\n', ec) > 0 && !ec) {
      std::string line;
      std::istream in(&buf);
      std::getline(in, line);
      asio::write(s, asio::buffer(answer(line) + "\n"), ec);
      if (ec) return;
    }
  }

  std::string answer(const std::string& line) {
    ++queries_;
    if (line.starts_with("STATUS ")) {
      auto v = db_.get(status_key(line.substr(7)));
      if (!v.is_ok()) return "ERROR " + v.status().message();
      return *v ? **v : "UNKNOWN";
    }
    if (line.starts_with("SET ")) {  // SET <id> <status>
      const size_t sp = line.find(' ', 4);
      if (sp == std::string::npos) return "ERROR usage: SET <id> SUCCESS|FAILED";
      tidemq::Status st = put_status(db_, line.substr(4, sp - 4), line.substr(sp + 1));
      return st.is_ok() ? "OK" : "ERROR " + st.message();
    }
    return "ERROR unknown request";
  }

  LocalDb& db_;
  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  std::atomic<uint64_t> queries_{0};
};

int run(const Flags& f) {
  auto db_or = LocalDb::open(f.db);
  if (!db_or.is_ok()) {
    fmt::print(stderr, "recharge_service: {}\n", db_or.status().to_string());
    return 1;
  }
  LocalDb& db = **db_or;
  std::unique_ptr<QueryServer> server;
  try {
    server = std::make_unique<QueryServer>(db, f.query_port);
  } catch (const std::exception& e) {
    fmt::print(stderr, "recharge_service: query interface on port {}: {}\n", f.query_port, e.what());
    return 1;
  }
  std::thread query_thread([&] { server->run(); });

  tidemq::ProducerOptions options;
  options.client.broker = f.broker;
  auto producer_or = tidemq::Producer::create(options);
  if (!producer_or.is_ok()) {
    fmt::print(stderr, "recharge_service: {}\n", producer_or.status().to_string());
    g_stop = true;
    server->stop();
    query_thread.join();
    return 1;
  }
  auto& producer = *producer_or;
  uint32_t succeeded = 0, failed = 0, stuck = 0;
  int rc = 0;
  std::vector<std::pair<uint32_t, std::chrono::steady_clock::time_point>> settling;
  for (uint32_t n = 1; n <= f.recharges && rc == 0; ++n) {
    // The local record first (PENDING), then the notification: a notification never names a
    // recharge this service does not know.
    if (tidemq::Status st = put_status(db, recharge_id(n), "PENDING"); !st.is_ok()) {
      fmt::print(stderr, "recharge_service: {}\n", st.to_string());
      rc = 1;
      break;
    }
    tidemq::Message m;
    m.topic = f.topic;
    m.key = recharge_id(n);
    m.body = to_body(n);
    auto sent = producer->send(m);
    if (!sent.is_ok()) {
      fmt::print(stderr, "recharge_service: notify {}: {}\n", recharge_id(n), sent.status().to_string());
      rc = 1;
      break;
    }
    settling.emplace_back(n, std::chrono::steady_clock::now() + std::chrono::milliseconds(f.settle_ms));
  }
  // Payments settle after --settle-ms (the notifications went out before).
  for (const auto& [n, at] : settling) {
    if (std::find(f.stuck.begin(), f.stuck.end(), n) != f.stuck.end()) {
      ++stuck;
      continue;
    }
    std::this_thread::sleep_until(at);  // the example's stand-in for a payment callback
    const bool ok = f.fail_every == 0 || n % f.fail_every != 0;
    if (tidemq::Status st = put_status(db, recharge_id(n), ok ? "SUCCESS" : "FAILED"); !st.is_ok()) {
      fmt::print(stderr, "recharge_service: {}\n", st.to_string());
      rc = 1;
      break;
    }
    (ok ? succeeded : failed) += 1;
  }
  fmt::print(stderr, "recharge_service: {} recharges notified and settled\n", settling.size());
  while (!g_stop && rc == 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));  // serve queries
  g_stop = true;
  server->stop();
  query_thread.join();
  (void)producer->close();
  fmt::print(R"({{"recharges":{},"succeeded":{},"failed":{},"stuck":{},"queries":{}}})"
             "\n",
             settling.size(), succeeded, failed, stuck, server->queries());
  return rc;
}

}  // namespace
}  // namespace recharge_notify

int main(int argc, char** argv) {
  recharge_notify::Flags f;
  CLI::App app{"recharge_notify: the recharge service (notifies, answers status queries)"};
  app.add_option("-b,--broker", f.broker, "broker host:port")->capture_default_str();
  app.add_option("--topic", f.topic, "notification topic")->capture_default_str();
  app.add_option("--db", f.db, "the service's own LevelDB directory")->required();
  app.add_option("--recharges", f.recharges, "recharges to perform")->capture_default_str();
  app.add_option("--fail-every", f.fail_every, "recharge n fails when n % this == 0 (0: none fail)")->capture_default_str();
  app.add_option("--stuck", f.stuck, "recharges that stay PENDING until an operator SETs them");
  app.add_option("--settle-ms", f.settle_ms, "a recharge settles this long after its notification")->capture_default_str();
  app.add_option("--query-port", f.query_port, "port of the query interface on 127.0.0.1")->required();
  CLI11_PARSE(app, argc, argv);
  signal(SIGTERM, [](int) { recharge_notify::g_stop = true; });
  signal(SIGINT, [](int) { recharge_notify::g_stop = true; });
  return recharge_notify::run(f);
}
