#pragma once
// The only place broker threads are made (besides the LogStore writer): the Asio network
// threads and the blocking pool for LevelDB reads and admin writes.
#include <memory>
#include <thread>
#include <vector>

#include <asio.hpp>

namespace tidemq::broker {

class Executors {
 public:
  Executors(unsigned io_threads, unsigned blocking_threads);
  ~Executors();  // join()

  void start();
  // Lets the io threads finish and joins every thread. Idempotent.
  void join();

  asio::io_context& io() { return io_; }
  asio::any_io_executor blocking() { return blocking_.get_executor(); }

 private:
  unsigned io_threads_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  asio::thread_pool blocking_;
  std::vector<std::thread> threads_;
  bool joined_ = false;
};

}  // namespace tidemq::broker
