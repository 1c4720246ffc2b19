#pragma once
// The gateway's configuration as loaded and validated from YAML (see docs/configuration.md).
// Immutable once built; workers share one std::shared_ptr<const Config>.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
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
  std::string ledger = "sqlite:var/switchyard.db";  // or postgres://..., or "off"
  std::string counters = "local";
  Duration flush_interval{100};            // the ledger writer's batch interval (loss bound)
  std::uint32_t queue_capacity = 10'000;   // records waiting for the writer; full = requests wait
  std::uint32_t batch_size = 256;
  bool ledger_enabled() const { return ledger != "off"; }
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

// A catalog price in integer micro-dollars per million tokens, parsed exactly from the decimal
// text ("2.50" = 2'500'000). Unset optional prices take the ledger's defaults (cached_input and
// cache_write: input; reasoning: output).
struct CatalogPrice {
  std::int64_t input = 0;
  std::int64_t output = 0;
  std::optional<std::int64_t> cached_input;
  std::optional<std::int64_t> cache_write;
  std::optional<std::int64_t> reasoning;
  friend bool operator==(const CatalogPrice&, const CatalogPrice&) = default;
};

// Per-model overrides from the config's `catalog`.
struct CatalogEntry {
  std::string target;  // "provider/model"
  bool has_capabilities = false;
  std::vector<std::string> capabilities;  // feature names, e.g. tools, vision, json_schema
  std::optional<CatalogPrice> price;      // overrides the shipped default catalog for target
  std::string price_version;              // optional label of this price (kept in the hash)
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

// Passive outlier detection per target (mirrors routing::HealthConfig; config does not depend on
// routing). Eject after `consecutive_failures` in a row, or when the error rate over `window`
// reaches `error_rate` with at least `min_requests` in it; 0 turns either rule off.
struct HealthSettings {
  std::uint32_t consecutive_failures = 5;
  double error_rate = 0.5;
  std::uint32_t min_requests = 20;
  Duration window{30'000};
  Duration base_ejection{30'000};  // doubles on each repeat ejection...
  Duration max_ejection{300'000};  // ...up to this
};

// Retries allowed per route: max(min_per_second * window, ratio * requests in the window).
struct RetryBudgetSettings {
  double ratio = 0.2;
  double min_per_second = 3.0;
  Duration window{10'000};
};

// Rate limits of one scope (a tenant, each of its keys, a route); 0 = no limit of that kind.
struct RateLimits {
  std::uint64_t rpm = 0;          // requests per minute
  std::uint64_t tpm = 0;          // tokens per minute (reserved before, settled after)
  std::uint64_t concurrency = 0;  // requests in flight
  bool any() const { return rpm || tpm || concurrency; }
  friend bool operator==(const RateLimits&, const RateLimits&) = default;
};

// Spend ceilings in micro-dollars (calendar day and month, UTC); 0 = no budget of that kind.
struct Budget {
  std::int64_t usd_per_day = 0;    // micro-dollars
  std::int64_t usd_per_month = 0;  // micro-dollars
  bool any() const { return usd_per_day || usd_per_month; }
  friend bool operator==(const Budget&, const Budget&) = default;
};

// Where a tenant's data may go. A target is permitted when its provider
//   - is in `providers` (when that list is set) and not in `deny_providers`,
//   - has, for every attribute in `allow`, one of the listed values (a provider without the
//     attribute is not permitted), and
//   - has, for no attribute in `deny`, one of the listed values.
struct DataPolicy {
  std::string name;  // "<tenant>" in messages: "policy of tenant research"
  std::vector<std::string> providers;
  std::vector<std::string> deny_providers;
  std::map<std::string, std::vector<std::string>> allow;
  std::map<std::string, std::vector<std::string>> deny;
  std::optional<double> max_provider_share;  // (0, 1]: exposure target, reported
  bool enforce = false;                      // prefer other targets once over the share
  Duration share_window{3'600'000};          // trailing window the share is measured over
  std::vector<std::string> redact;           // PII kinds: email, phone, card, iban, ipv4, ssn
  bool restricts_targets() const {
    return !providers.empty() || !deny_providers.empty() || !allow.empty() || !deny.empty();
  }
};

struct TenantConfig {
  std::string name;
  RateLimits limits;      // the tenant as a whole
  RateLimits key_limits;  // each of its virtual keys
  Budget budget;          // the tenant as a whole
  Budget key_budget;      // each of its virtual keys
  DataPolicy policy;
};

struct RouteConfig {
  std::string name;  // what clients send as "model"
  std::vector<TargetRef> core;
  std::vector<TargetRef> secondary;
  std::vector<TargetRef> fallback;
  double canary = 0.0;
  std::uint32_t retries = 2;  // extra attempts: by default a failure can reach two more targets
  Timeouts timeouts;
  HealthSettings health;
  RetryBudgetSettings retry_budget;
  Duration probe_interval{0};  // active health probes; 0 = off
  RateLimits limits;           // for the route as a whole, across every tenant
};

// The admin API (metrics, health, drills). Off unless a token is configured.
struct AdminConfig {
  std::string token;  // after ${VAR} expansion (or SWITCHYARD_ADMIN_TOKEN); never logged
  // A separate listener for /admin/* and /metrics ("" = the main listener serves them).
  std::string listen;
  std::string host;
  std::uint16_t port = 0;
  bool enabled() const { return !token.empty(); }
  bool separate() const { return !listen.empty(); }
};

// Virtual keys: how often the gateway re-reads the key table (keys created or revoked by the
// CLI in another process take effect within this interval; the admin API's take effect at once).
struct KeysConfig {
  Duration refresh_interval{5'000};
};

struct Config {
  ServerConfig server;
  StorageConfig storage;
  std::vector<ProviderConfig> providers;  // in file order
  std::vector<RouteConfig> routes;        // in file order
  std::vector<CatalogEntry> catalog;
  AdminConfig admin;
  std::vector<TenantConfig> tenants;  // empty = open mode (loopback only, no keys)
  KeysConfig keys;

  bool multi_tenant() const { return !tenants.empty(); }
  const TenantConfig* find_tenant(std::string_view name) const {
    for (const auto& t : tenants) {
      if (t.name == name) {
        return &t;
      }
    }
    return nullptr;
  }

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
