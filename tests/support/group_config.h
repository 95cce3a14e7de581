#pragma once
// Sets a consumer group's config with a raw UpdateGroupRequest (what `mqadmin updateSubGroup`
// sends), for tests that need a reset policy or a strategy before the group's members join.
// Header-only: link tidemq_client and tidemq_schemas.
#include <string>

#include "client/connection.h"
#include "common/status.h"
#include "tidemq/options.h"

namespace tidemq::test {

struct GroupSettings {
  std::string reset_policy = "latest";  // "latest", "earliest", "timestamp:<ms>"
  wire::AssignStrategy strategy = wire::AssignStrategy::AVG;
  wire::ConsumeMode mode = wire::ConsumeMode::CLUSTERING;
};

inline Status update_group(const ClientOptions& client, const std::string& group, const GroupSettings& settings) {
  client::ConnectionOptions co;
  co.client = client;
  auto conn = client::Connection::create(co);
  if (!conn.is_ok()) return conn.status();
  flatbuffers::FlatBufferBuilder fbb;
  auto config = wire::CreateGroupConfigDirect(fbb, group.c_str(), settings.strategy, settings.mode,
                                              settings.reset_policy.c_str());
  auto req = wire::CreateUpdateGroupRequest(fbb, config);
  auto r = (*conn)->call(fbb, wire::Body::UpdateGroupRequest, req.Union());
  if (!r.is_ok()) return r.status();
  if (!r->envelope().body_as_UpdateGroupResponse()) return Status::protocol("expected UpdateGroupResponse");
  return Status::ok();
}

}  // namespace tidemq::test
