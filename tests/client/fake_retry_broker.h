#pragma once
// FakeRetryBroker: a scripted stand-in for the broker's produce, consumer-group and SendBack
// sides, so the client's scheduled messages and retries (SPEC §7) are tested over a real TCP
// connection without the broker's delay store or SendBack handler. It answers:
// - Hello (worker id 7), TopicStatus (`partitions` per topic, default 4), BrokerStatus;
// - Produce: records every PartitionBatch it receives (also retries) and acks it — `scheduled`
//   with base offset 0 when deliver_at_ms is in the future, else appended to an in-memory log;
// - JoinGroup / Heartbeat (member "m-1", generation 1, every partition of every subscribed topic
//   that has a partition count), LeaveGroup, FetchOffsets (the committed offset, else 0),
//   CommitOffsets (recorded), group Fetch (from the log; an empty answer is held up to 50 ms);
// - SendBack: recorded (the records decoded), answered with %RETRY%<group> (or %DLQ%<group> with
//   to_dlq) and reconsume_times + 1.
// Knobs: answer the next requests of a kind with an error, or not at all (such a request is
// still recorded, and a produced batch still stored, as if the answer were lost).
//
// One I/O thread (asio); the test thread uses the public methods, all thread-safe.
#include <array>
#include <asio.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/framing.h"
#include "common/record_batch.h"
#include "schemas/envelope_generated.h"

namespace tidemq::test {

// A record as the fake broker decoded it.
struct FakeRecord {
  uint64_t id = 0;
  uint64_t born_ms = 0;
  uint32_t reconsume_times = 0;
  std::string key;
  std::string tags;
  std::vector<std::pair<std::string, std::string>> properties;
  std::string body;
};

inline std::vector<FakeRecord> decode_records(std::string_view batch, record::BatchHeader* header = nullptr) {
  std::vector<FakeRecord> out;
  if (header) {
    auto h = record::parse_header(batch);
    if (h.is_ok()) *header = *h;
  }
  (void)record::for_each_record(batch, [&](const record::RecordView& r) {
    FakeRecord f;
    f.id = r.id;
    f.born_ms = r.born_ms;
    f.reconsume_times = r.reconsume_times;
    f.key = r.key;
    f.tags = r.tags;
    for (const auto& [k, v] : r.properties) f.properties.emplace_back(std::string(k), std::string(v));
    f.body = r.body;
    out.push_back(std::move(f));
  });
  return out;
}

class FakeRetryBroker {
 public:
  struct ProducedBatch {
    std::string topic;
    uint32_t partition = 0;
    uint64_t deliver_at_ms = 0;
    uint64_t producer_id = 0;
    uint32_t base_sequence = 0;
    std::vector<FakeRecord> records;
  };
  struct SentBack {
    std::string group;
    std::string topic;
    bool to_dlq = false;
    record::BatchHeader header;
    std::vector<FakeRecord> records;
  };
  using TP = std::pair<std::string, uint32_t>;

