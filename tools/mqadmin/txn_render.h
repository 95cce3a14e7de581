#pragma once
// Rendering of transaction data for mqadmin (halfStatus, queryHalfMsg, resumeCheckHalfMsg,
// endHalfMsg, producerConnection): tables for people, JSON for scripts. Pure functions over the
// client's plain structs (tidemq/admin.h), unit-tested.
#include <string>
#include <vector>

#include "tidemq/admin.h"
#include "tools/mqadmin/render.h"

namespace tidemq::tools {

// {"pending","parked","oldest_age_ms","groups":[{"producer_group","pending","parked",
//  "oldest_age_ms","live_producers"}],"checks_histogram":[...],"checks_sent",
//  "outcomes_committed","outcomes_rolled_back"} (SPEC §8 shape plus extras).
JsonValue half_status_json(const HalfStatus& status);
// pending/parked/oldest_age/checks_sent/outcome fields; then a table PRODUCER_GROUP PENDING PARKED
// OLDEST_AGE LIVE_PRODUCERS; then the checks histogram as a table CHECKS HALF_MESSAGES (non-empty
// buckets only, the last one labelled "N+"), or "no half-messages".
std::string half_status_text(const HalfStatus& status);

// "in 17.7s" (due later), "overdue by 1.2s" (< 0), "-" unless pending.
std::string format_next_check(const HalfInfo& half);

// {"txn_id","producer_group","state","check_count","age_ms","next_check_in_ms","offset",
//  "message": the message_json() object, or null once resolved}
JsonValue half_info_json(const HalfInfo& half);
// txn_id/producer_group/state/check_count/age/next_check fields (offset when committed), then
// the half-message's fields (message_id in hex, topic, partition, key, tags, properties, born,
// stored, body_bytes, body) while the broker still has it.
std::string half_info_text(const HalfInfo& half);

// {"producer_group","producers":[{"client_id","address","connected_ms","session_id"}]}
JsonValue producer_connection_json(const std::string& group, const std::vector<ProducerConnection>& producers);
// producer_group/producers fields, then a table CLIENT_ID ADDRESS SESSION_ID CONNECTED (or
// "no producers online").
std::string producer_connection_text(const std::string& group, const std::vector<ProducerConnection>& producers);

}  // namespace tidemq::tools
