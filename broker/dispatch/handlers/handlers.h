#pragma once
// One handler per API (STYLE habit 10): read the verified request, call a service, reply through
// the Responder. Handlers run on the session's strand and must not block: LevelDB work is posted
// to Services::blocking or queued on the LogStore writer.
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <asio.hpp>

#include "broker/dispatch/responder.h"
#include "broker/dispatch/services.h"
#include "schemas/envelope_generated.h"

namespace tidemq::broker::handlers {

struct Request {
  const wire::Envelope& envelope;  // valid only during the handler call
  Responder responder;
  // The frame `envelope` points into. A handler that must answer later without copying may take
  // it (std::move) and re-read the envelope from it (the produce handler does when it parks).
  std::string& frame;
};

// --unsafe-ack-before-sync (the reliability suite's canaries T1c, T4c, T6c): the caller has
// acknowledged already; `store` runs on the blocking pool 200 ms later, so a crash in between
// loses what was acknowledged.
inline void store_later(Services& s, std::function<void()> store) {
  auto hold = std::make_shared<asio::steady_timer>(s.blocking, std::chrono::milliseconds(200));
  hold->async_wait([hold, store = std::move(store)](const asio::error_code&) { store(); });
}

void hello(Services& s, Request& r);
void produce(Services& s, Request& r);
void fetch(Services& s, Request& r);
void create_topic(Services& s, Request& r);
void delete_topic(Services& s, Request& r);
void list_topics(Services& s, Request& r);
void topic_status(Services& s, Request& r);
void broker_status(Services& s, Request& r);
void query_message(Services& s, Request& r);
// Consumer groups (group_handlers.cc, offset_handlers.cc, group_admin_handlers.cc).
void join_group(Services& s, Request& r);
void heartbeat(Services& s, Request& r);
void leave_group(Services& s, Request& r);
void commit_offsets(Services& s, Request& r);
void fetch_offsets(Services& s, Request& r);
void update_group(Services& s, Request& r);
void delete_group(Services& s, Request& r);
void list_groups(Services& s, Request& r);
void describe_group(Services& s, Request& r);
void consumer_progress(Services& s, Request& r);
void reset_offsets(Services& s, Request& r);
// Transactions (txn_handlers.cc, txn_batch_handlers.cc, txn_admin_handlers.cc).
void send_half(Services& s, Request& r);
void end_transaction(Services& s, Request& r);
void send_half_batch(Services& s, Request& r);        // each half as a SendHalf of its own
void end_transaction_batch(Services& s, Request& r);  // each end as an EndTransaction of its own
void check_reply(Services& s, Request& r);  // the producer's answer to a check-back
void half_status(Services& s, Request& r);
void query_half(Services& s, Request& r);
void resume_half(Services& s, Request& r);
void end_half(Services& s, Request& r);
void producer_connection(Services& s, Request& r);
// Retries and the dead-letter queue (SPEC §7).
void send_back(Services& s, Request& r);
void resend_dlq(Services& s, Request& r);

}  // namespace tidemq::broker::handlers
