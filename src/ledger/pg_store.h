#pragma once
// The PostgreSQL store (libpq). Use open_store("postgres://...") unless the type matters.

#include <memory>
#include <string>

#include "ledger/store.h"

namespace sy::ledger {

// Connects without migrating. `url` is a libpq connection URI (postgres:// or postgresql://).
// Throws std::runtime_error on failure; the message never repeats the URL (it may hold a
// password).
std::unique_ptr<Store> open_pg_store(const std::string& url);

}  // namespace sy::ledger
