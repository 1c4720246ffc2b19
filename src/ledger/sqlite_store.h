#pragma once
// The SQLite store (WAL). Use open_store("sqlite:PATH") unless the concrete type matters.

#include <memory>
#include <string>

#include "ledger/sql_db.h"
#include "ledger/store.h"

namespace sy::ledger {

// Opens (creating the file and its parent directories) without migrating. ":memory:" is an
// in-memory database. Throws std::runtime_error on failure.
std::unique_ptr<Store> open_sqlite_store(const std::string& path);
// The same, as a parameterised-statement connection (sql_db.h), also without migrating.
std::unique_ptr<SqlDb> open_sqlite_db(const std::string& path);

}  // namespace sy::ledger
