#pragma once
// Test helpers: throwaway stores. SQLite gets a temp file; PostgreSQL gets a fresh schema in
// the database named by SY_TEST_PG_URL (tools/pg-test-server.sh start prints one), so tests
// that ctest runs in parallel never see each other's rows.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sy::ledger::testing {

// A temp file path for a SQLite ledger; remove_sqlite() deletes it with its -wal and -shm.
std::string temp_sqlite_path();
void remove_sqlite(const std::string& path);

// SY_TEST_PG_URL, or nullopt when unset or empty.
std::optional<std::string> pg_base_url();
// Whether the CI environment variable is set (then a missing server is a failure, not a skip).
bool in_ci();

// Creates a schema named after the process and a counter in the database of `base_url`;
// returns a URL whose connections use it (search_path). Throws on failure.
std::string create_pg_schema(const std::string& base_url, std::string& schema_out);
void drop_pg_schema(const std::string& base_url, const std::string& schema);

// One throwaway ledger database of a typed suite that runs on both stores: setup() creates it
// and returns its URL, teardown() removes it.
struct SqliteDb {
  std::string path;
  std::string url;
  std::string setup();
  void teardown();
};
struct PostgresDb {
  std::string base;
  std::string schema;
  std::string url;
  std::string setup();  // needs pg_base_url()
  void teardown();
};

// For a PostgreSQL suite's SetUp: true when SY_TEST_PG_URL is set. Otherwise the test fails
// when CI is set (the `suite` must run there) and is skipped elsewhere; return at once then.
bool pg_available(std::string_view suite);

// One integer from a query, straight through the database's C API (not through the Store).
std::int64_t sqlite_scalar(const std::string& path, const std::string& sql);
std::int64_t pg_scalar(const std::string& url, const std::string& sql);
void sqlite_exec(const std::string& path, const std::string& sql);
void pg_exec(const std::string& url, const std::string& sql);

}  // namespace sy::ledger::testing
