#pragma once
// What the SQLite and PostgreSQL stores share: the schema and its migrations, the column list,
// the aggregate and last-outcome queries, and the C++ side of "day" and of row ordering, so
// that both stores give the same answers. Internal to src/ledger.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/store.h"

namespace sy::ledger::sql {

enum class Dialect { Sqlite, Postgres };

// The schema version this build writes. migrate() applies every migration above the stored
// version, each in its own transaction together with its schema_version row.
// 1: usage_records. 2: virtual_keys (policy's virtual API keys, stored as salted hashes).
// 3: usage_records.attempt_details. 4: usage_records.redactions.
inline constexpr int kSchemaVersion = 4;

// The statements of migration `version` (1..kSchemaVersion) in `dialect`.
std::vector<std::string> migration(Dialect dialect, int version);

// The columns of usage_records that append() writes, in order (the id column is implicit).
inline constexpr std::string_view kColumns[] = {
    "ts_ms",       "day",         "request_id",   "tenant",        "key_id",
    "route",       "inbound",     "provider",     "model",         "tier",
    "canary",      "attempts",    "status",       "error_class",   "latency_ms",
    "ttft_ms",     "input_tokens", "output_tokens", "cached_input_tokens",
    "cache_write_tokens", "reasoning_tokens", "cost_micros", "price_version", "stream",
    "attempt_details", "redactions"};
inline constexpr std::size_t kColumnCount = std::size(kColumns);

// "ts_ms, day, ..." for an INSERT.
std::string column_list();

// One record as text parameters in kColumns order; nullopt is SQL NULL. Booleans are "1"/"0"
// for SQLite and "true"/"false" for PostgreSQL; doubles use the shortest exact representation.
std::vector<std::optional<std::string>> row_params(const UsageRecord& r, Dialect dialect);

// UTC day number of a Unix-epoch millisecond timestamp (floor division, also before 1970).
std::int64_t day_of(std::int64_t ts_ms);
// "YYYY-MM-DD" of a day number.
std::string format_day(std::int64_t day);

// SELECT <dims...>, requests, errors, sums..., cost, unpriced FROM usage_records
// WHERE ts_ms >= <p1> AND ts_ms < <p2> GROUP BY <dims...>. The first dims.size() result
// columns are the keys (Day as its day number), then the kAggregateValues sums.
std::string aggregate_query(const std::vector<Dim>& dims, std::string_view p1,
                            std::string_view p2);
inline constexpr std::size_t kAggregateValues = 9;

// route, tier, provider, model, last_success_ms, last_failure_ms.
std::string last_outcomes_query(std::string_view p1, std::string_view p2);

std::string count_query(std::string_view p1, std::string_view p2);

// Builds one AggregateRow from result text: keys (Day converted), then the 9 values.
Result<AggregateRow> aggregate_row(const std::vector<Dim>& dims,
                                   const std::vector<std::string>& cells);
// Sorts rows by their keys (bytewise) so both stores return the same order, whatever the
// database's collation.
void sort_rows(std::vector<AggregateRow>& rows);
void sort_outcomes(std::vector<LastOutcome>& rows);

Result<std::int64_t> parse_int(std::string_view text);

// A store error: kind Internal, public "ledger store error", `detail` for the log.
Error store_error(std::string detail);

}  // namespace sy::ledger::sql
