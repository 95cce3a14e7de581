// rel_client: the client side of the reliability suite (tests/reliability/README.md).
//
//   rel_client produce -b HOST:PORT --topic T --id P --count N [--rate R] [--inflight K] --history FILE
//     Sends N messages with body "P:<seq>" through an idempotent Producer that rides out broker
//     restarts (many retries, long delivery timeout) and logs one line per operation event:
//       invoke <seq> <unix ms>                      before the send
//       ok <seq> <partition> <offset> <unix ms>     acknowledged
//       fail <seq> <code>                           the broker's error says it was not applied
//       info <seq> <code>                           unknown (timeout, lost connection, shutdown)
//   rel_client txn -b HOST:PORT --topic T --id P --group G --count N [--rate R] --history FILE
//     T6's transactions (rel_txn.h).
//   rel_client consume -b HOST:PORT --topic T --group G --history FILE
//     T4's group consumer (rel_consume.h).
//   rel_client drain -b HOST:PORT --topic T --out FILE
//     Reads every partition from its start to its end offset and writes "<partition> <offset>
//     <body>" per message.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "tidemq/admin.h"
#include "tidemq/log.h"
#include "tidemq/producer.h"
#include "tidemq/reader.h"
#include "tests/reliability/rel_consume.h"
#include "tests/reliability/rel_history.h"
#include "tests/reliability/rel_txn.h"

