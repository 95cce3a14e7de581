#include "broker/periodic_job.h"

namespace tidemq::broker {

PeriodicJob::PeriodicJob(asio::io_context& io, asio::any_io_executor blocking, std::chrono::milliseconds period,
                         std::function<void()> job)
    : timer_(asio::make_strand(io)), blocking_(std::move(blocking)), period_(period), job_(std::move(job)) {}

void PeriodicJob::start() {
  asio::post(timer_.get_executor(), [this] { arm(); });
}

void PeriodicJob::stop() {
  asio::post(timer_.get_executor(), [this] {
    stopping_ = true;
    timer_.cancel();
  });
}

void PeriodicJob::arm() {
  if (stopping_) return;
  timer_.expires_after(period_);
  timer_.async_wait([this](const asio::error_code& ec) {
    if (ec || stopping_) return;
    asio::post(blocking_, [this] {
      job_();
      asio::post(timer_.get_executor(), [this] { arm(); });
    });
  });
}

}  // namespace tidemq::broker
