#include "test_stores.h"

#include <gtest/gtest.h>

#include <libpq-fe.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>

namespace sy::ledger::testing {
namespace {

std::atomic<int> counter{0};

std::string unique_suffix() {
  const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
  return std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_" +
         std::to_string(now % 1'000'000);
}

void quiet(void*, const char*) {}  // "drop cascades to 2 other objects"

struct Conn {
  explicit Conn(const std::string& url) : c(PQconnectdb(url.c_str())) {
    if (PQstatus(c) != CONNECTION_OK) {
      const std::string message = PQerrorMessage(c);
      PQfinish(c);
      throw std::runtime_error("postgres connect: " + message);
    }
    PQsetNoticeProcessor(c, quiet, nullptr);
  }
  ~Conn() { PQfinish(c); }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  std::string run(const std::string& sql) {
    PGresult* r = PQexec(c, sql.c_str());
    const ExecStatusType status = PQresultStatus(r);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      const std::string message = PQresultErrorMessage(r);
      PQclear(r);
      throw std::runtime_error("postgres: " + message);
    }
    std::string out = PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "";
    PQclear(r);
    return out;
  }
  PGconn* c;
};

struct Db {
  explicit Db(const std::string& path) {
    if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
      sqlite3_close(db);
      throw std::runtime_error("sqlite open " + path);
    }
    sqlite3_busy_timeout(db, 5'000);
  }
  ~Db() { sqlite3_close(db); }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  sqlite3* db = nullptr;
};

}  // namespace

std::string temp_sqlite_path() {
  return (std::filesystem::temp_directory_path() / ("sy_ledger_test_" + unique_suffix()) /
          "ledger.db")
      .string();
}

void remove_sqlite(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(std::filesystem::path(path).parent_path(), ec);
}

std::optional<std::string> pg_base_url() {
  const char* url = std::getenv("SY_TEST_PG_URL");
  if (url == nullptr || *url == '\0') {
    return std::nullopt;
  }
  return std::string(url);
}

bool in_ci() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && *ci != '\0';
}

namespace {

// FAIL() and GTEST_SKIP() return from the function they are in: this one.
void report_missing_pg(std::string_view suite) {
  if (in_ci()) {
    FAIL() << "SY_TEST_PG_URL is not set, but CI is: the PostgreSQL " << suite
           << " suite must run in CI. Start a server with `tools/pg-test-server.sh start` and "
              "export the URL it prints as SY_TEST_PG_URL (`make test` does both).";
  }
  GTEST_SKIP() << "SY_TEST_PG_URL is not set: PostgreSQL " << suite
               << " tests not run (start one with `tools/pg-test-server.sh start`, or run "
                  "`make test`)";
}

}  // namespace

bool pg_available(std::string_view suite) {
  if (pg_base_url()) {
    return true;
  }
  report_missing_pg(suite);
  return false;
}

std::string SqliteDb::setup() {
  path = temp_sqlite_path();
  url = "sqlite:" + path;
  return url;
}

void SqliteDb::teardown() { remove_sqlite(path); }

std::string PostgresDb::setup() {
  base = *pg_base_url();
  url = create_pg_schema(base, schema);
  return url;
}

void PostgresDb::teardown() {
  if (!schema.empty()) {
    drop_pg_schema(base, schema);
  }
}

std::string create_pg_schema(const std::string& base_url, std::string& schema_out) {
  schema_out = "sy_test_" + unique_suffix();
  Conn(base_url).run("CREATE SCHEMA " + schema_out);
  const char sep = base_url.find('?') == std::string::npos ? '?' : '&';
  return base_url + sep + "options=-c%20search_path%3D" + schema_out;
}

void drop_pg_schema(const std::string& base_url, const std::string& schema) {
  Conn(base_url).run("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
}

std::int64_t sqlite_scalar(const std::string& path, const std::string& sql) {
  Db db(path);
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db.db, sql.c_str(), -1, &s, nullptr) != SQLITE_OK) {
    throw std::runtime_error(std::string("sqlite prepare: ") + sqlite3_errmsg(db.db));
  }
  std::int64_t v = 0;
  if (sqlite3_step(s) == SQLITE_ROW) {
    v = sqlite3_column_int64(s, 0);
  }
  sqlite3_finalize(s);
  return v;
}

std::int64_t pg_scalar(const std::string& url, const std::string& sql) {
  return std::stoll(Conn(url).run(sql));
}

void sqlite_exec(const std::string& path, const std::string& sql) {
  Db db(path);
  if (sqlite3_exec(db.db, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
    throw std::runtime_error(std::string("sqlite exec: ") + sqlite3_errmsg(db.db));
  }
}

void pg_exec(const std::string& url, const std::string& sql) { Conn(url).run(sql); }

}  // namespace sy::ledger::testing
