// PowerLossEnv (tests/support/power_loss_env.h) on a bare LevelDB: what T2 relies on.
#include <doctest/doctest.h>
#include <leveldb/db.h>
#include <leveldb/write_batch.h>

#include <memory>
#include <string>

#include "tests/support/power_loss_env.h"
#include "tests/support/temp_dir.h"

namespace {

std::unique_ptr<leveldb::DB> open_db(const std::string& dir, leveldb::Env* env) {
  leveldb::Options o;
  o.create_if_missing = true;
  o.env = env;
  leveldb::DB* db = nullptr;
  leveldb::Status s = leveldb::DB::Open(o, dir, &db);
  REQUIRE_MESSAGE(s.ok(), s.ToString());
  return std::unique_ptr<leveldb::DB>(db);
}

void put(leveldb::DB& db, int i, bool sync) {
  leveldb::WriteOptions w;
  w.sync = sync;
  REQUIRE(db.Put(w, "k" + std::to_string(1000 + i), std::string(100, 'x')).ok());
}

int count(leveldb::DB& db) {
  std::unique_ptr<leveldb::Iterator> it(db.NewIterator({}));
  int n = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) ++n;
  return n;
}

}  // namespace

TEST_CASE("synced writes survive a power cut, unsynced ones after them are lost") {
  tidemq::test::TempDir dir;
  tidemq::test::PowerLossEnv env;
  auto db = open_db(dir.str(), &env);
  for (int i = 0; i < 50; ++i) put(*db, i, true);
  for (int i = 50; i < 80; ++i) put(*db, i, false);
  env.cut_power();
  leveldb::WriteOptions w;
  w.sync = true;
  CHECK_FALSE(db->Put(w, "after", "cut").ok());  // nothing is acknowledged after the cut
  db.reset();
  CHECK(env.drop_unsynced() >= 30 * 100);
  auto again = open_db(dir.str(), &env);
  CHECK(count(*again) == 50);
}

TEST_CASE("without any sync, a cut loses everything written since the last open") {
  tidemq::test::TempDir dir;
  tidemq::test::PowerLossEnv env;
  {
    auto db = open_db(dir.str(), &env);
    put(*db, 0, true);
  }
  env.drop_unsynced();  // a clean close: nothing to drop
  auto db = open_db(dir.str(), &env);
  CHECK(count(*db) == 1);
  for (int i = 1; i < 40; ++i) put(*db, i, false);
  env.cut_power();
  db.reset();
  env.drop_unsynced();
  auto again = open_db(dir.str(), &env);
  CHECK(count(*again) == 1);
}
