#pragma once
// A LevelDB Env that can make writable files fail, for testing sticky storage errors, and that
// counts and can hold fsyncs, for testing group commit without sleeping.
//
//   FaultEnv env;                    // wraps leveldb::Env::Default()
//   env.set_fail_sync(true);         // choose what fails...
//   env.arm();                       // ...from now on, in every writable file
//   env.disarm();                    // back to normal
//
// The env must outlive every DB opened with it.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>

#include <leveldb/env.h>

namespace tidemq::test {

class FaultEnv : public leveldb::EnvWrapper {
 public:
  explicit FaultEnv(leveldb::Env* base = leveldb::Env::Default());
  ~FaultEnv() override;

  // What fails once armed. Both default to false.
  void set_fail_sync(bool fail) { fail_sync_ = fail; }
  void set_fail_append(bool fail) { fail_append_ = fail; }
  void arm() { armed_ = true; }
  void disarm() { armed_ = false; }

  // Successful and failed Sync() calls on writable files since construction / the last reset.
  uint64_t sync_count() const { return syncs_.load(); }
  void reset_sync_count() { syncs_ = 0; }

  // While held, every Sync() blocks (before counting) until release_syncs(). Lets a test pile
  // work up behind an fsync deterministically. `wait_for_held_sync()` blocks until a Sync() is
  // waiting.
  void hold_syncs();
  void release_syncs();
  void wait_for_held_sync();
  // While held: lets one Sync() through (a waiting one, or the next), then holds again.
  void release_one_sync();

  leveldb::Status NewWritableFile(const std::string& fname, leveldb::WritableFile** result) override;
  leveldb::Status NewAppendableFile(const std::string& fname, leveldb::WritableFile** result) override;

 private:
  class File;
  friend class File;
  leveldb::Status on_sync(const std::string& fname);
  leveldb::Status on_append(const std::string& fname);

  std::atomic<bool> fail_sync_{false};
  std::atomic<bool> fail_append_{false};
  std::atomic<bool> armed_{false};
  std::atomic<uint64_t> syncs_{0};

  std::mutex mu_;
  std::condition_variable cv_;
  bool hold_ = false;
  int waiting_ = 0;
  int passes_ = 0;  // release_one_sync() permits not used yet
};

}  // namespace tidemq::test
