#pragma once
// The PostgreSQL store (libpq). Use open_store("postgres://...") unless the type matters.

#include <memory>
#include <string>

#include "ledger/sql_db.h"
#include "ledger/store.h"

namespace sy::ledger {

// Connects without migrating. `url` is a libpq connection URI (postgres:// or postgresql://).
// Throws std::runtime_error on failure; the message never repeats the URL (it may hold a
// password).
std::unique_ptr<Store> open_pg_store(const std::string& url);
// The same, as a parameterised-statement connection (sql_db.h), also without migrating.
std::unique_ptr<SqlDb> open_pg_db(const std::string& url);

}  // namespace sy::ledger
