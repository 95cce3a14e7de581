#pragma once
// A Db on a temp dir with a ManualClock and a FaultEnv, plus the two group stores, for
// offset_store_test and group_config_store_test. reopen() closes the Db and opens the same dir.
#include <doctest/doctest.h>

#include <memory>

#include "broker/store/db.h"
#include "broker/store/group_config_store.h"
#include "broker/store/offset_store.h"
#include "common/clock.h"
#include "tests/support/fault_env.h"
#include "tests/support/temp_dir.h"

namespace tidemq::test {

struct GroupStoreFixture {
  TempDir dir;
  ManualClock clock;
  FaultEnv env;
  std::unique_ptr<broker::Db> db;
  std::unique_ptr<broker::OffsetStore> offsets;
  std::unique_ptr<broker::GroupConfigStore> configs;

  GroupStoreFixture() { open(); }

  void open_db() {
    broker::DbOptions o;
    o.path = dir.str();
    o.env = &env;
    o.write_buffer_bytes = 1 << 20;
    o.block_cache_bytes = 1 << 20;
    auto d = broker::Db::open(o);
    REQUIRE_MESSAGE(d.is_ok(), d.status().to_string());
    db = std::move(d).value();
  }
  void open() {
    open_db();
    offsets = std::make_unique<broker::OffsetStore>(*db, clock);
    configs = std::make_unique<broker::GroupConfigStore>(*db, clock);
    Status st = offsets->load();
    REQUIRE_MESSAGE(st.is_ok(), st.to_string());
    st = configs->load();
    REQUIRE_MESSAGE(st.is_ok(), st.to_string());
  }
  void close() {
    offsets.reset();
    configs.reset();
    db.reset();
  }
  void reopen() {
    close();
    open();
  }
  // Writes raw bytes under `key`, bypassing the stores (to plant corrupt values).
  void put_raw(const std::string& key, const std::string& value) {
    leveldb::WriteBatch wb;
    wb.Put(key, value);
    Status st = db->write(wb, /*sync=*/true);
    REQUIRE_MESSAGE(st.is_ok(), st.to_string());
  }
};

}  // namespace tidemq::test
