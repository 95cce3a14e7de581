// The client library against a real mqbroker child process (port 0): batching, ordering and
// idempotent retries across a kill -9, selectors end to end, reader long poll, error values.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "tests/support/broker_process.h"
#include "tests/support/read_all.h"
#include "tests/support/temp_dir.h"
#include "tidemq/admin.h"
#include "tidemq/producer.h"
#include "tidemq/reader.h"

using namespace tidemq;
using namespace std::chrono_literals;

namespace {

ClientOptions options_for(const test::BrokerProcess& b) {
  ClientOptions o;
  o.broker = b.address();
  o.connect_timeout = 2000ms;
  o.request_timeout = 5000ms;
  return o;
}

struct Fixture {
  test::TempDir dir;
  test::BrokerProcess broker{dir.str(), {"--flush", "async"}};
  Fixture() { REQUIRE_MESSAGE(broker.start(), broker.error()); }

  void create_topic(const std::string& name, uint32_t partitions) {
    auto admin = Admin::create(options_for(broker));
    REQUIRE_MESSAGE(admin.is_ok(), admin.status().to_string());
    auto r = (*admin)->update_topic({name, partitions, -1, -1});
    REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
  }

  std::vector<Message> read_all(const std::string& topic) { return test::read_all(options_for(broker), topic); }
};

// "m<i>" (built without `"m" + std::to_string(i)`, on which GCC 12 warns falsely).
std::string body_of(uint64_t i) {
  std::string b = "m";
  b += std::to_string(i);
  return b;
}

// Collects send_async outcomes.
struct Outcomes {
  std::mutex mu;
  std::condition_variable cv;
  std::map<uint64_t, SendResult> ok;  // by message number
  std::map<uint64_t, Status> failed;
  size_t done() {
    std::lock_guard lock(mu);
    return ok.size() + failed.size();
  }
  Producer::SendCallback callback(uint64_t n) {
    return [this, n](const Result<SendResult>& r) {
      std::lock_guard lock(mu);
      if (r.is_ok()) {
        ok.emplace(n, *r);
      } else {
        failed.emplace(n, r.status());
      }
      cv.notify_all();
    };
  }
  bool wait_for(size_t n, std::chrono::seconds timeout) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, timeout, [&] { return ok.size() + failed.size() >= n; });
  }
};

// Every stored message body is "m<n>"; checks each n appears once and, per partition, in
// increasing n (the order they were sent by one thread).
void check_log(const std::vector<Message>& log, size_t expected) {
  std::set<uint64_t> seen_ids;
  std::set<uint64_t> seen_n;
  std::map<int32_t, uint64_t> last_n;
  std::map<int32_t, uint64_t> next_offset;
  for (const auto& m : log) {
    uint64_t n = std::stoull(m.body.substr(1));
    CHECK_MESSAGE(seen_ids.insert(m.id).second, "id stored twice: " << format_message_id(m.id));
    CHECK_MESSAGE(seen_n.insert(n).second, "message stored twice: " << n);
    auto it = last_n.find(m.partition);
    if (it != last_n.end()) CHECK_MESSAGE(n > it->second, "partition " << m.partition << " out of order");
    last_n[m.partition] = n;
    CHECK(m.offset == next_offset[m.partition]++);  // contiguous offsets
  }
  CHECK(seen_n.size() == expected);
}

}  // namespace

TEST_CASE("batched send_async: all acked once, ids kept, per-partition order, offsets contiguous") {
  Fixture f;
  f.create_topic("batched", 4);
  ProducerOptions po;
  po.client = options_for(f.broker);
  po.linger = 1ms;
  po.max_batch_bytes = 16 * 1024;
  po.max_inflight_requests = 8;
  auto producer = Producer::create(po);
  REQUIRE_MESSAGE(producer.is_ok(), producer.status().to_string());
  const size_t n = 20000;
  Outcomes out;
  std::vector<uint64_t> ids(n, 0);
  for (size_t i = 0; i < n; ++i) {
    Message m;
    m.topic = "batched";
    m.body = body_of(i);
    m.body.resize(200, 'x');
    (*producer)->send_async(std::move(m), out.callback(i));
  }
  REQUIRE((*producer)->flush(30000ms).is_ok());
  CHECK(out.done() == n);  // flush waits for the callbacks
  CHECK(out.failed.empty());
  std::set<uint64_t> unique_ids;
  for (auto& [i, r] : out.ok) unique_ids.insert(r.id);
  CHECK(unique_ids.size() == n);
  auto count = (*producer)->partition_count("batched");
  REQUIRE(count.is_ok());
  CHECK(*count == 4);
  (*producer)->close();

  auto log = f.read_all("batched");
  for (auto& m : log) m.body.resize(m.body.find('x'));
  check_log(log, n);
  for (const auto& m : log) {
    uint64_t i = std::stoull(m.body.substr(1));
    CHECK(out.ok[i].id == m.id);
    CHECK(out.ok[i].offset == m.offset);
    CHECK(static_cast<int32_t>(out.ok[i].partition) == m.partition);
  }
}

