// The PostgreSQL store, over libpq: the same schema and queries as SQLite (store_sql.h), for
// replicas that share one ledger.

#include <libpq-fe.h>

#include <memory>
#include <mutex>
#include <stdexcept>

#include "ledger/pg_store.h"
#include "ledger/store_sql.h"

namespace sy::ledger {
namespace {

using sql::store_error;

// pg_advisory_xact_lock key: "SYLEDGER" as a big-endian 64-bit integer. Every replica takes it
// before migrating, so two replicas starting together never race on the schema.
constexpr std::string_view kMigrationLock = "6005915438457242962";

// 26 columns x 1000 rows stays far below PostgreSQL's 65535 parameters per statement.
constexpr std::size_t kRowsPerInsert = 1000;

struct ConnFinish {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct ResultClear {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ConnPtr = std::unique_ptr<PGconn, ConnFinish>;
using PgResult = std::unique_ptr<PGresult, ResultClear>;

using Params = std::vector<std::optional<std::string>>;

void ignore_notice(void*, const char*) {}  // "relation already exists, skipping" and friends

class PgStore final : public Store {
 public:
  explicit PgStore(ConnPtr conn) : conn_(std::move(conn)) {}

  Result<void> migrate() override {
    const std::lock_guard lock(mu_);
    if (auto r = connected(); !r) {
      return r;
    }
    // DDL is transactional in PostgreSQL: the whole migration, its version row and the lock
    // are one transaction, so a failure leaves the previous version intact.
    if (auto r = exec("BEGIN"); !r) {
      return r.error();
    }
    const auto fail = [&](Error e) -> Result<void> {
      (void)exec("ROLLBACK");
      return e;
    };
    if (auto r = exec("SELECT pg_advisory_xact_lock(" + std::string(kMigrationLock) + ")"); !r) {
      return fail(r.error());
    }
    if (auto r = exec("CREATE TABLE IF NOT EXISTS schema_version ("
                      "version INTEGER PRIMARY KEY, applied_ms BIGINT NOT NULL)");
        !r) {
      return fail(r.error());
    }
    auto current = exec("SELECT COALESCE(MAX(version), 0) FROM schema_version");
    if (!current) {
      return fail(current.error());
    }
    auto version = sql::parse_int(PQgetvalue(current->get(), 0, 0));
    if (!version) {
      return fail(version.error());
    }
    if (*version > sql::kSchemaVersion) {
      return fail(store_error("the ledger's schema version " + std::to_string(*version) +
                              " is newer than this build's (" +
                              std::to_string(sql::kSchemaVersion) + ")"));
    }
    for (int next = static_cast<int>(*version) + 1; next <= sql::kSchemaVersion; ++next) {
      for (const std::string& statement : sql::migration(sql::Dialect::Postgres, next)) {
        if (auto r = exec(statement); !r) {
          return fail(r.error());
        }
      }
      if (auto r = exec("INSERT INTO schema_version (version, applied_ms) VALUES (" +
                        std::to_string(next) +
                        ", (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT)");
          !r) {
        return fail(r.error());
      }
    }
    if (auto r = exec("COMMIT"); !r) {
      return fail(r.error());
    }
    return {};
  }

  Result<void> append(const std::vector<UsageRecord>& records) override {
    const std::lock_guard lock(mu_);
    if (records.empty()) {
      return {};
    }
    if (auto r = connected(); !r) {
      return r;
    }
    if (auto r = exec("BEGIN"); !r) {
      return r.error();
    }
    const std::string head = "INSERT INTO usage_records (" + sql::column_list() + ") VALUES ";
    for (std::size_t start = 0; start < records.size(); start += kRowsPerInsert) {
      const std::size_t end = std::min(records.size(), start + kRowsPerInsert);
      std::string text = head;
      Params params;
      params.reserve((end - start) * sql::kColumnCount);
      for (std::size_t i = start; i < end; ++i) {
        text += i == start ? "(" : ", (";
        for (std::size_t c = 0; c < sql::kColumnCount; ++c) {
          text += (c == 0 ? "$" : ", $") + std::to_string(params.size() + c + 1);
        }
        text += ")";
        Params row = sql::row_params(records[i], sql::Dialect::Postgres);
        std::move(row.begin(), row.end(), std::back_inserter(params));
      }
      if (auto r = exec(text, params); !r) {
        (void)exec("ROLLBACK");
        return r.error();
      }
    }
    if (auto r = exec("COMMIT"); !r) {
      (void)exec("ROLLBACK");
      return r.error();
    }
    return {};
  }

  Result<std::vector<AggregateRow>> aggregate(const Filter& filter,
                                              const std::vector<Dim>& group_by) override {
    const std::lock_guard lock(mu_);
    auto result = query(sql::aggregate_query(group_by, "$1", "$2"), filter);
    if (!result) {
      return result.error();
    }
    std::vector<AggregateRow> rows;
    for (const auto& cells : *result) {
      auto row = sql::aggregate_row(group_by, cells);
      if (!row) {
        return row.error();
      }
      rows.push_back(std::move(*row));
    }
    sql::sort_rows(rows);
    return rows;
  }

  Result<std::vector<LastOutcome>> last_outcomes(const Filter& filter) override {
    const std::lock_guard lock(mu_);
    auto result = query(sql::last_outcomes_query("$1", "$2"), filter);
    if (!result) {
      return result.error();
    }
    std::vector<LastOutcome> rows;
    for (const auto& cells : *result) {
      auto success = sql::parse_int(cells.at(4));
      auto failure = sql::parse_int(cells.at(5));
      if (!success || !failure) {
        return store_error("bad last_outcomes row");
      }
      rows.push_back(LastOutcome{cells[0], cells[1], cells[2], cells[3], *success, *failure});
    }
    sql::sort_outcomes(rows);
    return rows;
  }

