#include "broker/store/disk_guard.h"

#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "common/logging.h"

namespace tidemq::broker {

Result<uint64_t> DiskGuard::statvfs_free_bytes(const std::string& path) {
  struct statvfs st {};
  if (::statvfs(path.c_str(), &st) != 0) {
    return Status::storage(fmt::format("statvfs({}): {}", path, std::strerror(errno)));
  }
  return static_cast<uint64_t>(st.f_bavail) * static_cast<uint64_t>(st.f_frsize);
}

DiskGuard::DiskGuard(std::string path, uint64_t min_free_bytes, FreeSpaceFn free_space)
    : path_(std::move(path)),
      min_free_bytes_(min_free_bytes),
      free_space_(free_space ? std::move(free_space) : FreeSpaceFn(&DiskGuard::statvfs_free_bytes)) {}

void DiskGuard::check() {
  if (!enabled()) return;
  auto free = free_space_(path_);
  if (!free.is_ok()) {
    logging::get("store")->warn("disk space check: {}", free.status().to_string());
    return;
  }
  free_bytes_.store(*free, std::memory_order_relaxed);
  const bool was_low = low_.load(std::memory_order_relaxed);
  if (!was_low && *free < min_free_bytes_) {
    low_.store(true, std::memory_order_relaxed);
    logging::get("store")->error(
        "only {} bytes free on {} (--min-free-disk-bytes {}): refusing writes with DISK_FULL until {} bytes are free",
        *free, path_, min_free_bytes_, resume_free_bytes());
  } else if (was_low && *free >= resume_free_bytes()) {
    low_.store(false, std::memory_order_relaxed);
    logging::get("store")->warn("{} bytes free on {} again: accepting writes", *free, path_);
  }
}

Status DiskGuard::write_status() const {
  if (!disk_low()) return Status::ok();
  return Status(StatusCode::kDiskFull,
                fmt::format("disk almost full: {} bytes free on {}, below the low-water mark of {} bytes "
                            "(--min-free-disk-bytes); writes are refused until {} bytes are free",
                            free_bytes(), path_, min_free_bytes_, resume_free_bytes()));
}

}  // namespace tidemq::broker
