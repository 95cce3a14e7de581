#include "tests/support/power_loss_env.h"

#include <unistd.h>

#include <memory>

namespace tidemq::test {

class PowerLossEnv::File final : public leveldb::WritableFile {
 public:
  File(PowerLossEnv& env, std::string fname, leveldb::WritableFile* base)
      : env_(env), fname_(std::move(fname)), base_(base) {}

  leveldb::Status Append(const leveldb::Slice& data) override {
    leveldb::Status s = env_.appended(fname_, data.size());
    return s.ok() ? base_->Append(data) : s;
  }
  leveldb::Status Close() override { return base_->Close(); }  // bytes past the synced length go on restore
  leveldb::Status Flush() override { return env_.power_cut() ? env_.dead(fname_) : base_->Flush(); }
  leveldb::Status Sync() override { return env_.synced(fname_, *base_); }

 private:
  PowerLossEnv& env_;
  std::string fname_;
  std::unique_ptr<leveldb::WritableFile> base_;
};

PowerLossEnv::PowerLossEnv(leveldb::Env* base) : leveldb::EnvWrapper(base) {}

PowerLossEnv::~PowerLossEnv() = default;

leveldb::Status PowerLossEnv::dead(const std::string& fname) const {
  return leveldb::Status::IOError(fname, "simulated power loss");
}

leveldb::Status PowerLossEnv::NewWritableFile(const std::string& fname, leveldb::WritableFile** result) {
  *result = nullptr;
  std::lock_guard lock(mu_);
  if (cut_) return dead(fname);
  leveldb::WritableFile* base = nullptr;
  leveldb::Status s = target()->NewWritableFile(fname, &base);  // truncates: nothing synced yet
  if (!s.ok()) return s;
  files_[fname] = Written{};
  *result = new File(*this, fname, base);
  return s;
}

leveldb::Status PowerLossEnv::NewAppendableFile(const std::string& fname, leveldb::WritableFile** result) {
  *result = nullptr;
  std::lock_guard lock(mu_);
  if (cut_) return dead(fname);
  uint64_t size = 0;
  if (!target()->GetFileSize(fname, &size).ok()) size = 0;  // what is there already survived
  leveldb::WritableFile* base = nullptr;
  leveldb::Status s = target()->NewAppendableFile(fname, &base);
  if (!s.ok()) return s;
  files_[fname] = Written{size, size};
  *result = new File(*this, fname, base);
  return s;
}

leveldb::Status PowerLossEnv::RemoveFile(const std::string& fname) {
  std::lock_guard lock(mu_);
  if (cut_) return dead(fname);
  leveldb::Status s = target()->RemoveFile(fname);
  if (s.ok()) files_.erase(fname);
  return s;
}

leveldb::Status PowerLossEnv::RenameFile(const std::string& src, const std::string& target_name) {
  std::lock_guard lock(mu_);
  if (cut_) return dead(src);
  leveldb::Status s = target()->RenameFile(src, target_name);
  if (!s.ok()) return s;
  files_.erase(target_name);
  if (auto it = files_.find(src); it != files_.end()) {
    files_[target_name] = it->second;
    files_.erase(src);
  }
  return s;
}

leveldb::Status PowerLossEnv::appended(const std::string& fname, uint64_t n) {
  std::lock_guard lock(mu_);
  if (cut_) return dead(fname);
  files_[fname].size += n;
  return leveldb::Status::OK();
}

leveldb::Status PowerLossEnv::synced(const std::string& fname, leveldb::WritableFile& base) {
  uint64_t size = 0;
  {
    std::lock_guard lock(mu_);
    if (cut_) return dead(fname);
    size = files_[fname].size;
  }
  leveldb::Status s = base.Sync();  // outside the lock: fsyncs of different files overlap
  std::lock_guard lock(mu_);
  if (cut_) return dead(fname);  // the cut came first: this fsync never finished
  if (s.ok()) {
    Written& w = files_[fname];
    if (size > w.synced) w.synced = size;
  }
  return s;
}

void PowerLossEnv::cut_power() {
  std::lock_guard lock(mu_);
  cut_ = true;
}

uint64_t PowerLossEnv::drop_unsynced() {
  std::lock_guard lock(mu_);
  uint64_t lost = 0;
  for (const auto& [fname, w] : files_) {
    if (w.size > w.synced) {
      lost += w.size - w.synced;
      (void)::truncate(fname.c_str(), static_cast<off_t>(w.synced));
    }
  }
  files_.clear();
  cut_ = false;
  return lost;
}

}  // namespace tidemq::test
