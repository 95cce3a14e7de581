#pragma once
// Routes each verified request frame to its handler: api (union type) -> handler table.
// Adding an API is one schema table, one handler, one entry in kHandlers (dispatcher.cc).
#include <memory>
#include <string>

#include "broker/dispatch/services.h"
#include "broker/net/session.h"

namespace tidemq::broker {

class Dispatcher final : public FrameHandler {
 public:
  explicit Dispatcher(Services& services) : services_(services) {}

  void on_frame(const std::shared_ptr<Session>& session, std::string frame) override;
  void on_stream_error(const std::shared_ptr<Session>& session, const Status& error) override;
  void on_close(Session& session) override;

 private:
  Services& services_;
};

}  // namespace tidemq::broker
