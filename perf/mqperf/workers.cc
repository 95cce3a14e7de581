#include "perf/mqperf/workers.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "perf/mqperf/load.h"
#include "tidemq/consumer.h"
#include "tidemq/producer.h"
#include "tidemq/reader.h"

namespace tidemq::perf {
namespace {

// What a send callback needs, shared by all of one worker's callbacks (they run on the producer's
// callback thread).
struct AckContext {
  WorkerStats& st;
  StatsSet& stats;
  uint64_t size;
  void on_result(const Result<SendResult>& r, int64_t sent_us) const {
    if (r.is_ok()) {
      st.latency.record(static_cast<uint64_t>(std::max<int64_t>(0, steady_now_us() - sent_us)));
      st.done.fetch_add(1, std::memory_order_relaxed);
      st.bytes.fetch_add(size, std::memory_order_relaxed);
    } else {
      st.errors.fetch_add(1, std::memory_order_relaxed);
      stats.note_error(r.status());
    }
  }
};

}  // namespace

void run_producer(const PerfOptions& options, const ProducerPlan& plan, const std::atomic<bool>& stop,
                  StatsSet& stats) {
  WorkerStats& st = stats.worker(plan.index);
  // Declared before the producer so it outlives every callback, even one run by its destructor.
  const AckContext ack_context{st, stats, options.size};
  const AckContext* ack = &ack_context;
  ProducerOptions po = producer_options(options);
  po.client.client_id = "mqperf-producer-" + std::to_string(plan.index);
  auto created = Producer::create(std::move(po));
  if (!created.is_ok()) {
    st.errors.fetch_add(1, std::memory_order_relaxed);
    stats.note_error(created.status());
    return;
  }
  std::unique_ptr<Producer> producer = std::move(created).value();

  const std::string body = make_body(options.size);
  const RatePacer pacer(plan.rate);
  for (uint64_t i = 0; plan.quota == 0 || i < plan.quota; ++i) {
    if (stop.load(std::memory_order_relaxed)) break;
    pacer.wait_turn(i);
    Message msg;
    msg.topic = options.topic;
    msg.body = body;
    const int64_t sent_us = steady_now_us();
    if (plan.stamp_send_time) encode_send_time(msg.body, sent_us);
    st.sent.fetch_add(1, std::memory_order_relaxed);
    // Two words of capture keep the callback inside std::function's small buffer (no allocation).
    producer->send_async(std::move(msg), [ack, sent_us](const Result<SendResult>& r) { ack->on_result(r, sent_us); });
  }
  // Every send resolves within the delivery timeout (= request timeout); give flush a bit more.
  Status flushed = producer->flush(std::chrono::milliseconds(options.request_timeout_ms * 2 + 1000));
  if (!flushed.is_ok()) stats.note_error(flushed);
  producer->close();
}

namespace {

// Accounts one poll's messages: latency (send->receive for e2e, else the poll round trip), bytes,
// counts, and the moment the shared target was reached.
void account(const ReaderPlan& plan, const std::vector<Message>& messages, int64_t asked_us, WorkerStats& st,
             std::atomic<uint64_t>& received_total, std::atomic<int64_t>& target_reached_us) {
  const int64_t now_us = steady_now_us();
  if (plan.e2e) {
    for (const Message& m : messages) {
      const int64_t sent_us = decode_send_time(m.body);
      if (sent_us >= 0) st.latency.record(static_cast<uint64_t>(std::max<int64_t>(0, now_us - sent_us)));
    }
  } else {
    st.latency.record(static_cast<uint64_t>(now_us - asked_us));
  }
  uint64_t bytes = 0;
  uint64_t fresh = 0;
  for (const Message& m : messages) {
    if (plan.distinct != nullptr && !plan.distinct->add(static_cast<uint32_t>(m.partition), m.offset)) continue;
    bytes += m.body.size();
    ++fresh;
  }
  st.bytes.fetch_add(bytes, std::memory_order_relaxed);
  st.done.fetch_add(fresh, std::memory_order_relaxed);
  const uint64_t before = received_total.fetch_add(fresh, std::memory_order_relaxed);
  if (plan.target > 0 && before < plan.target && before + fresh >= plan.target) {
    target_reached_us.store(now_us, std::memory_order_relaxed);
  }
}

constexpr auto kPollWait = std::chrono::milliseconds(200);
constexpr int64_t kCommitBarrierUs = 5'000'000;  // how long a finished member waits for the others

}  // namespace

void run_reader(const PerfOptions& options, const ReaderPlan& plan, const std::atomic<bool>& stop,
                std::atomic<uint64_t>& received_total, std::atomic<int64_t>& target_reached_us, StatsSet& stats) {
  WorkerStats& st = stats.worker(plan.index);
  if (plan.start.empty()) return;  // more readers than partitions
  auto created = PartitionReader::create(client_options(options, "mqperf-reader-" + std::to_string(plan.index)),
                                         options.topic);
  if (!created.is_ok()) {
    st.errors.fetch_add(1, std::memory_order_relaxed);
    stats.note_error(created.status());
    return;
  }
  std::unique_ptr<PartitionReader> reader = std::move(created).value();
  for (const auto& [partition, offset] : plan.start) reader->assign(partition, offset);

  while (!stop.load(std::memory_order_relaxed)) {
    if (plan.target > 0 && received_total.load(std::memory_order_relaxed) >= plan.target) break;
    const int64_t asked_us = steady_now_us();
    auto polled = reader->poll(kPollWait);
    if (!polled.is_ok()) {
      st.errors.fetch_add(1, std::memory_order_relaxed);
      stats.note_error(polled.status());
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    if (polled->empty()) continue;
    account(plan, *polled, asked_us, st, received_total, target_reached_us);
  }
}

void run_group_reader(const PerfOptions& options, const ReaderPlan& plan, const std::atomic<bool>& stop,
                      std::atomic<uint64_t>& received_total, std::atomic<int64_t>& target_reached_us,
                      std::atomic<uint32_t>& joined, StatsSet& stats) {
  WorkerStats& st = stats.worker(plan.index);
  bool counted_join = false;
  auto mark_joined = [&] {
    if (!counted_join) joined.fetch_add(1, std::memory_order_release);
    counted_join = true;
  };
  ConsumerOptions co;
  co.client = client_options(options, "mqperf-consumer-" + std::to_string(plan.index));
  co.group = options.group;
  co.auto_commit = true;
  co.auto_commit_interval = kGroupCommitInterval;
  auto created = Consumer::create(std::move(co));
  Status subscribed = created.is_ok() ? (*created)->subscribe(options.topic) : created.status();
  auto count_committed = [&] {
    if (plan.committed_members != nullptr) plan.committed_members->fetch_add(1, std::memory_order_release);
  };
  if (!subscribed.is_ok()) {
    st.errors.fetch_add(1, std::memory_order_relaxed);
    stats.note_error(subscribed);
    mark_joined();  // nobody waits for a consumer that cannot start
    count_committed();
    return;
  }
  std::unique_ptr<Consumer> consumer = std::move(created).value();

  while (!stop.load(std::memory_order_relaxed)) {
    if (plan.target > 0 && received_total.load(std::memory_order_relaxed) >= plan.target) break;
    const int64_t asked_us = steady_now_us();
    auto polled = consumer->poll(kPollWait);
    if (!polled.is_ok()) {
      // poll() rides out broker outages by itself; what it returns is final (a refused
      // subscription, a closed consumer).
      st.errors.fetch_add(1, std::memory_order_relaxed);
      stats.note_error(polled.status());
      break;
    }
    if (consumer->generation() != 0) mark_joined();
    if (polled->empty()) continue;
    account(plan, *polled, asked_us, st, received_total, target_reached_us);
  }
  mark_joined();
  // Commits what was received, waits (bounded) until every member has, then leaves the group. A
  // failed final commit (the broker is gone, or the partitions moved) loses no message for the
  // group: it is delivered again.
  (void)consumer->commit_sync();
  count_committed();
  if (plan.committed_members != nullptr) {
    const int64_t deadline_us = steady_now_us() + kCommitBarrierUs;
    while (plan.committed_members->load(std::memory_order_acquire) < plan.members && steady_now_us() < deadline_us) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  (void)consumer->close();
}

}  // namespace tidemq::perf