  Result<std::int64_t> count(const Filter& filter) override {
    const std::lock_guard lock(mu_);
    auto result = query(sql::count_query("$1", "$2"), filter);
    if (!result) {
      return result.error();
    }
    if (result->size() != 1) {
      return store_error("count returned no row");
    }
    return sql::parse_int(result->front().at(0));
  }

  Result<bool> writable() override {
    const std::lock_guard lock(mu_);
    if (!connected()) {
      return false;
    }
    // A hot standby accepts connections but no writes.
    auto r = exec("SELECT pg_is_in_recovery()");
    if (!r) {
      return false;
    }
    return std::string_view(PQgetvalue(r->get(), 0, 0)) == "f";
  }

 private:
  // Reconnects a broken connection (server restart, network cut) before the next statement;
  // the writer retries a failed batch, so the batch after a reconnect goes through.
  Result<void> connected() {
    if (PQstatus(conn_.get()) == CONNECTION_OK) {
      return {};
    }
    PQreset(conn_.get());
    if (PQstatus(conn_.get()) != CONNECTION_OK) {
      return store_error("postgres: cannot reconnect: " +
                         std::string(PQerrorMessage(conn_.get())));
    }
    PQsetNoticeProcessor(conn_.get(), ignore_notice, nullptr);
    return {};
  }

  Result<PgResult> exec(const std::string& text, const Params& params = {}) {
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params) {
      values.push_back(p ? p->c_str() : nullptr);
    }
    PgResult r(PQexecParams(conn_.get(), text.c_str(), static_cast<int>(values.size()), nullptr,
                            values.empty() ? nullptr : values.data(), nullptr, nullptr, 0));
    const ExecStatusType status = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      std::string message = r ? PQresultErrorMessage(r.get()) : PQerrorMessage(conn_.get());
      while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
        message.pop_back();
      }
      return store_error("postgres: " + message);
    }
    return r;
  }

  Result<std::vector<std::vector<std::string>>> query(const std::string& text,
                                                      const Filter& filter) {
    if (auto r = connected(); !r) {
      return r.error();
    }
    auto r = exec(text, {std::to_string(filter.since_ms), std::to_string(filter.until_ms)});
    if (!r) {
      return r.error();
    }
    std::vector<std::vector<std::string>> rows;
    const int n = PQntuples(r->get());
    const int columns = PQnfields(r->get());
    rows.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
      std::vector<std::string> cells;
      cells.reserve(static_cast<std::size_t>(columns));
      for (int c = 0; c < columns; ++c) {
        cells.emplace_back(PQgetvalue(r->get(), i, c));  // "" for NULL
      }
      rows.push_back(std::move(cells));
    }
    return rows;
  }

  std::mutex mu_;  // one connection, used by the writer thread and by report readers
  ConnPtr conn_;
};

// SqlDb over its own connection: text parameters and cells (NULL cells as nullopt),
// reconnecting a broken connection before the next statement like PgStore.
class PgDb final : public SqlDb {
 public:
  explicit PgDb(ConnPtr conn) : conn_(std::move(conn)) {}

  Result<std::vector<Row>> query(const std::string& text, const Row& params) override {
    const std::lock_guard lock(mu_);
    if (PQstatus(conn_.get()) != CONNECTION_OK) {
      PQreset(conn_.get());
      if (PQstatus(conn_.get()) != CONNECTION_OK) {
        return store_error("postgres: cannot reconnect: " +
                           std::string(PQerrorMessage(conn_.get())));
      }
      PQsetNoticeProcessor(conn_.get(), ignore_notice, nullptr);
    }
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params) {
      values.push_back(p ? p->c_str() : nullptr);
    }
    const PgResult r(PQexecParams(conn_.get(), text.c_str(), static_cast<int>(values.size()),
                                  nullptr, values.empty() ? nullptr : values.data(), nullptr,
                                  nullptr, 0));
    const ExecStatusType status = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      std::string message = r ? PQresultErrorMessage(r.get()) : PQerrorMessage(conn_.get());
      while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
        message.pop_back();
      }
      return store_error("postgres: " + message);
    }
    std::vector<Row> rows;
    const int n = PQntuples(r.get());
    const int columns = PQnfields(r.get());
    rows.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
      Row row;
      row.reserve(static_cast<std::size_t>(columns));
      for (int c = 0; c < columns; ++c) {
        if (PQgetisnull(r.get(), i, c) != 0) {
          row.emplace_back(std::nullopt);
        } else {
          row.emplace_back(std::string(PQgetvalue(r.get(), i, c),
                                       static_cast<std::size_t>(PQgetlength(r.get(), i, c))));
        }
      }
      rows.push_back(std::move(row));
    }
    return rows;
  }

  bool is_postgres() const override { return true; }

 private:
  std::mutex mu_;
  ConnPtr conn_;
};

ConnPtr connect(const std::string& url) {
  ConnPtr conn(PQconnectdb(url.c_str()));
  if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
    // PQerrorMessage names host and port, never the password.
    std::string message = conn ? PQerrorMessage(conn.get()) : "out of memory";
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
      message.pop_back();
    }
    throw std::runtime_error("ledger: cannot connect to PostgreSQL: " + message);
  }
  PQsetNoticeProcessor(conn.get(), ignore_notice, nullptr);
  return conn;
}

}  // namespace

std::unique_ptr<Store> open_pg_store(const std::string& url) {
  return std::make_unique<PgStore>(connect(url));
}

std::unique_ptr<SqlDb> open_pg_db(const std::string& url) {
  return std::make_unique<PgDb>(connect(url));
}

}  // namespace sy::ledger
