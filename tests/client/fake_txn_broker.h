#pragma once
// FakeTxnBroker: a scripted stand-in for the broker's transaction side, so the client's
// TransactionalProducer is tested over a real TCP connection without the broker's handlers. It
// answers Hello (worker id 7; records client kind and producer group), TopicStatus (4 partitions;
// TOPIC_NOT_FOUND for "missing"), BrokerStatus (the heartbeat), SendHalf (keeps the one record;
// a repeated txn id is answered again without a second copy) and EndTransaction (the first
// COMMIT/ROLLBACK wins; NOT_FOUND for an unknown txn), and lets a test send CheckTransaction
// requests (correlation ids with the high bit set) and wait for the answers. Knobs: answer the
// next requests of a kind with an error, or not at all; close every connection.
//
// One I/O thread (asio); the test thread uses the public methods, all thread-safe.
#include <array>
#include <asio.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/framing.h"
#include "common/record_batch.h"
#include "schemas/envelope_generated.h"

namespace tidemq::test {

class FakeTxnBroker {
 public:
  struct HelloSeen {
    std::string client_id;
    wire::ClientKind kind = wire::ClientKind::ADMIN;
    std::string producer_group;
    size_t connection = 0;  // index of the connection it came on
  };
  struct Half {
    std::string topic;
    uint32_t partition = 0;
    uint32_t check_immunity_ms = 0;
    uint32_t sends = 0;        // SendHalf requests for this txn (retries included)
    std::vector<bool> first_attempt;  // each SendHalf's flag, in order
    uint32_t record_count = 0;
    uint64_t record_id = 0;
    std::string body;
    std::optional<wire::TxnState> outcome;  // COMMITTED / ROLLED_BACK once ended
    std::vector<wire::TxnAction> ends;      // every EndTransaction action received
    uint64_t offset = 0;
  };
  struct CheckAnswer {
    uint64_t txn_id = 0;
    wire::TxnAction action = wire::TxnAction::UNKNOWN;
    size_t connection = 0;
  };

  FakeTxnBroker() : acceptor_(io_, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    port_ = acceptor_.local_endpoint().port();
    accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~FakeTxnBroker() {
    asio::post(io_, [this] {
      asio::error_code ignored;
      acceptor_.close(ignored);
      for (auto& c : conns_) c->socket.close(ignored);
    });
    work_.reset();
    io_.stop();
    thread_.join();
  }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  std::vector<HelloSeen> hellos() {
    std::lock_guard lock(mu_);
    return hellos_;
  }
  std::map<uint64_t, Half> halves() {
    std::lock_guard lock(mu_);
    return halves_;
  }
  // Requests of kind `type` received so far (Hello included).
  size_t received(wire::Body type) {
    std::lock_guard lock(mu_);
    return received_[type];
  }
  // The next `n` requests of kind `type` get `code` as their envelope error.
  void fail_next(wire::Body type, wire::ErrorCode code, int n = 1) {
    std::lock_guard lock(mu_);
    for (int i = 0; i < n; ++i) script_[type].push_back(code);
  }
  // The next `n` requests of kind `type` are handled but not answered (the client times out).
  void drop_next(wire::Body type, int n = 1) { fail_next(type, kDrop, n); }

  // Sends a CheckTransactionRequest for `txn_id` on connection `connection` (default: the newest
  // live one); returns its correlation id (high bit set).
  uint64_t send_check(uint64_t txn_id, uint32_t check_count, std::optional<size_t> connection = std::nullopt) {
    uint64_t corr = 0;
    std::string payload;
    {
      std::lock_guard lock(mu_);
      corr = (uint64_t{1} << 63) | next_check_id_++;
      flatbuffers::FlatBufferBuilder fbb;
      auto it = halves_.find(txn_id);
      flatbuffers::Offset<wire::MessageView> view;
      if (it != halves_.end()) {
        auto body = fbb.CreateVector(reinterpret_cast<const uint8_t*>(it->second.body.data()), it->second.body.size());
        view = wire::CreateMessageView(fbb, fbb.CreateString(it->second.topic), it->second.partition, 0, txn_id, 0, 0, 0,
                                       body);
      }
      auto req = wire::CreateCheckTransactionRequest(fbb, txn_id, fbb.CreateString("fake-group"), view, check_count);
      fbb.Finish(wire::CreateEnvelope(fbb, corr, wire::Body::CheckTransactionRequest, req.Union()));
      payload.assign(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
    }
    asio::post(io_, [this, payload = std::move(payload), connection] {
      std::shared_ptr<Conn> target;
      if (connection) {
        if (*connection < conns_.size()) target = conns_[*connection];
      } else {
        for (auto it = conns_.rbegin(); it != conns_.rend(); ++it) {
          if ((*it)->socket.is_open()) {
            target = *it;
            break;
          }
        }
      }
      if (target && target->socket.is_open()) write(target, payload);
    });
    return corr;
  }

  // The answer to check `corr`, once it arrived (nullopt after `timeout`).
  std::optional<CheckAnswer> wait_answer(uint64_t corr, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return answers_.count(corr) > 0; })) return std::nullopt;
    return answers_[corr];
  }
  size_t answers() {
    std::lock_guard lock(mu_);
    return answers_.size();
  }

