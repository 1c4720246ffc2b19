// The embedded default store: one SQLite file in WAL mode.
//
// Durability: journal_mode=WAL with synchronous=NORMAL. A transaction that append() committed
// survives a crash of the process (kill -9), because its WAL frames are already in the
// operating system; only a power loss or kernel crash can lose the last commits (SQLite's
// documented WAL/NORMAL trade-off). See docs/ledger.md.

#include <sqlite3.h>

#include <filesystem>
#include <memory>
#include <mutex>
#include <stdexcept>

#include "ledger/sql_db.h"
#include "ledger/sqlite_store.h"
#include "ledger/store_sql.h"

namespace sy::ledger {
namespace {

using sql::store_error;

constexpr int kBusyTimeoutMs = 5'000;

struct DbClose {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalize {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using DbPtr = std::unique_ptr<sqlite3, DbClose>;
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalize>;

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(DbPtr db) : db_(std::move(db)) {}

  Result<void> migrate() override {
    const std::lock_guard lock(mu_);
    if (auto r = exec("CREATE TABLE IF NOT EXISTS schema_version ("
                      "version INTEGER PRIMARY KEY, applied_ms BIGINT NOT NULL)");
        !r) {
      return r;
    }
    for (;;) {
      // BEGIN IMMEDIATE takes the write lock first, so two processes migrating the same file
      // serialise: the second sees the first one's version and has nothing left to do.
      if (auto r = exec("BEGIN IMMEDIATE"); !r) {
        return r;
      }
      auto current = current_version();
      if (!current) {
        rollback();
        return current.error();
      }
      if (*current > sql::kSchemaVersion) {
        rollback();
        return store_error("the ledger's schema version " + std::to_string(*current) +
                           " is newer than this build's (" +
                           std::to_string(sql::kSchemaVersion) + ")");
      }
      if (*current == sql::kSchemaVersion) {
        return exec("COMMIT");
      }
      const int next = static_cast<int>(*current) + 1;
      for (const std::string& statement : sql::migration(sql::Dialect::Sqlite, next)) {
        if (auto r = exec(statement); !r) {
          rollback();
          return r;
        }
      }
      if (auto r = exec("INSERT INTO schema_version (version, applied_ms) VALUES (" +
                        std::to_string(next) +
                        ", CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))");
          !r) {
        rollback();
        return r;
      }
      if (auto r = exec("COMMIT"); !r) {
        rollback();
        return r;
      }
      insert_.reset();  // the table may have changed
    }
  }

  Result<void> append(const std::vector<UsageRecord>& records) override {
    const std::lock_guard lock(mu_);
    if (records.empty()) {
      return {};
    }
    if (!insert_) {
      const std::string text = "INSERT INTO usage_records (" + sql::column_list() +
                               ") VALUES (?" + repeat(", ?", sql::kColumnCount - 1) + ")";
      auto stmt = prepare(text);
      if (!stmt) {
        return stmt.error();
      }
      insert_ = std::move(*stmt);
    }
    if (auto r = exec("BEGIN IMMEDIATE"); !r) {
      return r;
    }
    for (const UsageRecord& record : records) {
      sqlite3_stmt* s = insert_.get();
      sqlite3_reset(s);
      sqlite3_clear_bindings(s);
      const auto params = sql::row_params(record, sql::Dialect::Sqlite);
      // Bind with the column's type, so SQLite stores integers and reals, not text.
      for (std::size_t i = 0; i < params.size(); ++i) {
        const int index = static_cast<int>(i) + 1;
        int rc = SQLITE_OK;
        if (!params[i]) {
          rc = sqlite3_bind_null(s, index);
        } else if (is_text_column(i)) {
          rc = sqlite3_bind_text(s, index, params[i]->data(), static_cast<int>(params[i]->size()),
                                 SQLITE_TRANSIENT);
        } else if (is_real_column(i)) {
          rc = sqlite3_bind_double(s, index, i == kLatencyColumn ? record.latency_ms
                                                                 : record.ttft_ms.value_or(0));
        } else {
          auto v = sql::parse_int(*params[i]);
          rc = v ? sqlite3_bind_int64(s, index, *v) : SQLITE_MISMATCH;
        }
        if (rc != SQLITE_OK) {
          rollback();
          return store_error("sqlite bind: " + std::string(sqlite3_errstr(rc)));
        }
      }
      if (const int rc = sqlite3_step(s); rc != SQLITE_DONE) {
        const std::string message = sqlite3_errmsg(db_.get());
        sqlite3_reset(s);
        rollback();
        return store_error("sqlite insert: " + message);
      }
    }
    sqlite3_reset(insert_.get());
    if (auto r = exec("COMMIT"); !r) {
      rollback();
      return r;
    }
    return {};
  }

