// One store test suite, run against SQLite (a temp file) and PostgreSQL (SY_TEST_PG_URL): both
// stores must give the same answers. Without SY_TEST_PG_URL the PostgreSQL tests are skipped,
// or fail when CI is set (CI must prove both stores).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <random>
#include <thread>
#include <type_traits>

#include "ledger/pg_store.h"
#include "ledger/pricing.h"
#include "ledger/sql_db.h"
#include "ledger/sqlite_store.h"
#include "ledger/store.h"
#include "ledger/store_sql.h"
#include "test_stores.h"

namespace sy::ledger {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using namespace sy::ledger::testing;

constexpr std::int64_t kBase = 1'700'000'000'000;  // 2023-11-14T22:13:20Z
constexpr std::int64_t kHour = 3'600'000;

struct SqliteBackend : SqliteDb {
  static constexpr sql::Dialect kDialect = sql::Dialect::Sqlite;
  static constexpr std::string_view kFalse = "0";
  std::unique_ptr<Store> open_unmigrated() const { return open_sqlite_store(path); }
  std::int64_t scalar(const std::string& sql) const { return sqlite_scalar(path, sql); }
  void exec(const std::string& sql) const { sqlite_exec(path, sql); }
};

struct PostgresBackend : PostgresDb {
  static constexpr sql::Dialect kDialect = sql::Dialect::Postgres;
  static constexpr std::string_view kFalse = "false";
  std::unique_ptr<Store> open_unmigrated() const { return open_pg_store(url); }
  std::int64_t scalar(const std::string& sql) const { return pg_scalar(url, sql); }
  void exec(const std::string& sql) const { pg_exec(url, sql); }
};

template <typename Backend>
class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if constexpr (std::is_same_v<Backend, PostgresBackend>) {
      if (!pg_available("store")) {
        return;
      }
    }
    url_ = backend_.setup();
    store_ = open_store(url_);  // creates the schema
  }
  void TearDown() override {
    store_.reset();
    backend_.teardown();
  }

  Backend backend_;
  std::string url_;
  std::unique_ptr<Store> store_;
};

using Backends = ::testing::Types<SqliteBackend, PostgresBackend>;
class BackendNames {
 public:
  template <typename T>
  static std::string GetName(int) {
    return std::is_same_v<T, SqliteBackend> ? "Sqlite" : "Postgres";
  }
};
TYPED_TEST_SUITE(StoreTest, Backends, BackendNames);

UsageRecord record(std::int64_t ts, std::string tenant, std::string tier, std::string provider,
                   std::string model, int status, ir::Usage usage, std::optional<Micros> cost,
                   std::string error_class = {}) {
  UsageRecord r;
  r.ts_ms = ts;
  r.request_id = "req-" + std::to_string(ts);
  r.tenant = std::move(tenant);
  r.route = "chat";
  r.inbound = "openai-chat";
  r.tier = std::move(tier);
  r.provider = std::move(provider);
  r.model = std::move(model);
  r.attempts = 1;
  r.status = status;
  r.error_class = std::move(error_class);
  r.latency_ms = 12.5;
  r.usage = usage;
  r.cost_micros = cost;
  r.price_version = "default-2026-11";
  return r;
}

ir::Usage usage(std::optional<std::int64_t> in, std::optional<std::int64_t> out,
                std::optional<std::int64_t> cached = {}, std::optional<std::int64_t> cw = {},
                std::optional<std::int64_t> reasoning = {}) {
  return ir::Usage{in, out, cached, cw, reasoning};
}

// Five records over two UTC days, two tenants, three targets (see the expectations).
std::vector<UsageRecord> sample() {
  return {
      record(kBase, "a", "core", "p1", "m1", 200, usage(100, 50, 20), 123),
      record(kBase + 1'000, "a", "secondary", "p2", "m2", 502, {}, std::nullopt,
             "upstream_unavailable"),
      record(kBase + 3 * kHour, "b", "core", "p1", "m1", 200, usage(10, 5, {}, 2, 1), 7),
      record(kBase + 3 * kHour + 1, "b", "", "", "", 400, {}, std::nullopt, "invalid_request"),
      record(kBase + 3 * kHour + 2, "a", "core", "p1", "m1", 200, usage(1, 1), 1,
             "upstream_reset"),  // a stream cut after its 200: a failure for last_outcomes
  };
}

