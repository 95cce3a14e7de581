// HalfLog: the segment files of half-message bodies. open() (scan, torn-tail repair), the
// group-committing log thread (writes, rolls, deletions), read(), and the live counts.
//
// Threads: the segment table (`segs`, `head`) is guarded by `mu` and read by anyone; the queue
// (common/round_queue.h) has its own lock; the head's file, its write offset, the next id and the sticky error belong to the
// log thread (and to open(), before the thread starts).
#include "broker/txn/half_log.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <pthread.h>
#include <spdlog/logger.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>

#include <leveldb/env.h>

#include "common/check.h"
#include "common/crc32c.h"
#include "common/logging.h"
#include "common/round_queue.h"
#include "common/thread_annotations.h"

namespace tidemq::broker::txn {

namespace fs = std::filesystem;

namespace {

// The record layout: u32 payload_len | u32 crc32c(payload) | payload, little-endian.
constexpr size_t kHeaderBytes = 8;
// open() reads segments in chunks of this size (more for a larger record).
constexpr size_t kScanChunk = size_t{1} << 20;
constexpr std::string_view kSuffix = ".half";
constexpr size_t kIdDigits = 10;

void put_le32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i, v >>= 8) p[i] = static_cast<char>(v & 0xff);
}
uint32_t get_le32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return uint32_t{u[0]} | (uint32_t{u[1]} << 8) | (uint32_t{u[2]} << 16) | (uint32_t{u[3]} << 24);
}

std::string segment_name(uint32_t id) { return fmt::format("{:010}{}", id, kSuffix); }

// The id in a segment file name ("0000000042.half" → 42), or 0 if it is not one.
uint32_t parse_segment_name(std::string_view name) {
  if (name.size() != kIdDigits + kSuffix.size() || !name.ends_with(kSuffix)) return 0;
  uint64_t id = 0;
  for (size_t i = 0; i < kIdDigits; ++i) {
    if (name[i] < '0' || name[i] > '9') return 0;
    id = id * 10 + static_cast<uint64_t>(name[i] - '0');
  }
  return id <= UINT32_MAX ? static_cast<uint32_t>(id) : 0;
}

// strerror() is not thread-safe; the generic category's message is the same text.
Status io_error(std::string_view what, const std::string& path, int err) {
  return Status::storage(fmt::format("{} {}: {}", what, path, std::generic_category().message(err)));
}

Status read_all(int fd, const std::string& path, char* p, size_t n, uint64_t off) {
  while (n > 0) {
    const ssize_t r = ::pread(fd, p, n, static_cast<off_t>(off));
    if (r < 0) {
      if (errno == EINTR) continue;
      return io_error("reading", path, errno);
    }
    if (r == 0) return Status::storage(fmt::format("reading {}: unexpected end of file at {}", path, off));
    p += r;
    n -= static_cast<size_t>(r);
    off += static_cast<uint64_t>(r);
  }
  return Status::ok();
}

Status sync_file(int fd, const std::string& path) {
  while (::fdatasync(fd) != 0) {
    if (errno != EINTR) return io_error("syncing", path, errno);
  }
  return Status::ok();
}

// Makes the creation or removal of a file in `dir` durable.
Status sync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io_error("opening directory", dir, errno);
  int rc;
  while ((rc = ::fsync(fd)) != 0 && errno == EINTR) {
  }
  const int err = errno;
  ::close(fd);
  return rc == 0 ? Status::ok() : io_error("syncing directory", dir, err);
}

// An open segment file. Readers hold a shared_ptr during their pread, so a segment deleted
// meanwhile keeps its fd until the read is done.
struct SegmentFile {
  SegmentFile(int f, std::string p) : fd(f), path(std::move(p)) {}
  ~SegmentFile() { ::close(fd); }
  SegmentFile(const SegmentFile&) = delete;
  SegmentFile& operator=(const SegmentFile&) = delete;
  const int fd;
  const std::string path;
};

}  // namespace

struct HalfLog::Impl {
  Impl(HalfLogOptions o, const Clock& c)
      : opts(std::move(o)), env(opts.env != nullptr ? opts.env : leveldb::Env::Default()), clock(c),
        log(logging::get("txn")) {}

