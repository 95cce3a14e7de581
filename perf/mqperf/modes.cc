#include "perf/mqperf/modes.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <functional>
#include <thread>
#include <vector>

#include "perf/mqperf/monitor.h"
#include "perf/mqperf/run_support.h"
#include "perf/mqperf/workers.h"
#include "tidemq/admin.h"
#include "tidemq/reader.h"

namespace tidemq::perf {
namespace {

// What a run with --group needs from the broker before its consumers start.
struct GroupSetup {
  uint32_t partitions = 0;
  std::shared_ptr<Admin> progress_admin;  // consume: the lag column, from the group's progress
};

// consume --group: a group the broker does not know is created with reset policy "earliest", so
// that it reads the topic's backlog (like Kafka's perf consumer); a known group keeps its
// settings and position. e2e --group (`to_end`): the group's committed offsets of the topic are
// moved to the end first, so it sees only this run's messages (as e2e without a group).
Result<GroupSetup> prepare_group(const PerfOptions& o, bool to_end) {
  TIDEMQ_ASSIGN_OR_RETURN(auto admin, Admin::create(client_options(o, "mqperf-admin")));
  TIDEMQ_ASSIGN_OR_RETURN(auto status, admin->topic_status(o.topic));
  GroupSetup setup;
  setup.partitions = static_cast<uint32_t>(status.partitions.size());
  if (to_end) {
    TIDEMQ_RETURN_IF_ERROR(admin->reset_offsets(o.group, o.topic, "latest").status());
    return setup;
  }
  TIDEMQ_ASSIGN_OR_RETURN(auto groups, admin->list_groups());
  const bool known = std::any_of(groups.begin(), groups.end(), [&](const GroupSettings& g) { return g.name == o.group; });
  if (!known) {
    GroupSettings settings;
    settings.name = o.group;
    settings.reset_policy = "earliest";
    TIDEMQ_RETURN_IF_ERROR(admin->update_group(settings).status());
    std::fprintf(stderr, "mqperf: created consumer group '%s' (reset policy earliest)\n", o.group.c_str());
  }
  // A separate connection with a short timeout: the monitor asks it once per second.
  ClientOptions quick = client_options(o, "mqperf-progress");
  quick.request_timeout = std::chrono::milliseconds(800);
  quick.connect_timeout = std::chrono::milliseconds(800);
  auto progress = Admin::create(quick);
  if (progress.is_ok()) setup.progress_admin = std::shared_ptr<Admin>(std::move(progress).value());
  return setup;
}

// The group's lag on `topic` as the broker counts it (end - committed offset), or nullopt.
std::optional<uint64_t> broker_lag(Admin& admin, const std::string& group, const std::string& topic) {
  auto progress = admin.consumer_progress(group);
  if (!progress.is_ok()) return std::nullopt;
  uint64_t lag = 0;
  bool any = false;
  for (const auto& p : progress->partitions) {
    if (p.topic != topic) continue;
    lag += p.lag;
    any = true;
  }
  return any ? std::optional<uint64_t>(lag) : std::nullopt;
}

// Waits until `joined` reaches `want`, the request timeout passes, or Ctrl-C.
void wait_joined(const PerfOptions& o, const std::atomic<uint32_t>& joined, uint32_t want) {
  const int64_t deadline = steady_now_us() + o.request_timeout_ms * 1000;
  while (joined.load(std::memory_order_acquire) < want && steady_now_us() < deadline && !interrupted()) {
    std::this_thread::sleep_for(kWaitStep);
  }
}

}  // namespace

Summary run_produce(const PerfOptions& o) {
  Summary s = base_summary(o);
  if (auto topic = ensure_topic(o); !topic.is_ok()) return setup_failed(s, topic.status());

  StatsSet producers(o.producers);
  Monitor monitor({s.mode, o.timeline, true}, &producers, nullptr);
  if (Status st = monitor.start(); !st.is_ok()) return setup_failed(s, st);

  std::atomic<bool> stop{false};
  bool stopped_by_duration = false;
  const int64_t start_us = steady_now_us();
  {
    WorkerGroup group;
    for (uint32_t i = 0; i < o.producers; ++i) {
      ProducerPlan plan{i, split_count(o.count, o.producers, i), o.rate / o.producers, false};
      group.spawn([&o, plan, &stop, &producers] { run_producer(o, plan, stop, producers); });
    }
    const Supervision sv = supervise(o, group, stop, start_us, [&producers] { return producers.done(); });
    stopped_by_duration = sv.reason == EarlyStop::kDuration;
    s.interrupted = sv.reason == EarlyStop::kInterrupted;
    s.stalled = sv.reason == EarlyStop::kStalled;
  }
  monitor.stop();

  s.seconds = elapsed_s(start_us);
  s.messages = producers.done();
  s.bytes = producers.bytes();
  const uint64_t sent = producers.sent();
  const uint64_t failed = producers.errors();
  // A send that neither succeeded nor failed by the end (should not happen after close()).
  const uint64_t unresolved = sent > s.messages + failed ? sent - s.messages - failed : 0;
  s.errors = failed + unresolved;
  if (o.count == 0 || stopped_by_duration) s.requested = sent;
  s.latency_us = latency_stats(producers.latency());
  s.first_error = producers.first_error();
  if (s.first_error.empty() && unresolved > 0) s.first_error = std::to_string(unresolved) + " sends unresolved";
  return s;
}

Summary run_consume(const PerfOptions& o) {
  Summary s = base_summary(o);
  const bool grouped = !o.group.empty();
  std::map<uint32_t, uint64_t> start;
  uint32_t partitions = 0;
  std::function<std::optional<uint64_t>(uint64_t, uint64_t)> lag;
  if (grouped) {
    auto setup = prepare_group(o, false);
    if (!setup.is_ok()) return setup_failed(s, setup.status());
    partitions = setup->partitions;
    if (auto admin = setup->progress_admin) {
      lag = [admin, group = o.group, topic = o.topic](uint64_t, uint64_t) { return broker_lag(*admin, group, topic); };
    }
  } else {
    auto probe = PartitionReader::create(client_options(o, "mqperf-probe"), o.topic);
    if (!probe.is_ok()) return setup_failed(s, probe.status());
    if (Status st = (*probe)->assign_all_from_start(); !st.is_ok()) return setup_failed(s, st);
    start = (*probe)->positions();
    partitions = (*probe)->partition_count();
    // The backlog at the start, for the lag column (unknown if the admin query fails).
    std::optional<uint64_t> backlog;
    if (auto admin = Admin::create(client_options(o, "mqperf-admin")); admin.is_ok()) {
      if (auto status = (*admin)->topic_status(o.topic); status.is_ok()) {
        uint64_t total = 0;
        for (const auto& p : status->partitions) {
          const uint64_t from = start.count(p.partition) ? start[p.partition] : p.start_offset;
          total += p.end_offset > from ? p.end_offset - from : 0;
        }
        backlog = total;
      }
    }
    lag = [backlog](uint64_t, uint64_t delivered) -> std::optional<uint64_t> {
      if (!backlog) return std::nullopt;
      return *backlog > delivered ? *backlog - delivered : 0;
    };
  }
  if (o.consumers > partitions) {
    std::fprintf(stderr, "mqperf: %u consumers for %u partitions: %u will idle\n", o.consumers, partitions,
                 o.consumers - partitions);
  }

  StatsSet consumers(o.consumers);
  Monitor monitor({s.mode, o.timeline, true}, nullptr, &consumers, lag);
  if (Status st = monitor.start(); !st.is_ok()) return setup_failed(s, st);

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> received{0};
  std::atomic<int64_t> target_reached_us{0};
  std::atomic<uint32_t> joined{0};
  DistinctOffsets distinct(partitions);
  std::atomic<uint32_t> committed_members{0};
  const int64_t start_us = steady_now_us();
  int64_t end_us = 0;
  {
    WorkerGroup group;
    for (uint32_t i = 0; i < o.consumers; ++i) {
      ReaderPlan plan;
      plan.index = i;
      plan.target = o.count;
      if (grouped) {
        plan.distinct = &distinct;
        plan.committed_members = &committed_members;
        plan.members = o.consumers;
        group.spawn([&o, plan, &stop, &received, &target_reached_us, &joined, &consumers] {
          run_group_reader(o, plan, stop, received, target_reached_us, joined, consumers);
        });
        continue;
      }
      for (uint32_t p : partitions_for_reader(partitions, o.consumers, i)) plan.start[p] = start[p];
      group.spawn([&o, plan, &stop, &received, &target_reached_us, &consumers] {
        run_reader(o, plan, stop, received, target_reached_us, consumers);
      });
    }
    const Supervision sv = supervise(o, group, stop, start_us, [&received] { return received.load(); });
    s.interrupted = sv.reason == EarlyStop::kInterrupted;
    s.stalled = sv.reason == EarlyStop::kStalled;
    end_us = sv.at_us;
  }
  monitor.stop();

  if (target_reached_us.load() != 0) {
    end_us = target_reached_us.load();
  } else if (end_us == 0) {
    end_us = steady_now_us();
  }
  s.seconds = static_cast<double>(end_us - start_us) / 1e6;
  const uint64_t got = received.load();
  s.messages = o.count > 0 ? std::min(got, o.count) : got;
  s.bytes = got > 0 ? static_cast<uint64_t>(static_cast<double>(consumers.bytes()) *
                                            (static_cast<double>(s.messages) / static_cast<double>(got)))
                    : 0;
  if (o.count == 0) s.requested = 0;
  s.errors = consumers.errors();
  s.latency_us = latency_stats(consumers.latency());
  s.first_error = consumers.first_error();
  return s;
}

Summary run_e2e(const PerfOptions& o) {
  Summary s = base_summary(o);
  auto topic = ensure_topic(o);
  if (!topic.is_ok()) return setup_failed(s, topic.status());
  std::map<uint32_t, uint64_t> end_offsets;
  for (const auto& p : topic.value()) end_offsets[p.partition] = p.end_offset;
  const auto partition_count = static_cast<uint32_t>(end_offsets.size());
  const bool grouped = !o.group.empty();
  if (grouped) {
    if (auto setup = prepare_group(o, true); !setup.is_ok()) return setup_failed(s, setup.status());
  }

  StatsSet producers(o.producers);
  StatsSet consumers(o.consumers);
  Monitor monitor({s.mode, o.timeline, true}, &producers, &consumers,
                  [](uint64_t produced, uint64_t delivered) -> std::optional<uint64_t> {
                    return produced > delivered ? produced - delivered : 0;
                  });
  if (Status st = monitor.start(); !st.is_ok()) return setup_failed(s, st);

  std::atomic<bool> stop_producers{false};
  std::atomic<bool> stop_consumers{false};
  std::atomic<uint64_t> received{0};
  std::atomic<int64_t> target_reached_us{0};
  std::atomic<uint32_t> joined{0};
  bool stopped_by_duration = false;
  int64_t start_us = steady_now_us();
  int64_t end_us = 0;
  {
    // Readers first, from the current end of each partition (with a group: its offsets were moved
    // there): they see only this run's messages.
    WorkerGroup readers;
    for (uint32_t i = 0; i < o.consumers; ++i) {
      ReaderPlan plan;
      plan.index = i;
      plan.target = o.count;
      plan.e2e = true;
      if (grouped) {
        readers.spawn([&o, plan, &stop_consumers, &received, &target_reached_us, &joined, &consumers] {
          run_group_reader(o, plan, stop_consumers, received, target_reached_us, joined, consumers);
        });
        continue;
      }
      for (uint32_t p : partitions_for_reader(partition_count, o.consumers, i)) plan.start[p] = end_offsets[p];
      readers.spawn([&o, plan, &stop_consumers, &received, &target_reached_us, &consumers] {
        run_reader(o, plan, stop_consumers, received, target_reached_us, consumers);
      });
    }
    if (grouped) {
      // Every member joins before the first send, so no latency includes a join or a rebalance.
      wait_joined(o, joined, o.consumers);
      start_us = steady_now_us();
    }
    WorkerGroup writers;
    for (uint32_t i = 0; i < o.producers; ++i) {
      ProducerPlan plan{i, split_count(o.count, o.producers, i), o.rate / o.producers, true};
      writers.spawn([&o, plan, &stop_producers, &producers] { run_producer(o, plan, stop_producers, producers); });
    }

    uint64_t last_progress = 0;
    int64_t last_progress_us = start_us;
    while (!readers.all_finished()) {
      std::this_thread::sleep_for(kWaitStep);
      const int64_t now = steady_now_us();
      const uint64_t progress = received.load() + producers.done();
      if (progress != last_progress) {
        last_progress = progress;
        last_progress_us = now;
      }
      if (stop_consumers) continue;
      if (!stop_producers && o.duration_s > 0 && elapsed_s(start_us) >= o.duration_s) {
        stop_producers = true;
        stopped_by_duration = true;
      }
      if (interrupted()) {
        stop_producers = true;
        stop_consumers = true;
        s.interrupted = true;
        end_us = now;
      } else if (writers.all_finished() && received.load() >= producers.done()) {
        stop_consumers = true;  // everything acknowledged has been received
        end_us = now;
      } else if (now - last_progress_us > o.request_timeout_ms * 1000) {
        stop_producers = true;
        stop_consumers = true;
        s.stalled = true;
        end_us = last_progress_us;
      }
    }
    stop_producers = true;
    writers.join();
    readers.join();
  }
  monitor.stop();

  if (target_reached_us.load() != 0) {
    end_us = target_reached_us.load();
  } else if (end_us == 0) {
    end_us = steady_now_us();
  }
  s.seconds = static_cast<double>(end_us - start_us) / 1e6;
  const uint64_t got = received.load();
  const uint64_t acked = producers.done();
  s.messages = o.count > 0 ? std::min(got, o.count) : got;
  s.bytes = got > 0 ? static_cast<uint64_t>(static_cast<double>(consumers.bytes()) *
                                            (static_cast<double>(s.messages) / static_cast<double>(got)))
                    : 0;
  if (o.count == 0 || stopped_by_duration) s.requested = acked;
  const uint64_t sent = producers.sent();
  const uint64_t unresolved = sent > acked + producers.errors() ? sent - acked - producers.errors() : 0;
  s.errors = producers.errors() + unresolved + consumers.errors();
  s.latency_us = latency_stats(consumers.latency());
  s.first_error = producers.first_error();
  if (s.first_error.empty()) s.first_error = consumers.first_error();
  return s;
}

}  // namespace tidemq::perf
