#include "tests/reliability/rel_txn.h"

#include <fmt/format.h>

#include <charconv>
#include <chrono>
#include <memory>
#include <thread>

#include "tests/reliability/rel_history.h"
#include "tidemq/admin.h"
#include "tidemq/transaction.h"

namespace tidemq::rel {
namespace {

// "<id>:<seq>" -> seq; -1 when the body is not one of ours.
int64_t seq_of(const std::string& body) {
  const auto colon = body.rfind(':');
  uint32_t seq = 0;
  if (colon == std::string::npos) return -1;
  auto [end, ec] = std::from_chars(body.data() + colon + 1, body.data() + body.size(), seq);
  return ec == std::errc() && end == body.data() + body.size() ? int64_t{seq} : -1;
}

TxnAction local_action(uint32_t seq) {
  switch (planned_outcome(seq)) {
    case Planned::kCommit: return TxnAction::kCommit;
    case Planned::kRollback: return TxnAction::kRollback;
    case Planned::kUnknownThenCommit: return TxnAction::kUnknown;
  }
  return TxnAction::kUnknown;
}

TxnAction checked_action(uint32_t seq) {
  return planned_outcome(seq) == Planned::kRollback ? TxnAction::kRollback : TxnAction::kCommit;
}

// Waits until the broker has no open (pending or parked) transaction of the group, answering its
// checks meanwhile; gives up after `wait`. Returns the last counts seen.
std::pair<uint64_t, uint64_t> wait_resolved(const TxnArgs& a, std::chrono::seconds wait) {
  ClientOptions o;
  o.broker = a.broker;
  o.request_timeout = std::chrono::milliseconds(2000);
  std::pair<uint64_t, uint64_t> open{UINT64_MAX, UINT64_MAX};
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto admin = Admin::create(o); admin.is_ok()) {
      if (auto st = (*admin)->half_status(a.group); st.is_ok()) {
        open = {0, 0};
        for (const auto& g : st->groups) {
          if (g.producer_group == a.group) open = {g.pending, g.parked};
        }
        if (open.first == 0 && open.second == 0) return open;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // polling the broker, which may be restarting
  }
  return open;
}

}  // namespace

int run_transactions(const TxnArgs& a) {
  History history(a.history_path);
  if (!history.ok()) return fmt::print(stderr, "rel_client: cannot write {}\n", a.history_path), 1;
  TransactionalProducerOptions o;
  o.producer.client.broker = a.broker;
  o.producer.client.request_timeout = std::chrono::milliseconds(3000);
  o.producer.producer_group = a.group;
  o.producer.retries = 1'000'000;  // ride out every restart
  o.producer.retry_backoff = std::chrono::milliseconds(50);
  o.producer.delivery_timeout = std::chrono::milliseconds(30'000);
  o.max_reconnect_backoff = std::chrono::milliseconds(200);
  auto checker = make_transaction_checker([&history](const Message& half, uint64_t) {
    const int64_t seq = seq_of(half.body);
    if (seq < 0) return TxnAction::kUnknown;
    const TxnAction action = checked_action(static_cast<uint32_t>(seq));
    std::string times = "?";
    for (const auto& [key, value] : half.properties) {
      if (key == kCheckTimesProperty) times = value;
    }
    const std::string producer = half.body.substr(0, half.body.rfind(':'));  // any producer of the group answers
    history.line(fmt::format("check {} {} {} {} {}\n", seq, times, txn_action_name(action), now_ms(), producer));
    return action;
  });
  Result<std::unique_ptr<TransactionalProducer>> p = Status::unavailable("not connected yet");
  for (int attempt = 0; attempt < 200 && !p.is_ok(); ++attempt) {  // the broker may be restarting
    p = TransactionalProducer::create(o, checker);
    if (!p.is_ok()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (!p.is_ok()) return fmt::print(stderr, "rel_client: {}\n", p.status().to_string()), 1;

  const auto start = std::chrono::steady_clock::now();
  for (uint32_t seq = 0; seq < a.count; ++seq) {
    if (a.rate > 0) {
      std::this_thread::sleep_until(start + std::chrono::microseconds(static_cast<int64_t>(seq * 1e6 / a.rate)));
    }
    Message m;
    m.topic = a.topic;
    m.key = a.id;
    m.body = fmt::format("{}:{}", a.id, seq);
    history.line(fmt::format("invoke {} {}\n", seq, now_ms()));
    auto r = (*p)->send_in_transaction(std::move(m), [&history, seq](const Message&, uint64_t txn_id) {
      const TxnAction action = local_action(seq);
      history.line(fmt::format("half {} {} {}\n", seq, txn_id, now_ms()));  // decided: the end is sent next
      return action;
    });
    if (!r.is_ok()) {
      history.line(fmt::format("{} {} {}\n", failure_kind(r.status()), seq, static_cast<int>(r.status().code())));
    } else if (!r->end_status.is_ok()) {
      history.line(fmt::format("endinfo {} {}\n", seq, static_cast<int>(r->end_status.code())));
    } else {
      history.line(fmt::format("end {} {}\n", seq, txn_state_name(r->state)));
    }
  }
  auto [pending, parked] = wait_resolved(a, std::chrono::seconds(a.resolve_wait_s));
  history.line(fmt::format("open {} {}\n", pending, parked));
  (*p)->close();
  return 0;
}

}  // namespace tidemq::rel