TYPED_TEST(StoreTest, MigrateIsIdempotentAndKeepsRecords) {
  ASSERT_TRUE(this->store_->migrate());
  ASSERT_TRUE(this->store_->migrate());
  ASSERT_TRUE(this->store_->append(sample()));
  this->store_.reset();
  this->store_ = open_store(this->url_);  // migrates again on open
  ASSERT_TRUE(this->store_->migrate());
  EXPECT_EQ(this->store_->count({}).value(), 5);
  EXPECT_EQ(this->backend_.scalar("SELECT COUNT(*) FROM schema_version"), sql::kSchemaVersion);
  EXPECT_EQ(this->backend_.scalar("SELECT MAX(version) FROM schema_version"),
            sql::kSchemaVersion);
}

TYPED_TEST(StoreTest, ConcurrentMigrationsOfAFreshDatabaseDoNotRace) {
  this->store_.reset();
  this->backend_.exec("DROP TABLE usage_records");
  this->backend_.exec("DROP TABLE schema_version");
  auto first = this->backend_.open_unmigrated();
  auto second = this->backend_.open_unmigrated();
  Result<void> r1 = make_error(ErrorKind::Internal, "not run");
  Result<void> r2 = make_error(ErrorKind::Internal, "not run");
  std::thread t1([&] { r1 = first->migrate(); });
  std::thread t2([&] { r2 = second->migrate(); });
  t1.join();
  t2.join();
  EXPECT_TRUE(r1) << (r1 ? "" : r1.error().detail);
  EXPECT_TRUE(r2) << (r2 ? "" : r2.error().detail);
  EXPECT_EQ(this->backend_.scalar("SELECT COUNT(*) FROM schema_version"), sql::kSchemaVersion);
  ASSERT_TRUE(first->append(sample()));
  EXPECT_EQ(second->count({}).value(), 5);
}

TYPED_TEST(StoreTest, ASchemaFromANewerBuildIsRefused) {
  this->backend_.exec("INSERT INTO schema_version (version, applied_ms) VALUES (99, 0)");
  const Result<void> r = this->store_->migrate();
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().detail, HasSubstr("newer than this build"));
}

TYPED_TEST(StoreTest, AppendCountAndTimeFilter) {
  ASSERT_TRUE(this->store_->append({}));  // an empty batch is fine
  ASSERT_TRUE(this->store_->append(sample()));
  EXPECT_EQ(this->store_->count({}).value(), 5);
  EXPECT_EQ(this->store_->count({kBase + 3 * kHour, INT64_MAX}).value(), 3);  // since inclusive
  EXPECT_EQ(this->store_->count({0, kBase + 3 * kHour}).value(), 2);          // until exclusive
  EXPECT_EQ(this->store_->count({kBase + 1, kBase + 2}).value(), 0);
  EXPECT_TRUE(this->store_->writable().value());
}

TYPED_TEST(StoreTest, ColumnsKeepNullsAndValues) {
  ASSERT_TRUE(this->store_->append(sample()));
  auto& b = this->backend_;
  EXPECT_EQ(b.scalar("SELECT COUNT(*) FROM usage_records WHERE input_tokens IS NULL"), 2);
  EXPECT_EQ(b.scalar("SELECT COUNT(*) FROM usage_records WHERE cost_micros IS NULL"), 2);
  EXPECT_EQ(b.scalar("SELECT COUNT(*) FROM usage_records WHERE cached_input_tokens = 20"), 1);
  EXPECT_EQ(b.scalar("SELECT COUNT(*) FROM usage_records WHERE latency_ms = 12.5"), 5);
  EXPECT_EQ(b.scalar("SELECT COUNT(*) FROM usage_records WHERE ttft_ms IS NULL"), 5);
  EXPECT_EQ(b.scalar("SELECT MIN(day) FROM usage_records"), kBase / 86'400'000);
}

TYPED_TEST(StoreTest, AggregateTotals) {
  ASSERT_TRUE(this->store_->append(sample()));
  const auto rows = this->store_->aggregate({}, {}).value();
  ASSERT_EQ(rows.size(), 1u);
  const AggregateRow& t = rows[0];
  EXPECT_TRUE(t.keys.empty());
  EXPECT_EQ(t.requests, 5);
  EXPECT_EQ(t.errors, 2);  // 502 and 400
  EXPECT_EQ(t.input_tokens, 111);
  EXPECT_EQ(t.output_tokens, 56);
  EXPECT_EQ(t.cached_input_tokens, 20);
  EXPECT_EQ(t.cache_write_tokens, 2);
  EXPECT_EQ(t.reasoning_tokens, 1);
  EXPECT_EQ(t.cost_micros, 131);
  EXPECT_EQ(t.unpriced, 2);
}