  struct Segment {
    std::shared_ptr<SegmentFile> file;  // null once stopped
    uint64_t bytes = 0;                 // written and acknowledged (or found by open())
    uint64_t live = 0;
    int64_t created_mono_ms = 0;
  };
  struct Append {
    std::string payload;
    AppendCallback cb;
  };
  // Reads the records of one segment, calling `visit` for each; returns the intact length.
  Result<uint64_t> scan(const SegmentFile& f, uint32_t id, bool is_head, const Visitor& visit,
                        uint64_t& records);
  bool post(std::function<void()> job) { return queue.post(std::move(job)); }
  void commit(std::vector<Append>& appends);
  Status create_head();
  void drop_head();
  // Deletes those of `ids` that are not the head and have nothing live.
  void remove_dead(const std::vector<uint32_t>& ids);
  std::string path_of(uint32_t id) const { return (fs::path(opts.dir) / segment_name(id)).string(); }

  const HalfLogOptions opts;
  leveldb::Env* const env;
  const Clock& clock;
  const std::shared_ptr<spdlog::logger> log;

  mutable std::mutex mu;
  std::map<uint32_t, Segment> segs GUARDED_BY(mu);
  uint32_t head GUARDED_BY(mu) = 0;  // 0: none, the next append creates one

  RoundQueue<Append> queue;  // appends, and jobs (roll, deletion)

  std::mutex stop_mu;
  std::thread thread;

  // Log thread only (and open(), before the thread starts).
  std::shared_ptr<SegmentFile> head_file;  // the file of `head` (reads, its path)
  std::unique_ptr<leveldb::WritableFile> head_writer;  // appends to it, through opts.env
  uint64_t head_end = 0;                   // where the head's next record goes
  uint64_t next_id = 1;
  Status error;  // sticky: the first failed write, sync or file creation
};

HalfLog::HalfLog(HalfLogOptions options, const Clock& clock)
    : impl_(std::make_unique<Impl>(std::move(options), clock)) {}

HalfLog::~HalfLog() { stop(); }

// ---------------------------------------------------------------------------------------------
// open

Result<uint64_t> HalfLog::Impl::scan(const SegmentFile& f, uint32_t id, bool is_head,
                                     const Visitor& visit, uint64_t& records) {
  struct stat st;
  if (::fstat(f.fd, &st) != 0) return io_error("stat of", f.path, errno);
  const auto size = static_cast<uint64_t>(st.st_size);

  // A window of the file: bytes [buf_off, buf_off + buf.size()).
  std::string buf;
  uint64_t buf_off = 0;
  auto fetch = [&](uint64_t off, size_t n) -> Result<const char*> {
    if (off < buf_off || off + n > buf_off + buf.size()) {
      buf.resize(static_cast<size_t>(std::min<uint64_t>(std::max(n, kScanChunk), size - off)));
      buf_off = off;
      TIDEMQ_RETURN_IF_ERROR(read_all(f.fd, f.path, buf.data(), buf.size(), off));
    }
    return buf.data() + (off - buf_off);
  };

  // Only zero bytes from `from` to the end (a file extended by a crash before its data landed).
  auto zeros_to_end = [&](uint64_t from) -> Result<bool> {
    for (uint64_t at = from; at < size; at += kScanChunk) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(kScanChunk, size - at));
      TIDEMQ_ASSIGN_OR_RETURN(const char* p, fetch(at, n));
      if (std::any_of(p, p + n, [](char c) { return c != 0; })) return false;
    }
    return true;
  };

  uint64_t off = 0;
  while (off < size) {
    std::string damage;
    bool torn = true;  // damage a crash during an unacknowledged write can leave
    if (size - off < kHeaderBytes) {
      damage = "header cut short";
    } else {
      TIDEMQ_ASSIGN_OR_RETURN(const char* h, fetch(off, kHeaderBytes));
      const uint32_t len = get_le32(h);
      const uint32_t crc = get_le32(h + 4);
      if (len == 0) {
        damage = "zero length";
        TIDEMQ_ASSIGN_OR_RETURN(torn, zeros_to_end(off));
      } else if (len > opts.max_record_bytes) {
        damage = fmt::format("length {} above max_record_bytes {}", len, opts.max_record_bytes);
        torn = false;
      } else if (size - off - kHeaderBytes < len) {
        damage = "payload cut short";
      } else {
        TIDEMQ_ASSIGN_OR_RETURN(const char* p, fetch(off + kHeaderBytes, len));
        if (crc32c::value(p, len) != crc) {
          damage = "checksum mismatch";
          torn = off + kHeaderBytes + len == size;  // the last record; else acknowledged ones follow
        } else if (off > UINT32_MAX) {
          return Status::storage(fmt::format("{}: a record at offset {}, beyond what a position names",
                                             f.path, off));
        } else {
          TIDEMQ_RETURN_IF_ERROR(visit(HalfPos{id, static_cast<uint32_t>(off), len}, std::string_view(p, len)));
          ++records;
          off += kHeaderBytes + len;
          continue;
        }
      }
    }
    if (!is_head || !torn) {
      return Status::storage(fmt::format("{}: damaged record at offset {} ({})", f.path, off, damage));
    }
    // The head's tail: a write cut short by a crash, never acknowledged.
    log->warn("{}: torn record at offset {} ({}); truncating the last {} bytes", f.path, off, damage,
              size - off);
    if (::ftruncate(f.fd, static_cast<off_t>(off)) != 0) return io_error("truncating", f.path, errno);
    TIDEMQ_RETURN_IF_ERROR(sync_file(f.fd, f.path));
    return off;
  }
  return size;
}

