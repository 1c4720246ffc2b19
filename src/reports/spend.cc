#include "reports/spend.h"

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <climits>
#include <map>

namespace sy::reports {

namespace {

void add_into(ledger::AggregateRow& into, const ledger::AggregateRow& row) {
  into.requests += row.requests;
  into.errors += row.errors;
  into.input_tokens += row.input_tokens;
  into.output_tokens += row.output_tokens;
  into.cached_input_tokens += row.cached_input_tokens;
  into.cache_write_tokens += row.cache_write_tokens;
  into.reasoning_tokens += row.reasoning_tokens;
  into.cost_micros += row.cost_micros;
  into.unpriced += row.unpriced;
}

boost::json::object sums_json(const ledger::AggregateRow& row) {
  boost::json::object o;
  o["requests"] = row.requests;
  o["errors"] = row.errors;
  o["input_tokens"] = row.input_tokens;
  o["output_tokens"] = row.output_tokens;
  o["cached_input_tokens"] = row.cached_input_tokens;
  o["cache_write_tokens"] = row.cache_write_tokens;
  o["reasoning_tokens"] = row.reasoning_tokens;
  o["total_tokens"] = total_tokens(row);
  o["cost_usd"] = format_micros(row.cost_micros);
  o["cost_micros"] = row.cost_micros;
  o["unpriced_requests"] = row.unpriced;
  return o;
}

std::vector<std::string> sums_cells(const ledger::AggregateRow& row) {
  return {std::to_string(row.requests),      std::to_string(row.errors),
          std::to_string(row.input_tokens),  std::to_string(row.output_tokens),
          std::to_string(row.cached_input_tokens), std::to_string(total_tokens(row)),
          format_micros(row.cost_micros),    std::to_string(row.unpriced)};
}

}  // namespace

std::int64_t total_tokens(const ledger::AggregateRow& row) {
  return row.input_tokens + row.output_tokens;
}

SpendReport build_spend(const SpendQuery& query, std::vector<ledger::AggregateRow> rows) {
  SpendReport report;
  report.filter = query.filter;
  report.group_by = query.group_by;
  std::map<std::vector<std::string>, ledger::AggregateRow> merged;
  for (auto& row : rows) {
    row.keys.resize(query.group_by.size());  // defensive: one key per dimension
    auto [it, inserted] = merged.try_emplace(row.keys);
    if (inserted) {
      it->second.keys = row.keys;
    }
    add_into(it->second, row);
    add_into(report.total, row);
  }
  report.rows.reserve(merged.size());
  for (auto& [keys, row] : merged) {
    report.rows.push_back(std::move(row));
  }
  return report;
}

Result<SpendReport> run_spend(ledger::Store& store, const SpendQuery& query) {
  auto rows = store.aggregate(query.filter, query.group_by);
  if (!rows) {
    return rows.error();
  }
  return build_spend(query, std::move(*rows));
}

Table spend_table(const SpendReport& report) {
  Table t;
  for (auto d : report.group_by) {
    t.columns.emplace_back(dim_name(d));
    t.align.push_back(Align::Left);
  }
  for (const char* c : {"requests", "errors", "input_tokens", "output_tokens",
                        "cached_input_tokens", "total_tokens", "cost_usd", "unpriced"}) {
    t.columns.emplace_back(c);
    t.align.push_back(Align::Right);
  }
  for (const auto& row : report.rows) {
    std::vector<std::string> cells = row.keys;
    auto sums = sums_cells(row);
    cells.insert(cells.end(), sums.begin(), sums.end());
    t.rows.push_back(std::move(cells));
  }
  t.totals.assign(report.group_by.size(), "");
  if (!t.totals.empty()) {
    t.totals[0] = "total";
  }
  auto sums = sums_cells(report.total);
  t.totals.insert(t.totals.end(), sums.begin(), sums.end());
  return t;
}

boost::json::object period_json(const ledger::Filter& filter) {
  boost::json::object o;
  o["since"] = format_utc(filter.since_ms);
  if (filter.until_ms == INT64_MAX) {
    o["until"] = nullptr;
  } else {
    o["until"] = format_utc(filter.until_ms);
  }
  return o;
}

boost::json::value spend_to_json(const SpendReport& report) {
  boost::json::object out;
  out["report"] = "spend";
  out["period"] = period_json(report.filter);
  boost::json::array group_by;
  for (auto d : report.group_by) {
    group_by.emplace_back(dim_name(d));
  }
  out["group_by"] = std::move(group_by);
  boost::json::array rows;
  for (const auto& row : report.rows) {
    boost::json::object o;
    for (std::size_t i = 0; i < report.group_by.size(); ++i) {
      o[dim_name(report.group_by[i])] = row.keys[i];
    }
    for (auto& kv : sums_json(row)) {
      o[kv.key()] = kv.value();
    }
    rows.emplace_back(std::move(o));
  }
  out["rows"] = std::move(rows);
  out["total"] = sums_json(report.total);
  return out;
}

Result<boost::json::value> spend_json(ledger::Store& store, const SpendQuery& query) {
  auto report = run_spend(store, query);
  if (!report) {
    return report.error();
  }
  return spend_to_json(*report);
}

}  // namespace sy::reports
