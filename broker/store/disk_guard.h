#pragma once
// The disk-space low-water mark (SPEC §5.3): when the filesystem holding --data has less than
// --min-free-disk-bytes free, writes are refused with DISK_FULL and a message that names the free
// bytes, the threshold and the flag, instead of running LevelDB into ENOSPC (a sticky storage
// error). Writes resume once free space is back above the mark plus a hysteresis of 1/16 of it,
// so a broker hovering at the mark does not flap.
//
// Free space is sampled by check() — statvfs, a blocking call — which the broker runs from a
// timer on its blocking pool (every --disk-check-ms, not per request); the request path only
// reads an atomic (disk_low()).
//
// Threads: check() from one thread at a time (any non-network thread); everything else from any
// thread.
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "common/status.h"

namespace tidemq::broker {

// Free bytes available to an unprivileged writer on the filesystem holding `path`; injected by
// tests.
using FreeSpaceFn = std::function<Result<uint64_t>(const std::string& path)>;

class DiskGuard {
 public:
  // statvfs(path): f_bavail * f_frsize.
  static Result<uint64_t> statvfs_free_bytes(const std::string& path);

  // `min_free_bytes` 0 disables the guard (disk_low() stays false, check() does nothing).
  // `free_space` defaults to statvfs_free_bytes.
  DiskGuard(std::string path, uint64_t min_free_bytes, FreeSpaceFn free_space = nullptr);

  bool enabled() const { return min_free_bytes_ > 0; }
  // Samples the free space and updates disk_low(). A failing sample is logged and changes
  // nothing. Blocking (statvfs): not on a network thread.
  void check();

  // True while writes must be refused. One relaxed load.
  bool disk_low() const { return low_.load(std::memory_order_relaxed); }
  // The last sample (0 before the first check or when disabled).
  uint64_t free_bytes() const { return free_bytes_.load(std::memory_order_relaxed); }
  // DiskFull naming the free bytes, the threshold and the flag when disk_low(), else ok.
  Status write_status() const;

  uint64_t min_free_bytes() const { return min_free_bytes_; }
  // Writes resume once free space is at or above this.
  uint64_t resume_free_bytes() const { return min_free_bytes_ + min_free_bytes_ / 16; }

 private:
  const std::string path_;
  const uint64_t min_free_bytes_;
  const FreeSpaceFn free_space_;
  std::atomic<bool> low_{false};
  std::atomic<uint64_t> free_bytes_{0};
};

}  // namespace tidemq::broker