Status HalfLog::open(const Visitor& visit) {
  Impl& m = *impl_;
  if (!m.queue.fresh()) return Status::internal("HalfLog::open called twice or after stop");
  if (m.opts.dir.empty() || m.opts.segment_bytes == 0 || m.opts.max_record_bytes == 0) {
    return Status::invalid_argument("half log: dir, segment_bytes and max_record_bytes must be set");
  }
  const int64_t t0 = m.clock.monotonic_ms();
  std::error_code ec;
  fs::create_directories(m.opts.dir, ec);
  if (ec) return Status::storage(fmt::format("creating {}: {}", m.opts.dir, ec.message()));

  std::vector<uint32_t> ids;
  for (fs::directory_iterator it(m.opts.dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (const uint32_t id = parse_segment_name(name)) {
      ids.push_back(id);
    } else if (name.ends_with(kSuffix)) {
      m.log->warn("{}: ignoring {}, not a segment name", m.opts.dir, name);
    }
  }
  if (ec) return Status::storage(fmt::format("listing {}: {}", m.opts.dir, ec.message()));
  std::sort(ids.begin(), ids.end());

  std::map<uint32_t, Impl::Segment> found;
  uint64_t records = 0;
  uint64_t total = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    const std::string path = m.path_of(ids[i]);
    const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) return io_error("opening", path, errno);
    auto file = std::make_shared<SegmentFile>(fd, path);
    TIDEMQ_ASSIGN_OR_RETURN(const uint64_t end,
                            m.scan(*file, ids[i], /*is_head=*/i + 1 == ids.size(), visit, records));
    total += end;
    found.emplace(ids[i], Impl::Segment{std::move(file), end, 0, m.clock.monotonic_ms()});
  }

  if (!ids.empty()) {
    const Impl::Segment& h = found.at(ids.back());
    leveldb::WritableFile* w = nullptr;
    leveldb::Status s = m.env->NewAppendableFile(h.file->path, &w);
    if (!s.ok()) return Status::storage(fmt::format("opening {} for appends: {}", h.file->path, s.ToString()));
    m.head_writer.reset(w);
    m.head_file = h.file;
    m.head_end = h.bytes;
    m.next_id = uint64_t{ids.back()} + 1;
  }
  {
    std::lock_guard lock(m.mu);
    m.segs = std::move(found);
    m.head = ids.empty() ? 0 : ids.back();
  }
  m.log->info("half log {}: {} segments, {} records, {} bytes, opened in {} ms", m.opts.dir, ids.size(),
              records, total, m.clock.monotonic_ms() - t0);

  m.queue.start();
  m.thread = std::thread([&m] {
    pthread_setname_np(pthread_self(), "tmq-halflog");
    m.queue.run([&m](std::vector<Impl::Append>& appends) { m.commit(appends); });
  });
  return Status::ok();
}

void HalfLog::stop() {
  Impl& m = *impl_;
  std::lock_guard stop_lock(m.stop_mu);
  m.queue.stop();
  if (!m.thread.joinable()) return;
  m.thread.join();
  m.head_writer.reset();
  m.head_file.reset();
  std::lock_guard lock(m.mu);
  for (auto& [id, seg] : m.segs) seg.file.reset();  // a read in progress keeps its own reference
  m.log->info("half log {} stopped", m.opts.dir);
}

// ---------------------------------------------------------------------------------------------
// append and the log thread

void HalfLog::append(std::string payload, AppendCallback cb) {
  Impl& m = *impl_;
  if (payload.empty() || payload.size() > m.opts.max_record_bytes) {
    cb(Status::invalid_argument(fmt::format("half record of {} bytes (1 to {} allowed)", payload.size(),
                                            m.opts.max_record_bytes)));
    return;
  }
  Impl::Append a{std::move(payload), std::move(cb)};
  if (m.queue.push(a)) return;
  a.cb(Status(StatusCode::kShuttingDown, "the half log is not running"));
}

