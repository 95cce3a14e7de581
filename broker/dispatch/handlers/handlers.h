#pragma once
// One handler per API (STYLE habit 10): read the verified request, call a service, reply through
// the Responder. Handlers run on the session's strand and must not block: LevelDB work is posted
// to Services::blocking or queued on the LogStore writer.
#include <string>

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

void hello(Services& s, Request& r);
void produce(Services& s, Request& r);
void fetch(Services& s, Request& r);
void create_topic(Services& s, Request& r);
void delete_topic(Services& s, Request& r);
void list_topics(Services& s, Request& r);
void topic_status(Services& s, Request& r);
void broker_status(Services& s, Request& r);
void query_message(Services& s, Request& r);

}  // namespace tidemq::broker::handlers
