// Budgets: UTC calendar periods, spend per tenant and per key with rollover at midnight, the
// refusal and its message, concurrent adds, and load() from a real ledger (spend survives a
// restart) on SQLite and PostgreSQL (SY_TEST_PG_URL; skipped without it, failing when CI is
// set).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "ledger/store.h"
#include "ledger/test_stores.h"
#include "policy/budget.h"

namespace sy::policy {
namespace {

using namespace sy::ledger::testing;

constexpr std::int64_t kDay = 86'400'000;
constexpr std::int64_t kHour = 3'600'000;
constexpr ledger::Micros kUsd = 1'000'000;

// Instants (Unix ms, UTC), computed independently of the code under test.
constexpr std::int64_t k20231114T221320 = 1'700'000'000'000;
constexpr std::int64_t k20231114 = 1'699'920'000'000;
constexpr std::int64_t k20231115 = 1'700'006'400'000;
constexpr std::int64_t k20231101 = 1'698'796'800'000;
constexpr std::int64_t k20231201 = 1'701'388'800'000;
constexpr std::int64_t k20231231T235959 = 1'704'067'199'000;
constexpr std::int64_t k20240101 = 1'704'067'200'000;
constexpr std::int64_t k20240201 = 1'706'745'600'000;
constexpr std::int64_t k20240229 = 1'709'164'800'000;
constexpr std::int64_t k20240229T12 = 1'709'208'000'000;
constexpr std::int64_t k20240301 = 1'709'251'200'000;
constexpr std::int64_t k20230228T05 = 1'677'560'400'000;
constexpr std::int64_t k20230301 = 1'677'628'800'000;
constexpr std::int64_t k21000228T01 = 4'107'459'600'000;
constexpr std::int64_t k21000301 = 4'107'542'400'000;
constexpr std::int64_t k20000229 = 951'782'400'000;
constexpr std::int64_t k19691201 = -2'678'400'000;
constexpr std::int64_t k20261101 = 1'793'491'200'000;
constexpr std::int64_t k20261103T09 = 1'793'696'400'000;
constexpr std::int64_t k20261124 = 1'795'478'400'000;
constexpr std::int64_t k20261124T15 = 1'795'532'400'000;
constexpr std::int64_t k20261125 = 1'795'564'800'000;
constexpr std::int64_t k20261201 = 1'796'083'200'000;
constexpr std::int64_t k20261031T235959 = 1'793'491'199'000;
constexpr std::int64_t k20261130T235959 = 1'796'083'199'000;
constexpr std::int64_t k20270101 = 1'798'761'600'000;

config::Budget budget(ledger::Micros per_day, ledger::Micros per_month) {
  config::Budget b;
  b.usd_per_day = per_day;
  b.usd_per_month = per_month;
  return b;
}

const config::Budget kNone{};

// --- periods --------------------------------------------------------------------------------

TEST(BudgetPeriods, DayStartAndNextDay) {
  EXPECT_EQ(utc_day_start(k20231114T221320), k20231114);
  EXPECT_EQ(next_utc_day(k20231114T221320), k20231115);
  EXPECT_EQ(utc_day_start(k20231114), k20231114);  // midnight belongs to the day it starts
  EXPECT_EQ(next_utc_day(k20231114), k20231115);
  EXPECT_EQ(utc_day_start(k20231115 - 1), k20231114);
  EXPECT_EQ(utc_day_start(0), 0);
  EXPECT_EQ(utc_day_start(-1), -kDay);  // floor before the epoch
  EXPECT_EQ(next_utc_day(-1), 0);
}

TEST(BudgetPeriods, MonthStartAndNextMonth) {
  EXPECT_EQ(utc_month_start(k20231114T221320), k20231101);
  EXPECT_EQ(next_utc_month(k20231114T221320), k20231201);
  EXPECT_EQ(utc_month_start(k20231101), k20231101);
  EXPECT_EQ(utc_month_start(k20231201 - 1), k20231101);
  EXPECT_EQ(next_utc_month(k20231201 - 1), k20231201);
  EXPECT_EQ(utc_month_start(-1), k19691201);
  EXPECT_EQ(next_utc_month(-1), 0);
}

TEST(BudgetPeriods, YearRollover) {
  EXPECT_EQ(utc_month_start(k20231231T235959), k20231201);
  EXPECT_EQ(next_utc_day(k20231231T235959), k20240101);
  EXPECT_EQ(next_utc_month(k20231231T235959), k20240101);
  EXPECT_EQ(utc_month_start(k20240101), k20240101);
  EXPECT_EQ(next_utc_month(k20240101), k20240201);
  EXPECT_EQ(next_utc_month(k20261201), k20270101);
}

TEST(BudgetPeriods, LeapDays) {
  EXPECT_EQ(utc_day_start(k20240229T12), k20240229);
  EXPECT_EQ(next_utc_day(k20240229T12), k20240301);
  EXPECT_EQ(utc_month_start(k20240229T12), k20240201);
  EXPECT_EQ(next_utc_month(k20240229T12), k20240301);
  EXPECT_EQ(next_utc_month(k20240201), k20240301);          // February 2024 has 29 days
  EXPECT_EQ(k20240301 - k20240201, 29 * kDay);
  EXPECT_EQ(next_utc_day(k20230228T05), k20230301);         // 2023: no leap day
  EXPECT_EQ(next_utc_month(k20230228T05), k20230301);
  EXPECT_EQ(next_utc_day(k21000228T01), k21000301);         // 2100: divisible by 100, not leap
  EXPECT_EQ(next_utc_day(k20000229 - 1), k20000229);        // 2000: divisible by 400, leap
  EXPECT_EQ(utc_day_start(k20000229 + kHour), k20000229);
}

TEST(BudgetFormat, UsdIsExactWithAtLeastTwoDecimals) {
  EXPECT_EQ(format_usd(0), "$0.00");
  EXPECT_EQ(format_usd(50 * kUsd), "$50.00");
  EXPECT_EQ(format_usd(50'010'000), "$50.01");
  EXPECT_EQ(format_usd(12'500'000), "$12.50");
  EXPECT_EQ(format_usd(1'234), "$0.001234");
  EXPECT_EQ(format_usd(1'000'100), "$1.0001");
  EXPECT_EQ(format_usd(-1), "-$0.000001");
  EXPECT_EQ(format_usd(INT64_MIN), "-$9223372036854.775808");
}

// --- add and check --------------------------------------------------------------------------

TEST(SpendTracker, NoBudgetNeverRefuses) {
  SpendTracker spend;
  spend.add("research", "k1", k20261124T15, 1'000 * kUsd);
  EXPECT_FALSE(spend.check("research", kNone, "k1", kNone, k20261124T15));
  EXPECT_FALSE(spend.check("research", kNone, "", budget(1, 1), k20261124T15));  // no key
}

TEST(SpendTracker, TenantDailyBudget) {
  SpendTracker spend;
  const config::Budget b = budget(50 * kUsd, 0);
  EXPECT_FALSE(spend.check("research", b, "", kNone, k20261124T15));
  spend.add("research", "", k20261124T15, 49'999'999);
  EXPECT_FALSE(spend.check("research", b, "", kNone, k20261124T15 + 1));  // below the limit
  spend.add("research", "k1", k20261124T15 + 2, 1);
  const auto r = spend.check("research", b, "", kNone, k20261124T15 + 3);  // spent == limit
  ASSERT_TRUE(r);
  EXPECT_EQ(r->scope, "tenant research");
  EXPECT_EQ(r->period, "day");
  EXPECT_EQ(r->limit, 50 * kUsd);
  EXPECT_EQ(r->spent, 50 * kUsd);
  EXPECT_EQ(r->resets_at_ms, k20261125);
  // Another tenant is unaffected, with or without the same budget.
  EXPECT_FALSE(spend.check("ops", b, "", kNone, k20261124T15 + 3));
  EXPECT_EQ(spend.tenant_spend("ops", k20261124T15).month, 0);
}

TEST(SpendTracker, TenantMonthlyBudgetOverManyDays) {
  SpendTracker spend;
  const config::Budget b = budget(10 * kUsd, 25 * kUsd);
  for (int d = 0; d < 3; ++d) {
    spend.add("research", "", k20261101 + d * kDay + kHour, 9 * kUsd);
  }
  const std::int64_t now = k20261101 + 2 * kDay + 2 * kHour;
  const auto r = spend.check("research", b, "", kNone, now);
  ASSERT_TRUE(r);  // 27 of 25 this month, 9 of 10 today
  EXPECT_EQ(r->period, "month");
  EXPECT_EQ(r->spent, 27 * kUsd);
  EXPECT_EQ(r->resets_at_ms, k20261201);
  const SpendNow s = spend.tenant_spend("research", now);
  EXPECT_EQ(s.day, 9 * kUsd);
  EXPECT_EQ(s.month, 27 * kUsd);
  EXPECT_EQ(s.day_resets_at_ms, k20261101 + 3 * kDay);
  EXPECT_EQ(s.month_resets_at_ms, k20261201);
}

TEST(SpendTracker, KeyBudgetsAreSeparateFromTheTenant) {
  SpendTracker spend;
  const config::Budget key_budget = budget(5 * kUsd, 100 * kUsd);
  spend.add("research", "k1", k20261124T15, 5 * kUsd);
  spend.add("research", "k2", k20261124T15, 1 * kUsd);
  spend.add("research", "", k20261124T15, 20 * kUsd);  // unkeyed: the tenant only

  const auto r = spend.check("research", budget(100 * kUsd, 0), "k1", key_budget, k20261124T15);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->scope, "key k1");
  EXPECT_EQ(r->period, "day");
  EXPECT_EQ(r->spent, 5 * kUsd);
  EXPECT_EQ(r->resets_at_ms, k20261125);
  EXPECT_FALSE(spend.check("research", budget(100 * kUsd, 0), "k2", key_budget, k20261124T15));
  EXPECT_FALSE(spend.check("ops", kNone, "k9", key_budget, k20261124T15));

  EXPECT_EQ(spend.tenant_spend("research", k20261124T15).day, 26 * kUsd);
  EXPECT_EQ(spend.key_spend("k1", k20261124T15).day, 5 * kUsd);
  EXPECT_EQ(spend.key_spend("k2", k20261124T15).month, 1 * kUsd);
  EXPECT_EQ(spend.key_spend("", k20261124T15).month, 0);  // unkeyed spend is no key's
  EXPECT_EQ(spend.key_spend("k9", k20261124T15).month, 0);
}

TEST(SpendTracker, RefusalNamesTheBudgetThatResetsLastThenTenantBeforeKey) {
  SpendTracker spend;
  spend.add("research", "k1", k20261124T15, 10 * kUsd);
  const config::Budget all = budget(1 * kUsd, 1 * kUsd);
  // Day and month both used up: retrying at midnight would not help; the month is named.
  auto r = spend.check("research", all, "k1", all, k20261124T15);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->scope + "/" + r->period, "tenant research/month");
  EXPECT_EQ(r->resets_at_ms, k20261201);
  r = spend.check("research", budget(1 * kUsd, 100 * kUsd), "k1", all, k20261124T15);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->scope + "/" + r->period, "key k1/month");  // the key's month outlasts the day
  r = spend.check("research", budget(1 * kUsd, 0), "k1", budget(1 * kUsd, 0), k20261124T15);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->scope + "/" + r->period, "tenant research/day");  // a tie: the tenant first
  r = spend.check("research", budget(0, 1 * kUsd), "k1", all, k20261124T15);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->scope + "/" + r->period, "tenant research/month");
  r = spend.check("research", budget(100 * kUsd, 100 * kUsd), "k1", budget(1 * kUsd, 0),
                  k20261124T15);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->scope + "/" + r->period, "key k1/day");
  r = spend.check("research", kNone, "k1", budget(0, 1 * kUsd), k20261124T15);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->scope + "/" + r->period, "key k1/month");
  EXPECT_EQ(r->resets_at_ms, k20261201);
}