Status HalfLog::Impl::create_head() {
  if (next_id > UINT32_MAX) return Status::storage("half log: segment ids exhausted");
  const auto id = static_cast<uint32_t>(next_id);
  const std::string path = path_of(id);
  leveldb::WritableFile* w = nullptr;
  leveldb::Status s = env->NewWritableFile(path, &w);
  if (!s.ok()) return Status::storage(fmt::format("creating {}: {}", path, s.ToString()));
  std::unique_ptr<leveldb::WritableFile> writer(w);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return io_error("opening", path, errno);
  auto file = std::make_shared<SegmentFile>(fd, path);
  // The file's existence is durable before any record in it is acknowledged.
  TIDEMQ_RETURN_IF_ERROR(sync_dir(opts.dir));
  ++next_id;
  head_writer = std::move(writer);
  head_file = file;
  head_end = 0;
  std::lock_guard lock(mu);
  segs.emplace(id, Segment{std::move(file), 0, 0, clock.monotonic_ms()});
  head = id;
  return Status::ok();
}

void HalfLog::Impl::commit(std::vector<Append>& appends) {
  if (appends.empty()) return;
  std::vector<HalfPos> positions(appends.size());
  std::vector<uint32_t> rolled;  // heads this round moved away from
  std::string buf;               // the round's records for the current head
  uint32_t head_id = 0;
  {
    std::lock_guard lock(mu);
    head_id = head;
  }
  // Writes `buf` to the head and syncs it.
  auto finish_head = [&]() -> Status {
    if (buf.empty()) return Status::ok();
    // Flushed in any case: readers pread the file, not the writer's buffer.
    leveldb::Status s = head_writer->Append(leveldb::Slice(buf.data(), buf.size()));
    if (s.ok()) s = opts.sync ? head_writer->Sync() : head_writer->Flush();
    buf.clear();
    if (!s.ok()) return Status::storage(fmt::format("writing {}: {}", head_file->path, s.ToString()));
    return Status::ok();
  };

  Status st = error;
  for (size_t i = 0; i < appends.size() && st.is_ok(); ++i) {
    const std::string& payload = appends[i].payload;
    const uint64_t bytes = kHeaderBytes + payload.size();
    if (head_file == nullptr || (head_end > 0 && head_end + bytes > opts.segment_bytes)) {
      // Roll. The old head's records are written and synced before the new file exists, so a
      // crash can only leave a torn record in the newest segment.
      if (head_file != nullptr) {
        st = finish_head();
        if (!st.is_ok()) break;
        rolled.push_back(head_id);
      }
      st = create_head();
      if (!st.is_ok()) break;
      head_id = static_cast<uint32_t>(next_id - 1);
    }
    char header[kHeaderBytes];
    put_le32(header, static_cast<uint32_t>(payload.size()));
    put_le32(header + 4, crc32c::value(payload.data(), payload.size()));
    buf.append(header, kHeaderBytes);
    buf.append(payload);
    positions[i] = HalfPos{head_id, static_cast<uint32_t>(head_end), static_cast<uint32_t>(payload.size())};
    head_end += bytes;
  }
  if (st.is_ok()) st = finish_head();

  if (!st.is_ok()) {
    // Nothing of this round is acknowledged, and nothing after it: the file may hold a partial
    // record where the next one would go.
    if (error.is_ok()) log->error("half log {}: {}; no more appends are accepted", opts.dir, st.message());
    error = st;
    for (Append& a : appends) a.cb(st);
    appends.clear();
    return;
  }
  {
    std::lock_guard lock(mu);
    for (const HalfPos& p : positions) {
      Segment& seg = segs.at(p.segment);
      ++seg.live;
      seg.bytes = std::max(seg.bytes, uint64_t{p.offset} + kHeaderBytes + p.length);
    }
  }
  for (size_t i = 0; i < appends.size(); ++i) appends[i].cb(positions[i]);
  appends.clear();
  if (!rolled.empty()) remove_dead(rolled);
}

void HalfLog::Impl::drop_head() {
  uint32_t old = 0;
  {
    std::lock_guard lock(mu);
    old = head;
    head = 0;
  }
  head_writer.reset();
  head_file.reset();
  head_end = 0;
  if (old != 0) remove_dead({old});
}

void HalfLog::Impl::remove_dead(const std::vector<uint32_t>& ids) {
  std::vector<std::shared_ptr<SegmentFile>> dead;
  {
    std::lock_guard lock(mu);
    for (uint32_t id : ids) {
      auto it = segs.find(id);
      if (it == segs.end() || id == head || it->second.live != 0) continue;
      dead.push_back(std::move(it->second.file));
      segs.erase(it);
    }
  }
  if (dead.empty()) return;
  for (const auto& f : dead) {
    // The fd closes when the last reader lets go of `f`; the name goes now.
    if (::unlink(f->path.c_str()) != 0) {
      log->error("deleting {}: {}", f->path, std::generic_category().message(errno));
    } else {
      log->debug("deleted {}: nothing live in it", f->path);
    }
  }
  if (opts.sync) {
    Status st = sync_dir(opts.dir);
    if (!st.is_ok()) log->error("half log: {}", st.message());
  }
}