  FakeRetryBroker() : acceptor_(io_, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    port_ = acceptor_.local_endpoint().port();
    accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~FakeRetryBroker() {
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

  // Partition count of `topic` (TopicStatus, group assignment). Unset topics: 4 for TopicStatus,
  // not assigned to a group.
  void set_partitions(const std::string& topic, uint32_t n) {
    std::lock_guard lock(mu_);
    partitions_[topic] = n;
  }
  // Appends records (ids, bodies; optional properties and reconsume_times) to a partition's log.
  void append(const std::string& topic, uint32_t partition, const std::vector<FakeRecord>& recs) {
    record::BatchBuilder b;
    for (const auto& r : recs) {
      record::RecordInput in;
      in.id = r.id;
      in.born_ms = r.born_ms;
      in.reconsume_times = r.reconsume_times;
      in.key = r.key;
      in.tags = r.tags;
      in.properties = &r.properties;
      in.body = r.body;
      b.add(in);
    }
    std::lock_guard lock(mu_);
    auto& log = logs_[TP{topic, partition}];
    std::string batch = b.finish(0, 0);
    record::stamp(batch, log.end, kStoreMs);
    log.end += recs.size();
    log.batches.push_back(std::move(batch));
  }

  std::vector<ProducedBatch> produced() {
    std::lock_guard lock(mu_);
    return produced_;
  }
  std::vector<SentBack> sent_back() {
    std::lock_guard lock(mu_);
    return sent_back_;
  }
  std::vector<std::pair<std::string, std::string>> subscriptions() {
    std::lock_guard lock(mu_);
    return subscriptions_;
  }
  // The last committed offset of a partition, if any.
  std::optional<uint64_t> committed(const std::string& topic, uint32_t partition) {
    std::lock_guard lock(mu_);
    auto it = committed_.find(TP{topic, partition});
    if (it == committed_.end()) return std::nullopt;
    return it->second;
  }
  size_t received(wire::Body type) {
    std::lock_guard lock(mu_);
    return received_[type];
  }
  void fail_next(wire::Body type, wire::ErrorCode code, int n = 1) {
    std::lock_guard lock(mu_);
    for (int i = 0; i < n; ++i) script_[type].push_back(code);
  }
  void drop_next(wire::Body type, int n = 1) { fail_next(type, kDrop, n); }

  bool wait_produced(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return produced_.size() >= n; });
  }
  bool wait_sent_back(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return sent_back_.size() >= n; });
  }
  bool wait_received(wire::Body type, size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return received_[type] >= n; });
  }
  bool wait_committed(const std::string& topic, uint32_t partition, uint64_t offset,
                      std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] {
      auto it = committed_.find(TP{topic, partition});
      return it != committed_.end() && it->second >= offset;
    });
  }

 private:
  static constexpr wire::ErrorCode kDrop = static_cast<wire::ErrorCode>(0xffff);
  static constexpr uint64_t kStoreMs = 1'767'225'600'000;

  struct Log {
    uint64_t end = 0;
    std::vector<std::string> batches;
  };
  struct Conn {
    explicit Conn(asio::io_context& io) : socket(io) {}
    asio::ip::tcp::socket socket;
    framing::FrameDecoder decoder;
    std::array<char, 64 * 1024> buf;
    std::deque<std::string> out;
    bool writing = false;
  };

  void accept() {
    auto c = std::make_shared<Conn>(io_);
    acceptor_.async_accept(c->socket, [this, c](const asio::error_code& ec) {
      if (ec) return;
      conns_.push_back(c);
      read(c);
      accept();
    });
  }
  void read(const std::shared_ptr<Conn>& c) {
    c->socket.async_read_some(asio::buffer(c->buf), [this, c](const asio::error_code& ec, size_t n) {
      if (ec) return;
      if (!c->decoder.feed(std::string_view(c->buf.data(), n)).is_ok()) return;
      while (auto payload = c->decoder.next()) handle(c, *payload);
      read(c);
    });
  }
  void write(const std::shared_ptr<Conn>& c, std::string payload) {
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
  std::string finish(flatbuffers::FlatBufferBuilder& fbb, uint64_t corr, wire::Body type, flatbuffers::Offset<void> body) {
    fbb.Finish(wire::CreateEnvelope(fbb, corr, type, body));
    return std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
  }
  std::string error_frame(uint64_t corr, wire::ErrorCode code) {
    flatbuffers::FlatBufferBuilder fbb;
    fbb.Finish(wire::CreateEnvelope(fbb, corr, wire::Body::NONE, 0, code, fbb.CreateString("scripted error")));
    return std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
  }

  flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<wire::TopicAssignment>>> assignment(
      flatbuffers::FlatBufferBuilder& fbb) {
    std::vector<flatbuffers::Offset<wire::TopicAssignment>> out;
    for (const auto& [topic, expr] : subscriptions_) {
      auto it = partitions_.find(topic);
      if (it == partitions_.end()) continue;
      std::vector<uint32_t> parts;
      for (uint32_t p = 0; p < it->second; ++p) parts.push_back(p);
      out.push_back(wire::CreateTopicAssignmentDirect(fbb, topic.c_str(), &parts));
    }
    return fbb.CreateVector(out);
  }

  void handle(const std::shared_ptr<Conn>& c, const std::string& payload) {
    flatbuffers::Verifier v(reinterpret_cast<const uint8_t*>(payload.data()), payload.size());
    if (!wire::VerifyEnvelopeBuffer(v)) return;
    const wire::Envelope* env = wire::GetEnvelope(payload.data());
    const uint64_t corr = env->correlation_id();
    const wire::Body type = env->body_type();
    std::optional<wire::ErrorCode> scripted;
    std::string reply;
    std::chrono::milliseconds hold{0};
    {
      std::lock_guard lock(mu_);
      ++received_[type];
      if (auto it = script_.find(type); it != script_.end() && !it->second.empty()) {
        scripted = it->second.front();
        it->second.pop_front();
      }
      reply = answer(*env, corr, hold);  // also a failed or dropped request is recorded
      if (scripted && *scripted != kDrop) {
        reply = error_frame(corr, *scripted);
        hold = std::chrono::milliseconds(0);
      }
      cv_.notify_all();
    }
    if (scripted && *scripted == kDrop) return;
    if (reply.empty()) return;
    if (hold.count() > 0) {
      auto timer = std::make_shared<asio::steady_timer>(io_, hold);
      timer->async_wait([this, c, timer, reply = std::move(reply)](const asio::error_code&) mutable {
        if (c->socket.is_open()) write(c, std::move(reply));
      });
      return;
    }
    write(c, std::move(reply));
  }

  // Builds the answer to one request (under mu_). `hold`: delay before it is sent.
  std::string answer(const wire::Envelope& env, uint64_t corr, std::chrono::milliseconds& hold) {
    flatbuffers::FlatBufferBuilder fbb;
    switch (env.body_type()) {
      case wire::Body::HelloRequest:
        return finish(fbb, corr, wire::Body::HelloResponse,
                      wire::CreateHelloResponse(fbb, fbb.CreateString("fake"), 1, 7, 16u << 20, 4u << 20,
                                                fbb.CreateString("sync"))
                          .Union());
      case wire::Body::TopicStatusRequest: {
        const std::string name = env.body_as_TopicStatusRequest()->name()->str();
        auto it = partitions_.find(name);
        auto config = wire::CreateTopicConfigDirect(fbb, name.c_str(), it == partitions_.end() ? 4 : it->second);
        return finish(fbb, corr, wire::Body::TopicStatusResponse, wire::CreateTopicStatusResponse(fbb, config).Union());
      }
      case wire::Body::BrokerStatusRequest:
        return finish(fbb, corr, wire::Body::BrokerStatusResponse, wire::CreateBrokerStatusResponse(fbb).Union());
      case wire::Body::ProduceRequest: {
        const auto* req = env.body_as_ProduceRequest();
        const std::string topic = req->topic()->str();
        const uint64_t now = static_cast<uint64_t>(Clock::system().now_ms());
        std::vector<flatbuffers::Offset<wire::PartitionAck>> acks;
        for (const auto* b : *req->batches()) {
          std::string_view bytes(reinterpret_cast<const char*>(b->records()->data()), b->records()->size());
          record::BatchHeader h;
          ProducedBatch pb{topic, b->partition(), b->deliver_at_ms(), 0, 0, decode_records(bytes, &h)};
          pb.producer_id = h.producer_id;
          pb.base_sequence = h.base_sequence;
          const uint32_t n = static_cast<uint32_t>(pb.records.size());
          const bool scheduled = b->deliver_at_ms() > now;
          uint64_t base = 0;
          if (!scheduled) {
            auto& log = logs_[TP{topic, b->partition()}];
            base = log.end;
            std::string stored(bytes);
            record::stamp(stored, base, kStoreMs);
            log.end += n;
            log.batches.push_back(std::move(stored));
          }
          produced_.push_back(std::move(pb));
          acks.push_back(wire::CreatePartitionAck(fbb, b->partition(), wire::ErrorCode::NONE, 0, base, n, kStoreMs,
                                                  false, scheduled));
        }
        return finish(fbb, corr, wire::Body::ProduceResponse,
                      wire::CreateProduceResponse(fbb, fbb.CreateString(topic), fbb.CreateVector(acks)).Union());
      }
      case wire::Body::JoinGroupRequest: {
        const auto* req = env.body_as_JoinGroupRequest();
        subscriptions_.clear();
        if (req->subscriptions()) {
          for (const auto* s : *req->subscriptions()) {
            subscriptions_.emplace_back(s->topic()->str(), s->expression() ? s->expression()->str() : "");
          }
        }
        auto a = assignment(fbb);
        return finish(fbb, corr, wire::Body::JoinGroupResponse,
                      wire::CreateJoinGroupResponse(fbb, fbb.CreateString("m-1"), 1, a, 10000, 3000).Union());
      }
      case wire::Body::HeartbeatRequest: {
        auto a = assignment(fbb);
        return finish(fbb, corr, wire::Body::HeartbeatResponse, wire::CreateHeartbeatResponse(fbb, 1, a).Union());
      }
      case wire::Body::LeaveGroupRequest:
        return finish(fbb, corr, wire::Body::LeaveGroupResponse, wire::CreateLeaveGroupResponse(fbb).Union());
      case wire::Body::FetchOffsetsRequest: {
        const auto* req = env.body_as_FetchOffsetsRequest();
        std::vector<flatbuffers::Offset<wire::PartitionOffset>> out;
        for (const auto* ta : *req->partitions()) {
          for (uint32_t p : *ta->partitions()) {
            auto it = committed_.find(TP{ta->topic()->str(), p});
            const bool has = it != committed_.end();
            out.push_back(wire::CreatePartitionOffsetDirect(fbb, ta->topic()->c_str(), p, has ? it->second : 0,
                                                            wire::ErrorCode::NONE, nullptr, has));
          }
        }
        return finish(fbb, corr, wire::Body::FetchOffsetsResponse,
                      wire::CreateFetchOffsetsResponse(fbb, fbb.CreateVector(out)).Union());
      }
      case wire::Body::CommitOffsetsRequest: {
        const auto* req = env.body_as_CommitOffsetsRequest();
        std::vector<flatbuffers::Offset<wire::PartitionOffset>> out;
        for (const auto* po : *req->offsets()) {
          committed_[TP{po->topic()->str(), po->partition()}] = po->offset();
          out.push_back(wire::CreatePartitionOffsetDirect(fbb, po->topic()->c_str(), po->partition(), po->offset()));
        }
        return finish(fbb, corr, wire::Body::CommitOffsetsResponse,
                      wire::CreateCommitOffsetsResponse(fbb, fbb.CreateVector(out)).Union());
      }
      case wire::Body::FetchRequest: {
        const auto* req = env.body_as_FetchRequest();
        const std::string topic = req->topic()->str();
        std::vector<flatbuffers::Offset<wire::FetchPartitionResult>> parts;
        bool any = false;
        for (const auto* fp : *req->partitions()) {
          const Log& log = logs_[TP{topic, fp->partition()}];
          std::string records;
          uint64_t next = fp->offset();
          uint64_t base = 0;
          for (const auto& b : log.batches) {
            auto h = record::parse_header(b);
            const uint64_t end = h->base_offset + h->record_count;
            if (end > fp->offset()) records += b;
            base = end;
          }
          if (!records.empty()) {
            any = true;
            next = base;
          }
          parts.push_back(wire::CreateFetchPartitionResult(
              fbb, fp->partition(), wire::ErrorCode::NONE, 0, 0, log.end,
              fbb.CreateVector(reinterpret_cast<const uint8_t*>(records.data()), records.size()), next));
        }
        if (!any) hold = std::chrono::milliseconds(std::min<uint32_t>(req->max_wait_ms(), 50));
        return finish(fbb, corr, wire::Body::FetchResponse,
                      wire::CreateFetchResponse(fbb, fbb.CreateString(topic), fbb.CreateVector(parts), 1).Union());
      }
      case wire::Body::SendBackRequest: {
        const auto* req = env.body_as_SendBackRequest();
        SentBack sb;
        sb.group = req->group() ? req->group()->str() : "";
        sb.topic = req->topic() ? req->topic()->str() : "";
        sb.to_dlq = req->to_dlq();
        if (req->records()) {
          sb.records = decode_records(
              std::string_view(reinterpret_cast<const char*>(req->records()->data()), req->records()->size()),
              &sb.header);
        }
        const uint32_t times = sb.records.empty() ? 1 : sb.records[0].reconsume_times + 1;
        const std::string dest = (sb.to_dlq ? "%DLQ%" : "%RETRY%") + sb.group;
        sent_back_.push_back(std::move(sb));
        return finish(fbb, corr, wire::Body::SendBackResponse,
                      wire::CreateSendBackResponseDirect(fbb, dest.c_str(), times, 1'767'225'610'000).Union());
      }
      default:
        return error_frame(corr, wire::ErrorCode::UNSUPPORTED);
    }
  }

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
  asio::ip::tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::vector<std::shared_ptr<Conn>> conns_;  // I/O thread only
  std::thread thread_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, uint32_t> partitions_;
  std::map<TP, Log> logs_;
  std::map<TP, uint64_t> committed_;
  std::vector<std::pair<std::string, std::string>> subscriptions_;
  std::vector<ProducedBatch> produced_;
  std::vector<SentBack> sent_back_;
  std::map<wire::Body, size_t> received_;
  std::map<wire::Body, std::deque<wire::ErrorCode>> script_;
};

}  // namespace tidemq::test
