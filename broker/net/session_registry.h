#pragma once
// The live sessions of a broker, the snowflake worker ids leased to them, and the producer
// connections by producer group (the check-back scheduler sends to them; mqadmin
// producerConnection lists them). Thread-safe.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "common/thread_annotations.h"

namespace tidemq::broker {

class Session;

// A producer connection whose Hello named a producer group.
struct ProducerEntry {
  uint64_t session_id = 0;
  std::string group;
  std::string client_id;
  std::string address;
  int64_t connected_ms = 0;  // unix ms of its Hello
};

class SessionRegistry {
 public:
  void add(const std::shared_ptr<Session>& session);
  void remove(uint64_t session_id);  // also releases its worker id
  size_t size() const;
  std::vector<std::shared_ptr<Session>> all() const;

  bool worker_in_use(uint32_t worker_id) const;
  void claim_worker(uint64_t session_id, uint32_t worker_id);

  // Registers a live session as a producer of entry.group (after its Hello); remove() forgets it.
  void add_producer(ProducerEntry entry);
  // The live producers of `group`, by session id.
  std::vector<ProducerEntry> producers(const std::string& group) const;
  // The session, if it is still open.
  std::shared_ptr<Session> find(uint64_t session_id) const;

 private:
  mutable std::mutex mu_;
  std::map<uint64_t, std::weak_ptr<Session>> sessions_ GUARDED_BY(mu_);
  std::map<uint64_t, uint32_t> worker_by_session_ GUARDED_BY(mu_);
  std::set<uint32_t> workers_ GUARDED_BY(mu_);
  std::map<std::string, std::map<uint64_t, ProducerEntry>> producers_ GUARDED_BY(mu_);  // group -> session -> entry
  std::map<uint64_t, std::string> group_by_session_ GUARDED_BY(mu_);
};

}  // namespace tidemq::broker
