#include "tests/fuzz/fuzz_seeds.h"

#include <random>
#include <set>

#include "common/coding.h"
#include "common/framing.h"
#include "common/record_batch.h"
#include "tests/fuzz/handler_broker.h"
#include "tests/fuzz/placeholders.h"
#include "tests/schemas/wire_samples.h"

namespace tidemq::fuzz {

namespace {

// fuzz_frame_decoder's format: cap byte, then chunks [ctl][n bytes] with n = ctl & 0x7f.
std::string chunked(uint8_t cap_byte, const std::string& stream, std::mt19937_64& rng) {
  std::string out(1, static_cast<char>(cap_byte));
  size_t pos = 0;
  while (pos < stream.size()) {
    size_t n = std::min<size_t>(rng() % 128, stream.size() - pos);
    uint8_t ctl = static_cast<uint8_t>(n | ((rng() % 4 == 0) ? 0x80 : 0));
    out.push_back(static_cast<char>(ctl));
    out.append(stream, pos, n);
    pos += n;
  }
  return out;
}

std::string header(uint32_t len) {
  std::string h(framing::kHeaderBytes, '\0');
  framing::encode_header(h.data(), len);
  return h;
}

std::vector<std::string> frame_seeds(std::mt19937_64& rng) {
  std::vector<std::string> out;
  for (int round = 0; round < 24; ++round) {
    const uint8_t cap_byte = static_cast<uint8_t>(rng() % 256);
    const uint32_t cap = 1u + cap_byte;
    std::string stream;
    int frames = 1 + static_cast<int>(rng() % 6);
    for (int f = 0; f < frames; ++f) {
      std::string payload(1 + rng() % cap, '\0');
      for (auto& c : payload) c = static_cast<char>('a' + rng() % 26);
      stream += framing::encode_frame(payload);
    }
    switch (round % 6) {
      case 1: stream.resize(stream.size() - 1 - rng() % 3); break;  // truncated last frame
      case 2: stream += header(cap + 1); break;                       // oversize
      case 3: stream += header(0); break;                             // empty frame
      case 4: stream += header(0xFFFFFFFF) + "tail"; break;
      default: break;
    }
    out.push_back(chunked(cap_byte, stream, rng));
  }
  return out;
}

std::string batch(std::mt19937_64& rng, int records, size_t max_body) {
  record::BatchBuilder b;
  std::vector<std::pair<std::string, std::string>> props = {{"trace", "t-1"}, {"", ""}};
  std::vector<std::string> keep;  // the builder copies, but keep views alive meanwhile
  for (int i = 0; i < records; ++i) {
    keep.push_back(std::string(rng() % 8, 'k'));
    keep.push_back(std::string(rng() % (max_body + 1), static_cast<char>(rng())));
    record::RecordInput r;
    r.id = rng();
    r.born_ms = rng() % (uint64_t{1} << 42);
    r.reconsume_times = static_cast<uint32_t>(rng() % 3);
    r.key = keep[keep.size() - 2];
    r.tags = (i % 2) ? "TagA" : "";
    r.properties = (rng() % 2) ? &props : nullptr;
    r.body = keep.back();
    b.add(r);
  }
  std::string out = b.finish(rng() % 3, static_cast<uint32_t>(rng() % 100));
  if (rng() % 2) record::stamp(out, rng() % 100000, rng() % (uint64_t{1} << 42));
  return out;
}

std::vector<std::string> batch_seeds(std::mt19937_64& rng) {
  std::vector<std::string> out;
  for (int i = 0; i < 16; ++i) out.push_back(batch(rng, 1 + i % 5, 64));
  out.push_back(batch(rng, 2, 2000));  // bodies likely over the target's 1024-byte limit
  out.push_back(batch(rng, 1, 0));
  out.push_back(batch(rng, 2, 16) + batch(rng, 3, 16));  // a fetch-style concatenation
  out.push_back(record::BatchBuilder().finish(0, 0));   // empty batch
  return out;
}

std::vector<std::string> envelope_seeds() {
  std::vector<std::string> out;
  for (wire::Body kind : test::all_body_kinds()) out.push_back(test::sample_envelope(kind));
  // An unknown union type (the Verifier accepts it; the range check must reject it).
  flatbuffers::FlatBufferBuilder fbb;
  wire::EnvelopeBuilder eb(fbb);
  eb.add_correlation_id(1);
  eb.add_body_type(static_cast<wire::Body>(200));
  fbb.Finish(eb.Finish());
  out.emplace_back(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
  return out;
}

std::string envelope(flatbuffers::FlatBufferBuilder& fbb, uint64_t id, wire::Body type, flatbuffers::Offset<void> body) {
  fbb.Finish(wire::CreateEnvelope(fbb, id, type, body));
  return std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
}

std::string produce(const std::string& topic, uint32_t partition, const std::string& records) {
  flatbuffers::FlatBufferBuilder fbb;
  std::vector<flatbuffers::Offset<wire::PartitionBatch>> batches = {wire::CreatePartitionBatch(
      fbb, partition, fbb.CreateVector(reinterpret_cast<const uint8_t*>(records.data()), records.size()))};
  return envelope(fbb, 11, wire::Body::ProduceRequest, wire::CreateProduceRequestDirect(fbb, topic.c_str(), &batches).Union());
}

std::string fetch(const std::string& topic, uint32_t partition, uint64_t offset, const char* group,
                  const char* member = "m-1", uint32_t generation = 1) {
  flatbuffers::FlatBufferBuilder fbb;
  std::vector<flatbuffers::Offset<wire::FetchPartition>> parts = {
      wire::CreateFetchPartition(fbb, partition, offset, 0)};
  auto body = wire::CreateFetchRequestDirect(fbb, topic.c_str(), &parts, 100, 0, group,
                                             group ? member : nullptr, generation);
  return envelope(fbb, 12, wire::Body::FetchRequest, body.Union());
}

// Requests that carry placeholders (tests/fuzz/placeholders.h) for a live member of the fuzz
// broker's group (slot 0 owns the partitions of its topic, slot 1 those of its small topic) and
// for its pending transactions, so the mutations start from their success paths.
std::vector<std::string> placeholder_seeds(std::mt19937_64& rng) {
  using B = fuzz::HandlerBroker;
  const std::string topic(B::kTopic), small(B::kSmallTopic), group(B::kGroup);
  const std::string m0 = member_placeholder(0), m1 = member_placeholder(1);
  const uint32_t gen = kGenerationPlaceholder;
  std::vector<std::string> out;
  flatbuffers::FlatBufferBuilder fbb;
  auto add = [&](uint64_t id, wire::Body type, flatbuffers::Offset<void> body) {
    out.push_back(envelope(fbb, id, type, body));
    fbb.Clear();
  };
  for (const std::string& m : {m0, m1}) {
    add(30, wire::Body::HeartbeatRequest,
        wire::CreateHeartbeatRequestDirect(fbb, group.c_str(), m.c_str(), gen).Union());
  }
  // The fixture produced 3 records to partitions 0 and 1 of its topic; 2 and 3 are empty.
  std::vector<flatbuffers::Offset<wire::PartitionOffset>> offsets;
  for (uint32_t p = 0; p < 4; ++p) {
    offsets.push_back(wire::CreatePartitionOffsetDirect(fbb, topic.c_str(), p, p < 2 ? 2 : 0));
  }
  add(31, wire::Body::CommitOffsetsRequest,
      wire::CreateCommitOffsetsRequestDirect(fbb, group.c_str(), m0.c_str(), gen, &offsets)
          .Union());
  offsets = {wire::CreatePartitionOffsetDirect(fbb, small.c_str(), 0, 0)};
  add(32, wire::Body::CommitOffsetsRequest,
      wire::CreateCommitOffsetsRequestDirect(fbb, group.c_str(), m1.c_str(), gen, &offsets)
          .Union());
  std::vector<uint32_t> all = {0, 1, 2, 3}, first = {0};
  std::vector<flatbuffers::Offset<wire::TopicAssignment>> wanted = {
      wire::CreateTopicAssignmentDirect(fbb, topic.c_str(), &all),
      wire::CreateTopicAssignmentDirect(fbb, small.c_str(), &first)};
  add(33, wire::Body::FetchOffsetsRequest,
      wire::CreateFetchOffsetsRequestDirect(fbb, group.c_str(), m0.c_str(), &wanted).Union());
  out.push_back(fetch(topic, 1, 0, group.c_str(), m0.c_str(), gen));  // a group fetch
  // The fixture's group config allows 2,000 msg/s (a bucket of 200 messages): after 250 more
  // records, the first fetch empties the bucket and the second waits ~1 ms for a token.
  out.push_back(produce(topic, 1, batch(rng, 250, 8)));
  for (int i = 0; i < 2; ++i) out.push_back(fetch(topic, 1, 0, group.c_str(), m0.c_str(), gen));
  std::vector<flatbuffers::Offset<wire::Subscription>> subs = {
      wire::CreateSubscriptionDirect(fbb, topic.c_str(), "*")};
  add(34, wire::Body::JoinGroupRequest,
      wire::CreateJoinGroupRequestDirect(fbb, group.c_str(), m0.c_str(), &subs, 300'000)
          .Union());  // a rejoin
  add(35, wire::Body::LeaveGroupRequest,
      wire::CreateLeaveGroupRequestDirect(fbb, group.c_str(), m1.c_str()).Union());

  add(40, wire::Body::QueryHalfRequest,
      wire::CreateQueryHalfRequest(fbb, txn_placeholder(0)).Union());
  add(41, wire::Body::ResumeHalfRequest,
      wire::CreateResumeHalfRequest(fbb, txn_placeholder(1)).Union());
  add(42, wire::Body::EndTransactionRequest,
      wire::CreateEndTransactionRequest(fbb, txn_placeholder(0), wire::TxnAction::COMMIT).Union());
  add(43, wire::Body::EndTransactionRequest,
      wire::CreateEndTransactionRequest(fbb, txn_placeholder(1), wire::TxnAction::ROLLBACK)
          .Union());
  add(44, wire::Body::EndTransactionRequest,
      wire::CreateEndTransactionRequest(fbb, txn_placeholder(2), wire::TxnAction::UNKNOWN).Union());
  add(45, wire::Body::EndHalfRequest,
      wire::CreateEndHalfRequest(fbb, txn_placeholder(2), wire::TxnAction::ROLLBACK).Union());
  std::vector<flatbuffers::Offset<wire::EndTransactionRequest>> ends = {
      wire::CreateEndTransactionRequest(fbb, txn_placeholder(0), wire::TxnAction::COMMIT),
      wire::CreateEndTransactionRequest(fbb, txn_placeholder(1), wire::TxnAction::ROLLBACK)};
  add(46, wire::Body::EndTransactionBatchRequest,
      wire::CreateEndTransactionBatchRequestDirect(fbb, &ends).Union());
  add(47, wire::Body::CheckTransactionResponse,
      wire::CreateCheckTransactionResponse(fbb, txn_placeholder(2), wire::TxnAction::COMMIT)
          .Union());
  return out;
}

// Every sample body (requests and responses alike), plus requests that name the fuzz broker's
// topics and group (tests/fuzz/handler_broker.h) with values near the edges, and requests with
// placeholders for its live member and transaction ids.
std::vector<std::string> handler_seeds(std::mt19937_64& rng) {
  using B = fuzz::HandlerBroker;
  const std::string topic(B::kTopic), small(B::kSmallTopic), group(B::kGroup);
  std::vector<std::string> out = envelope_seeds();
  out.push_back(produce(small, 0, test::sample_record_batch(2)));
  out.push_back(produce(topic, 3, batch(rng, 1, 2 * B::kMaxMessageBytes)));  // likely over the limit
  out.push_back(produce(topic, 9, test::sample_record_batch(1)));            // no such partition
  out.push_back(fetch(topic, 0, 0, nullptr));
  out.push_back(fetch(small, 0, 1u << 30, nullptr));  // past the end: a long poll
  out.push_back(fetch(topic, 1, 0, group.c_str()));
  flatbuffers::FlatBufferBuilder fbb;
  out.push_back(envelope(fbb, 13, wire::Body::QueryMessageRequest,
                         wire::CreateQueryMessageRequestDirect(fbb, topic.c_str(), 0, 1).Union()));
  fbb.Clear();
  out.push_back(envelope(fbb, 14, wire::Body::TopicStatusRequest,
                         wire::CreateTopicStatusRequestDirect(fbb, small.c_str()).Union()));
  fbb.Clear();
  out.push_back(envelope(fbb, 15, wire::Body::DeleteTopicRequest,
                         wire::CreateDeleteTopicRequestDirect(fbb, small.c_str()).Union()));
  fbb.Clear();
  out.push_back(envelope(fbb, 16, wire::Body::ResetOffsetsRequest,
                         wire::CreateResetOffsetsRequestDirect(fbb, group.c_str(), topic.c_str(), "latest").Union()));
  fbb.Clear();
  std::vector<flatbuffers::Offset<wire::Subscription>> subs = {
      wire::CreateSubscriptionDirect(fbb, small.c_str(), "*")};
  out.push_back(envelope(fbb, 17, wire::Body::JoinGroupRequest,
                         wire::CreateJoinGroupRequestDirect(fbb, group.c_str(), "", &subs, 1000).Union()));
  fbb.Clear();
  out.push_back(envelope(fbb, 18, wire::Body::HelloRequest,
                         wire::CreateHelloRequestDirect(fbb, "admin", wire::ClientKind::ADMIN, 1).Union()));
  fbb.Clear();  // a body type without a body
  wire::EnvelopeBuilder eb(fbb);
  eb.add_correlation_id(19);
  eb.add_body_type(wire::Body::FetchRequest);
  fbb.Finish(eb.Finish());
  out.emplace_back(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
  for (std::string& seed : placeholder_seeds(rng)) out.push_back(std::move(seed));
  return out;
}

// fuzz_raw_broker's format: a flags byte (bits 0-5: write size, 0 = one write; 0x40: Hello
// first; 0x80: EOF at the end), then the bytes as they go on the wire. The first request of each
// body type in handler_seeds() framed, and each also with a bad length prefix, truncated, and
// followed by garbage; plus a pipeline of requests, a request after an invalid frame, and bad
// headers.
std::vector<std::string> raw_broker_seeds(std::mt19937_64& rng) {
  std::vector<std::string> requests;  // the first of each request body type
  std::set<wire::Body> types;
  for (std::string& env : handler_seeds(rng)) {
    const wire::Body type = wire::GetEnvelope(env.data())->body_type();
    const std::string_view name = wire::EnumNameBody(type);
    const bool request = name.size() > 7 && name.substr(name.size() - 7) == "Request";
    if ((request || type == wire::Body::CheckTransactionResponse) && types.insert(type).second) {
      requests.push_back(std::move(env));
    }
  }
  auto flags = [&rng](bool hello, bool eof = false, bool one_write = false) {
    const uint8_t write_size = one_write || rng() % 2 == 0 ? 0 : static_cast<uint8_t>(1 + rng() % 63);
    return std::string(1, static_cast<char>(write_size | (hello ? 0x40 : 0) | (eof ? 0x80 : 0)));
  };
  std::vector<std::string> out;
  std::string pipeline;
  for (size_t i = 0; i < requests.size(); ++i) {
    const std::string frame = framing::encode_frame(requests[i]);
    const uint32_t len = static_cast<uint32_t>(requests[i].size());
    const bool hello = i % 8 != 0;  // mostly past a Hello: the requests reach their handlers
    out.push_back(flags(hello) + frame);
    const uint32_t bad_lengths[] = {len + 1 + static_cast<uint32_t>(rng() % 8), len - 1 - static_cast<uint32_t>(rng() % 4),
                                    0, framing::kDefaultMaxFrameBytes + 1};
    out.push_back(flags(hello) + header(bad_lengths[i % 4]) + requests[i]);
    out.push_back(flags(hello, i % 2 == 0) + frame.substr(0, 1 + rng() % (frame.size() - 1)));  // truncated
    std::string garbage(1 + rng() % 32, '\0');
    for (auto& c : garbage) c = static_cast<char>(rng());
    out.push_back(flags(hello) + frame + garbage);
    if (i % 4 == 0) pipeline += frame;
  }
  out.push_back(flags(true) + pipeline);
  // One write: the session reads both frames at once (a request after the bad one was answered).
  out.push_back(flags(true, false, true) + framing::encode_frame("not an envelope") + framing::encode_frame(requests[0]));
  out.push_back(flags(false) + header(0xFFFFFFFF) + "tail");
  out.push_back(flags(true, true) + framing::encode_frame(requests[0]) + header(1u << 20) + "partial");
  return out;
}

}  // namespace

std::vector<std::string> seeds_for(std::string_view target, uint64_t rng_seed) {
  std::mt19937_64 rng(rng_seed);
  if (target == "frame_decoder") return frame_seeds(rng);
  if (target == "record_batch") return batch_seeds(rng);
  if (target == "envelope") return envelope_seeds();
  if (target == "handlers") return handler_seeds(rng);
  if (target == "raw_broker") return raw_broker_seeds(rng);
  return {};
}

}  // namespace tidemq::fuzz
