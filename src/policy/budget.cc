#include "policy/budget.h"

#include "core/clock.h"

#include <array>
#include <chrono>
#include <cstdio>
#include <utility>
#include <vector>

namespace sy::policy {
namespace {

constexpr std::int64_t kMsPerDay = 86'400'000;

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if (a % b != 0 && ((a < 0) != (b < 0))) {
    --q;  // floor, not truncation, before the epoch
  }
  return q;
}

// Day numbers (days since 1970-01-01) <-> civil dates: std::chrono's calendar types do the
// days-from-civil arithmetic, with no time zone database, timegm or locale involved.
std::chrono::year_month_day civil(std::int64_t day) {
  return std::chrono::year_month_day{std::chrono::sys_days{std::chrono::days{day}}};
}

std::int64_t day_number(std::chrono::year_month_day ymd) {
  return std::chrono::sys_days{ymd}.time_since_epoch().count();
}

std::int64_t day_of(std::int64_t ms) { return floor_div(ms, kMsPerDay); }

// "YYYY-MM-DD", the form of ledger::Dim::Day keys.
std::string format_day(std::int64_t day) {
  const auto ymd = civil(day);
  std::array<char, 32> buf{};
  std::snprintf(buf.data(), buf.size(), "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buf.data();
}

std::string_view period_adjective(std::string_view period) {
  return period == "day" ? "daily" : "monthly";
}

}  // namespace

std::int64_t utc_day_start(std::int64_t ms) { return day_of(ms) * kMsPerDay; }

std::int64_t next_utc_day(std::int64_t ms) { return (day_of(ms) + 1) * kMsPerDay; }

std::int64_t utc_month_start(std::int64_t ms) {
  const auto ymd = civil(day_of(ms));
  return day_number(ymd.year() / ymd.month() / 1) * kMsPerDay;
}

std::int64_t next_utc_month(std::int64_t ms) {
  const auto ymd = civil(day_of(ms));
  const std::chrono::year_month next = ymd.year() / ymd.month() + std::chrono::months{1};
  return day_number(next / 1) * kMsPerDay;
}

std::string format_usd(ledger::Micros micros) {
  // Magnitude as unsigned so that INT64_MIN works too.
  const bool negative = micros < 0;
  const std::uint64_t mag = negative ? std::uint64_t{0} - static_cast<std::uint64_t>(micros)
                                     : static_cast<std::uint64_t>(micros);
  std::string frac = std::to_string(mag % 1'000'000);
  frac.insert(0, 6 - frac.size(), '0');
  while (frac.size() > 2 && frac.back() == '0') {
    frac.pop_back();
  }
  return (negative ? "-$" : "$") + std::to_string(mag / 1'000'000) + "." + frac;
}

std::string BudgetRefusal::message() const {
  return "Budget exceeded: " + scope + " has spent " + format_usd(spent) + " of its " +
         format_usd(limit) + " " + std::string(period_adjective(period)) +
         " budget; it resets at " + iso8601_utc(resets_at_ms) + ".";
}

void SpendTracker::Counter::add(std::int64_t ts_day, std::int64_t ts_month, ledger::Micros cost) {
  if (ts_month > month_start) {
    month_start = ts_month;
    month = cost;
  } else if (ts_month == month_start) {
    month += cost;
  }  // else: a month that is over; it no longer counts anywhere
  if (ts_day > day_start) {
    day_start = ts_day;
    day = cost;
  } else if (ts_day == day_start) {
    day += cost;
  }
}

SpendTracker::Periods::Periods(std::int64_t ms)
    : day_start(utc_day_start(ms)),
      month_start(utc_month_start(ms)),
      next_day(next_utc_day(ms)),
      next_month(next_utc_month(ms)) {}

SpendNow SpendTracker::lookup(const Counters& counters, std::string_view id,
                              const Periods& now) {
  SpendNow s;
  s.day_resets_at_ms = now.next_day;
  s.month_resets_at_ms = now.next_month;
  if (const auto it = counters.find(id); it != counters.end()) {
    // Spend held for an older period (or a newer one, from a clock ahead) is not this one's.
    const Counter& c = it->second;
    s.day = c.day_start == now.day_start ? c.day : 0;
    s.month = c.month_start == now.month_start ? c.month : 0;
  }
  return s;
}

Result<void> SpendTracker::load(ledger::Store& store, std::int64_t now_ms) {
  const std::int64_t today = utc_day_start(now_ms);
  const std::int64_t month = utc_month_start(now_ms);
  const std::string today_key = format_day(day_of(now_ms));
  // Until the next month: a record stamped later (a replica's clock ahead) is not this month's.
  auto rows = store.aggregate(ledger::Filter{month, next_utc_month(now_ms)},
                              {ledger::Dim::Tenant, ledger::Dim::Key, ledger::Dim::Day});
  if (!rows) {
    return rows.error();
  }
  Counters tenants;
  Counters keys;
  for (const ledger::AggregateRow& row : *rows) {
    if (row.keys.size() != 3) {
      Error e = make_error(ErrorKind::Internal, "ledger store error");
      e.detail = "budget load: aggregate row with " + std::to_string(row.keys.size()) + " keys";
      return e;
    }
    const bool is_today = row.keys[2] == today_key;
    const auto credit = [&](Counter& c) {
      c.day_start = today;
      c.month_start = month;
      c.month += row.cost_micros;
      if (is_today) {
        c.day += row.cost_micros;
      }
    };
    credit(tenants[row.keys[0]]);
    if (!row.keys[1].empty()) {
      credit(keys[row.keys[1]]);
    }
  }
  const std::lock_guard lock(mu_);
  tenants_ = std::move(tenants);
  keys_ = std::move(keys);
  return {};
}

void SpendTracker::add(std::string_view tenant, std::string_view key_id, std::int64_t ts_ms,
                       ledger::Micros cost) {
  const std::int64_t ts_day = utc_day_start(ts_ms);
  const std::int64_t ts_month = utc_month_start(ts_ms);
  const auto counter = [](Counters& counters, std::string_view id) -> Counter& {
    auto it = counters.find(id);
    if (it == counters.end()) {
      it = counters.emplace(std::string(id), Counter{}).first;
    }
    return it->second;
  };
  const std::lock_guard lock(mu_);
  counter(tenants_, tenant).add(ts_day, ts_month, cost);
  if (!key_id.empty()) {
    counter(keys_, key_id).add(ts_day, ts_month, cost);
  }
}

std::optional<BudgetRefusal> SpendTracker::check(std::string_view tenant,
                                                 const config::Budget& tenant_budget,
                                                 std::string_view key_id,
                                                 const config::Budget& key_budget,
                                                 std::int64_t now_ms) const {
  const bool keyed = !key_id.empty() && key_budget.any();
  if (!tenant_budget.any() && !keyed) {
    return std::nullopt;  // the common case: no lock taken
  }
  const Periods now(now_ms);
  SpendNow t;
  SpendNow k;
  {
    const std::lock_guard lock(mu_);
    t = lookup(tenants_, tenant, now);
    if (keyed) {
      k = lookup(keys_, key_id, now);
    }
  }
  struct Candidate {
    bool applies;
    ledger::Micros limit;
    ledger::Micros spent;
    bool day;
    bool tenant;
  };
  const std::array<Candidate, 4> candidates = {{
      {true, tenant_budget.usd_per_day, t.day, true, true},
      {true, tenant_budget.usd_per_month, t.month, false, true},
      {keyed, key_budget.usd_per_day, k.day, true, false},
      {keyed, key_budget.usd_per_month, k.month, false, false},
  }};
  // Of the budgets used up, the one that resets last: the request cannot pass before then, so
  // that is the reset (and Retry-After) to report. Ties keep the order above.
  const Candidate* chosen = nullptr;
  for (const Candidate& c : candidates) {
    if (!c.applies || c.limit <= 0 || c.spent < c.limit) {
      continue;
    }
    if (chosen == nullptr || (chosen->day && !c.day)) {
      chosen = &c;
    }
  }
  if (chosen == nullptr) {
    return std::nullopt;
  }
  BudgetRefusal r;
  r.scope = chosen->tenant ? "tenant " + std::string(tenant) : "key " + std::string(key_id);
  r.period = chosen->day ? "day" : "month";
  r.limit = chosen->limit;
  r.spent = chosen->spent;
  r.resets_at_ms = chosen->day ? t.day_resets_at_ms : t.month_resets_at_ms;
  return r;
}

SpendNow SpendTracker::tenant_spend(std::string_view tenant, std::int64_t now_ms) const {
  const Periods now(now_ms);
  const std::lock_guard lock(mu_);
  return lookup(tenants_, tenant, now);
}

SpendNow SpendTracker::key_spend(std::string_view key_id, std::int64_t now_ms) const {
  const Periods now(now_ms);
  const std::lock_guard lock(mu_);
  return lookup(keys_, key_id, now);
}

}  // namespace sy::policy
