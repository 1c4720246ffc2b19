#pragma once
// Shared pieces of every report: exact money formatting from integer micro-dollars, UTC time
// parsing and formatting, grouping dimensions by name, and the three renderings (aligned text
// table, RFC 4180 CSV, JSON). Pure functions, no I/O.

#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "ledger/store.h"
#include "ledger/usage_record.h"

namespace sy::reports {

inline constexpr std::int64_t kMsPerDay = 86'400'000;

// Exact decimal dollars from micro-dollars, always 6 decimals: 1234 -> "0.001234",
// -1 -> "-0.000001", 12'500'000 -> "12.500000". Never goes through floating point.
std::string format_micros(ledger::Micros micros);

// Unix epoch milliseconds (UTC) -> "YYYY-MM-DD".
std::string format_day(std::int64_t ms);
// Unix epoch milliseconds (UTC) -> "YYYY-MM-DDTHH:MM:SSZ" ("...SS.mmmZ" when ms is not whole).
std::string format_utc(std::int64_t ms);
// "YYYY-MM-DD" -> epoch milliseconds of 00:00:00 UTC that day; nullopt when malformed.
std::optional<std::int64_t> parse_day(std::string_view text);

// How a bare date is read: Start = 00:00 UTC of that day; End = 00:00 UTC of the next day (an
// exclusive bound covering the whole day). A full RFC 3339 timestamp is taken as given.
enum class DateBound { Start, End };
// "YYYY-MM-DD" or RFC 3339 ("2025-01-31T12:00:00Z", "...T12:00:00.250+02:00", "t"/"z" and a
// space instead of "T" accepted) -> epoch milliseconds; nullopt when malformed.
std::optional<std::int64_t> parse_time(std::string_view text, DateBound bound);

// Grouping dimensions by name: tenant, provider, model, route, day, tier, key (virtual key id).
std::string_view dim_name(ledger::Dim dim);
std::optional<ledger::Dim> parse_dim(std::string_view name);
// "tenant,provider" -> {Tenant, Provider}; "" -> {}. Unknown or repeated names are an error.
Result<std::vector<ledger::Dim>> parse_group_by(std::string_view text);

// A rendered report: columns, rows of cells, and an optional totals row.
enum class Align { Left, Right };

struct Table {
  std::vector<std::string> columns;
  std::vector<Align> align;  // one per column; missing entries are Left
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> totals;  // empty = no totals row
};

// Aligned text: header, a rule, rows, and (when present) a rule and the totals row. Widths count
// UTF-8 code points. Lines end with "\n"; no trailing spaces.
std::string render_table(const Table& table);

// One RFC 4180 field: quoted (with "" for ") when it holds a comma, quote, CR or LF, or starts
// or ends with a space.
std::string csv_field(std::string_view value);
// RFC 4180 CSV: header line and rows, each ended by CRLF. The totals row is not written (a
// machine reading the file sums the rows itself).
std::string render_csv(const Table& table);

// JSON text. Unlike boost::json::serialize, doubles are written in their shortest plain
// decimal form (0.38, not 3.8E-1). pretty = two-space indentation and a final newline.
std::string render_json(const boost::json::value& value, bool pretty);

// Rounds a ratio for presentation (reports carry shares and indices with 6 decimals).
double round_to(double value, int decimals);

// Output format chosen on the command line.
enum class OutputFormat { Table, Csv, Json };
std::optional<OutputFormat> parse_format(std::string_view name);

}  // namespace sy::reports
