#pragma once
// Shared by the consumer-group client tests: an in-process broker (port 0), topic and group
// setup, producing numbered messages, and polling consumers until a condition holds.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "tests/integration/in_process_broker.h"
#include "tests/support/group_config.h"
#include "tidemq/admin.h"
#include "tidemq/consumer.h"
#include "tidemq/producer.h"

namespace tidemq::test {

using Position = std::pair<uint32_t, uint64_t>;

struct GroupFixture {
  InProcessBroker broker;

  ClientOptions client() const { return broker.client_options(); }

  void create_topic(const std::string& name, uint32_t partitions) {
    auto admin = Admin::create(client());
    REQUIRE_MESSAGE(admin.is_ok(), admin.status().to_string());
    auto r = (*admin)->update_topic({name, partitions, -1, -1});
    REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
  }

  void set_reset_policy(const std::string& group, const std::string& policy) {
    GroupSettings s;
    s.reset_policy = policy;
    auto st = update_group(client(), group, s);
    REQUIRE_MESSAGE(st.is_ok(), st.to_string());
  }

  // Sends every message of `msgs` (asynchronously: they arrive in bursts) and waits for the acks;
  // returns them in order.
  std::vector<SendResult> produce(std::vector<Message> msgs, ProducerOptions po = {}) {
    po.client = client();
    auto p = Producer::create(po);
    REQUIRE_MESSAGE(p.is_ok(), p.status().to_string());
    std::vector<SendResult> out(msgs.size());
    std::mutex mu;
    size_t failed = 0;
    for (size_t i = 0; i < msgs.size(); ++i) {
      (*p)->send_async(std::move(msgs[i]), [&, i](const Result<SendResult>& r) {
        std::lock_guard lock(mu);
        if (r.is_ok()) {
          out[i] = *r;
        } else {
          ++failed;
        }
      });
    }
    REQUIRE((*p)->flush().is_ok());
    std::lock_guard lock(mu);
    REQUIRE(failed == 0);
    return out;
  }

  // `n` messages "<prefix><i>" to `topic` (round robin), in one batch of sends.
  std::vector<SendResult> produce_n(const std::string& topic, int n, const std::string& prefix = "m",
                                    const std::function<void(Message&, int)>& shape = {}) {
    ProducerOptions po;
    po.client = client();
    auto p = Producer::create(po);
    REQUIRE_MESSAGE(p.is_ok(), p.status().to_string());
    std::vector<SendResult> out(static_cast<size_t>(n));
    std::mutex mu;
    size_t failed = 0;
    for (int i = 0; i < n; ++i) {
      Message m;
      m.topic = topic;
      m.body = fmt::format("{}{}", prefix, i);
      if (shape) shape(m, i);
      (*p)->send_async(std::move(m), [&, i](const Result<SendResult>& r) {
        std::lock_guard lock(mu);
        if (r.is_ok()) {
          out[static_cast<size_t>(i)] = *r;
        } else {
          ++failed;
        }
      });
    }
    REQUIRE((*p)->flush().is_ok());
    std::lock_guard lock(mu);
    REQUIRE(failed == 0);
    return out;
  }

  ConsumerOptions consumer_options(const std::string& group) const {
    ConsumerOptions o;
    o.client = client();
    o.group = group;
    o.max_poll_wait = std::chrono::milliseconds(200);
    return o;
  }

  std::unique_ptr<Consumer> consumer(const std::string& group, const std::string& topic,
                                     const std::string& expression = "*", ConsumerOptions o = {}) {
    if (o.group.empty()) o = consumer_options(group);
    auto c = Consumer::create(o);
    REQUIRE_MESSAGE(c.is_ok(), c.status().to_string());
    REQUIRE((*c)->subscribe(topic, expression).is_ok());
    return std::move(*c);
  }
};

// Polls every consumer in turn (short polls) until `done()` or `timeout`; each returned message
// goes to `sink(index, message)`.
inline bool poll_until(const std::vector<Consumer*>& consumers, const std::function<bool()>& done,
                       const std::function<void(size_t, const Message&)>& sink,
                       std::chrono::seconds timeout = std::chrono::seconds(30)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    for (size_t i = 0; i < consumers.size(); ++i) {
      auto r = consumers[i]->poll(std::chrono::milliseconds(50));
      REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
      for (const auto& m : *r) sink(i, m);
    }
  }
  return true;
}

inline std::set<Position> positions_of(const std::vector<SendResult>& acks) {
  std::set<Position> out;
  for (const auto& a : acks) out.emplace(a.partition, a.offset);
  return out;
}

}  // namespace tidemq::test
