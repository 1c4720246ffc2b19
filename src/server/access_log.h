#pragma once
// One JSON line per request on stdout: what happened, never a secret (no headers, no bodies).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ir/usage.h"

namespace sy::server {

// One upstream attempt of a request.
struct AttemptLog {
  std::string provider;
  std::string model;
  std::string tier;
  bool canary = false;
  int status = 0;       // upstream HTTP status; 0 when no response head came back
  double latency_ms = 0;
  std::string error;    // stable error code; "" on success
};

struct AccessRecord {
  std::string request_id;
  std::string tenant = "default";
  std::string key_id;    // virtual key id ("" in open mode)
  std::int64_t redactions = 0;  // PII values replaced before the request left the gateway
  std::string inbound;  // client protocol: openai-chat | anthropic-messages
  std::string method;
  std::string path;
  std::string route;
  std::string provider;
  std::string model;
  std::string tier;
  int status = 0;
  double latency_ms = 0;
  std::optional<double> ttft_ms;
  ir::Usage usage;
  bool stream = false;
  int attempts = 0;
  std::string error;  // stable error code, if any
  bool client_aborted = false;
  bool canary = false;
  std::vector<AttemptLog> attempt_log;
  std::optional<std::int64_t> cost_micros;  // when the target has a price and usage is known
  std::string price_version;
};

// "0.000123": integer micro-dollars as a USD decimal with 6 places (no floating point).
std::string format_usd(std::int64_t micros);

// The attempts as a JSON array (the access log's and the ledger's attempt_details).
std::string render_attempts(const std::vector<AttemptLog>& attempts);

// Renders the record as one JSON object line (with trailing '\n').
std::string render_access_record(const AccessRecord& record);

// Writes a line to stdout atomically with respect to other workers.
void write_access_line(const std::string& line);

}  // namespace sy::server