TEST_CASE("kill -9 and restart mid-stream: retries keep ids, nothing duplicated, order kept") {
  Fixture f;
  f.create_topic("restart", 3);
  const uint16_t port = f.broker.port();
  ProducerOptions po;
  po.client = options_for(f.broker);
  po.linger = 500us;
  po.max_batch_bytes = 4096;
  po.max_inflight_requests = 16;
  po.retry_backoff = 50ms;
  po.retries = 1000;
  po.delivery_timeout = 60000ms;
  auto producer = Producer::create(po);
  REQUIRE_MESSAGE(producer.is_ok(), producer.status().to_string());
  const size_t n = 30000;
  Outcomes out;
  std::thread sender([&] {
    for (size_t i = 0; i < n; ++i) {
      Message m;
      m.topic = "restart";
      m.body = body_of(i);
      (*producer)->send_async(std::move(m), out.callback(i));
    }
  });
  REQUIRE(out.wait_for(n / 3, 60s));
  f.broker.kill9();
  REQUIRE_MESSAGE(f.broker.start(port), f.broker.error());
  sender.join();
  REQUIRE(out.wait_for(n, 60s));
  CHECK(out.failed.empty());
  if (!out.failed.empty()) MESSAGE("first failure: " << out.failed.begin()->second.to_string());
  (*producer)->close();
  auto log = f.read_all("restart");
  check_log(log, out.ok.size());
  for (const auto& m : log) {
    uint64_t i = std::stoull(m.body.substr(1));
    auto it = out.ok.find(i);
    if (it == out.ok.end()) continue;
    CHECK(it->second.id == m.id);  // the id assigned before the first attempt
    CHECK(it->second.offset == m.offset);
  }
}

TEST_CASE("hash selector: one key, one partition, in order; weighted selector honours zero weight") {
  Fixture f;
  f.create_topic("keys", 4);
  ProducerOptions po;
  po.client = options_for(f.broker);
  po.selector = SelectorKind::kHash;
  auto producer = Producer::create(po);
  REQUIRE(producer.is_ok());
  std::map<std::string, std::set<uint32_t>> partitions_of;
  for (int i = 0; i < 200; ++i) {
    Message m;
    m.topic = "keys";
    m.key = "user-";
    m.key += std::to_string(i % 7);
    m.body = body_of(i);
    auto r = (*producer)->send(m);
    REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
    partitions_of[m.key].insert(r->partition);
  }
  for (auto& [key, parts] : partitions_of) CHECK_MESSAGE(parts.size() == 1, key);

  ProducerOptions wo = po;
  wo.selector = SelectorKind::kWeightedRoundRobin;
  wo.weights = {0, 1, 1, 2};
  auto weighted = Producer::create(wo);
  REQUIRE(weighted.is_ok());
  std::map<uint32_t, int> counts;
  for (int i = 0; i < 40; ++i) {
    Message m;
    m.topic = "keys";
    m.body = "w";
    auto r = (*weighted)->send(m);
    REQUIRE(r.is_ok());
    ++counts[r->partition];
  }
  CHECK(counts[0] == 0);
  CHECK(counts[1] == 10);
  CHECK(counts[2] == 10);
  CHECK(counts[3] == 20);
}

