#include "ledger/store_sql.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <tuple>

namespace sy::ledger::sql {
namespace {

constexpr std::int64_t kMsPerDay = 86'400'000;

std::string_view dim_column(Dim dim) {
  switch (dim) {
    case Dim::Tenant:
      return "tenant";
    case Dim::Provider:
      return "provider";
    case Dim::Model:
      return "model";
    case Dim::Route:
      return "route";
    case Dim::Day:
      return "day";
    case Dim::Tier:
      return "tier";
    case Dim::Key:
      return "key_id";
  }
  return "tenant";
}

std::string where_clause(std::string_view p1, std::string_view p2) {
  return " WHERE ts_ms >= " + std::string(p1) + " AND ts_ms < " + std::string(p2);
}

std::optional<std::string> opt_int(const std::optional<std::int64_t>& v) {
  if (!v) {
    return std::nullopt;
  }
  return std::to_string(*v);
}

std::string double_text(double v) {
  std::array<char, 64> buf{};
  const auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  if (ec != std::errc{}) {
    return "0";
  }
  return std::string(buf.data(), end);
}

}  // namespace

std::vector<std::string> migration(Dialect dialect, int version) {
  const bool pg = dialect == Dialect::Postgres;
  const std::string id = pg ? "id BIGSERIAL PRIMARY KEY" : "id INTEGER PRIMARY KEY AUTOINCREMENT";
  const std::string boolean = pg ? "BOOLEAN" : "INTEGER";
  const std::string real = pg ? "DOUBLE PRECISION" : "REAL";
  switch (version) {
    case 1:
      return {
          "CREATE TABLE usage_records (" + id +
              ", ts_ms BIGINT NOT NULL"
              ", day BIGINT NOT NULL"  // UTC day number, computed in C++ (day_of)
              ", request_id TEXT NOT NULL"
              ", tenant TEXT NOT NULL"
              ", key_id TEXT NOT NULL"
              ", route TEXT NOT NULL"
              ", inbound TEXT NOT NULL"
              ", provider TEXT NOT NULL"
              ", model TEXT NOT NULL"
              ", tier TEXT NOT NULL"
              ", canary " +
              boolean +
              " NOT NULL"
              ", attempts INTEGER NOT NULL"
              ", status INTEGER NOT NULL"
              ", error_class TEXT NOT NULL"
              ", latency_ms " +
              real + " NOT NULL, ttft_ms " + real +
              ", input_tokens BIGINT"
              ", output_tokens BIGINT"
              ", cached_input_tokens BIGINT"
              ", cache_write_tokens BIGINT"
              ", reasoning_tokens BIGINT"
              ", cost_micros BIGINT"
              ", price_version TEXT NOT NULL"
              ", stream " +
              boolean + " NOT NULL)",
          "CREATE INDEX usage_records_ts_ms ON usage_records (ts_ms)",
          "CREATE INDEX usage_records_tenant_ts_ms ON usage_records (tenant, ts_ms)",
      };
    case 2:
      // Virtual API keys (src/policy/keys.h): only a salt and a hash of the secret, both hex,
      // never the secret or the key. IF NOT EXISTS: a database whose version table was lost
      // may still hold the table; the migration must not fail on it.
      return {
          "CREATE TABLE IF NOT EXISTS virtual_keys ("
          "key_id TEXT PRIMARY KEY"
          ", tenant TEXT NOT NULL"
          ", name TEXT NOT NULL"
          ", salt TEXT NOT NULL"        // 16 random bytes, hex
          ", hash TEXT NOT NULL"        // HMAC-SHA256(salt, secret), hex
          ", created_ms BIGINT NOT NULL"
          ", expires_ms BIGINT NOT NULL"  // 0 = never
          ", revoked_ms BIGINT NOT NULL)",  // 0 = active
          "CREATE INDEX IF NOT EXISTS virtual_keys_tenant ON virtual_keys (tenant)",
      };
    case 3:
      // Every upstream attempt of a request (provider, model, tier, status, latency, error,
      // canary) as a JSON array: which partners were tried, and failed, for each request.
      return {"ALTER TABLE usage_records ADD COLUMN attempt_details TEXT NOT NULL DEFAULT '[]'"};
    case 4:
      // How many PII replacements (policy/redact.h) the request got before it left the
      // gateway. Records written before version 4 were never redacted: 0.
      return {"ALTER TABLE usage_records ADD COLUMN redactions BIGINT NOT NULL DEFAULT 0"};
    default:
      return {};
  }
}

std::string column_list() {
  std::string out;
  for (const std::string_view c : kColumns) {
    if (!out.empty()) {
      out += ", ";
    }
    out += c;
  }
  return out;
}

std::vector<std::optional<std::string>> row_params(const UsageRecord& r, Dialect dialect) {
  const auto boolean = [dialect](bool b) -> std::string {
    if (dialect == Dialect::Postgres) {
      return b ? "true" : "false";
    }
    return b ? "1" : "0";
  };
  std::vector<std::optional<std::string>> p;
  p.reserve(kColumnCount);
  p.emplace_back(std::to_string(r.ts_ms));
  p.emplace_back(std::to_string(day_of(r.ts_ms)));
  p.emplace_back(r.request_id);
  p.emplace_back(r.tenant);
  p.emplace_back(r.key_id);
  p.emplace_back(r.route);
  p.emplace_back(r.inbound);
  p.emplace_back(r.provider);
  p.emplace_back(r.model);
  p.emplace_back(r.tier);
  p.emplace_back(boolean(r.canary));
  p.emplace_back(std::to_string(r.attempts));
  p.emplace_back(std::to_string(r.status));
  p.emplace_back(r.error_class);
  p.emplace_back(double_text(r.latency_ms));
  p.emplace_back(r.ttft_ms ? std::optional<std::string>(double_text(*r.ttft_ms)) : std::nullopt);
  p.emplace_back(opt_int(r.usage.input_tokens));
  p.emplace_back(opt_int(r.usage.output_tokens));
  p.emplace_back(opt_int(r.usage.cached_input_tokens));
  p.emplace_back(opt_int(r.usage.cache_write_tokens));
  p.emplace_back(opt_int(r.usage.reasoning_tokens));
  p.emplace_back(opt_int(r.cost_micros));
  p.emplace_back(r.price_version);
  p.emplace_back(boolean(r.stream));
  p.emplace_back(r.attempt_details.empty() ? std::string("[]") : r.attempt_details);
  p.emplace_back(std::to_string(r.redactions));
  return p;
}

std::int64_t day_of(std::int64_t ts_ms) {
  std::int64_t day = ts_ms / kMsPerDay;
  if (ts_ms % kMsPerDay < 0) {
    --day;  // floor, not truncation, before the epoch
  }
  return day;
}

std::string format_day(std::int64_t day) {
  using namespace std::chrono;
  const year_month_day ymd{sys_days{days{day}}};
  std::array<char, 32> buf{};
  std::snprintf(buf.data(), buf.size(), "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buf.data();
}

std::string aggregate_query(const std::vector<Dim>& dims, std::string_view p1,
                            std::string_view p2) {
  std::string keys;
  for (const Dim d : dims) {
    keys += std::string(dim_column(d)) + ", ";
  }
  std::string sql = "SELECT " + keys +
                    "COUNT(*)"
                    ", COALESCE(SUM(CASE WHEN status >= 400 THEN 1 ELSE 0 END), 0)"
                    ", COALESCE(SUM(input_tokens), 0)"
                    ", COALESCE(SUM(output_tokens), 0)"
                    ", COALESCE(SUM(cached_input_tokens), 0)"
                    ", COALESCE(SUM(cache_write_tokens), 0)"
                    ", COALESCE(SUM(reasoning_tokens), 0)"
                    ", COALESCE(SUM(cost_micros), 0)"
                    ", COALESCE(SUM(CASE WHEN cost_micros IS NULL THEN 1 ELSE 0 END), 0)"
                    " FROM usage_records" +
                    where_clause(p1, p2);
  if (!dims.empty()) {
    keys.resize(keys.size() - 2);  // drop the last ", "
    sql += " GROUP BY " + keys;
  }
  return sql;
}

std::string last_outcomes_query(std::string_view p1, std::string_view p2) {
  // Success: an answer below 400 without an error class (a stream cut after a 200 is a
  // failure). Records without a provider (no attempt made) belong to no target.
  constexpr std::string_view kOk = "(status > 0 AND status < 400 AND error_class = '')";
  return "SELECT route, tier, provider, model"
         ", COALESCE(MAX(CASE WHEN " +
         std::string(kOk) +
         " THEN ts_ms END), 0)"
         ", COALESCE(MAX(CASE WHEN NOT " +
         std::string(kOk) + " THEN ts_ms END), 0) FROM usage_records" + where_clause(p1, p2) +
         " AND provider <> '' GROUP BY route, tier, provider, model";
}

std::string count_query(std::string_view p1, std::string_view p2) {
  return "SELECT COUNT(*) FROM usage_records" + where_clause(p1, p2);
}

Result<std::int64_t> parse_int(std::string_view text) {
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size()) {
    return store_error("not an integer: \"" + std::string(text) + "\"");
  }
  return v;
}

Result<AggregateRow> aggregate_row(const std::vector<Dim>& dims,
                                   const std::vector<std::string>& cells) {
  if (cells.size() != dims.size() + kAggregateValues) {
    return store_error("unexpected aggregate column count");
  }
  AggregateRow row;
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] == Dim::Day) {
      auto day = parse_int(cells[i]);
      if (!day) {
        return day.error();
      }
      row.keys.push_back(format_day(*day));
    } else {
      row.keys.push_back(cells[i]);
    }
  }
  std::int64_t* const values[kAggregateValues] = {
      &row.requests,           &row.errors,           &row.input_tokens,
      &row.output_tokens,      &row.cached_input_tokens, &row.cache_write_tokens,
      &row.reasoning_tokens,   &row.cost_micros,      &row.unpriced};
  for (std::size_t i = 0; i < kAggregateValues; ++i) {
    auto v = parse_int(cells[dims.size() + i]);
    if (!v) {
      return v.error();
    }
    *values[i] = *v;
  }
  return row;
}

void sort_rows(std::vector<AggregateRow>& rows) {
  std::sort(rows.begin(), rows.end(),
            [](const AggregateRow& a, const AggregateRow& b) { return a.keys < b.keys; });
}

void sort_outcomes(std::vector<LastOutcome>& rows) {
  std::sort(rows.begin(), rows.end(), [](const LastOutcome& a, const LastOutcome& b) {
    return std::tie(a.route, a.tier, a.provider, a.model) <
           std::tie(b.route, b.tier, b.provider, b.model);
  });
}

Error store_error(std::string detail) {
  Error e = make_error(ErrorKind::Internal, "ledger store error");
  e.detail = std::move(detail);
  return e;
}

}  // namespace sy::ledger::sql
