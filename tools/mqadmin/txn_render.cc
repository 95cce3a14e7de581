#include "tools/mqadmin/txn_render.h"

#include "tools/mqadmin/message_render.h"

namespace tidemq::tools {
namespace {

std::string age_text(uint64_t age_ms, bool any) { return any ? format_duration_ms(age_ms) : "-"; }

}  // namespace

JsonValue half_status_json(const HalfStatus& s) {
  auto groups = JsonValue::array();
  for (const auto& g : s.groups) {
    groups.push(JsonValue::object()
                    .set("producer_group", g.producer_group)
                    .set("pending", g.pending)
                    .set("parked", g.parked)
                    .set("oldest_age_ms", g.oldest_age_ms)
                    .set("live_producers", g.live_producers));
  }
  auto histogram = JsonValue::array();
  for (uint64_t n : s.checks_histogram) histogram.push(n);
  return JsonValue::object()
      .set("pending", s.pending)
      .set("parked", s.parked)
      .set("oldest_age_ms", s.oldest_age_ms)
      .set("groups", std::move(groups))
      .set("checks_histogram", std::move(histogram))
      .set("checks_sent", s.checks_sent)
      .set("outcomes_committed", s.outcomes_committed)
      .set("outcomes_rolled_back", s.outcomes_rolled_back);
}

std::string half_status_text(const HalfStatus& s) {
  std::string out = render_fields({{"pending", std::to_string(s.pending)},
                                   {"parked", std::to_string(s.parked)},
                                   {"oldest_age", age_text(s.oldest_age_ms, s.pending + s.parked > 0)},
                                   {"checks_sent", std::to_string(s.checks_sent)},
                                   {"committed", std::to_string(s.outcomes_committed)},
                                   {"rolled_back", std::to_string(s.outcomes_rolled_back)}});
  if (!s.groups.empty()) {
    Table groups({"PRODUCER_GROUP", "PENDING", "PARKED", "OLDEST_AGE", "LIVE_PRODUCERS"});
    for (size_t c : {1, 2, 4}) groups.set_align(c, Table::Align::kRight);
    for (const auto& g : s.groups) {
      groups.add_row({g.producer_group, std::to_string(g.pending), std::to_string(g.parked),
                      age_text(g.oldest_age_ms, g.pending + g.parked > 0), std::to_string(g.live_producers)});
    }
    out += "\n" + groups.render();
  }
  Table checks({"CHECKS", "HALF_MESSAGES"});
  checks.set_align(1, Table::Align::kRight);
  for (size_t i = 0; i < s.checks_histogram.size(); ++i) {
    if (s.checks_histogram[i] == 0) continue;
    const bool last = i + 1 == s.checks_histogram.size();
    checks.add_row({std::to_string(i) + (last ? "+" : ""), std::to_string(s.checks_histogram[i])});
  }
  if (checks.rows() > 0) out += "\n" + checks.render();
  if (s.groups.empty() && checks.rows() == 0 && s.pending + s.parked == 0) out += "no half-messages\n";
  return out;
}

std::string format_next_check(const HalfInfo& h) {
  if (h.state != TxnState::kPending) return "-";
  if (h.next_check_in_ms < 0) return "overdue by " + format_duration_ms(static_cast<uint64_t>(-h.next_check_in_ms));
  return "in " + format_duration_ms(static_cast<uint64_t>(h.next_check_in_ms));
}

JsonValue half_info_json(const HalfInfo& h) {
  return JsonValue::object()
      .set("txn_id", h.txn_id)
      .set("producer_group", h.producer_group)
      .set("state", txn_state_name(h.state))
      .set("check_count", h.check_count)
      .set("age_ms", h.age_ms)
      .set("next_check_in_ms", h.next_check_in_ms)
      .set("offset", h.offset)
      .set("message", h.message ? message_json(*h.message) : JsonValue());
}

std::string half_info_text(const HalfInfo& h) {
  std::vector<std::pair<std::string, std::string>> fields = {
      {"txn_id", std::to_string(h.txn_id)},
      {"producer_group", h.producer_group},
      {"state", txn_state_name(h.state)},
  };
  if (h.state == TxnState::kCommitted) fields.emplace_back("offset", std::to_string(h.offset));
  fields.emplace_back("check_count", std::to_string(h.check_count));
  fields.emplace_back("age", format_duration_ms(h.age_ms));
  fields.emplace_back("next_check", format_next_check(h));
  if (h.message) {
    // The half-message has no offset yet and was never consumed; its id is the transaction id.
    for (auto& [name, value] : message_field_list(*h.message)) {
      if (name == "offset" || name == "reconsume_times") continue;
      fields.emplace_back(name == "id" ? "message_id" : name, std::move(value));
    }
  }
  return render_fields(fields);
}

JsonValue producer_connection_json(const std::string& group, const std::vector<ProducerConnection>& producers) {
  auto list = JsonValue::array();
  for (const auto& p : producers) {
    list.push(JsonValue::object()
                  .set("client_id", p.client_id)
                  .set("address", p.address)
                  .set("connected_ms", p.connected_ms)
                  .set("session_id", p.session_id));
  }
  return JsonValue::object().set("producer_group", group).set("producers", std::move(list));
}

std::string producer_connection_text(const std::string& group, const std::vector<ProducerConnection>& producers) {
  std::string out = render_fields({{"producer_group", group}, {"producers", std::to_string(producers.size())}});
  if (producers.empty()) return out + "no producers online\n";
  Table table({"CLIENT_ID", "ADDRESS", "SESSION_ID", "CONNECTED"});
  table.set_align(2, Table::Align::kRight);
  for (const auto& p : producers) {
    table.add_row({p.client_id, p.address, std::to_string(p.session_id), format_time_ms(p.connected_ms)});
  }
  return out + "\n" + table.render();
}

}  // namespace tidemq::tools