namespace {

using tidemq::rel::now_ms;

int produce(const std::string& broker, const std::string& topic, const std::string& id, uint32_t count,
            double rate, int inflight, const std::string& history_path) {
  tidemq::rel::History history(history_path);
  if (!history.ok()) {
    fmt::print(stderr, "rel_client: cannot write {}\n", history_path);
    return 1;
  }
  tidemq::ProducerOptions o;
  o.client.broker = broker;
  o.client.request_timeout = std::chrono::milliseconds(3000);
  o.retries = 1'000'000;  // ride out every restart: only the delivery timeout ends a message
  o.retry_backoff = std::chrono::milliseconds(50);
  o.delivery_timeout = std::chrono::milliseconds(120'000);
  o.max_inflight_requests = inflight;
  tidemq::Result<std::unique_ptr<tidemq::Producer>> p = tidemq::Status::unavailable("not connected yet");
  for (int attempt = 0; attempt < 200 && !p.is_ok(); ++attempt) {  // the broker may be restarting
    p = tidemq::Producer::create(o);
    if (!p.is_ok()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (!p.is_ok()) {
    fmt::print(stderr, "rel_client: {}\n", p.status().to_string());
    return 1;
  }
  const auto start = std::chrono::steady_clock::now();
  for (uint32_t seq = 0; seq < count; ++seq) {
    if (rate > 0) {  // paced, so the run spans the nemesis' kills
      std::this_thread::sleep_until(start + std::chrono::microseconds(static_cast<int64_t>(seq * 1e6 / rate)));
    }
    tidemq::Message m;
    m.topic = topic;
    m.key = id;
    m.body = fmt::format("{}:{}", id, seq);
    history.line(fmt::format("invoke {} {}\n", seq, now_ms()));
    (*p)->send_async(std::move(m), [&history, seq](const tidemq::Result<tidemq::SendResult>& r) {
      if (r.is_ok()) {
        history.line(fmt::format("ok {} {} {} {}\n", seq, r->partition, r->offset, now_ms()));
      } else {
        history.line(fmt::format("{} {} {}\n", tidemq::rel::failure_kind(r.status()), seq,
                                 static_cast<int>(r.status().code())));
      }
    });
  }
  (void)(*p)->flush(std::chrono::milliseconds(150'000));
  (*p)->close();
  return 0;
}

int drain(const std::string& broker, const std::string& topic, const std::string& out_path) {
  tidemq::ClientOptions o;
  o.broker = broker;
  // The broker may still be starting (a restart on a loaded machine): up to 30 s to answer.
  tidemq::Result<tidemq::TopicStatus> status = tidemq::Status::unavailable("not asked yet");
  for (int attempt = 0; attempt < 300 && !status.is_ok(); ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto admin = tidemq::Admin::create(o);
    status = admin.is_ok() ? (*admin)->topic_status(topic) : tidemq::Result<tidemq::TopicStatus>(admin.status());
  }
  if (!status.is_ok()) return fmt::print(stderr, "rel_client: drain: {}\n", status.status().to_string()), 1;
  auto reader = tidemq::PartitionReader::create(o, topic);
  if (!reader.is_ok()) return fmt::print(stderr, "rel_client: {}\n", reader.status().to_string()), 1;
  FILE* out = std::fopen(out_path.c_str(), "w");
  if (out == nullptr) return fmt::print(stderr, "rel_client: cannot write {}\n", out_path), 1;
  for (const auto& part : status->partitions) {
    uint64_t offset = part.start_offset;
    while (offset < part.end_offset) {
      auto f = (*reader)->fetch(part.partition, offset);
      if (!f.is_ok()) return fmt::print(stderr, "rel_client: fetch: {}\n", f.status().to_string()), 1;
      for (const auto& m : f->messages) {
        if (m.offset < offset || m.offset >= part.end_offset) continue;
        fmt::print(out, "{} {} {}\n", part.partition, m.offset, m.body);
        offset = m.offset + 1;
      }
    }
  }
  std::fclose(out);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"rel_client: histories and drains for tests/reliability"};
  app.require_subcommand(1);
  std::string broker = "127.0.0.1:7911", topic = "rel", id = "p0", history, out;
  uint32_t count = 1000;
  double rate = 0;
  int inflight = 16;
  auto* prod = app.add_subcommand("produce", "send --count messages, logging a history");
  prod->add_option("-b,--broker", broker);
  prod->add_option("--topic", topic);
  prod->add_option("--id", id, "producer id, the body prefix");
  prod->add_option("--count", count);
  prod->add_option("--rate", rate, "messages per second (0: as fast as possible)");
  prod->add_option("--inflight", inflight, "requests in flight per connection (T5: 1)")->check(CLI::PositiveNumber);
  prod->add_option("--history", history)->required();
  tidemq::rel::TxnArgs txn;
  auto* tx = app.add_subcommand("txn", "run --count transactions (outcome from the sequence), logging a history");
  tx->add_option("-b,--broker", txn.broker)->required();
  tx->add_option("--topic", txn.topic)->required();
  tx->add_option("--id", txn.id, "producer id, the body prefix")->required();
  tx->add_option("--group", txn.group, "producer group")->required();
  tx->add_option("--count", txn.count);
  tx->add_option("--rate", txn.rate, "transactions per second (0: as fast as possible)");
  tx->add_option("--resolve-wait-s", txn.resolve_wait_s, "then answer checks until none is open, at most this long");
  tx->add_option("--history", txn.history_path)->required();
  tidemq::rel::ConsumeArgs consume;
  auto* co = app.add_subcommand("consume", "poll a group until SIGTERM, committing after each poll, logging a history");
  co->add_option("-b,--broker", consume.broker)->required();
  co->add_option("--topic", consume.topic)->required();
  co->add_option("--group", consume.group)->required();
  co->add_option("--history", consume.history_path)->required();
  auto* dr = app.add_subcommand("drain", "read every message of the topic");
  dr->add_option("-b,--broker", broker);
  dr->add_option("--topic", topic);
  dr->add_option("--out", out)->required();
  CLI11_PARSE(app, argc, argv);
  (void)tidemq::set_client_log_level("error");
  if (*co) return tidemq::rel::run_consumer(consume);
  if (*tx) return tidemq::rel::run_transactions(txn);
  if (*prod) return produce(broker, topic, id, count, rate, inflight, history);
  return drain(broker, topic, out);
}
