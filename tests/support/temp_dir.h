#pragma once
// A fresh directory under $TMPDIR, removed with its contents when the object dies.
#include <filesystem>
#include <string>

namespace tidemq::test {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace tidemq::test
