#pragma once
// A parameterised-statement connection to the ledger's database, for parts that keep their own
// tables in the ledger's schema (policy's virtual_keys, created by the ledger's migration 2).
// Same URLs as open_store(); the connection code is the ledger stores'. Start-up, CLI and
// admin code only, never a worker's event loop (the calls block).

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"

namespace sy::ledger {

class SqlDb {
 public:
  // Parameters and result cells as text; nullopt is SQL NULL. Integers are given and returned
  // as decimal text (SQLite's column affinity stores them as integers).
  using Row = std::vector<std::optional<std::string>>;

  virtual ~SqlDb() = default;
  // Runs one statement. Placeholders are $1..$n in both dialects. Returns the result rows
  // (none for statements without a result; use RETURNING to learn what an UPDATE touched).
  // Errors are kind Internal, public "ledger store error", the database's message in detail.
  virtual Result<std::vector<Row>> query(const std::string& text, const Row& params) = 0;
  virtual bool is_postgres() const = 0;
};

// Opens the database at `url` ("sqlite:PATH" or "postgres://..."), migrated to the current
// schema version first (as open_store does). Throws std::runtime_error on failure; the message
// never repeats a PostgreSQL URL.
std::unique_ptr<SqlDb> open_sql_db(const std::string& url);

}  // namespace sy::ledger
