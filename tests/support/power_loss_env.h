#pragma once
// A LevelDB Env that simulates a power cut: it remembers how much of each file written through it
// has been fsynced, and on cut_power() freezes that — every later write, sync, create, rename and
// delete fails as if the machine had stopped. Once the DB is closed, drop_unsynced() truncates
// every file to its synced length (a file never synced loses all of it), which is what the disk
// holds after the power comes back, and lets writes through again.
//
//   PowerLossEnv env;                 // wraps leveldb::Env::Default()
//   ... open a DB (or a Broker) with &env, write ...
//   env.cut_power();                  // the machine stops here
//   ... close the DB (its writes now fail) ...
//   env.drop_unsynced();              // power back: only synced bytes survive
//   ... open it again ...
//
// Model limits: renames and deletes done before the cut are taken as durable (LevelDB syncs the
// data of the files it renames; directory entries are not tracked), and only files written
// through this env are affected. The transaction half log (broker/txn/half_log.cc) appends and
// syncs through the broker's Env, so its records are covered; its segment deletions and the
// torn-tail truncation at open use its own fds.
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include <leveldb/env.h>

namespace tidemq::test {

class PowerLossEnv : public leveldb::EnvWrapper {
 public:
  explicit PowerLossEnv(leveldb::Env* base = leveldb::Env::Default());
  ~PowerLossEnv() override;

  void cut_power();
  // Call with every file closed. Returns how many written bytes were lost.
  uint64_t drop_unsynced();
  bool power_cut() const { return cut_.load(); }

  leveldb::Status NewWritableFile(const std::string& fname, leveldb::WritableFile** result) override;
  leveldb::Status NewAppendableFile(const std::string& fname, leveldb::WritableFile** result) override;
  leveldb::Status RemoveFile(const std::string& fname) override;
  leveldb::Status RenameFile(const std::string& src, const std::string& target) override;

 private:
  class File;
  friend class File;
  struct Written {
    uint64_t size = 0;    // appended through this env
    uint64_t synced = 0;  // of which fsynced before the cut
  };
  leveldb::Status appended(const std::string& fname, uint64_t n);
  leveldb::Status synced(const std::string& fname, leveldb::WritableFile& base);
  leveldb::Status dead(const std::string& fname) const;

  std::atomic<bool> cut_{false};
  std::mutex mu_;
  std::map<std::string, Written> files_;
};

}  // namespace tidemq::test
