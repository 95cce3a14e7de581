#include "broker/schedule/retry_service.h"

#include <future>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "common/retry_policy.h"
#include "common/logging.h"
#include "common/record_batch.h"

namespace tidemq::broker {

namespace {

constexpr size_t kResendReadBytes = 1 << 20;

// Adds `r` to `b` with `reconsume_times`, and ORIGIN_TOPIC = `from_topic` unless it has one.
void add_copy(record::BatchBuilder& b, const record::RecordView& r, uint32_t reconsume_times,
              const std::string& from_topic) {
  std::vector<std::pair<std::string, std::string>> props;
  props.reserve(r.properties.size() + 1);
  bool has_origin = false;
  for (const auto& [k, v] : r.properties) {
    has_origin |= k == kOriginTopicProperty;
    props.emplace_back(k, v);
  }
  if (!has_origin) props.emplace_back(kOriginTopicProperty, from_topic);
  record::RecordInput in;
  in.id = r.id;
  in.born_ms = r.born_ms;
  in.reconsume_times = reconsume_times;
  in.key = r.key;
  in.tags = r.tags;
  in.properties = &props;
  in.body = r.body;
  b.add(in);
}

}  // namespace

RetryService::RetryService(TopicRegistry& topics, GroupConfigStore& configs, OffsetStore& offsets, LogStore& log,
                           DelayStore& delays, const Clock& clock, uint32_t max_message_bytes,
                           TopicCreated on_created)
    : topics_(topics),
      configs_(configs),
      offsets_(offsets),
      log_(log),
      delays_(delays),
      clock_(clock),
      max_message_bytes_(max_message_bytes),
      on_created_(std::move(on_created)) {}

Result<TopicConfig> RetryService::ensure_topic(const std::string& name) {
  if (auto t = topics_.find(name)) return *t;
  TopicConfig cfg;
  cfg.name = name;
  cfg.partitions = 1;
  TIDEMQ_ASSIGN_OR_RETURN(TopicRegistry::Change change, topics_.create_or_update(cfg, /*allow_reserved=*/true));
  log_.ensure_partitions(change.config.topic_id, change.config.partitions);
  if (change.created) {
    logging::get("schedule")->info("created topic {}", name);
    if (on_created_) on_created_(change.config);
  }
  return change.config;
}

void RetryService::send_back(const std::string& group, const std::string& from_topic, std::string_view batch,
                             bool to_dlq, SendBackCallback cb) {
  if (Status st = validate_group_name(group); !st.is_ok()) return cb(st);
  if (from_topic.empty()) return cb(Status::invalid_argument("send-back needs the topic the message was read from"));
  auto header = record::validate(batch, max_message_bytes_);
  if (!header.is_ok()) return cb(header.status());
  if (header->record_count != 1) {
    return cb(Status::invalid_argument(
        fmt::format("send-back takes exactly one message, the batch holds {}", header->record_count)));
  }
  const GroupConfig config = configs_.find_or_default(group);
  uint32_t times = 0;
  record::BatchBuilder copy;
  TIDEMQ_CHECK(record::for_each_record(batch.substr(0, header->batch_len), [&](const record::RecordView& r) {
                 times = r.reconsume_times + 1;
                 add_copy(copy, r, times, from_topic);
               }).is_ok(),
               "a validated batch decodes");
  std::string out = copy.finish(/*producer_id=*/0, /*base_sequence=*/0);

  if (to_dlq || times > config.max_reconsume_times) {
    auto dlq = ensure_topic(dlq_topic(group));
    if (!dlq.is_ok()) return cb(dlq.status());
    SendBackResult res{dlq->name, times, 0};
    log_.append(dlq->topic_id, 0, std::move(out), [res, cb = std::move(cb)](Result<AppendResult> r) {
      if (!r.is_ok()) return cb(r.status());
      cb(res);
    });
    return;
  }
  auto retry = ensure_topic(retry_topic(group));
  if (!retry.is_ok()) return cb(retry.status());
  auto policy = RetryPolicy::parse(config.retry_policy);
  if (!policy.is_ok()) return cb(policy.status());  // validated when stored: not expected
  const int64_t due = clock_.now_ms() + policy->delay_ms(times);
  SendBackResult res{retry->name, times, due};
  delays_.schedule(retry->topic_id, 0, static_cast<uint64_t>(due), std::move(out), [res, cb = std::move(cb)](Status st) {
    if (!st.is_ok()) return cb(st);
    cb(res);
  });
}

Result<uint32_t> RetryService::resend_dlq(const std::string& group, uint64_t id) {
  TIDEMQ_RETURN_IF_ERROR(validate_group_name(group));
  std::lock_guard lock(resend_mu_);
  auto dlq = topics_.find(dlq_topic(group));
  if (!dlq) return Status(StatusCode::kTopicNotFound, fmt::format("group '{}' has no dead letters", group));
  const std::string resend_group = std::string(kResendPrefix) + group;
  TIDEMQ_ASSIGN_OR_RETURN(PartitionInfo info, log_.info(dlq->topic_id, 0));
  uint64_t offset = info.start_offset;
  if (id == 0) {
    if (auto c = offsets_.get(resend_group, dlq->topic_id, 0)) offset = std::max(offset, c->offset);
  }
  TIDEMQ_ASSIGN_OR_RETURN(TopicConfig retry, ensure_topic(retry_topic(group)));
  uint32_t resent = 0;
  bool found = false;
  while (offset < info.end_offset && !(id != 0 && found)) {
    TIDEMQ_ASSIGN_OR_RETURN(ReadResult read, log_.read(dlq->topic_id, 0, offset, kResendReadBytes));
    record::BatchBuilder copy;
    uint64_t next = offset;
    TIDEMQ_RETURN_IF_ERROR(record::for_each_record_in_batches(read.batches, [&](const record::RecordView& r) {
      if (r.offset < offset || r.offset >= info.end_offset) return;
      next = r.offset + 1;
      if (id != 0 && (found || r.id != id)) return;
      found = true;
      add_copy(copy, r, 0, dlq->name);  // keeps the ORIGIN_TOPIC it got when it was sent back
    }));
    if (next == offset) break;
    if (!copy.empty()) {
      const uint32_t n = copy.count();
      std::promise<Status> appended;
      auto done = appended.get_future();
      log_.append(retry.topic_id, 0, copy.finish(0, 0),
                  [&appended](Result<AppendResult> r) { appended.set_value(r.status()); });
      TIDEMQ_RETURN_IF_ERROR(done.get());
      resent += n;
      if (id == 0) TIDEMQ_RETURN_IF_ERROR(offsets_.commit(resend_group, {{dlq->topic_id, 0, next}}).status());
    }
    offset = next;
  }
  if (id != 0 && !found) {
    return Status::not_found(fmt::format("no message {:016x} in {}", id, dlq->name));
  }
  return resent;
}

}  // namespace tidemq::broker
