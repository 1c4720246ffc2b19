#pragma once
// An in-memory ledger::Store over a vector of UsageRecords, computing aggregates in plain C++:
// the reference the report tests run against (and a model of what a real store must return).

#include <algorithm>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "ledger/store.h"
#include "reports/format.h"

namespace sy::testing {

class FakeStore : public ledger::Store {
 public:
  FakeStore() = default;
  explicit FakeStore(std::vector<ledger::UsageRecord> records) : records_(std::move(records)) {}

  const std::vector<ledger::UsageRecord>& records() const { return records_; }
  // Makes every following call fail (to test error propagation).
  void fail_with(std::string message) { failure_ = std::move(message); }

  Result<void> migrate() override { return {}; }

  Result<void> append(const std::vector<ledger::UsageRecord>& records) override {
    if (!failure_.empty()) {
      return error();
    }
    records_.insert(records_.end(), records.begin(), records.end());
    return {};
  }

  Result<std::vector<ledger::AggregateRow>> aggregate(
      const ledger::Filter& filter, const std::vector<ledger::Dim>& group_by) override {
    if (!failure_.empty()) {
      return error();
    }
    std::map<std::vector<std::string>, ledger::AggregateRow> groups;
    for (const auto& r : records_) {
      if (!in(filter, r)) {
        continue;
      }
      std::vector<std::string> keys;
      for (auto d : group_by) {
        keys.push_back(key(r, d));
      }
      auto& row = groups[keys];
      row.keys = keys;
      row.requests += 1;
      row.errors += r.status >= 400 ? 1 : 0;
      row.input_tokens += r.usage.input_tokens.value_or(0);
      row.output_tokens += r.usage.output_tokens.value_or(0);
      row.cached_input_tokens += r.usage.cached_input_tokens.value_or(0);
      row.cache_write_tokens += r.usage.cache_write_tokens.value_or(0);
      row.reasoning_tokens += r.usage.reasoning_tokens.value_or(0);
      if (r.cost_micros) {
        row.cost_micros += *r.cost_micros;
      } else {
        row.unpriced += 1;
      }
    }
    std::vector<ledger::AggregateRow> out;
    for (auto& [k, row] : groups) {
      out.push_back(std::move(row));
    }
    // A real store returns rows in no promised order: reverse to keep the reports honest.
    std::reverse(out.begin(), out.end());
    return out;
  }

  Result<std::vector<ledger::LastOutcome>> last_outcomes(const ledger::Filter& filter) override {
    if (!failure_.empty()) {
      return error();
    }
    using Key = std::tuple<std::string, std::string, std::string, std::string>;
    std::map<Key, ledger::LastOutcome> outcomes;
    for (const auto& r : records_) {
      if (!in(filter, r) || r.provider.empty()) {
        continue;
      }
      auto& o = outcomes[Key{r.route, r.tier, r.provider, r.model}];
      o.route = r.route;
      o.tier = r.tier;
      o.provider = r.provider;
      o.model = r.model;
      if (r.status < 400 && r.error_class.empty()) {
        o.last_success_ms = std::max(o.last_success_ms, r.ts_ms);
      } else {
        o.last_failure_ms = std::max(o.last_failure_ms, r.ts_ms);
      }
    }
    std::vector<ledger::LastOutcome> out;
    for (auto& [k, o] : outcomes) {
      out.push_back(std::move(o));
    }
    return out;
  }

  Result<std::int64_t> count(const ledger::Filter& filter) override {
    if (!failure_.empty()) {
      return error();
    }
    return static_cast<std::int64_t>(std::count_if(
        records_.begin(), records_.end(), [&](const auto& r) { return in(filter, r); }));
  }

  Result<bool> writable() override { return failure_.empty(); }

 private:
  static bool in(const ledger::Filter& f, const ledger::UsageRecord& r) {
    return r.ts_ms >= f.since_ms && r.ts_ms < f.until_ms;
  }

  static std::string key(const ledger::UsageRecord& r, ledger::Dim d) {
    switch (d) {
      case ledger::Dim::Tenant:
        return r.tenant;
      case ledger::Dim::Provider:
        return r.provider;
      case ledger::Dim::Model:
        return r.model;
      case ledger::Dim::Route:
        return r.route;
      case ledger::Dim::Day:
        return reports::format_day(r.ts_ms);
      case ledger::Dim::Tier:
        return r.tier;
      case ledger::Dim::Key:
        return r.key_id;
    }
    return {};
  }

  Error error() const { return make_error(ErrorKind::Internal, failure_, "ledger_unavailable"); }

  std::vector<ledger::UsageRecord> records_;
  std::string failure_;
};

}  // namespace sy::testing