TEST(SpendTracker, DayRollsOverAtMidnightUtc) {
  SpendTracker spend;
  const config::Budget b = budget(10 * kUsd, 0);
  const std::int64_t before_midnight = k20261125 - 1;
  spend.add("research", "k1", before_midnight, 10 * kUsd);
  ASSERT_TRUE(spend.check("research", b, "k1", b, before_midnight));
  // At midnight the day is new: nothing spent today, for the tenant and its key.
  EXPECT_FALSE(spend.check("research", b, "k1", b, k20261125));
  EXPECT_EQ(spend.tenant_spend("research", k20261125).day, 0);
  EXPECT_EQ(spend.tenant_spend("research", k20261125).month, 10 * kUsd);
  EXPECT_EQ(spend.key_spend("k1", k20261125).day, 0);

  // A request of the new day starts the day's counter afresh.
  spend.add("research", "k1", k20261125 + 5, 3 * kUsd);
  EXPECT_EQ(spend.tenant_spend("research", k20261125 + 6).day, 3 * kUsd);
  EXPECT_EQ(spend.tenant_spend("research", k20261125 + 6).month, 13 * kUsd);

  // A request that started yesterday and finished now counts for the month only.
  spend.add("research", "k1", before_midnight - kHour, 2 * kUsd);
  EXPECT_EQ(spend.tenant_spend("research", k20261125 + 7).day, 3 * kUsd);
  EXPECT_EQ(spend.tenant_spend("research", k20261125 + 7).month, 15 * kUsd);
  EXPECT_EQ(spend.key_spend("k1", k20261125 + 7).day, 3 * kUsd);
  EXPECT_EQ(spend.key_spend("k1", k20261125 + 7).month, 15 * kUsd);
}

