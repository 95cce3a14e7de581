#include "broker/store/writeback_env.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <memory>

#include "common/logging.h"

namespace tidemq::broker {

namespace {

bool has_suffix(const std::string& name, const char* suffix, size_t n) {
  return name.size() > n && name.compare(name.size() - n, n, suffix) == 0;
}
bool is_table_file(const std::string& name) { return has_suffix(name, ".ldb", 4); }
bool is_log_file(const std::string& name) { return has_suffix(name, ".log", 4); }

int64_t steady_now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A log file, unchanged except that appended bytes are reported to the Env.
class CountingFile final : public leveldb::WritableFile {
 public:
  CountingFile(std::unique_ptr<leveldb::WritableFile> base, WritebackEnv& env)
      : base_(std::move(base)), env_(env) {}
  leveldb::Status Append(const leveldb::Slice& data) override {
    leveldb::Status s = base_->Append(data);
    if (s.ok()) env_.log_appended(data.size());
    return s;
  }
  leveldb::Status Close() override { return base_->Close(); }
  leveldb::Status Flush() override { return base_->Flush(); }
  leveldb::Status Sync() override { return base_->Sync(); }

 private:
  std::unique_ptr<leveldb::WritableFile> base_;
  WritebackEnv& env_;
};

// A table file written back and paced in steps of `bytes_per_sync`.
class WritebackFile final : public leveldb::WritableFile {
 public:
  // `fd` is a second descriptor of the same file used only for sync_file_range (-1: none).
  WritebackFile(std::unique_ptr<leveldb::WritableFile> base, std::string name, int fd,
                size_t bytes_per_sync, WritebackEnv& env)
      : base_(std::move(base)),
        name_(std::move(name)),
        fd_(fd),
        bytes_per_sync_(bytes_per_sync),
        env_(env),
        opened_us_(steady_now_us()) {}
  ~WritebackFile() override { close_fd(); }

  leveldb::Status Append(const leveldb::Slice& data) override {
    leveldb::Status s = base_->Append(data);
    if (!s.ok()) return s;
    unsynced_ += data.size();
    if (unsynced_ < bytes_per_sync_) return s;
    if (fd_ >= 0) {
      s = base_->Flush();  // out of LevelDB's buffer into the page cache
      if (!s.ok()) return s;
      // Wait until the previous chunk is on its way out (WAIT_BEFORE), then start this one: at
      // most about two chunks of this file are ever queued, so the build of a table proceeds at
      // disk speed instead of piling up pages that a produce's fsync would have to wait for. An
      // error here is not a durability error (Sync() still reports those), so it is ignored.
      (void)::sync_file_range(fd_, static_cast<off_t>(written_back_), 0,
                              SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE);
    }
    step_done();
    return s;
  }
  leveldb::Status Close() override {
    close_fd();
    const int64_t us = steady_now_us() - opened_us_;
    logging::get("store")->debug("table {}: {} KiB in {} ms, {} ms of it paced; ingest now {:.1f} MiB/s", name_,
                                 (written_back_ + unsynced_) >> 10, us / 1000, waited_us_ / 1000,
                                 env_.ingest_rate() / (1 << 20));
    return base_->Close();
  }
  leveldb::Status Flush() override { return base_->Flush(); }
  leveldb::Status Sync() override {
    if (unsynced_ > 0) step_done();  // the tail is paced too; the fsync writes it back
    return base_->Sync();
  }