// ---------------------------------------------------------------------------------------------
// reads, live counts, segments

Result<std::string> HalfLog::read(HalfPos pos) const {
  const Impl& m = *impl_;
  if (!pos) return Status::storage("half log read of an empty position");
  std::shared_ptr<SegmentFile> file;
  {
    std::lock_guard lock(m.mu);
    auto it = m.segs.find(pos.segment);
    if (it == m.segs.end()) {
      return Status::storage(fmt::format("half segment {} does not exist (deleted or never written)",
                                         pos.segment));
    }
    if (it->second.file == nullptr) return Status(StatusCode::kShuttingDown, "the half log is stopped");
    if (uint64_t{pos.offset} + kHeaderBytes + pos.length > it->second.bytes) {
      return Status::storage(fmt::format("half segment {}: record at {} of {} bytes is beyond its end {}",
                                         pos.segment, pos.offset, pos.length, it->second.bytes));
    }
    file = it->second.file;
  }
  if (pos.length == 0 || pos.length > m.opts.max_record_bytes) {
    return Status::storage(fmt::format("{}: record at {} has an impossible length {}", file->path,
                                       pos.offset, pos.length));
  }
  std::string buf(kHeaderBytes + pos.length, '\0');
  TIDEMQ_RETURN_IF_ERROR(read_all(file->fd, file->path, buf.data(), buf.size(), pos.offset));
  const uint32_t len = get_le32(buf.data());
  const uint32_t crc = get_le32(buf.data() + 4);
  if (len != pos.length) {
    return Status::storage(fmt::format("{}: record at {} is {} bytes, its position says {}", file->path,
                                       pos.offset, len, pos.length));
  }
  if (crc32c::value(buf.data() + kHeaderBytes, len) != crc) {
    return Status::storage(fmt::format("{}: record at {} fails its checksum", file->path, pos.offset));
  }
  buf.erase(0, kHeaderBytes);
  return buf;
}

void HalfLog::retain(HalfPos pos) {
  Impl& m = *impl_;
  std::lock_guard lock(m.mu);
  auto it = m.segs.find(pos.segment);
  TIDEMQ_CHECK(it != m.segs.end(), "HalfLog::retain of a record in no segment");
  ++it->second.live;
}

void HalfLog::release(HalfPos pos) {
  Impl& m = *impl_;
  bool dead = false;
  {
    std::lock_guard lock(m.mu);
    auto it = m.segs.find(pos.segment);
    // Invariant: every release() matches an earlier acknowledged append() or retain().
    TIDEMQ_CHECK(it != m.segs.end(), "HalfLog::release of a record in no segment");
    TIDEMQ_CHECK(it->second.live > 0, "HalfLog::release below zero: a record released twice");
    dead = --it->second.live == 0 && pos.segment != m.head;
  }
  if (dead) m.post([&m, id = pos.segment] { m.remove_dead({id}); });
}

void HalfLog::roll() {
  Impl& m = *impl_;
  m.post([&m] { m.drop_head(); });
}

void HalfLog::collect() {
  Impl& m = *impl_;
  m.post([&m] {
    std::vector<uint32_t> ids;
    {
      std::lock_guard lock(m.mu);
      for (const auto& [id, seg] : m.segs) ids.push_back(id);
    }
    m.remove_dead(ids);
  });
}

void HalfLog::barrier() {
  std::promise<void> done;
  std::future<void> reached = done.get_future();
  if (impl_->post([&done] { done.set_value(); })) reached.wait();
}

std::vector<HalfSegmentInfo> HalfLog::segments() const {
  const Impl& m = *impl_;
  std::lock_guard lock(m.mu);
  std::vector<HalfSegmentInfo> out;
  out.reserve(m.segs.size());
  for (const auto& [id, seg] : m.segs) {
    out.push_back(HalfSegmentInfo{id, seg.bytes, seg.live, seg.created_mono_ms, id == m.head});
  }
  return out;
}

uint64_t HalfLog::bytes() const {
  const Impl& m = *impl_;
  std::lock_guard lock(m.mu);
  uint64_t total = 0;
  for (const auto& [id, seg] : m.segs) total += seg.bytes;
  return total;
}

}  // namespace tidemq::broker::txn
