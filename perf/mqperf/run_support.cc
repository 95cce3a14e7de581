#include "perf/mqperf/run_support.h"

#include "perf/mqperf/modes.h"

namespace tidemq::perf {

namespace {
std::atomic<bool> g_interrupted{false};
static_assert(std::atomic<bool>::is_always_lock_free, "the signal handler stores to it");
}  // namespace

void request_interrupt() { g_interrupted.store(true, std::memory_order_relaxed); }
bool interrupted() { return g_interrupted.load(std::memory_order_relaxed); }

Summary base_summary(const PerfOptions& o) {
  Summary s;
  s.mode = mode_name(o.mode);
  s.requested = o.count;
  return s;
}

Summary setup_failed(Summary s, const Status& st) {
  s.errors = 1;
  s.first_error = st.to_string();
  return s;
}

Result<std::vector<PartitionStatus>> ensure_topic(const PerfOptions& o) {
  TIDEMQ_ASSIGN_OR_RETURN(auto admin, Admin::create(client_options(o, "mqperf-admin")));
  auto status = admin->topic_status(o.topic);
  if (status.is_ok()) return std::move(status->partitions);
  if (status.status().code() != StatusCode::kTopicNotFound) return status.status();
  TopicSettings settings;
  settings.name = o.topic;
  settings.partitions = o.partitions;
  TIDEMQ_ASSIGN_OR_RETURN(bool created, admin->update_topic(settings));
  (void)created;
  TIDEMQ_ASSIGN_OR_RETURN(auto fresh, admin->topic_status(o.topic));
  return std::move(fresh.partitions);
}

double elapsed_s(int64_t since_us) { return static_cast<double>(steady_now_us() - since_us) / 1e6; }

}  // namespace tidemq::perf