TYPED_TEST(StoreTest, AggregateByTenant) {
  ASSERT_TRUE(this->store_->append(sample()));
  const auto rows = this->store_->aggregate({}, {Dim::Tenant}).value();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_THAT(rows[0].keys, ElementsAre("a"));
  EXPECT_EQ(rows[0].requests, 3);
  EXPECT_EQ(rows[0].errors, 1);
  EXPECT_EQ(rows[0].input_tokens, 101);
  EXPECT_EQ(rows[0].output_tokens, 51);
  EXPECT_EQ(rows[0].cost_micros, 124);
  EXPECT_EQ(rows[0].unpriced, 1);
  EXPECT_THAT(rows[1].keys, ElementsAre("b"));
  EXPECT_EQ(rows[1].requests, 2);
  EXPECT_EQ(rows[1].cache_write_tokens, 2);
  EXPECT_EQ(rows[1].reasoning_tokens, 1);
  EXPECT_EQ(rows[1].cost_micros, 7);
}

TYPED_TEST(StoreTest, AggregateByUtcDayAndProvider) {
  ASSERT_TRUE(this->store_->append(sample()));
  const auto rows = this->store_->aggregate({}, {Dim::Day, Dim::Provider}).value();
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_THAT(rows[0].keys, ElementsAre("2023-11-14", "p1"));
  EXPECT_THAT(rows[1].keys, ElementsAre("2023-11-14", "p2"));
  EXPECT_THAT(rows[2].keys, ElementsAre("2023-11-15", ""));
  EXPECT_THAT(rows[3].keys, ElementsAre("2023-11-15", "p1"));
  EXPECT_EQ(rows[0].cost_micros, 123);
  EXPECT_EQ(rows[1].errors, 1);
  EXPECT_EQ(rows[3].requests, 2);
  EXPECT_EQ(rows[3].cost_micros, 8);

  const auto by_route_tier_model =
      this->store_->aggregate({kBase + 1, INT64_MAX}, {Dim::Route, Dim::Tier, Dim::Model}).value();
  ASSERT_EQ(by_route_tier_model.size(), 3u);
  EXPECT_THAT(by_route_tier_model[0].keys, ElementsAre("chat", "", ""));
  EXPECT_THAT(by_route_tier_model[1].keys, ElementsAre("chat", "core", "m1"));
  EXPECT_EQ(by_route_tier_model[1].requests, 2);  // the first record is filtered out
  EXPECT_THAT(by_route_tier_model[2].keys, ElementsAre("chat", "secondary", "m2"));

  EXPECT_TRUE(this->store_->aggregate({0, 1}, {Dim::Tenant}).value().empty());
}

