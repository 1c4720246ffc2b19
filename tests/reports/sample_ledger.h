#pragma once
// The constructed ledger the report tests (and docs/reports.md's examples) use.
//
// Window: 2025-03-01 .. 2025-03-12 (exclusive); "now" = 2025-03-12T00:00:00Z.
//  tenant research, route chat: 5 x openai/gpt-4o (core, 0.001200 each),
//    3 x claude/claude-sonnet-4-5 (secondary, 0.004000 together), 2 x local/llama-3.1-8b
//    (fallback, failed, unpriced) -> request shares 0.5 / 0.3 / 0.2 (HHI 0.38), spend shares
//    0.6 / 0.4 / 0 (HHI 0.52).
//  tenant default, route chat: 4 x openai/gpt-4o (0.000125 each) and 1 request that reached no
//    provider (503 no_target).
//  tenant default, route batch: 1 x claude/claude-haiku-4-5 (secondary) on 2025-02-01, outside
//    the window: its tier's last success is stale.

#include <optional>
#include <string>
#include <vector>

#include "ledger/usage_record.h"
#include "reports/format.h"

namespace sy::testing {

inline std::int64_t at(const char* rfc3339) {
  return *reports::parse_time(rfc3339, reports::DateBound::Start);
}

inline ledger::UsageRecord record(std::int64_t ts, std::string tenant, std::string route,
                                  std::string provider, std::string model, std::string tier,
                                  int status, std::optional<std::int64_t> in,
                                  std::optional<std::int64_t> out,
                                  std::optional<ledger::Micros> cost) {
  ledger::UsageRecord r;
  r.ts_ms = ts;
  r.request_id = "req-" + std::to_string(ts);
  r.tenant = std::move(tenant);
  r.route = std::move(route);
  r.inbound = "openai-chat";
  r.provider = std::move(provider);
  r.model = std::move(model);
  r.tier = std::move(tier);
  r.attempts = r.provider.empty() ? 0 : 1;
  r.status = status;
  r.error_class = status >= 400 ? (r.provider.empty() ? "no_target" : "upstream_unavailable")
                                : "";
  r.usage.input_tokens = in;
  r.usage.output_tokens = out;
  r.cost_micros = cost;
  r.price_version = cost ? "test-1" : "";
  return r;
}

inline std::vector<ledger::UsageRecord> sample_ledger() {
  std::vector<ledger::UsageRecord> v;
  const std::int64_t minute = 60'000;
  for (int i = 0; i < 5; ++i) {
    v.push_back(record(at("2025-03-10T09:00:00Z") + i * minute, "research", "chat", "openai",
                       "gpt-4o", "core", 200, 100, 50, 1200));
  }
  const ledger::Micros claude_costs[] = {1333, 1333, 1334};
  for (int i = 0; i < 3; ++i) {
    v.push_back(record(at("2025-03-11T10:00:00Z") + i * minute, "research", "chat", "claude",
                       "claude-sonnet-4-5", "secondary", 200, 200, 100, claude_costs[i]));
  }
  for (int i = 0; i < 2; ++i) {
    v.push_back(record(at("2025-03-11T11:00:00Z") + i * minute, "research", "chat", "local",
                       "llama-3.1-8b", "fallback", 502, std::nullopt, std::nullopt,
                       std::nullopt));
  }
  for (int i = 0; i < 4; ++i) {
    v.push_back(record(at("2025-03-11T12:00:00Z") + i * minute, "default", "chat", "openai",
                       "gpt-4o", "core", 200, 10, 5, 125));
  }
  v.push_back(record(at("2025-03-11T13:00:00Z"), "default", "chat", "", "", "", 503,
                     std::nullopt, std::nullopt, std::nullopt));
  v.push_back(record(at("2025-02-01T00:00:00Z"), "default", "batch", "claude",
                     "claude-haiku-4-5", "secondary", 200, 1, 1, 7));
  return v;
}

inline ledger::Filter sample_window() {
  ledger::Filter f;
  f.since_ms = at("2025-03-01T00:00:00Z");
  f.until_ms = at("2025-03-12T00:00:00Z");
  return f;
}

inline std::int64_t sample_now() { return at("2025-03-12T00:00:00Z"); }

}  // namespace sy::testing
