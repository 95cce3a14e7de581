#include "broker/net/session_registry.h"

#include "broker/net/session.h"

namespace tidemq::broker {

void SessionRegistry::add(const std::shared_ptr<Session>& session) {
  std::lock_guard lock(mu_);
  sessions_[session->id()] = session;
}

void SessionRegistry::remove(uint64_t session_id) {
  std::lock_guard lock(mu_);
  sessions_.erase(session_id);
  if (auto it = worker_by_session_.find(session_id); it != worker_by_session_.end()) {
    workers_.erase(it->second);
    worker_by_session_.erase(it);
  }
  if (auto it = group_by_session_.find(session_id); it != group_by_session_.end()) {
    auto group = producers_.find(it->second);
    group->second.erase(session_id);
    if (group->second.empty()) producers_.erase(group);
    group_by_session_.erase(it);
  }
}

size_t SessionRegistry::size() const {
  std::lock_guard lock(mu_);
  return sessions_.size();
}

std::vector<std::shared_ptr<Session>> SessionRegistry::all() const {
  std::lock_guard lock(mu_);
  std::vector<std::shared_ptr<Session>> out;
  for (const auto& [id, weak] : sessions_) {
    if (auto s = weak.lock()) out.push_back(std::move(s));
  }
  return out;
}

bool SessionRegistry::worker_in_use(uint32_t worker_id) const {
  std::lock_guard lock(mu_);
  return workers_.count(worker_id) > 0;
}

void SessionRegistry::claim_worker(uint64_t session_id, uint32_t worker_id) {
  std::lock_guard lock(mu_);
  if (!sessions_.count(session_id)) return;  // closed meanwhile
  worker_by_session_[session_id] = worker_id;
  workers_.insert(worker_id);
}

void SessionRegistry::add_producer(ProducerEntry entry) {
  std::lock_guard lock(mu_);
  if (!sessions_.count(entry.session_id) || group_by_session_.count(entry.session_id)) return;
  group_by_session_[entry.session_id] = entry.group;
  producers_[entry.group][entry.session_id] = std::move(entry);
}

std::vector<ProducerEntry> SessionRegistry::producers(const std::string& group) const {
  std::lock_guard lock(mu_);
  std::vector<ProducerEntry> out;
  if (auto it = producers_.find(group); it != producers_.end()) {
    for (const auto& [id, e] : it->second) out.push_back(e);
  }
  return out;
}

std::shared_ptr<Session> SessionRegistry::find(uint64_t session_id) const {
  std::lock_guard lock(mu_);
  auto it = sessions_.find(session_id);
  return it == sessions_.end() ? nullptr : it->second.lock();
}

}  // namespace tidemq::broker
