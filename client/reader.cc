#include "tidemq/reader.h"

#include <algorithm>

#include "client/connection.h"
#include "client/decode.h"
#include "client/topic_metadata.h"
#include "client/wire_status.h"

namespace tidemq {

using client::Connection;

namespace {
constexpr uint32_t kPollMaxBytesPerPartition = 1u << 20;
constexpr uint32_t kPollMaxBytes = 8u << 20;
constexpr int64_t kMaxWaitMs = 20000;  // the broker clamps long polls to this
}  // namespace

struct PartitionReader::Impl {
  std::unique_ptr<Connection> conn;
  std::string topic;
  uint32_t partitions = 0;
  std::map<uint32_t, uint64_t> positions;

  struct PartitionData {
    uint32_t partition = 0;
    Status status;
    uint64_t start_offset = 0;
    uint64_t end_offset = 0;
    uint64_t next_offset = 0;
  };

  // One FetchRequest for `wanted` (partition -> offset). Appends messages to `out` and returns
  // per-partition outcomes.
  Result<std::vector<PartitionData>> fetch(const std::map<uint32_t, uint64_t>& wanted, std::chrono::milliseconds max_wait,
                                           uint32_t max_bytes_per_partition, uint32_t max_bytes,
                                           std::vector<Message>& out) {
    int64_t wait_ms = std::clamp<int64_t>(max_wait.count(), 0, kMaxWaitMs);
    flatbuffers::FlatBufferBuilder fbb(256 + 32 * wanted.size());
    std::vector<flatbuffers::Offset<wire::FetchPartition>> parts;
    parts.reserve(wanted.size());
    for (const auto& [p, off] : wanted) parts.push_back(wire::CreateFetchPartition(fbb, p, off, max_bytes_per_partition));
    auto req = wire::CreateFetchRequestDirect(fbb, topic.c_str(), &parts, static_cast<uint32_t>(wait_ms), max_bytes);
    auto timeout = std::chrono::milliseconds(wait_ms) + conn->options().client.request_timeout;
    auto r = conn->call(fbb, wire::Body::FetchRequest, req.Union(), timeout);
    if (!r.is_ok()) return r.status();
    const auto* resp = r->envelope().body_as_FetchResponse();
    if (!resp) return Status::protocol("expected FetchResponse");
    std::vector<PartitionData> results;
    if (!resp->partitions()) return results;
    for (const auto* pr : *resp->partitions()) {
      PartitionData d;
      d.partition = pr->partition();
      auto it = wanted.find(d.partition);
      if (it == wanted.end()) continue;  // not asked for
      d.status = client::status_from_wire(pr->error(), pr->error_message());
      d.start_offset = pr->start_offset();
      d.end_offset = pr->end_offset();
      d.next_offset = it->second;
      if (d.status.is_ok() && pr->records() && pr->records()->size() > 0) {
        std::string_view bytes(reinterpret_cast<const char*>(pr->records()->data()), pr->records()->size());
        const uint64_t from = it->second;
        uint64_t next = from;
        Status st = record::for_each_record_in_batches(bytes, [&](const record::RecordView& rv) {
          if (rv.offset < from) return;
          out.push_back(client::message_from_record(rv, topic, d.partition));
          next = rv.offset + 1;
        });
        if (!st.is_ok()) {
          d.status = Status(StatusCode::kCorruptMessage, "fetched records do not parse: " + st.message());
        } else {
          d.next_offset = next;
        }
      }
      results.push_back(std::move(d));
    }
    return results;
  }
};

Result<std::unique_ptr<PartitionReader>> PartitionReader::create(ClientOptions options, std::string topic) {
  client::ConnectionOptions co;
  co.client = std::move(options);
  co.kind = wire::ClientKind::CONSUMER;
  TIDEMQ_ASSIGN_OR_RETURN(auto conn, Connection::create(std::move(co)));
  TIDEMQ_RETURN_IF_ERROR(conn->connect().status());
  TIDEMQ_ASSIGN_OR_RETURN(auto status, client::request_topic_status(*conn, topic));
  auto impl = std::make_unique<Impl>();
  impl->conn = std::move(conn);
  impl->topic = std::move(topic);
  impl->partitions = status.settings.partitions;
  return std::unique_ptr<PartitionReader>(new PartitionReader(std::move(impl)));
}

PartitionReader::PartitionReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PartitionReader::~PartitionReader() = default;

uint32_t PartitionReader::partition_count() const { return impl_->partitions; }

Result<FetchResult> PartitionReader::fetch(uint32_t partition, uint64_t offset, std::chrono::milliseconds max_wait,
                                           uint32_t max_bytes) {
  FetchResult result;
  TIDEMQ_ASSIGN_OR_RETURN(auto parts, impl_->fetch({{partition, offset}}, max_wait, max_bytes, max_bytes,
                                                   result.messages));
  if (parts.empty()) return Status::protocol("fetch response without the asked partition");
  const auto& d = parts.front();
  if (!d.status.is_ok()) return d.status;
  result.start_offset = d.start_offset;
  result.end_offset = d.end_offset;
  result.next_offset = d.next_offset;
  return result;
}

void PartitionReader::assign(uint32_t partition, uint64_t offset) { impl_->positions[partition] = offset; }

Status PartitionReader::assign_all_from_start() {
  TIDEMQ_ASSIGN_OR_RETURN(auto status, client::request_topic_status(*impl_->conn, impl_->topic));
  impl_->partitions = status.settings.partitions;
  for (uint32_t p = 0; p < impl_->partitions; ++p) impl_->positions[p] = 0;
  for (const auto& ps : status.partitions) {
    if (ps.partition < impl_->partitions) impl_->positions[ps.partition] = ps.start_offset;
  }
  return Status::ok();
}

std::map<uint32_t, uint64_t> PartitionReader::positions() const { return impl_->positions; }

Result<std::vector<Message>> PartitionReader::poll(std::chrono::milliseconds timeout) {
  if (impl_->positions.empty()) return Status::invalid_argument("no partition assigned");
  std::vector<Message> out;
  TIDEMQ_ASSIGN_OR_RETURN(auto parts, impl_->fetch(impl_->positions, timeout, kPollMaxBytesPerPartition,
                                                   kPollMaxBytes, out));
  Status first_error;
  for (const auto& d : parts) {
    if (d.status.is_ok()) {
      impl_->positions[d.partition] = d.next_offset;
    } else if (first_error.is_ok()) {
      first_error = Status(d.status.code(), "partition " + std::to_string(d.partition) + ": " + d.status.message());
    }
  }
  // Messages already read are returned; an error surfaces when nothing else came back.
  if (out.empty() && !first_error.is_ok()) return first_error;
  return out;
}

}  // namespace tidemq