TYPED_TEST(StoreTest, LastOutcomesPerTarget) {
  ASSERT_TRUE(this->store_->append(sample()));
  const auto rows = this->store_->last_outcomes({}).value();
  ASSERT_EQ(rows.size(), 2u);  // the record without a provider belongs to no target
  EXPECT_EQ(rows[0].tier, "core");
  EXPECT_EQ(rows[0].provider, "p1");
  EXPECT_EQ(rows[0].model, "m1");
  EXPECT_EQ(rows[0].route, "chat");
  EXPECT_EQ(rows[0].last_success_ms, kBase + 3 * kHour);
  EXPECT_EQ(rows[0].last_failure_ms, kBase + 3 * kHour + 2);
  EXPECT_EQ(rows[1].tier, "secondary");
  EXPECT_EQ(rows[1].last_success_ms, 0);  // never
  EXPECT_EQ(rows[1].last_failure_ms, kBase + 1'000);
}

TYPED_TEST(StoreTest, TenThousandCostsSumExactlyToTheAggregate) {
  const Price price = Price::make(3'000'000, 15'000'000, 300'000, 3'750'000, 15'000'000);
  std::mt19937_64 rng(20261124);
  std::map<std::string, Micros> by_tenant;
  Micros total = 0;
  std::int64_t unpriced = 0;
  std::vector<UsageRecord> batch;
  for (int i = 0; i < 10'000; ++i) {
    const std::int64_t in = static_cast<std::int64_t>(rng() % 200'000);
    const std::int64_t out = static_cast<std::int64_t>(rng() % 20'000);
    const std::int64_t cached = in == 0 ? 0 : static_cast<std::int64_t>(rng() % (in / 2 + 1));
    const std::int64_t cw = static_cast<std::int64_t>(rng() % (in - cached + 1));
    const std::int64_t reasoning = static_cast<std::int64_t>(rng() % (out + 1));
    const bool reported = rng() % 20 != 0;
    const ir::Usage u = reported ? usage(in, out, cached, cw, reasoning) : ir::Usage{};
    const std::optional<Micros> c = cost(price, u).value();
    const std::string tenant = "t" + std::to_string(rng() % 5);
    if (c) {
      total += *c;
      by_tenant[tenant] += *c;
    } else {
      ++unpriced;
    }
    batch.push_back(record(kBase + i * 60'000, tenant, "core", "p", "m", 200, u, c));
    if (batch.size() == 700) {
      ASSERT_TRUE(this->store_->append(batch));
      batch.clear();
    }
  }
  ASSERT_TRUE(this->store_->append(batch));
  const auto all = this->store_->aggregate({}, {}).value();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].requests, 10'000);
  EXPECT_EQ(all[0].cost_micros, total);
  EXPECT_EQ(all[0].unpriced, unpriced);
  const auto tenants = this->store_->aggregate({}, {Dim::Tenant}).value();
  ASSERT_EQ(tenants.size(), by_tenant.size());
  for (const AggregateRow& row : tenants) {
    EXPECT_EQ(row.cost_micros, by_tenant[row.keys.at(0)]) << row.keys.at(0);
  }
}

TEST(StoreSql, DaysAreUtcCalendarDates) {
  EXPECT_EQ(sql::format_day(sql::day_of(0)), "1970-01-01");
  EXPECT_EQ(sql::format_day(sql::day_of(86'399'999)), "1970-01-01");
  EXPECT_EQ(sql::format_day(sql::day_of(86'400'000)), "1970-01-02");
  EXPECT_EQ(sql::format_day(sql::day_of(-1)), "1969-12-31");  // floor, not truncation
  EXPECT_EQ(sql::format_day(sql::day_of(kBase)), "2023-11-14");
  EXPECT_EQ(sql::format_day(sql::day_of(1'709'164'800'000)), "2024-02-29");  // leap day
}

TEST(OpenStore, RejectsUnknownSchemesWithoutEchoingTheUrl) {
  try {
    open_store("mysql://user:secret@host/db");
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("unsupported storage.ledger scheme \"mysql\""));
    EXPECT_THAT(e.what(), ::testing::Not(HasSubstr("secret")));
  }
  EXPECT_THROW(open_store("sqlite:"), std::runtime_error);
}

TEST(OpenStore, SqliteCreatesParentDirectoriesAndUsesWal) {
  const std::string path = temp_sqlite_path();
  {
    auto store = open_store("sqlite:" + path);
    EXPECT_TRUE(store->writable().value());
  }
  EXPECT_TRUE(std::filesystem::exists(path));
  EXPECT_EQ(sqlite_scalar(path, "SELECT COUNT(*) FROM pragma_journal_mode WHERE "
                                "journal_mode = 'wal'"),
            1);
  remove_sqlite(path);
}

}  // namespace
}  // namespace sy::ledger

namespace sy::ledger {
namespace {

// Issue #5 asks for a record per request and per attempt: every attempt travels with its
// request as a JSON array, and survives the round trip through both databases unchanged.
TYPED_TEST(StoreTest, AttemptDetailsAreStoredWithTheRecord) {
  UsageRecord r = record(1'700'000'000'000, "a", "secondary", "p2", "m2", 200, {}, std::nullopt);
  r.request_id = "req_attempts";
  r.attempts = 2;
  r.attempt_details =
      R"([{"provider":"p1","model":"m1","tier":"core","status":503,"latency_ms":1.5,)"
      R"("error":"upstream_error"},{"provider":"p2","model":"m2","tier":"secondary",)"
      R"("status":200,"latency_ms":3.25}])";
  ASSERT_TRUE(this->store_->append({r}).has_value());
  auto db = open_sql_db(this->url_);
  auto rows = db->query("SELECT attempt_details FROM usage_records WHERE request_id = $1",
                        {std::optional<std::string>("req_attempts")});
  ASSERT_TRUE(rows.has_value()) << rows.error().public_message;
  ASSERT_EQ(rows->size(), 1u);
  ASSERT_TRUE((*rows)[0][0].has_value());
  EXPECT_EQ(*(*rows)[0][0], r.attempt_details);
}

// Virtual keys: records grouped by key id alone ("" = no key) and within their tenant.
std::vector<UsageRecord> keyed_sample() {
  std::vector<UsageRecord> out = {
      record(kBase, "a", "core", "p1", "m1", 200, usage(10, 1), 100),
      record(kBase + 1, "a", "core", "p1", "m1", 200, usage(20, 2), 200),
      record(kBase + 2, "a", "core", "p1", "m1", 500, {}, std::nullopt, "upstream_error"),
      record(kBase + 3, "a", "core", "p1", "m1", 200, usage(30, 3), 300),
      record(kBase + 4, "b", "core", "p1", "m1", 200, usage(40, 4), 400),
      record(kBase + 5, "b", "core", "p1", "m1", 200, usage(50, 5), 500),
  };
  out[0].key_id = "key_a1";
  out[1].key_id = "key_a1";
  out[2].key_id = "key_a2";
  // out[3]: tenant a without a key
  out[4].key_id = "key_b1";
  out[5].key_id = "key_a1";  // the same key id under another tenant stays apart below
  return out;
}

TYPED_TEST(StoreTest, AggregateByKey) {
  ASSERT_TRUE(this->store_->append(keyed_sample()));
  const auto rows = this->store_->aggregate({}, {Dim::Key}).value();
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_THAT(rows[0].keys, ElementsAre(""));
  EXPECT_EQ(rows[0].requests, 1);
  EXPECT_EQ(rows[0].cost_micros, 300);
  EXPECT_THAT(rows[1].keys, ElementsAre("key_a1"));
  EXPECT_EQ(rows[1].requests, 3);
  EXPECT_EQ(rows[1].input_tokens, 80);
  EXPECT_EQ(rows[1].cost_micros, 800);
  EXPECT_THAT(rows[2].keys, ElementsAre("key_a2"));
  EXPECT_EQ(rows[2].requests, 1);
  EXPECT_EQ(rows[2].errors, 1);
  EXPECT_EQ(rows[2].cost_micros, 0);
  EXPECT_EQ(rows[2].unpriced, 1);
  EXPECT_THAT(rows[3].keys, ElementsAre("key_b1"));
  EXPECT_EQ(rows[3].cost_micros, 400);

  // The time filter applies as for every dimension.
  const auto late = this->store_->aggregate({kBase + 3, INT64_MAX}, {Dim::Key}).value();
  ASSERT_EQ(late.size(), 3u);
  EXPECT_THAT(late[1].keys, ElementsAre("key_a1"));
  EXPECT_EQ(late[1].requests, 1);
  EXPECT_EQ(late[1].cost_micros, 500);
}

TYPED_TEST(StoreTest, AggregateByTenantAndKey) {
  ASSERT_TRUE(this->store_->append(keyed_sample()));
  const auto rows = this->store_->aggregate({}, {Dim::Tenant, Dim::Key}).value();
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_THAT(rows[0].keys, ElementsAre("a", ""));
  EXPECT_EQ(rows[0].cost_micros, 300);
  EXPECT_THAT(rows[1].keys, ElementsAre("a", "key_a1"));
  EXPECT_EQ(rows[1].requests, 2);
  EXPECT_EQ(rows[1].cost_micros, 300);
  EXPECT_THAT(rows[2].keys, ElementsAre("a", "key_a2"));
  EXPECT_EQ(rows[2].errors, 1);
  EXPECT_THAT(rows[3].keys, ElementsAre("b", "key_a1"));
  EXPECT_EQ(rows[3].cost_micros, 500);
  EXPECT_THAT(rows[4].keys, ElementsAre("b", "key_b1"));
  EXPECT_EQ(rows[4].cost_micros, 400);

  // Key with Day, as the budget tracker asks for it.
  const auto by_day = this->store_->aggregate({}, {Dim::Tenant, Dim::Key, Dim::Day}).value();
  ASSERT_EQ(by_day.size(), 5u);
  EXPECT_THAT(by_day[1].keys, ElementsAre("a", "key_a1", "2023-11-14"));
}

TYPED_TEST(StoreTest, RedactionsAreStoredWithTheRecord) {
  UsageRecord redacted = record(kBase, "a", "core", "p1", "m1", 200, usage(1, 1), 1);
  redacted.request_id = "req_redacted";
  redacted.redactions = 7;
  UsageRecord clean = record(kBase + 1, "a", "core", "p1", "m1", 200, usage(1, 1), 1);
  clean.request_id = "req_clean";  // redactions left at its default, 0
  ASSERT_TRUE(this->store_->append({redacted, clean}));
  auto db = open_sql_db(this->url_);
  auto rows = db->query("SELECT request_id, redactions FROM usage_records ORDER BY ts_ms", {});
  ASSERT_TRUE(rows.has_value()) << rows.error().detail;
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0][0], std::optional<std::string>("req_redacted"));
  EXPECT_EQ((*rows)[0][1], std::optional<std::string>("7"));
  EXPECT_EQ((*rows)[1][0], std::optional<std::string>("req_clean"));
  EXPECT_EQ((*rows)[1][1], std::optional<std::string>("0"));
  EXPECT_EQ(this->backend_.scalar("SELECT SUM(redactions) FROM usage_records"), 7);
}

// A ledger written by a version-3 build (attempt_details, no redactions) is migrated in place:
// its rows stay, with redactions = 0, and new records carry their count.
TYPED_TEST(StoreTest, MigrationFromVersion3KeepsRowsAndAddsRedactions) {
  this->store_.reset();
  auto& b = this->backend_;
  b.exec("DROP TABLE usage_records");
  b.exec("DROP TABLE virtual_keys");
  b.exec("DROP TABLE schema_version");
  b.exec("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_ms BIGINT NOT NULL)");
  for (int version = 1; version <= 3; ++version) {
    for (const std::string& statement : sql::migration(TypeParam::kDialect, version)) {
      b.exec(statement);
    }
    b.exec("INSERT INTO schema_version (version, applied_ms) VALUES (" + std::to_string(version) +
           ", 0)");
  }
  const std::string f(TypeParam::kFalse);
  for (int i = 0; i < 3; ++i) {
    b.exec(
        "INSERT INTO usage_records (ts_ms, day, request_id, tenant, key_id, route, inbound, "
        "provider, model, tier, canary, attempts, status, error_class, latency_ms, input_tokens, "
        "output_tokens, cost_micros, price_version, stream, attempt_details) VALUES (" +
        std::to_string(kBase + i) + ", " + std::to_string(kBase / 86'400'000) + ", 'old-" +
        std::to_string(i) + "', 'a', 'key_old', 'chat', 'openai-chat', 'p1', 'm1', 'core', " +
        f + ", 1, 200, '', 10.0, 5, 6, " + std::to_string(100 + i) + ", 'v', " + f + ", '[]')");
  }
  ASSERT_EQ(b.scalar("SELECT MAX(version) FROM schema_version"), 3);

  this->store_ = open_store(this->url_);  // migrates 3 -> 4
  EXPECT_EQ(b.scalar("SELECT MAX(version) FROM schema_version"), 4);
  EXPECT_EQ(b.scalar("SELECT COUNT(*) FROM schema_version"), 4);
  EXPECT_EQ(this->store_->count({}).value(), 3);
  EXPECT_EQ(b.scalar("SELECT COUNT(*) FROM usage_records WHERE redactions = 0"), 3);
  const auto rows = this->store_->aggregate({}, {Dim::Tenant, Dim::Key}).value();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_THAT(rows[0].keys, ElementsAre("a", "key_old"));
  EXPECT_EQ(rows[0].cost_micros, 303);
  EXPECT_EQ(rows[0].input_tokens, 15);

  UsageRecord fresh = record(kBase + 10, "a", "core", "p1", "m1", 200, usage(1, 1), 1);
  fresh.redactions = 2;
  ASSERT_TRUE(this->store_->append({fresh}));
  EXPECT_EQ(b.scalar("SELECT SUM(redactions) FROM usage_records"), 2);
  EXPECT_EQ(this->store_->count({}).value(), 4);
}

}  // namespace
}  // namespace sy::ledger
