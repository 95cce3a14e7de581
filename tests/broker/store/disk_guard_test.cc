// DiskGuard: the disk-space low-water mark with an injected free-space function.
#include <doctest/doctest.h>

#include <atomic>
#include <string>

#include "broker/store/disk_guard.h"
#include "tests/support/temp_dir.h"

using namespace tidemq;
using namespace tidemq::broker;

namespace {
constexpr uint64_t kMiB = 1ull << 20;

struct FakeDisk {
  std::atomic<uint64_t> free{0};
  std::atomic<bool> fail{false};
  std::atomic<int> calls{0};
  std::string seen_path;
  FreeSpaceFn fn() {
    return [this](const std::string& path) -> Result<uint64_t> {
      ++calls;
      seen_path = path;
      if (fail) return Status::storage("statvfs: injected failure");
      return free.load();
    };
  }
};
}  // namespace

TEST_CASE("below the mark writes are refused with DISK_FULL naming free bytes, threshold and flag") {
  FakeDisk disk;
  disk.free = 100 * kMiB;
  DiskGuard guard("/data/dir", 512 * kMiB, disk.fn());
  CHECK_FALSE(guard.disk_low());  // nothing sampled yet
  CHECK(guard.write_status().is_ok());
  guard.check();
  CHECK(disk.seen_path == "/data/dir");
  CHECK(guard.disk_low());
  CHECK(guard.free_bytes() == 100 * kMiB);
  Status st = guard.write_status();
  CHECK(st.code() == StatusCode::kDiskFull);
  CHECK_FALSE(st.retriable());
  CHECK(st.message().find("104857600 bytes free on /data/dir") != std::string::npos);
  CHECK(st.message().find("536870912") != std::string::npos);
  CHECK(st.message().find("--min-free-disk-bytes") != std::string::npos);
}

TEST_CASE("writes resume only above the mark plus the hysteresis") {
  FakeDisk disk;
  disk.free = 511 * kMiB;
  DiskGuard guard("/d", 512 * kMiB, disk.fn());
  guard.check();
  REQUIRE(guard.disk_low());
  CHECK(guard.resume_free_bytes() == 544 * kMiB);  // + 1/16
  disk.free = 520 * kMiB;  // above the mark, inside the hysteresis band
  guard.check();
  CHECK(guard.disk_low());
  disk.free = 544 * kMiB;
  guard.check();
  CHECK_FALSE(guard.disk_low());
  CHECK(guard.write_status().is_ok());
  disk.free = 520 * kMiB;  // in the band from above: still fine
  guard.check();
  CHECK_FALSE(guard.disk_low());
  disk.free = 512 * kMiB - 1;
  guard.check();
  CHECK(guard.disk_low());
}

TEST_CASE("a failing sample changes nothing") {
  FakeDisk disk;
  disk.free = kMiB;
  DiskGuard guard("/d", 512 * kMiB, disk.fn());
  guard.check();
  REQUIRE(guard.disk_low());
  disk.fail = true;
  disk.free = 1000 * kMiB;
  guard.check();
  CHECK(guard.disk_low());
  CHECK(guard.free_bytes() == kMiB);
}

TEST_CASE("0 disables the guard: no samples, never low") {
  FakeDisk disk;
  DiskGuard guard("/d", 0, disk.fn());
  CHECK_FALSE(guard.enabled());
  guard.check();
  CHECK(disk.calls == 0);
  CHECK_FALSE(guard.disk_low());
}

TEST_CASE("statvfs reports free space of a real directory, and an error for a missing one") {
  test::TempDir dir;
  auto free = DiskGuard::statvfs_free_bytes(dir.str());
  REQUIRE(free.is_ok());
  CHECK(*free > 0);
  auto missing = DiskGuard::statvfs_free_bytes(dir.str() + "/no/such/dir");
  CHECK(missing.status().code() == StatusCode::kStorageError);
  DiskGuard guard(dir.str(), 1);  // default: statvfs
  guard.check();
  CHECK(guard.free_bytes() > 0);
  CHECK_FALSE(guard.disk_low());
}
