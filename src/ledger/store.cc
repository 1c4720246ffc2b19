#include "ledger/store.h"

#include <stdexcept>

#include "ledger/pg_store.h"
#include "ledger/sql_db.h"
#include "ledger/sqlite_store.h"

namespace sy::ledger {

std::unique_ptr<Store> open_store(const std::string& url) {
  std::unique_ptr<Store> store;
  if (url.rfind("sqlite:", 0) == 0) {
    const std::string path = url.substr(7);
    if (path.empty()) {
      throw std::runtime_error("ledger: \"sqlite:\" needs a path, e.g. sqlite:var/switchyard.db");
    }
    store = open_sqlite_store(path);
  } else if (url.rfind("postgres://", 0) == 0 || url.rfind("postgresql://", 0) == 0) {
    store = open_pg_store(url);
  } else {
    // The URL may hold a password: name only its scheme.
    throw std::runtime_error("ledger: unsupported storage.ledger scheme \"" +
                             url.substr(0, url.find(':')) + "\" (sqlite: or postgres://)");
  }
  // "Created on first start": the schema is created or migrated before the first record.
  if (auto r = store->migrate(); !r) {
    throw std::runtime_error("ledger: migration failed: " + r.error().detail);
  }
  return store;
}

std::unique_ptr<SqlDb> open_sql_db(const std::string& url) {
  // open_store checks the URL and creates or migrates the schema (virtual_keys included); the
  // statements then run on a connection of their own.
  open_store(url).reset();
  if (url.rfind("sqlite:", 0) == 0) {
    return open_sqlite_db(url.substr(7));
  }
  return open_pg_db(url);
}

}  // namespace sy::ledger
