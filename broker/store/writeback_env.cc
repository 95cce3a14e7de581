#include "broker/store/writeback_env.h"

#include <fcntl.h>
#include <unistd.h>

#include <memory>

namespace tidemq::broker {

namespace {

bool is_table_file(const std::string& name) {
  return name.size() > 4 && name.compare(name.size() - 4, 4, ".ldb") == 0;
}

class WritebackFile final : public leveldb::WritableFile {
 public:
  // `fd` is a second descriptor of the same file used only for sync_file_range (-1: none).
  WritebackFile(std::unique_ptr<leveldb::WritableFile> base, int fd, size_t bytes_per_sync)
      : base_(std::move(base)), fd_(fd), bytes_per_sync_(bytes_per_sync) {}
  ~WritebackFile() override { close_fd(); }

  leveldb::Status Append(const leveldb::Slice& data) override {
    leveldb::Status s = base_->Append(data);
    if (!s.ok() || fd_ < 0) return s;
    unsynced_ += data.size();
    if (unsynced_ < bytes_per_sync_) return s;
    s = base_->Flush();  // out of LevelDB's buffer into the page cache
    if (!s.ok()) return s;
    // Wait until the previous chunk is on its way out (WAIT_BEFORE), then start this one: at most
    // about two chunks of this file are ever queued, so the build of a table proceeds at disk
    // speed instead of piling up pages that a produce's fsync would have to wait for. An error
    // here is not a durability error (Sync() still reports those), so it is ignored.
    (void)::sync_file_range(fd_, static_cast<off_t>(written_back_), 0,
                            SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE);
    written_back_ += unsynced_;
    unsynced_ = 0;
    return s;
  }
  leveldb::Status Close() override {
    close_fd();
    return base_->Close();
  }
  leveldb::Status Flush() override { return base_->Flush(); }
  leveldb::Status Sync() override { return base_->Sync(); }

 private:
  void close_fd() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  std::unique_ptr<leveldb::WritableFile> base_;
  int fd_;
  size_t bytes_per_sync_;
  size_t unsynced_ = 0;
  uint64_t written_back_ = 0;
};

}  // namespace

WritebackEnv::WritebackEnv(leveldb::Env* target, size_t bytes_per_sync)
    : leveldb::EnvWrapper(target), bytes_per_sync_(bytes_per_sync) {}

leveldb::Status WritebackEnv::NewWritableFile(const std::string& fname, leveldb::WritableFile** result) {
  leveldb::WritableFile* base = nullptr;
  leveldb::Status s = target()->NewWritableFile(fname, &base);
  if (!s.ok() || !is_table_file(fname)) {
    *result = base;
    return s;
  }
  // A file the target keeps elsewhere (an in-memory Env) has no path to open: no writeback.
  int fd = ::open(fname.c_str(), O_RDONLY | O_CLOEXEC);
  *result = new WritebackFile(std::unique_ptr<leveldb::WritableFile>(base), fd, bytes_per_sync_);
  return s;
}

}  // namespace tidemq::broker
