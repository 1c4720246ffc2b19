#pragma once
// One record per request that reached (or tried to reach) a provider: the ledger's unit.
// "Not reported" token counts stay nullopt, never 0. Money is integer micro-dollars.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "ir/usage.h"

namespace sy::ledger {

using Micros = std::int64_t;  // 1 USD = 1'000'000 micro-dollars

struct UsageRecord {
  std::int64_t ts_ms = 0;         // request start, Unix epoch milliseconds (UTC)
  std::string request_id;
  std::string tenant = "default";
  std::string key_id;             // virtual key id ("" until tenants exist)
  std::string route;
  std::string inbound;            // openai-chat | anthropic-messages
  std::string provider;           // "" when no attempt was made
  std::string model;              // upstream model
  std::string tier;               // core | secondary | fallback
  bool canary = false;
  int attempts = 0;
  int status = 0;                 // HTTP status the client got
  std::string error_class;        // stable error code; "" on success
  double latency_ms = 0;
  std::optional<double> ttft_ms;
  ir::Usage usage;
  std::optional<Micros> cost_micros;  // nullopt when the model has no price or usage is unknown
  std::string price_version;          // the price table the cost came from
  bool stream = false;
  // Every upstream attempt, as a JSON array of {provider, model, tier, status, latency_ms,
  // error?, canary?} (the same shape as the access log's attempt_details).
  std::string attempt_details = "[]";
  // PII replacements (policy/redact.h) made in the request before it left the gateway; 0 when
  // the tenant's policy redacts nothing or nothing matched.
  std::int64_t redactions = 0;
};

}  // namespace sy::ledger