  // Waits until `hellos` Hellos have arrived and `live` connections that said Hello are open.
  bool wait_hellos(size_t hellos, size_t live, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return hellos_.size() >= hellos && live_ == live; });
  }
  // Waits until `n` requests of kind `type` have arrived.
  bool wait_received(wire::Body type, size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return received_[type] >= n; });
  }
  // Connections whose Hello arrived (and which are still open).
  size_t live_connections() {
    std::lock_guard lock(mu_);
    return live_;
  }
  // Frames that failed verification, and SendHalf batches that did not parse.
  size_t bad_frames() {
    std::lock_guard lock(mu_);
    return bad_frames_;
  }

  // Closes every connection, as a broker restart would.
  void close_connections() {
    std::promise<void> done;
    asio::post(io_, [this, &done] {
      asio::error_code ignored;
      for (auto& c : conns_) {
        c->socket.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
        c->socket.close(ignored);
      }
      done.set_value();
    });
    done.get_future().wait();
  }

 private:
  static constexpr wire::ErrorCode kDrop = static_cast<wire::ErrorCode>(0xffff);

  struct Conn {
    explicit Conn(asio::io_context& io, size_t i) : socket(io), index(i) {}
    asio::ip::tcp::socket socket;
    size_t index;
    framing::FrameDecoder decoder;
    std::array<char, 64 * 1024> buf;
    std::deque<std::string> out;  // framed
    bool writing = false;
    bool hello = false;
  };

  void accept() {
    auto c = std::make_shared<Conn>(io_, conns_.size());
    acceptor_.async_accept(c->socket, [this, c](const asio::error_code& ec) {
      if (ec) return;
      conns_.push_back(c);
      c->index = conns_.size() - 1;
      read(c);
      accept();
    });
  }

  void read(const std::shared_ptr<Conn>& c) {
    c->socket.async_read_some(asio::buffer(c->buf), [this, c](const asio::error_code& ec, size_t n) {
      if (ec) {
        lost(c);
        return;
      }
      if (!c->decoder.feed(std::string_view(c->buf.data(), n)).is_ok()) {
        lost(c);
        return;
      }
      while (auto payload = c->decoder.next()) handle(c, *payload);
      read(c);
    });
  }

  void lost(const std::shared_ptr<Conn>& c) {
    asio::error_code ignored;
    c->socket.close(ignored);
    std::lock_guard lock(mu_);
    if (c->hello) {
      c->hello = false;
      --live_;
    }
    cv_.notify_all();
  }

  void write(const std::shared_ptr<Conn>& c, const std::string& payload) {
    c->out.push_back(framing::encode_frame(payload));
    if (!c->writing) write_next(c);
  }
  void write_next(const std::shared_ptr<Conn>& c) {
    if (c->out.empty()) {
      c->writing = false;
      return;
    }
    c->writing = true;
    asio::async_write(c->socket, asio::buffer(c->out.front()), [this, c](const asio::error_code& ec, size_t) {
      c->out.pop_front();
      if (ec) {
        c->writing = false;
        return;
      }
      write_next(c);
    });
  }

  template <typename Make>
  void reply(const std::shared_ptr<Conn>& c, uint64_t corr, wire::Body type, Make make) {
    if (!c) return;
    flatbuffers::FlatBufferBuilder fbb;
    auto body = make(fbb);
    fbb.Finish(wire::CreateEnvelope(fbb, corr, type, body));
    write(c, std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize()));
  }
  void reply_error(const std::shared_ptr<Conn>& c, uint64_t corr, wire::ErrorCode code) {
    if (!c) return;
    flatbuffers::FlatBufferBuilder fbb;
    fbb.Finish(wire::CreateEnvelope(fbb, corr, wire::Body::NONE, 0, code, fbb.CreateString("scripted error")));
    write(c, std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize()));
  }

  void handle(const std::shared_ptr<Conn>& c, const std::string& payload) {
    flatbuffers::Verifier v(reinterpret_cast<const uint8_t*>(payload.data()), payload.size());
    if (!wire::VerifyEnvelopeBuffer(v)) {  // the tests check bad_frames() == 0 where it matters
      std::lock_guard lock(mu_);
      ++bad_frames_;
      return;
    }
    const wire::Envelope* env = wire::GetEnvelope(payload.data());
    const uint64_t corr = env->correlation_id();
    const wire::Body type = env->body_type();
    std::optional<wire::ErrorCode> scripted;
    std::unique_lock lock(mu_);
    ++received_[type];
    if (auto it = script_.find(type); it != script_.end() && !it->second.empty()) {
      scripted = it->second.front();
      it->second.pop_front();
    }
    cv_.notify_all();
    switch (type) {
      case wire::Body::HelloRequest: {
        const auto* h = env->body_as_HelloRequest();
        hellos_.push_back({h->client_id() ? h->client_id()->str() : "", h->client_kind(),
                           h->producer_group() ? h->producer_group()->str() : "", c->index});
        c->hello = true;
        ++live_;
        lock.unlock();
        reply(c, corr, wire::Body::HelloResponse, [](auto& fbb) {
          return wire::CreateHelloResponse(fbb, fbb.CreateString("fake"), 1, 7, 16u << 20, 4u << 20,
                                           fbb.CreateString("sync"))
              .Union();
        });
        return;
      }
      case wire::Body::CheckTransactionResponse: {
        const auto* a = env->body_as_CheckTransactionResponse();
        answers_[corr] = CheckAnswer{a->txn_id(), a->action(), c->index};
        cv_.notify_all();
        return;
      }
      default: break;
    }
    if (scripted && *scripted != kDrop) {
      lock.unlock();
      reply_error(c, corr, *scripted);
      return;
    }
    // Dropped: handled as usual, but the answer goes nowhere.
    const std::shared_ptr<Conn> to = scripted ? nullptr : c;
    switch (type) {
      case wire::Body::TopicStatusRequest: {
        const std::string name = env->body_as_TopicStatusRequest()->name()->str();
        lock.unlock();
        if (name == "missing") return reply_error(to, corr, wire::ErrorCode::TOPIC_NOT_FOUND);
        reply(to, corr, wire::Body::TopicStatusResponse, [&](auto& fbb) {
          auto config = wire::CreateTopicConfigDirect(fbb, name.c_str(), 4);
          return wire::CreateTopicStatusResponse(fbb, config).Union();
        });
        return;
      }
      case wire::Body::BrokerStatusRequest: {
        lock.unlock();
        reply(to, corr, wire::Body::BrokerStatusResponse,
              [](auto& fbb) { return wire::CreateBrokerStatusResponse(fbb).Union(); });
        return;
      }
      case wire::Body::SendHalfRequest: {
        auto id = store_half(*env->body_as_SendHalfRequest());
        cv_.notify_all();
        lock.unlock();
        if (!id) return reply_error(to, corr, wire::ErrorCode::CORRUPT_MESSAGE);
        reply(to, corr, wire::Body::SendHalfResponse,
              [&](auto& fbb) { return wire::CreateSendHalfResponse(fbb, *id, kStoreMs).Union(); });
        return;
      }
      case wire::Body::SendHalfBatchRequest: {
        std::vector<std::optional<uint64_t>> ids;
        for (const wire::SendHalfRequest* r : *env->body_as_SendHalfBatchRequest()->halves()) ids.push_back(store_half(*r));
        cv_.notify_all();
        lock.unlock();
        reply(to, corr, wire::Body::SendHalfBatchResponse, [&](auto& fbb) {
          std::vector<flatbuffers::Offset<wire::SendHalfResult>> results;
          for (const auto& id : ids) {
            results.push_back(id ? wire::CreateSendHalfResult(fbb, wire::ErrorCode::NONE, 0, *id, kStoreMs)
                                 : wire::CreateSendHalfResult(fbb, wire::ErrorCode::CORRUPT_MESSAGE));
          }
          return wire::CreateSendHalfBatchResponse(fbb, fbb.CreateVector(results)).Union();
        });
        return;
      }
      case wire::Body::EndTransactionRequest: {
        auto half = end_half(*env->body_as_EndTransactionRequest());
        cv_.notify_all();
        lock.unlock();
        if (!half) return reply_error(to, corr, wire::ErrorCode::NOT_FOUND);
        reply(to, corr, wire::Body::EndTransactionResponse, [&](auto& fbb) {
          return wire::CreateEndTransactionResponseDirect(fbb, half->outcome.value_or(wire::TxnState::PENDING),
                                                          half->topic.c_str(), half->partition, half->offset)
              .Union();
        });
        return;
      }
      case wire::Body::EndTransactionBatchRequest: {
        std::vector<std::optional<Half>> ended;
        for (const wire::EndTransactionRequest* r : *env->body_as_EndTransactionBatchRequest()->ends()) {
          ended.push_back(end_half(*r));
        }
        cv_.notify_all();
        lock.unlock();
        reply(to, corr, wire::Body::EndTransactionBatchResponse, [&](auto& fbb) {
          std::vector<flatbuffers::Offset<wire::EndTransactionResult>> results;
          for (const auto& h : ended) {
            results.push_back(h ? wire::CreateEndTransactionResultDirect(
                                      fbb, wire::ErrorCode::NONE, nullptr, h->outcome.value_or(wire::TxnState::PENDING),
                                      h->topic.c_str(), h->partition, h->offset)
                                : wire::CreateEndTransactionResult(fbb, wire::ErrorCode::NOT_FOUND));
          }
          return wire::CreateEndTransactionBatchResponse(fbb, fbb.CreateVector(results)).Union();
        });
        return;
      }
      default:
        lock.unlock();
        reply_error(to, corr, wire::ErrorCode::UNSUPPORTED);
        return;
    }
  }

  static constexpr uint64_t kStoreMs = 1'767'225'600'000;

  // A SendHalf (alone or in a batch): recorded; its txn id, or nullopt for a corrupt batch.
  std::optional<uint64_t> store_half(const wire::SendHalfRequest& r) {
    std::string batch(reinterpret_cast<const char*>(r.records()->data()), r.records()->size());
    uint64_t id = 0;
    uint32_t count = 0;
    std::string body;
    if (!record::for_each_record(batch, [&](const record::RecordView& rec) {
           id = rec.id;
           body = rec.body;
           ++count;
         }).is_ok()) {
      ++bad_frames_;
      return std::nullopt;
    }
    Half& h = halves_[id];
    ++h.sends;
    h.first_attempt.push_back(r.first_attempt());
    h.topic = r.topic()->str();
    h.partition = r.partition();
    h.check_immunity_ms = r.check_immunity_ms();
    h.record_count = count;
    h.record_id = id;
    h.body = body;
    return id;
  }
  // An EndTransaction (alone or in a batch): the first COMMIT/ROLLBACK wins; the half after it,
  // or nullopt for an unknown txn id.
  std::optional<Half> end_half(const wire::EndTransactionRequest& r) {
    auto it = halves_.find(r.txn_id());
    if (it == halves_.end()) return std::nullopt;
    Half& h = it->second;
    h.ends.push_back(r.action());
    if (!h.outcome && r.action() == wire::TxnAction::COMMIT) {
      h.outcome = wire::TxnState::COMMITTED;
      h.offset = next_offset_++;
    } else if (!h.outcome && r.action() == wire::TxnAction::ROLLBACK) {
      h.outcome = wire::TxnState::ROLLED_BACK;
    }
    return h;
  }

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
  asio::ip::tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::vector<std::shared_ptr<Conn>> conns_;  // I/O thread only
  std::thread thread_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<HelloSeen> hellos_;
  std::map<uint64_t, Half> halves_;
  std::map<wire::Body, size_t> received_;
  std::map<wire::Body, std::deque<wire::ErrorCode>> script_;
  std::map<uint64_t, CheckAnswer> answers_;
  uint64_t next_check_id_ = 1;
  uint64_t next_offset_ = 0;
  size_t live_ = 0;
  size_t bad_frames_ = 0;
};

}  // namespace tidemq::test
