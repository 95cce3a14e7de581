// Admin: transaction administration (SPEC §6; mqadmin halfStatus, queryHalfMsg,
// resumeCheckHalfMsg, endHalfMsg, producerConnection).
#include "client/admin_impl.h"
#include "client/txn_codec.h"

namespace tidemq {
namespace {

// The HalfInfo a query/resume/end response carries; every such response must carry one.
Result<HalfInfo> half_from_response(const wire::HalfInfo* half, uint64_t txn_id, const char* response) {
  if (half == nullptr) return Status::protocol(std::string(response) + " without a transaction");
  HalfInfo info = client::half_info_from_wire(*half);
  if (info.txn_id == 0) info.txn_id = txn_id;
  return info;
}

}  // namespace

Result<HalfStatus> Admin::half_status(const std::string& producer_group) {
  flatbuffers::FlatBufferBuilder fbb(128);
  auto req = wire::CreateHalfStatusRequestDirect(fbb, producer_group.c_str());
  TIDEMQ_ASSIGN_OR_RETURN(auto f, impl_->call(fbb, wire::Body::HalfStatusRequest, req.Union(),
                                              wire::Body::HalfStatusResponse));
  return client::half_status_from_wire(*f.envelope().body_as_HalfStatusResponse());
}

Result<HalfInfo> Admin::query_half(uint64_t txn_id) {
  flatbuffers::FlatBufferBuilder fbb(64);
  auto req = wire::CreateQueryHalfRequest(fbb, txn_id);
  TIDEMQ_ASSIGN_OR_RETURN(auto f, impl_->call(fbb, wire::Body::QueryHalfRequest, req.Union(),
                                              wire::Body::QueryHalfResponse));
  return half_from_response(f.envelope().body_as_QueryHalfResponse()->half(), txn_id, "QueryHalfResponse");
}

Result<HalfInfo> Admin::resume_half(uint64_t txn_id) {
  flatbuffers::FlatBufferBuilder fbb(64);
  auto req = wire::CreateResumeHalfRequest(fbb, txn_id);
  TIDEMQ_ASSIGN_OR_RETURN(auto f, impl_->call(fbb, wire::Body::ResumeHalfRequest, req.Union(),
                                              wire::Body::ResumeHalfResponse));
  return half_from_response(f.envelope().body_as_ResumeHalfResponse()->half(), txn_id, "ResumeHalfResponse");
}

Result<HalfInfo> Admin::end_half(uint64_t txn_id, TxnAction action) {
  if (action == TxnAction::kUnknown) {
    return Status::invalid_argument("an operator ends a transaction with commit or rollback, not unknown");
  }
  flatbuffers::FlatBufferBuilder fbb(64);
  auto req = wire::CreateEndHalfRequest(fbb, txn_id, client::txn_action_to_wire(action));
  TIDEMQ_ASSIGN_OR_RETURN(auto f, impl_->call(fbb, wire::Body::EndHalfRequest, req.Union(),
                                              wire::Body::EndHalfResponse));
  return half_from_response(f.envelope().body_as_EndHalfResponse()->half(), txn_id, "EndHalfResponse");
}

Result<std::vector<ProducerConnection>> Admin::producer_connection(const std::string& producer_group) {
  if (producer_group.empty()) return Status::invalid_argument("producer group name is empty");
  flatbuffers::FlatBufferBuilder fbb(128);
  auto req = wire::CreateProducerConnectionRequestDirect(fbb, producer_group.c_str());
  TIDEMQ_ASSIGN_OR_RETURN(auto f, impl_->call(fbb, wire::Body::ProducerConnectionRequest, req.Union(),
                                              wire::Body::ProducerConnectionResponse));
  return client::producer_connections_from_wire(*f.envelope().body_as_ProducerConnectionResponse());
}

}  // namespace tidemq
