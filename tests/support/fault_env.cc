#include "tests/support/fault_env.h"

#include <memory>

namespace tidemq::test {

class FaultEnv::File final : public leveldb::WritableFile {
 public:
  File(FaultEnv& env, std::string fname, leveldb::WritableFile* base)
      : env_(env), fname_(std::move(fname)), base_(base) {}

  leveldb::Status Append(const leveldb::Slice& data) override {
    leveldb::Status s = env_.on_append(fname_);
    return s.ok() ? base_->Append(data) : s;
  }
  leveldb::Status Close() override { return base_->Close(); }
  leveldb::Status Flush() override { return base_->Flush(); }
  leveldb::Status Sync() override {
    leveldb::Status s = env_.on_sync(fname_);
    return s.ok() ? base_->Sync() : s;
  }

 private:
  FaultEnv& env_;
  std::string fname_;
  std::unique_ptr<leveldb::WritableFile> base_;
};

FaultEnv::FaultEnv(leveldb::Env* base) : leveldb::EnvWrapper(base) {}

FaultEnv::~FaultEnv() = default;

leveldb::Status FaultEnv::NewWritableFile(const std::string& fname, leveldb::WritableFile** result) {
  leveldb::WritableFile* base = nullptr;
  leveldb::Status s = target()->NewWritableFile(fname, &base);
  *result = s.ok() ? new File(*this, fname, base) : nullptr;
  return s;
}

leveldb::Status FaultEnv::NewAppendableFile(const std::string& fname, leveldb::WritableFile** result) {
  leveldb::WritableFile* base = nullptr;
  leveldb::Status s = target()->NewAppendableFile(fname, &base);
  *result = s.ok() ? new File(*this, fname, base) : nullptr;
  return s;
}

leveldb::Status FaultEnv::on_sync(const std::string& fname) {
  {
    std::unique_lock lock(mu_);
    if (hold_ && passes_ > 0) {
      --passes_;
    } else if (hold_) {
      ++waiting_;
      cv_.notify_all();
      cv_.wait(lock, [&] { return !hold_ || passes_ > 0; });
      --waiting_;
      if (hold_) --passes_;
    }
  }
  ++syncs_;
  if (armed_ && fail_sync_) return leveldb::Status::IOError(fname, "injected fsync failure");
  return leveldb::Status::OK();
}

leveldb::Status FaultEnv::on_append(const std::string& fname) {
  if (armed_ && fail_append_) return leveldb::Status::IOError(fname, "injected write failure");
  return leveldb::Status::OK();
}

void FaultEnv::hold_syncs() {
  std::lock_guard lock(mu_);
  hold_ = true;
}

void FaultEnv::release_syncs() {
  std::lock_guard lock(mu_);
  hold_ = false;
  passes_ = 0;
  cv_.notify_all();
}

void FaultEnv::release_one_sync() {
  std::lock_guard lock(mu_);
  ++passes_;
  cv_.notify_all();
}

void FaultEnv::wait_for_held_sync() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return waiting_ > 0; });
}

}  // namespace tidemq::test