TEST_CASE("one message per request with 1000 in flight") {
  Fixture f;
  f.create_topic("single", 4);
  ProducerOptions po;
  po.client = options_for(f.broker);
  po.linger = 0us;
  po.max_batch_bytes = 1;  // every message closes its batch
  po.max_inflight_requests = 1000;
  auto producer = Producer::create(po);
  REQUIRE(producer.is_ok());
  const size_t n = 20000;
  Outcomes out;
  auto start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < n; ++i) {
    Message m;
    m.topic = "single";
    m.body = body_of(i);
    (*producer)->send_async(std::move(m), out.callback(i));
  }
  REQUIRE((*producer)->flush(60000ms).is_ok());
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  MESSAGE("one message per request: " << static_cast<int>(n / secs) << " msg/s (informational)");
  CHECK(out.failed.empty());
  CHECK(out.ok.size() == n);
  (*producer)->close();
  check_log(f.read_all("single"), n);
}

TEST_CASE("reader: long poll wakes up on a new message; fetch positions") {
  Fixture f;
  f.create_topic("poll", 1);
  auto reader = PartitionReader::create(options_for(f.broker), "poll");
  REQUIRE(reader.is_ok());
  CHECK((*reader)->partition_count() == 1);
  (*reader)->assign(0, 0);
  std::thread late([&] {
    std::this_thread::sleep_for(200ms);  // the point of the test: data arrives during the poll
    ProducerOptions po;
    po.client = options_for(f.broker);
    auto p = Producer::create(po);
    REQUIRE(p.is_ok());
    Message m;
    m.topic = "poll";
    m.body = "late";
    CHECK((*p)->send(m).is_ok());
  });
  auto start = std::chrono::steady_clock::now();
  auto got = (*reader)->poll(10000ms);
  auto waited = std::chrono::steady_clock::now() - start;
  late.join();
  REQUIRE_MESSAGE(got.is_ok(), got.status().to_string());
  REQUIRE(got->size() == 1);
  CHECK(got->front().body == "late");
  CHECK(waited < 5000ms);
  CHECK((*reader)->positions().at(0) == 1);
  auto empty = (*reader)->fetch(0, 1, 50ms);
  REQUIRE(empty.is_ok());
  CHECK(empty->messages.empty());
  CHECK(empty->next_offset == 1);
  CHECK(empty->end_offset == 1);
}

TEST_CASE("errors are values: unreachable broker, unknown topic, bad partition, oversize, closed") {
  Fixture f;
  f.create_topic("errs", 2);
  {
    ClientOptions bad;
    bad.broker = "127.0.0.1:1";  // nothing listens there
    bad.connect_timeout = 1000ms;
    ProducerOptions po;
    po.client = bad;
    auto p = Producer::create(po);
    REQUIRE(!p.is_ok());
    CHECK(p.status().code() == StatusCode::kUnavailable);
    CHECK(PartitionReader::create(bad, "errs").status().code() == StatusCode::kUnavailable);
  }
  ProducerOptions po;
  po.client = options_for(f.broker);
  auto producer = Producer::create(po);
  REQUIRE(producer.is_ok());
  Message m;
  m.topic = "no-such-topic";
  m.body = "x";
  CHECK((*producer)->send(m).status().code() == StatusCode::kTopicNotFound);
  CHECK((*producer)->partition_count("no-such-topic").status().code() == StatusCode::kTopicNotFound);
  CHECK(PartitionReader::create(options_for(f.broker), "no-such-topic").status().code() == StatusCode::kTopicNotFound);
  m.topic = "errs";
  m.partition = 7;
  CHECK((*producer)->send(m).status().code() == StatusCode::kInvalidPartition);
  m.partition = -1;
  m.body.assign(5u << 20, 'b');
  CHECK((*producer)->send(m).status().code() == StatusCode::kMessageTooLarge);
  m.body = "fine";
  CHECK((*producer)->send(m).is_ok());
  (*producer)->close();
  (*producer)->close();  // idempotent
  CHECK((*producer)->send(m).status().code() == StatusCode::kShuttingDown);

  auto admin = Admin::create(options_for(f.broker));
  REQUIRE(admin.is_ok());
  CHECK((*admin)->topic_status("nope").status().code() == StatusCode::kTopicNotFound);
  CHECK((*admin)->query_by_offset("errs", 0, 999).status().code() != StatusCode::kOk);
  auto bs = (*admin)->broker_status();
  REQUIRE_MESSAGE(bs.is_ok(), bs.status().to_string());
  CHECK(bs->flush_mode == "async");
}