TEST(SpendTracker, MonthRollsOverAndLastMonthsSpendCountsNowhere) {
  SpendTracker spend;
  const config::Budget b = budget(0, 20 * kUsd);
  spend.add("research", "", k20261130T235959, 20 * kUsd);
  ASSERT_TRUE(spend.check("research", b, "", kNone, k20261130T235959));
  EXPECT_FALSE(spend.check("research", b, "", kNone, k20261201));
  EXPECT_EQ(spend.tenant_spend("research", k20261201).month, 0);

  spend.add("research", "", k20261201 + kHour, 1 * kUsd);
  spend.add("research", "", k20261130T235959, 5 * kUsd);  // November's; November is over
  const SpendNow s = spend.tenant_spend("research", k20261201 + 2 * kHour);
  EXPECT_EQ(s.day, 1 * kUsd);
  EXPECT_EQ(s.month, 1 * kUsd);
  // Checked with a clock still in November, the spend held (December's) is not November's.
  EXPECT_EQ(spend.tenant_spend("research", k20261130T235959).month, 0);
}

TEST(SpendTracker, RefusalMessages) {
  BudgetRefusal r;
  r.scope = "tenant research";
  r.period = "day";
  r.limit = 50 * kUsd;
  r.spent = 50'010'000;
  r.resets_at_ms = k20261125;
  EXPECT_EQ(r.message(),
            "Budget exceeded: tenant research has spent $50.01 of its $50.00 daily budget; it "
            "resets at 2026-11-25T00:00:00Z.");

  SpendTracker spend;
  spend.add("research", "sk1AbCdEf012", k20261124T15, 200'000'001);
  const auto refused = spend.check("research", kNone, "sk1AbCdEf012", budget(0, 200 * kUsd),
                                   k20261124T15);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->message(),
            "Budget exceeded: key sk1AbCdEf012 has spent $200.000001 of its $200.00 monthly "
            "budget; it resets at 2026-12-01T00:00:00Z.");
}