 private:
  void step_done() {
    written_back_ += unsynced_;
    waited_us_ += env_.table_step_written(unsynced_);
    unsynced_ = 0;
  }
  void close_fd() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  std::unique_ptr<leveldb::WritableFile> base_;
  std::string name_;
  int fd_;
  size_t bytes_per_sync_;
  WritebackEnv& env_;
  int64_t opened_us_;
  size_t unsynced_ = 0;
  uint64_t written_back_ = 0;
  int64_t waited_us_ = 0;
};

}  // namespace

WritebackEnv::WritebackEnv(leveldb::Env* target, size_t bytes_per_sync, TablePaceOptions pace)
    : leveldb::EnvWrapper(target), bytes_per_sync_(bytes_per_sync), pace_(pace) {}

leveldb::Status WritebackEnv::NewWritableFile(const std::string& fname, leveldb::WritableFile** result) {
  leveldb::WritableFile* base = nullptr;
  leveldb::Status s = target()->NewWritableFile(fname, &base);
  if (!s.ok()) {
    *result = base;
    return s;
  }
  if (is_log_file(fname)) {
    // LevelDB calls this with its mutex held; pace_mu_ is a leaf, so this cannot deadlock.
    {
      std::lock_guard lock(pace_mu_);
      if (logs_.insert(fname).second) pace_.log_created();
    }
    *result = new CountingFile(std::unique_ptr<leveldb::WritableFile>(base), *this);
    return s;
  }
  if (!is_table_file(fname)) {
    *result = base;
    return s;
  }
  // A file the target keeps elsewhere (an in-memory Env) has no path to open: no writeback.
  int fd = ::open(fname.c_str(), O_RDONLY | O_CLOEXEC);
  *result = new WritebackFile(std::unique_ptr<leveldb::WritableFile>(base), fname, fd, bytes_per_sync_, *this);
  return s;
}

leveldb::Status WritebackEnv::RemoveFile(const std::string& fname) {
  if (is_log_file(fname)) {
    std::lock_guard lock(pace_mu_);
    if (logs_.erase(fname) > 0) pace_.log_removed();
  }
  shrink_in_steps(fname);
  return target()->RemoveFile(fname);
}

void WritebackEnv::shrink_in_steps(const std::string& fname) {
  // A file the target keeps elsewhere (an in-memory Env) has no path to open: nothing to do.
  int fd = ::open(fname.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return;
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    off_t size = st.st_size;
    constexpr off_t kStep = static_cast<off_t>(kDeleteStepBytes);
    // Errors only mean the unlink frees more at once, as without this.
    while (size > kStep && ::ftruncate(fd, size - kStep) == 0) size -= kStep;
  }
  ::close(fd);
}

void WritebackEnv::start_pacing(std::function<int()> level0_files) {
  std::lock_guard lock(probe_mu_);
  level0_files_ = std::move(level0_files);
}

void WritebackEnv::stop_pacing() {
  {
    std::lock_guard lock(probe_mu_);
    level0_files_ = nullptr;
  }
  stop_cv_.notify_all();
}

double WritebackEnv::ingest_rate() const {
  std::lock_guard lock(pace_mu_);
  return pace_.ingest_rate(steady_now_us());
}

int WritebackEnv::live_logs() const {
  std::lock_guard lock(pace_mu_);
  return pace_.live_logs();
}

void WritebackEnv::log_appended(size_t bytes) {
  const int64_t now = steady_now_us();
  std::lock_guard lock(pace_mu_);
  pace_.ingest(bytes, now);
}

int64_t WritebackEnv::table_step_written(size_t bytes) {
  std::unique_lock lock(probe_mu_);
  if (!level0_files_) return 0;
  // LevelDB writes table data without holding its mutex, so asking it for the level-0 count here
  // cannot deadlock; probe_mu_ only keeps stop_pacing() from returning while this call runs.
  const int level0 = level0_files_();
  int64_t delay_us = 0;
  {
    std::lock_guard pace_lock(pace_mu_);
    delay_us = pace_.delay_after(bytes, steady_now_us(), level0);
  }
  if (delay_us <= 0) return 0;
  const int64_t start = steady_now_us();
  stop_cv_.wait_for(lock, std::chrono::microseconds(delay_us), [this] {
    return !level0_files_;
  });
  return steady_now_us() - start;
}

}  // namespace tidemq::broker