  Result<std::vector<AggregateRow>> aggregate(const Filter& filter,
                                              const std::vector<Dim>& group_by) override {
    const std::lock_guard lock(mu_);
    std::vector<AggregateRow> rows;
    auto r = query(sql::aggregate_query(group_by, "?1", "?2"), filter,
                   [&](const std::vector<std::string>& cells) -> Result<void> {
                     auto row = sql::aggregate_row(group_by, cells);
                     if (!row) {
                       return row.error();
                     }
                     rows.push_back(std::move(*row));
                     return {};
                   });
    if (!r) {
      return r.error();
    }
    sql::sort_rows(rows);
    return rows;
  }

  Result<std::vector<LastOutcome>> last_outcomes(const Filter& filter) override {
    const std::lock_guard lock(mu_);
    std::vector<LastOutcome> rows;
    auto r = query(sql::last_outcomes_query("?1", "?2"), filter,
                   [&](const std::vector<std::string>& cells) -> Result<void> {
                     auto success = sql::parse_int(cells.at(4));
                     auto failure = sql::parse_int(cells.at(5));
                     if (!success || !failure) {
                       return sql::store_error("bad last_outcomes row");
                     }
                     rows.push_back(LastOutcome{cells[0], cells[1], cells[2], cells[3], *success,
                                                *failure});
                     return {};
                   });
    if (!r) {
      return r.error();
    }
    sql::sort_outcomes(rows);
    return rows;
  }

  Result<std::int64_t> count(const Filter& filter) override {
    const std::lock_guard lock(mu_);
    std::int64_t n = 0;
    auto r = query(sql::count_query("?1", "?2"), filter,
                   [&](const std::vector<std::string>& cells) -> Result<void> {
                     auto v = sql::parse_int(cells.at(0));
                     if (!v) {
                       return v.error();
                     }
                     n = *v;
                     return {};
                   });
    if (!r) {
      return r.error();
    }
    return n;
  }

  Result<bool> writable() override {
    const std::lock_guard lock(mu_);
    if (sqlite3_db_readonly(db_.get(), "main") != 0) {
      return false;
    }
    // Taking the write lock proves the file is writable now (not locked past busy_timeout).
    if (!exec("BEGIN IMMEDIATE")) {
      return false;
    }
    rollback();
    return true;
  }

 private:
  static constexpr std::size_t kLatencyColumn = 14;
  static constexpr std::size_t kTtftColumn = 15;

  static bool is_real_column(std::size_t i) { return i == kLatencyColumn || i == kTtftColumn; }
  static bool is_text_column(std::size_t i) {
    const std::string_view c = sql::kColumns[i];
    return c == "request_id" || c == "tenant" || c == "key_id" || c == "route" ||
           c == "inbound" || c == "provider" || c == "model" || c == "tier" ||
           c == "error_class" || c == "price_version" || c == "attempt_details";
  }
  static std::string repeat(std::string_view s, std::size_t n) {
    std::string out;
    for (std::size_t i = 0; i < n; ++i) {
      out += s;
    }
    return out;
  }

  Result<void> exec(const std::string& text) {
    char* message = nullptr;
    if (sqlite3_exec(db_.get(), text.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
      std::string detail = message != nullptr ? message : sqlite3_errmsg(db_.get());
      sqlite3_free(message);
      return store_error("sqlite: " + detail);
    }
    return {};
  }

  void rollback() {
    if (sqlite3_get_autocommit(db_.get()) == 0) {
      sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
    }
  }

  Result<StmtPtr> prepare(const std::string& text) {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db_.get(), text.c_str(), static_cast<int>(text.size()), &raw,
                           nullptr) != SQLITE_OK) {
      return store_error("sqlite prepare: " + std::string(sqlite3_errmsg(db_.get())));
    }
    return StmtPtr(raw);
  }

  Result<std::int64_t> current_version() {
    std::int64_t version = 0;
    auto stmt = prepare("SELECT COALESCE(MAX(version), 0) FROM schema_version");
    if (!stmt) {
      return stmt.error();
    }
    if (sqlite3_step(stmt->get()) != SQLITE_ROW) {
      return store_error("sqlite: " + std::string(sqlite3_errmsg(db_.get())));
    }
    version = sqlite3_column_int64(stmt->get(), 0);
    return version;
  }

