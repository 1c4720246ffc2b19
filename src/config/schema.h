#pragma once
// The gateway's configuration as loaded and validated from YAML (see docs/configuration.md).
// Immutable once built; workers share one std::shared_ptr<const Config>.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sy::config {

using Duration = std::chrono::milliseconds;

struct ServerConfig {
  std::string listen = "127.0.0.1:8080";  // as written
  std::string host = "127.0.0.1";         // parsed from listen ("[::1]:80" -> "::1")
  std::uint16_t port = 8080;              // 0 = any free port (tests)
  unsigned workers = 0;                   // 0 = "auto": one per core
  std::uint64_t max_body_bytes = 8ull << 20;
  std::uint32_t max_header_bytes = 64u << 10;
  Duration idle_timeout{60'000};     // keep-alive connection with no request
  Duration request_timeout{30'000};  // reading one request's head and body
  Duration drain_timeout{30'000};    // graceful shutdown: wait this long for in-flight work
};

struct StorageConfig {
  std::string ledger = "sqlite:var/switchyard.db";
  std::string counters = "local";
};

// Knobs of the built-in simulator provider (type: simulator).
struct SimulatorConfig {
  Duration ttft{0};                     // time to first token (and to a non-streamed answer)
  Duration token_delay{0};              // between stream chunks
  std::uint32_t tokens = 20;            // words per answer
  std::string text;                     // fixed answer text (optional)
  bool tool_calls = true;               // answer with a tool call when tools are offered
  double fail_rate = 0.0;               // share of requests answered with fail_status
  int fail_status = 500;
  double reset_rate = 0.0;              // share of streams reset mid-stream
  std::uint32_t reset_after_chunks = 2;
};

struct ProviderConfig {
  std::string name;
  std::string type;      // openai | openai-compatible | simulator
  std::string base_url;  // e.g. https://api.openai.com/v1 (openai default)
  std::string api_key;   // after ${VAR} expansion; never logged
  std::map<std::string, std::string> headers;     // extra request headers
  std::map<std::string, std::string> attributes;  // e.g. region: eu (data policy, later)
  bool tls_skip_verify = false;  // only when set explicitly
  std::string ca_file;           // extra CA bundle (PEM) for this provider
  bool enabled = true;           // false when its credential variable is unset
  std::string disabled_reason;
  SimulatorConfig simulator;
  // azure-openai: the api-version query parameter.
  std::string api_version = "2024-10-21";
  // anthropic: the anthropic-version header sent upstream.
  std::string anthropic_version = "2023-06-01";
  // bedrock: AWS region, and SigV4 credentials (from the AWS_* environment variables unless
  // set); with api_key set instead, a Bedrock API key sent as a Bearer token.
  std::string region;
  std::string aws_access_key_id;
  std::string aws_secret_access_key;
  std::string aws_session_token;
};

// Per-model overrides from the config's `catalog` (prices arrive with the ledger).
struct CatalogEntry {
  std::string target;  // "provider/model"
  bool has_capabilities = false;
  std::vector<std::string> capabilities;  // feature names, e.g. tools, vision, json_schema
};

struct TargetRef {
  std::string provider;
  std::string model;
  std::uint32_t weight = 1;
  std::string text() const { return provider + "/" + model; }
};

struct Timeouts {
  Duration connect{2'000};
  Duration first_byte{30'000};
  Duration idle{30'000};
  Duration total{300'000};
};

struct RouteConfig {
  std::string name;  // what clients send as "model"
  std::vector<TargetRef> core;
  std::vector<TargetRef> secondary;
  std::vector<TargetRef> fallback;
  double canary = 0.0;
  std::uint32_t retries = 0;
  Timeouts timeouts;
};

struct Config {
  ServerConfig server;
  StorageConfig storage;
  std::vector<ProviderConfig> providers;  // in file order
  std::vector<RouteConfig> routes;        // in file order
  std::vector<CatalogEntry> catalog;

  const ProviderConfig* find_provider(const std::string& name) const {
    for (const auto& p : providers) {
      if (p.name == name) {
        return &p;
      }
    }
    return nullptr;
  }
};

}  // namespace sy::config