TEST(SpendTracker, ConcurrentAddsSumExactly) {
  SpendTracker spend;
  constexpr int kThreads = 8;
  constexpr int kAddsPerThread = 5'000;
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&spend, t] {
      const std::string key = "k" + std::to_string(t % 4);
      const std::string tenant = t % 2 == 0 ? "even" : "odd";
      for (int i = 0; i < kAddsPerThread; ++i) {
        spend.add(tenant, key, k20261124T15 + i, 1'000 + t);
        // Readers run at the same time as writers.
        (void)spend.check(tenant, budget(1, 0), key, budget(1, 0), k20261124T15 + i);
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  // even: threads 0, 2, 4, 6; odd: 1, 3, 5, 7. Key k<n>: threads n and n + 4.
  const auto sum = [](std::initializer_list<int> ts) {
    ledger::Micros total = 0;
    for (const int t : ts) {
      total += static_cast<ledger::Micros>(kAddsPerThread) * (1'000 + t);
    }
    return total;
  };
  const std::int64_t now = k20261124T15 + kAddsPerThread;
  EXPECT_EQ(spend.tenant_spend("even", now).day, sum({0, 2, 4, 6}));
  EXPECT_EQ(spend.tenant_spend("odd", now).month, sum({1, 3, 5, 7}));
  for (int k = 0; k < 4; ++k) {
    EXPECT_EQ(spend.key_spend("k" + std::to_string(k), now).day, sum({k, k + 4})) << k;
  }
}

// --- load() from a real ledger: SQLite and PostgreSQL ---------------------------------------

using SqliteBackend = SqliteDb;
using PostgresBackend = PostgresDb;

template <typename Backend>
class SpendLoadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if constexpr (std::is_same_v<Backend, PostgresBackend>) {
      if (!pg_available("budget")) {
        return;
      }
    }
    url_ = backend_.setup();
    store_ = ledger::open_store(url_);
  }
  void TearDown() override {
    store_.reset();
    backend_.teardown();
  }

  static ledger::UsageRecord record(std::int64_t ts, std::string tenant, std::string key_id,
                                    std::optional<ledger::Micros> cost) {
    ledger::UsageRecord r;
    r.ts_ms = ts;
    r.request_id = "req-" + std::to_string(ts) + "-" + tenant + "-" + key_id;
    r.tenant = std::move(tenant);
    r.key_id = std::move(key_id);
    r.route = "chat";
    r.inbound = "openai-chat";
    r.provider = "p1";
    r.model = "m1";
    r.tier = "core";
    r.attempts = 1;
    r.status = cost ? 200 : 502;
    r.cost_micros = cost;
    r.price_version = "default-2026-11";
    return r;
  }

  Backend backend_;
  std::string url_;
  std::unique_ptr<ledger::Store> store_;
};

using Backends = ::testing::Types<SqliteBackend, PostgresBackend>;
class BackendNames {
 public:
  template <typename T>
  static std::string GetName(int) {
    return std::is_same_v<T, SqliteBackend> ? "Sqlite" : "Postgres";
  }
};
TYPED_TEST_SUITE(SpendLoadTest, Backends, BackendNames);

constexpr std::int64_t kNow = k20261124T15;  // 2026-11-24T15:00:00Z

TYPED_TEST(SpendLoadTest, SpendSurvivesARestart) {
  using Self = SpendLoadTest<TypeParam>;
  ASSERT_TRUE(this->store_->append({
      // today
      Self::record(k20261124 + 1, "research", "k1", 1'000'000),
      Self::record(kNow - kHour, "research", "", 500'000),  // unkeyed: the tenant only
      Self::record(kNow - 2 * kHour, "research", "k1", std::nullopt),  // unpriced: nothing
      Self::record(kNow - 3 * kHour, "ops", "k9", 700'000),
      // earlier this month (the first millisecond of it included)
      Self::record(k20261103T09, "research", "k1", 2'000'000),
      Self::record(k20261101, "research", "k2", 300'000),
      Self::record(k20261124 - 1, "ops", "", 40'000),  // yesterday's last millisecond
      // not this month: last month, and next month (a clock ahead)
      Self::record(k20261031T235959, "research", "k1", 9'000'000),
      Self::record(k20261201, "research", "k1", 8'000'000),
  }));

  SpendTracker spend;
  spend.add("research", "k1", kNow, 123 * kUsd);  // replaced by load()
  spend.add("stale", "k-stale", kNow, 1 * kUsd);
  ASSERT_TRUE(spend.load(*this->store_, kNow));

  SpendNow s = spend.tenant_spend("research", kNow);
  EXPECT_EQ(s.day, 1'500'000);
  EXPECT_EQ(s.month, 3'800'000);
  EXPECT_EQ(s.day_resets_at_ms, k20261125);
  EXPECT_EQ(s.month_resets_at_ms, k20261201);
  s = spend.key_spend("k1", kNow);
  EXPECT_EQ(s.day, 1'000'000);
  EXPECT_EQ(s.month, 3'000'000);
  s = spend.key_spend("k2", kNow);
  EXPECT_EQ(s.day, 0);
  EXPECT_EQ(s.month, 300'000);
  s = spend.tenant_spend("ops", kNow);
  EXPECT_EQ(s.day, 700'000);
  EXPECT_EQ(s.month, 740'000);
  EXPECT_EQ(spend.key_spend("k9", kNow).month, 700'000);
  EXPECT_EQ(spend.tenant_spend("stale", kNow).month, 0);
  EXPECT_EQ(spend.key_spend("k-stale", kNow).month, 0);
  EXPECT_EQ(spend.tenant_spend("nobody", kNow).month, 0);

  // The loaded spend is what budgets are checked against, and add() continues from it.
  EXPECT_FALSE(spend.check("research", budget(2 * kUsd, 4 * kUsd), "k1", kNone, kNow));
  spend.add("research", "k1", kNow + 1, 200'000);
  const auto r = spend.check("research", budget(2 * kUsd, 4 * kUsd), "k1", kNone, kNow + 2);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->scope, "tenant research");
  EXPECT_EQ(r->period, "month");
  EXPECT_EQ(r->spent, 4 * kUsd);

  // A second process on the same ledger (a restart, another replica) sees the same spend.
  auto reopened = ledger::open_store(this->url_);
  SpendTracker after_restart;
  ASSERT_TRUE(after_restart.load(*reopened, kNow + 2));
  EXPECT_EQ(after_restart.tenant_spend("research", kNow + 2).month, 3'800'000);
  EXPECT_EQ(after_restart.key_spend("k1", kNow + 2).day, 1'000'000);

  // Loaded tomorrow, only this month's spend remains; today's is no longer "today".
  SpendTracker tomorrow;
  ASSERT_TRUE(tomorrow.load(*reopened, k20261125 + kHour));
  EXPECT_EQ(tomorrow.tenant_spend("research", k20261125 + kHour).day, 0);
  EXPECT_EQ(tomorrow.tenant_spend("research", k20261125 + kHour).month, 3'800'000);

  // Loaded in December: only December's record.
  SpendTracker december;
  ASSERT_TRUE(december.load(*reopened, k20261201 + kHour));
  EXPECT_EQ(december.tenant_spend("research", k20261201 + kHour).day, 8'000'000);
  EXPECT_EQ(december.key_spend("k1", k20261201 + kHour).month, 8'000'000);
  EXPECT_EQ(december.tenant_spend("ops", k20261201 + kHour).month, 0);
}

TYPED_TEST(SpendLoadTest, AnEmptyLedgerLoadsNoSpend) {
  SpendTracker spend;
  spend.add("research", "k1", kNow, 5 * kUsd);
  ASSERT_TRUE(spend.load(*this->store_, kNow));
  EXPECT_EQ(spend.tenant_spend("research", kNow).month, 0);
  EXPECT_EQ(spend.key_spend("k1", kNow).day, 0);
  EXPECT_FALSE(spend.check("research", budget(1, 1), "k1", budget(1, 1), kNow));
}

}  // namespace
}  // namespace sy::policy