  // Runs a query with the filter bound to ?1 and ?2 and hands each row's cells, as text, on.
  template <typename OnRow>
  Result<void> query(const std::string& text, const Filter& filter, OnRow on_row) {
    auto stmt = prepare(text);
    if (!stmt) {
      return stmt.error();
    }
    sqlite3_stmt* s = stmt->get();
    sqlite3_bind_int64(s, 1, filter.since_ms);
    sqlite3_bind_int64(s, 2, filter.until_ms);
    const int columns = sqlite3_column_count(s);
    for (;;) {
      const int rc = sqlite3_step(s);
      if (rc == SQLITE_DONE) {
        return {};
      }
      if (rc != SQLITE_ROW) {
        return store_error("sqlite query: " + std::string(sqlite3_errmsg(db_.get())));
      }
      std::vector<std::string> cells;
      cells.reserve(static_cast<std::size_t>(columns));
      for (int c = 0; c < columns; ++c) {
        const auto* text_ptr = sqlite3_column_text(s, c);
        cells.emplace_back(text_ptr != nullptr ? reinterpret_cast<const char*>(text_ptr) : "");
      }
      if (auto r = on_row(cells); !r) {
        return r;
      }
    }
  }

  std::mutex mu_;  // one connection, used by the writer thread and by report readers
  DbPtr db_;
  StmtPtr insert_;  // prepared once, reused for every record
};

// SqlDb over its own connection: $1..$n are bound by name, every parameter as text (the
// columns' affinity turns decimal text into integers), every cell read back as text.
class SqliteDb final : public SqlDb {
 public:
  explicit SqliteDb(DbPtr db) : db_(std::move(db)) {}

  Result<std::vector<Row>> query(const std::string& text, const Row& params) override {
    const std::lock_guard lock(mu_);
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db_.get(), text.c_str(), static_cast<int>(text.size()), &raw,
                           nullptr) != SQLITE_OK) {
      return store_error("sqlite prepare: " + std::string(sqlite3_errmsg(db_.get())));
    }
    const StmtPtr stmt(raw);
    for (std::size_t i = 0; i < params.size(); ++i) {
      const std::string name = "$" + std::to_string(i + 1);
      const int index = sqlite3_bind_parameter_index(raw, name.c_str());
      if (index == 0) {
        continue;  // the statement does not use this parameter
      }
      const int rc = params[i] ? sqlite3_bind_text(raw, index, params[i]->data(),
                                                   static_cast<int>(params[i]->size()),
                                                   SQLITE_TRANSIENT)
                               : sqlite3_bind_null(raw, index);
      if (rc != SQLITE_OK) {
        return store_error("sqlite bind: " + std::string(sqlite3_errstr(rc)));
      }
    }
    std::vector<Row> rows;
    const int columns = sqlite3_column_count(raw);
    for (;;) {
      const int rc = sqlite3_step(raw);
      if (rc == SQLITE_DONE) {
        return rows;
      }
      if (rc != SQLITE_ROW) {
        return store_error("sqlite: " + std::string(sqlite3_errmsg(db_.get())));
      }
      Row row;
      row.reserve(static_cast<std::size_t>(columns));
      for (int c = 0; c < columns; ++c) {
        const auto* cell = sqlite3_column_text(raw, c);
        if (cell == nullptr) {
          row.emplace_back(std::nullopt);
        } else {
          row.emplace_back(std::string(reinterpret_cast<const char*>(cell),
                                       static_cast<std::size_t>(sqlite3_column_bytes(raw, c))));
        }
      }
      rows.push_back(std::move(row));
    }
  }

  bool is_postgres() const override { return false; }

 private:
  std::mutex mu_;
  DbPtr db_;
};

// Opens (creating the file and its parent directories) and sets the pragmas.
DbPtr open_handle(const std::string& path) {
  if (path != ":memory:") {
    const std::filesystem::path parent = std::filesystem::path(path).parent_path();
    std::error_code ec;
    if (!parent.empty()) {
      std::filesystem::create_directories(parent, ec);
      if (ec) {
        throw std::runtime_error("ledger: cannot create directory " + parent.string() + ": " +
                                 ec.message());
      }
    }
  }
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                 nullptr);
  DbPtr db(raw);
  if (rc != SQLITE_OK) {
    throw std::runtime_error("ledger: cannot open SQLite database " + path + ": " +
                             (raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  sqlite3_busy_timeout(db.get(), kBusyTimeoutMs);
  for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL",
                             "PRAGMA foreign_keys=ON"}) {
    char* message = nullptr;
    if (sqlite3_exec(db.get(), pragma, nullptr, nullptr, &message) != SQLITE_OK) {
      std::string detail = message != nullptr ? message : "";
      sqlite3_free(message);
      throw std::runtime_error("ledger: " + std::string(pragma) + " failed on " + path + ": " +
                               detail);
    }
  }
  return db;
}

}  // namespace

std::unique_ptr<Store> open_sqlite_store(const std::string& path) {
  return std::make_unique<SqliteStore>(open_handle(path));
}

std::unique_ptr<SqlDb> open_sqlite_db(const std::string& path) {
  return std::make_unique<SqliteDb>(open_handle(path));
}

}  // namespace sy::ledger
