#pragma once
// The live sessions of a broker, and the snowflake worker ids leased to them. Later, the
// check-back scheduler finds producer connections by producer group here. Thread-safe.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <vector>

#include "common/thread_annotations.h"

namespace tidemq::broker {

class Session;

class SessionRegistry {
 public:
  void add(const std::shared_ptr<Session>& session);
  void remove(uint64_t session_id);  // also releases its worker id
  size_t size() const;
  std::vector<std::shared_ptr<Session>> all() const;

  bool worker_in_use(uint32_t worker_id) const;
  void claim_worker(uint64_t session_id, uint32_t worker_id);

 private:
  mutable std::mutex mu_;
  std::map<uint64_t, std::weak_ptr<Session>> sessions_ GUARDED_BY(mu_);
  std::map<uint64_t, uint32_t> worker_by_session_ GUARDED_BY(mu_);
  std::set<uint32_t> workers_ GUARDED_BY(mu_);
};

}  // namespace tidemq::broker
