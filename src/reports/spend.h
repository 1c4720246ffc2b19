#pragma once
// The spend report: requests, tokens and cost grouped by any combination of tenant, provider,
// model, route, day (and tier), with an exact total. Money stays integer micro-dollars.

#include <boost/json/value.hpp>
#include <vector>

#include "core/result.h"
#include "ledger/store.h"
#include "reports/format.h"

namespace sy::reports {

struct SpendQuery {
  ledger::Filter filter;
  std::vector<ledger::Dim> group_by;  // empty = one row for everything
};

struct SpendReport {
  ledger::Filter filter;
  std::vector<ledger::Dim> group_by;
  std::vector<ledger::AggregateRow> rows;  // sorted by keys; identical keys merged
  ledger::AggregateRow total;              // sums of every row (keys empty)
};

// input + output tokens (input includes cached and cache-write tokens; output includes
// reasoning tokens: see docs/protocols.md).
std::int64_t total_tokens(const ledger::AggregateRow& row);

// Pure: builds the report from Store::aggregate's rows for query.group_by.
SpendReport build_spend(const SpendQuery& query, std::vector<ledger::AggregateRow> rows);
// Runs Store::aggregate and builds the report.
Result<SpendReport> run_spend(ledger::Store& store, const SpendQuery& query);

Table spend_table(const SpendReport& report);
boost::json::value spend_to_json(const SpendReport& report);
// For the admin API: run_spend + spend_to_json.
Result<boost::json::value> spend_json(ledger::Store& store, const SpendQuery& query);

// Shared with the other reports: {"since": ..., "until": ...} as RFC 3339 (until null when
// unbounded).
boost::json::object period_json(const ledger::Filter& filter);

}  // namespace sy::reports
