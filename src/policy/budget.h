#pragma once
// Spend budgets: US dollars per calendar day and per calendar month (UTC), per tenant and per
// virtual key, counted from the ledger's cost (config::Budget, in micro-dollars; 0 = none).
//
//   SpendTracker spend;
//   spend.load(store, now);                          // start-up: this day's and month's spend
//   if (auto r = spend.check(tenant, t.budget, key_id, t.key_budget, now)) {
//     answer 429 with r->message();                  // before the request goes upstream
//   }
//   ... the request finishes, its cost is known ...
//   spend.add(tenant, key_id, request_start_ms, cost);
//
// A budget is a ceiling checked before a request, not a reservation: requests admitted while
// the spend is below the limit may together go past it (by at most what they cost). The spend
// is this process's view: load() reads what the ledger holds (what other replicas and earlier
// runs spent, up to the writer's last batch), add() counts what this process finishes.
//
// Thread-safe: one tracker is shared by every worker; add() and check() take one mutex for a
// hash lookup and a few integer operations.
//
// Checked before every request and fed by log_access (server/tenancy.cc); docs/tenants.md.

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "config/schema.h"
#include "core/result.h"
#include "ledger/store.h"
#include "ledger/usage_record.h"

namespace sy::policy {

// Calendar periods of a Unix-epoch millisecond timestamp, in UTC (proleptic Gregorian, also
// before 1970). The start is inclusive; next_* is the start of the following period, i.e. the
// exclusive end of the one `ms` is in.
std::int64_t utc_day_start(std::int64_t ms);
std::int64_t utc_month_start(std::int64_t ms);
std::int64_t next_utc_day(std::int64_t ms);
std::int64_t next_utc_month(std::int64_t ms);

// "$50.00", "$50.01", "$0.001234": dollars from micro-dollars, exact (no floating point), at
// least 2 decimals and as many more as the amount needs.
std::string format_usd(ledger::Micros micros);

// Why check() refused a request.
struct BudgetRefusal {
  std::string scope;   // "tenant research" or "key <key_id>"
  std::string period;  // "day" | "month"
  ledger::Micros limit = 0;
  ledger::Micros spent = 0;
  std::int64_t resets_at_ms = 0;  // start of the next UTC day or month

  // "Budget exceeded: tenant research has spent $50.01 of its $50.00 daily budget; it resets
  // at 2026-11-25T00:00:00Z."
  std::string message() const;
};

// One scope's spend in the periods of `now_ms` (the admin API).
struct SpendNow {
  ledger::Micros day = 0;
  ledger::Micros month = 0;
  std::int64_t day_resets_at_ms = 0;
  std::int64_t month_resets_at_ms = 0;
};

class SpendTracker {
 public:
  // Replaces the spend held in memory with the ledger's for the UTC day and month of `now_ms`:
  // the sum of cost_micros per tenant and per key id (records without a key id count for their
  // tenant only; unpriced records add nothing). Start-up and admin code only (blocks on the
  // store); spend add()ed while it runs may be lost or counted twice.
  Result<void> load(ledger::Store& store, std::int64_t now_ms);

  // Counts the cost of a finished request that started at `ts_ms`, for its tenant and (when
  // `key_id` is not empty) its key. The cost belongs to the day and month of `ts_ms`: a newer
  // period than the one held starts it afresh; an older one counts only where it still
  // applies (yesterday's request adds to this month, not to today).
  void add(std::string_view tenant, std::string_view key_id, std::int64_t ts_ms,
           ledger::Micros cost);

  // A budget that is used up (spent >= limit) at `now_ms`: of several, the one that resets last
  // (a monthly one before a daily one: the request cannot pass before it resets), else the
  // first in the order tenant, key; nullopt when every budget that is set has room. Key budgets
  // apply only when `key_id` is not empty.
  std::optional<BudgetRefusal> check(std::string_view tenant, const config::Budget& tenant_budget,
                                     std::string_view key_id, const config::Budget& key_budget,
                                     std::int64_t now_ms) const;

  SpendNow tenant_spend(std::string_view tenant, std::int64_t now_ms) const;
  // Key ids are unique across tenants (the virtual_keys primary key), so a key's spend is
  // held by its id alone.
  SpendNow key_spend(std::string_view key_id, std::int64_t now_ms) const;

 private:
  // Spend of one scope in the day and month it was last counted in.
  struct Counter {
    std::int64_t day_start = INT64_MIN;    // INT64_MIN = nothing counted yet
    std::int64_t month_start = INT64_MIN;
    ledger::Micros day = 0;
    ledger::Micros month = 0;

    void add(std::int64_t ts_day, std::int64_t ts_month, ledger::Micros cost);
  };
  // The periods of one instant, computed before the lock is taken.
  struct Periods {
    explicit Periods(std::int64_t ms);
    std::int64_t day_start;
    std::int64_t month_start;
    std::int64_t next_day;
    std::int64_t next_month;
  };
  // Heterogeneous lookup: add() and check() find a string_view without building a string.
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  using Counters = std::unordered_map<std::string, Counter, Hash, std::equal_to<>>;

  static SpendNow lookup(const Counters& counters, std::string_view id, const Periods& now);

  mutable std::mutex mu_;
  Counters tenants_;
  Counters keys_;
};

}  // namespace sy::policy
