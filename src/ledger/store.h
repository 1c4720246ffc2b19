#pragma once
// Where usage records live: SQLite (embedded default) or PostgreSQL, one schema, one set of
// queries. Stores are used from the ledger writer thread and from report/admin code, never
// from a worker's event loop.

#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "ledger/usage_record.h"

namespace sy::ledger {

// A grouping dimension for aggregates. Key is the record's virtual key id ("" for requests
// made without one).
enum class Dim { Tenant, Provider, Model, Route, Day, Tier, Key };

struct Filter {
  std::int64_t since_ms = 0;                 // inclusive
  std::int64_t until_ms = INT64_MAX;         // exclusive
};

// One aggregate row: the group's key values (in the order of the requested dims) and sums.
struct AggregateRow {
  std::vector<std::string> keys;  // Day is "YYYY-MM-DD" (UTC)
  std::int64_t requests = 0;
  std::int64_t errors = 0;        // status >= 400
  std::int64_t input_tokens = 0;  // sums of reported counts (not-reported counts add nothing)
  std::int64_t output_tokens = 0;
  std::int64_t cached_input_tokens = 0;
  std::int64_t cache_write_tokens = 0;
  std::int64_t reasoning_tokens = 0;
  Micros cost_micros = 0;         // exact integer sum
  std::int64_t unpriced = 0;      // records without a cost
};

// Per route/tier/provider/model: when it last succeeded and failed ("is our fallback proven?").
struct LastOutcome {
  std::string route;
  std::string tier;
  std::string provider;
  std::string model;
  std::int64_t last_success_ms = 0;  // 0 = never
  std::int64_t last_failure_ms = 0;
};

class Store {
 public:
  virtual ~Store() = default;
  // Creates the schema or migrates it to the current version (a schema_version table).
  virtual Result<void> migrate() = 0;
  // Appends records in one transaction.
  virtual Result<void> append(const std::vector<UsageRecord>& records) = 0;
  virtual Result<std::vector<AggregateRow>> aggregate(const Filter& filter,
                                                      const std::vector<Dim>& group_by) = 0;
  virtual Result<std::vector<LastOutcome>> last_outcomes(const Filter& filter) = 0;
  virtual Result<std::int64_t> count(const Filter& filter) = 0;
  virtual Result<bool> writable() = 0;  // for /readyz
};

// "sqlite:PATH" (relative paths from the working directory; parent dirs are created) or
// "postgres://..." / "postgresql://...". Start-up only: throws std::runtime_error on failure.
// The returned store is migrated (migrate() ran), so the schema exists on first start.
std::unique_ptr<Store> open_store(const std::string& url);

}  // namespace sy::ledger
