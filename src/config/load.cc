#include "config/load.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "config/reader.h"

namespace sy::config {
namespace {

constexpr std::string_view kOpenAiDefaultBaseUrl = "https://api.openai.com/v1";
constexpr std::string_view kAnthropicDefaultBaseUrl = "https://api.anthropic.com";
constexpr std::string_view kGeminiDefaultBaseUrl = "https://generativelanguage.googleapis.com";

const std::vector<std::string_view> kTopLevelKeys = {"server",  "storage", "providers", "routes",
                                                     "catalog", "tenants", "admin",   "keys"};
const std::vector<std::string_view> kServerKeys = {
    "listen",       "workers",         "max_body_bytes", "max_header_bytes",
    "idle_timeout", "request_timeout", "drain_timeout"};
const std::vector<std::string_view> kStorageKeys = {"ledger", "counters", "flush_interval",
                                                    "queue_capacity", "batch_size"};
const std::vector<std::string_view> kHttpProviderKeys = {
    "type", "base_url", "api_key", "headers", "attributes", "tls_skip_verify", "ca_file"};
const std::vector<std::string_view> kAnthropicOnlyKeys = {"anthropic_version"};
const std::vector<std::string_view> kAzureOnlyKeys = {"api_version"};
const std::vector<std::string_view> kBedrockOnlyKeys = {
    "region", "aws_access_key_id", "aws_secret_access_key", "aws_session_token"};
const std::vector<std::string_view> kSimulatorKeys = {
    "type",      "attributes",  "ttft",       "token_delay",       "tokens", "text", "tool_calls",
    "fail_rate", "fail_status", "reset_rate", "reset_after_chunks"};
const std::vector<std::string_view> kRouteKeys = {
    "name",    "target",  "core",     "secondary", "fallback",
    "canary",  "retries", "timeouts", "health",    "retry_budget", "probe", "limits"};
const std::vector<std::string_view> kTargetKeys = {"target", "weight"};
const std::vector<std::string_view> kTimeoutKeys = {"connect", "first_byte", "idle", "total"};
const std::vector<std::string_view> kHealthKeys = {"consecutive_failures", "error_rate",
                                                   "min_requests",         "window",
                                                   "base_ejection",        "max_ejection"};
const std::vector<std::string_view> kRetryBudgetKeys = {"ratio", "min_per_second", "window"};
const std::vector<std::string_view> kProbeKeys = {"interval"};
const std::vector<std::string_view> kAdminKeys = {"token", "listen"};
const std::vector<std::string_view> kKeysKeys = {"refresh_interval"};
const std::vector<std::string_view> kTenantKeys = {"name",   "limits",     "key_limits",
                                                   "budget", "key_budget", "policy"};
const std::vector<std::string_view> kLimitKeys = {"rpm", "tpm", "concurrency"};
const std::vector<std::string_view> kBudgetKeys = {"usd_per_day", "usd_per_month"};
const std::vector<std::string_view> kPolicyKeys = {
    "providers",          "deny_providers", "allow",        "deny",
    "max_provider_share", "enforce",        "share_window", "redact"};
// The PII kinds of policy/redact.h, as the configuration writes them.
const std::vector<std::string_view> kRedactKinds = {"email", "phone", "card",
                                                    "iban",  "ipv4",  "ssn"};
constexpr std::string_view kAdminTokenVar = "SWITCHYARD_ADMIN_TOKEN";
const std::vector<std::string_view> kCatalogKeys = {"target", "capabilities", "price",
                                                    "price_version"};
const std::vector<std::string_view> kPriceKeys = {"input", "output", "cached_input",
                                                  "cache_write", "reasoning"};
// The feature names of ir::Capabilities, as the catalog writes them.
const std::vector<std::string_view> kCapabilities = {
    "tools",    "parallel_tool_calls", "vision",   "json_object", "json_schema",
    "logprobs", "multiple_choices",    "reasoning"};
constexpr std::string_view kKnownTypes =
    "anthropic, azure-openai, bedrock, gemini, openai, openai-compatible, simulator";

constexpr std::string_view kAwsAccessKeyIdVar = "AWS_ACCESS_KEY_ID";
constexpr std::string_view kAwsSecretAccessKeyVar = "AWS_SECRET_ACCESS_KEY";
constexpr std::string_view kAwsSessionTokenVar = "AWS_SESSION_TOKEN";

constexpr std::uint64_t kMaxWeight = 1'000'000;
constexpr std::uint64_t kMaxRetries = 10;
constexpr std::uint64_t kMaxWorkers = 256;
constexpr std::uint64_t kMaxCount = 1'000'000'000;
constexpr double kMaxRetriesPerSecond = 1'000'000;
constexpr std::uint64_t kMaxTokensPerMinute = 1'000'000'000'000;

// Tenant names as policy/keys.h accepts them: 1..64 of [A-Za-z0-9._-].
bool is_tenant_name(std::string_view name) {
  if (name.empty() || name.size() > 64) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

// 127.0.0.0/8, ::1 and "localhost".
bool is_loopback_host(std::string_view host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

std::vector<std::string_view> union_of(const std::vector<std::string_view>& a,
                                       const std::vector<std::string_view>& b) {
  std::vector<std::string_view> out = a;
  for (const std::string_view key : b) {
    if (std::find(out.begin(), out.end(), key) == out.end()) {
      out.push_back(key);
    }
  }
  return out;
}

bool contains(const std::vector<std::string_view>& list, std::string_view key) {
  return std::find(list.begin(), list.end(), key) != list.end();
}

bool is_provider_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
  });
}

// RFC 9110 token characters.
bool is_header_name(std::string_view name) {
  static constexpr std::string_view kExtra = "!#$%&'*+-.^_`|~";
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           kExtra.find(c) != std::string_view::npos;
  });
}

bool has_line_break(std::string_view value) {
  return value.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) {
    out += (out.empty() ? "" : ", ") + name;
  }
  return out;
}

std::string join_views(const std::vector<std::string_view>& names) {
  std::string out;
  for (const std::string_view name : names) {
    out += (out.empty() ? "" : ", ") + std::string(name);
  }
  return out;
}

// What each provider type accepts, and its defaults.
struct ProviderType {
  std::string_view name;
  std::vector<std::string_view> keys;
  bool key_required;                  // api_key must be written (and non-empty when expanded)
  std::string_view default_base_url;  // "" = required (bedrock derives it from the region)
};

const std::vector<ProviderType>& provider_types() {
  static const std::vector<ProviderType> types = {
      {"anthropic", union_of(kHttpProviderKeys, kAnthropicOnlyKeys), true,
       kAnthropicDefaultBaseUrl},
      {"azure-openai", union_of(kHttpProviderKeys, kAzureOnlyKeys), true, ""},
      {"bedrock", union_of(kHttpProviderKeys, kBedrockOnlyKeys), false, ""},
      {"gemini", kHttpProviderKeys, true, kGeminiDefaultBaseUrl},
      {"openai", kHttpProviderKeys, true, kOpenAiDefaultBaseUrl},
      {"openai-compatible", kHttpProviderKeys, false, ""},
      {"simulator", kSimulatorKeys, false, ""},
  };
  return types;
}

const ProviderType* find_type(std::string_view name) {
  for (const ProviderType& type : provider_types()) {
    if (type.name == name) {
      return &type;
    }
  }
  return nullptr;
}

// Every provider key of any type, so that a typo gets "did you mean" and a key of another type
// gets "not used by type". The first two lists keep their order for the suggestions' tie-break.
const std::vector<std::string_view>& all_provider_keys() {
  static const std::vector<std::string_view> keys =
      union_of(union_of(union_of(union_of(kHttpProviderKeys, kSimulatorKeys), kAnthropicOnlyKeys),
                        kAzureOnlyKeys),
               kBedrockOnlyKeys);
  return keys;
}

// "2024-10-21", "2024-12-01-preview", "2023-06-01": sent as a query parameter or header value.
bool is_version(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_';
  });
}

// "us-east-1", "eu-central-2": it becomes part of a host name.
bool is_region(std::string_view text) {
  return !text.empty() && text.front() != '-' && text.back() != '-' &&
         std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
         });
}

class ConfigLoader {
 public:
  explicit ConfigLoader(const EnvLookup& env) : env_(env), reader_(env) {}

  LoadResult load(const YAML::Node& root) {
    Config config;
    MapReader top(reader_, root, "", kTopLevelKeys);
    if (const auto node = top.get("server")) {
      load_server(*node, config.server);
    }
    if (const auto node = top.get("storage")) {
      load_storage(*node, config.storage);
    }
    if (const auto node = top.get("providers")) {
      load_providers(*node, config.providers);
    }
    if (const auto node = top.get("routes")) {
      load_routes(*node, config);
    }
    if (const auto node = top.get("catalog")) {
      load_catalog(*node, config);
    }
    if (const auto node = top.get("admin")) {
      load_admin(*node, config.admin);
    }
    if (config.admin.token.empty() && !top.has("admin")) {
      // No admin section: the token may come from the environment alone.
      if (const auto token = env_(kAdminTokenVar); token && !token->empty()) {
        config.admin.token = *token;
      }
    }
    if (const auto node = top.get("keys")) {
      MapReader m(reader_, *node, "keys", kKeysKeys);
      m.read_duration("refresh_interval", config.keys.refresh_interval, false);
    }
    if (const auto node = top.get("tenants")) {
      load_tenants(*node, config);
    }
    check_open_mode(config);
    return finish(std::move(config));
  }

  LoadResult fail(std::string path, std::string message) {
    reader_.error(std::move(path), std::move(message));
    return finish(std::nullopt);
  }

 private:
  LoadResult finish(std::optional<Config> config) {
    LoadResult result;
    if (!reader_.has_errors()) {
      result.config = std::move(config);
    }
    result.errors = reader_.take_errors();
    result.warnings = reader_.take_warnings();
    return result;
  }

  void load_server(const YAML::Node& node, ServerConfig& server) {
    MapReader m(reader_, node, "server", kServerKeys);
    if (const auto listen = m.get("listen")) {
      if (const auto text = reader_.text(*listen, m.path("listen"))) {
        const Parsed<ListenAddress> addr = parse_listen(*text);
        if (addr.ok()) {
          server.listen = *text;
          server.host = addr.value.host;
          server.port = addr.value.port;
        } else {
          reader_.error(m.path("listen"), addr.error);
        }
      }
    }
    if (const auto workers = m.get("workers")) {
      if (const auto text = reader_.text(*workers, m.path("workers"))) {
        const Parsed<std::uint64_t> n = parse_uint(*text);
        if (*text == "auto") {
          server.workers = 0;
        } else if (n.ok() && n.value >= 1 && n.value <= kMaxWorkers) {
          server.workers = static_cast<unsigned>(n.value);
        } else {
          reader_.error(m.path("workers"),
                        "expected \"auto\" or an integer 1..256, got \"" + *text + "\"");
        }
      }
    }
    m.read_bytes("max_body_bytes", server.max_body_bytes, 1);
    m.read_bytes("max_header_bytes", server.max_header_bytes, 1);
    m.read_duration("idle_timeout", server.idle_timeout, false);
    m.read_duration("request_timeout", server.request_timeout, false);
    m.read_duration("drain_timeout", server.drain_timeout, false);
  }

  // The URLs may carry passwords, so the messages never repeat them.
  void load_storage(const YAML::Node& node, StorageConfig& storage) {
    MapReader m(reader_, node, "storage", kStorageKeys);
    std::string ledger = storage.ledger;
    m.read_text("ledger", ledger);
    const bool sqlite = ledger.rfind("sqlite:", 0) == 0 && ledger.size() > 7;
    if (sqlite || ledger == "off" || ledger.rfind("postgres://", 0) == 0 ||
        ledger.rfind("postgresql://", 0) == 0) {
      storage.ledger = ledger;
    } else {
      reader_.error(m.path("ledger"), "expected \"sqlite:<path>\", a postgres:// URL or \"off\"");
    }
    m.read_duration("flush_interval", storage.flush_interval, false);
    m.read_int("queue_capacity", storage.queue_capacity, 1, 10'000'000);
    m.read_int("batch_size", storage.batch_size, 1, 100'000);
    std::string counters = storage.counters;
    m.read_text("counters", counters);
    if (counters == "local" || counters.rfind("redis://", 0) == 0 ||
        counters.rfind("rediss://", 0) == 0) {
      storage.counters = counters;
    } else {
      reader_.error(m.path("counters"), "expected \"local\" or a redis:// URL");
    }
  }

  void load_providers(const YAML::Node& node, std::vector<ProviderConfig>& providers) {
    MapReader m(reader_, node, "providers", {});
    for (const auto& [name, value] : m.entries()) {
      const std::string path = m.path(name);
      if (!is_provider_name(name)) {
        reader_.error(path, "invalid provider name (use letters, digits, '_', '.' and '-')");
        continue;
      }
      providers.push_back(load_provider(name, value, path));
    }
  }

  ProviderConfig load_provider(const std::string& name, const YAML::Node& node,
                               const std::string& path) {
    ProviderConfig p;
    p.name = name;
    MapReader m(reader_, node, path, all_provider_keys());
    if (!m.has("type")) {
      if (node.IsMap() || node.IsNull()) {
        reader_.error(m.path("type"), "required (one of: " + std::string(kKnownTypes) + ")");
      }
      return p;
    }
    m.read_text("type", p.type);
    if (p.type.empty()) {
      return p;  // the type's value was reported as invalid
    }
    const ProviderType* type = find_type(p.type);
    if (type == nullptr) {
      reader_.error(m.path("type"), "unknown provider type \"" + p.type +
                                        "\" (known: " + std::string(kKnownTypes) + ")");
      return p;
    }
    for (const auto& entry : m.entries()) {
      if (!contains(type->keys, entry.first)) {
        reader_.error(m.path(entry.first), "not used by type \"" + p.type + "\"");
      }
    }
    if (const auto attributes = m.get("attributes")) {
      p.attributes = load_string_map(*attributes, m.path("attributes"), false);
    }
    if (p.type == "simulator") {
      load_simulator(m, p.simulator);
    } else {
      load_http_provider(m, *type, p);
    }
    return p;
  }

  void load_http_provider(MapReader& m, const ProviderType& type, ProviderConfig& p) {
    const bool bedrock = p.type == "bedrock";
    if (bedrock) {
      load_region(m, p);
    }
    if (const auto url = m.get("base_url")) {
      if (const auto text = reader_.text(*url, m.path("base_url"))) {
        Parsed<std::string> parsed = parse_base_url(*text);
        if (parsed.ok()) {
          p.base_url = std::move(parsed.value);
        } else {
          reader_.error(m.path("base_url"), parsed.error);
        }
      }
    } else if (!type.default_base_url.empty()) {
      p.base_url = std::string(type.default_base_url);
    } else if (bedrock) {
      if (!p.region.empty()) {  // else the region was reported
        p.base_url = "https://bedrock-runtime." + p.region + ".amazonaws.com";
      }
    } else {
      reader_.error(m.path("base_url"), "required for type \"" + p.type + "\"");
    }
    if (p.type == "anthropic") {
      read_version(m, "anthropic_version", "2023-06-01", p.anthropic_version);
    } else if (p.type == "azure-openai") {
      read_version(m, "api_version", "2024-10-21", p.api_version);
    }
    if (bedrock) {
      load_bedrock_credentials(m, p);
    } else {
      load_api_key(m, type, p);
    }
    if (const auto headers = m.get("headers")) {
      p.headers = load_string_map(*headers, m.path("headers"), true);
    }
    m.read_bool("tls_skip_verify", p.tls_skip_verify);
    if (p.tls_skip_verify) {
      reader_.warning(m.path("tls_skip_verify"),
                      "TLS certificate verification is off for this provider");
    }
    if (m.has("ca_file")) {
      m.read_text("ca_file", p.ca_file);
      if (p.ca_file.empty()) {
        reader_.error(m.path("ca_file"), "must not be empty");
      }
    }
  }

  // api_version, anthropic_version: sent upstream as written, so only plain version text.
  void read_version(MapReader& m, std::string_view key, std::string_view example,
                    std::string& out) {
    const auto node = m.get(key);
    if (!node) {
      return;
    }
    const std::optional<std::string> text = reader_.text(*node, m.path(key));
    if (!text) {
      return;
    }
    if (!is_version(*text)) {
      reader_.error(m.path(key), "expected a version such as \"" + std::string(example) +
                                     "\", got \"" + *text + "\"");
      return;
    }
    out = *text;
  }

  // The written region, else AWS_REGION, else AWS_DEFAULT_REGION (empty counts as unset).
  void load_region(MapReader& m, ProviderConfig& p) {
    std::string region;
    std::string source;
    if (const auto node = m.get("region")) {
      const std::optional<std::string> text = reader_.text(*node, m.path("region"));
      if (!text) {
        return;
      }
      region = *text;
    } else {
      for (const std::string_view var : {"AWS_REGION", "AWS_DEFAULT_REGION"}) {
        std::optional<std::string> value = lookup(var);
        if (value && !value->empty()) {
          region = std::move(*value);
          source = " (from " + std::string(var) + ")";
          break;
        }
      }
      if (region.empty()) {
        reader_.error(m.path("region"), "required (or set AWS_REGION)");
        return;
      }
    }
    if (!is_region(region)) {
      reader_.error(m.path("region"), "expected an AWS region such as \"us-east-1\", got \"" +
                                          region + "\"" + source);
      return;
    }
    p.region = std::move(region);
  }

  std::optional<std::string> lookup(std::string_view name) const {
    return env_ ? env_(name) : std::nullopt;
  }

  // A credential's expansion, checked for line breaks (and, unless `may_be_empty`, a literal
  // ""). nullopt when the key is absent or an error was reported. The value is never put into a
  // message: only the names of the variables it uses.
  std::optional<Expansion> read_secret(MapReader& m, std::string_view key, bool may_be_empty) {
    const auto node = m.get(key);
    if (!node) {
      return std::nullopt;
    }
    std::optional<Expansion> e = reader_.expand(*node, m.path(key));
    if (!e || !e->unset.empty()) {
      return e;  // unset variables disable the provider; the caller decides
    }
    if (has_line_break(e->value)) {
      reader_.error(m.path(key), "must not contain line breaks");
      return std::nullopt;
    }
    if (e->value.empty() && e->referenced.empty() && !may_be_empty) {
      reader_.error(m.path(key), "must not be empty");
      return std::nullopt;
    }
    return e;
  }

  void disable(MapReader& m, ProviderConfig& p, std::string reason, const std::string& warning) {
    p.enabled = false;
    p.disabled_reason = std::move(reason);
    reader_.warning(m.path(), "disabled: " + warning);
  }

  void disable_unset(MapReader& m, ProviderConfig& p, const std::vector<std::string>& unset) {
    const bool one = unset.size() == 1;
    const std::string reason = join_names(unset) + (one ? " is not set" : " are not set");
    disable(m, p, reason, std::string("environment variable") + (one ? " " : "s ") + reason);
  }

  void disable_empty(MapReader& m, ProviderConfig& p, std::string_view key,
                     const std::vector<std::string>& referenced) {
    const std::string names = join_names(referenced);
    disable(m, p, std::string(key) + " is empty (from " + names + ")",
            std::string(key) + " is empty (environment: " + names + ")");
  }

  void load_api_key(MapReader& m, const ProviderType& type, ProviderConfig& p) {
    if (!m.has("api_key")) {
      if (type.key_required) {
        reader_.error(m.path("api_key"), "required for type \"" + p.type + "\"");
      }
      return;
    }
    std::optional<Expansion> key = read_secret(m, "api_key", !type.key_required);
    if (!key) {
      return;
    }
    if (!key->unset.empty()) {
      disable_unset(m, p, key->unset);
      return;
    }
    if (key->value.empty() && type.key_required) {
      disable_empty(m, p, "api_key", key->referenced);
      return;
    }
    p.api_key = std::move(key->value);
  }

  // A non-empty api_key (a Bedrock API key, sent as a Bearer token) wins; else the aws_* keys
  // when written; else AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN.
  void load_bedrock_credentials(MapReader& m, ProviderConfig& p) {
    constexpr std::string_view kId = "aws_access_key_id";
    constexpr std::string_view kSecret = "aws_secret_access_key";
    constexpr std::string_view kToken = "aws_session_token";
    const std::optional<Expansion> key = read_secret(m, "api_key", false);
    const std::optional<Expansion> id = read_secret(m, kId, false);
    const std::optional<Expansion> secret = read_secret(m, kSecret, false);
    const std::optional<Expansion> token = read_secret(m, kToken, true);
    // A key that is written but read as nullopt was reported.
    bool failed = (m.has("api_key") && !key) || (m.has(kId) && !id) ||
                  (m.has(kSecret) && !secret) || (m.has(kToken) && !token);
    const bool written = m.has(kId) || m.has(kSecret) || m.has(kToken);
    if (written && !m.has(kId)) {
      reader_.error(m.path(kId), "required when other aws_* keys are set");
      failed = true;
    }
    if (written && !m.has(kSecret)) {
      reader_.error(m.path(kSecret), "required when other aws_* keys are set");
      failed = true;
    }
    if (failed) {
      return;
    }
    if (key) {
      if (!key->unset.empty()) {
        disable_unset(m, p, key->unset);
        return;
      }
      if (!key->value.empty()) {
        p.api_key = key->value;
        return;
      }
      // An api_key that expanded to "" ("${BEDROCK_API_KEY:-}"): use the AWS credentials.
    }
    if (written) {
      std::vector<std::string> unset;
      for (const auto* e : {&id, &secret, &token}) {
        if (e->has_value()) {
          for (const std::string& name : (*e)->unset) {
            if (std::find(unset.begin(), unset.end(), name) == unset.end()) {
              unset.push_back(name);
            }
          }
        }
      }
      if (!unset.empty()) {
        disable_unset(m, p, unset);
        return;
      }
      if (id->value.empty()) {
        disable_empty(m, p, kId, id->referenced);
        return;
      }
      if (secret->value.empty()) {
        disable_empty(m, p, kSecret, secret->referenced);
        return;
      }
      p.aws_access_key_id = id->value;
      p.aws_secret_access_key = secret->value;
      p.aws_session_token = token ? token->value : "";
      return;
    }
    std::string values[3];
    const std::string_view vars[3] = {kAwsAccessKeyIdVar, kAwsSecretAccessKeyVar,
                                      kAwsSessionTokenVar};
    for (std::size_t i = 0; i < 3; ++i) {
      values[i] = lookup(vars[i]).value_or("");
      if (has_line_break(values[i])) {
        reader_.error(m.path(), "environment variable " + std::string(vars[i]) +
                                    " must not contain line breaks");
        failed = true;
      }
    }
    if (failed) {
      return;
    }
    if (values[0].empty() || values[1].empty()) {
      disable(m, p, "no AWS credentials",
              "no AWS credentials (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or api_key)");
      return;
    }
    p.aws_access_key_id = std::move(values[0]);
    p.aws_secret_access_key = std::move(values[1]);
    p.aws_session_token = std::move(values[2]);
  }

  void load_simulator(MapReader& m, SimulatorConfig& sim) {
    m.read_duration("ttft", sim.ttft, true);
    m.read_duration("token_delay", sim.token_delay, true);
    m.read_int("tokens", sim.tokens, 1, 1'000'000);
    m.read_text("text", sim.text);
    m.read_bool("tool_calls", sim.tool_calls);
    m.read_fraction("fail_rate", sim.fail_rate, 1.0, true);
    m.read_int("fail_status", sim.fail_status, 400, 599);
    m.read_fraction("reset_rate", sim.reset_rate, 1.0, true);
    m.read_int("reset_after_chunks", sim.reset_after_chunks, 0);
  }

  // headers: {Name: value} or attributes: {key: value}; header values may hold secrets, so
  // they are checked but never quoted back.
  std::map<std::string, std::string> load_string_map(const YAML::Node& node,
                                                     const std::string& path, bool headers) {
    std::map<std::string, std::string> out;
    MapReader m(reader_, node, path, {});
    for (const auto& [key, value] : m.entries()) {
      const std::string key_path = m.path(key);
      if (headers && !is_header_name(key)) {
        reader_.error(key_path, "invalid header name");
        continue;
      }
      std::optional<std::string> text = reader_.text(value, key_path);
      if (!text) {
        continue;
      }
      if (headers && has_line_break(*text)) {
        reader_.error(key_path, "must not contain line breaks");
        continue;
      }
      out.emplace(key, std::move(*text));
    }
    return out;
  }

  void load_routes(const YAML::Node& node, Config& config) {
    if (!reader_.is_list(node, "routes")) {
      return;
    }
    for (std::size_t i = 0; i < node.size(); ++i) {
      const std::string path = index_path("routes", i);
      RouteConfig route;
      if (load_route(node[i], path, config, route)) {
        config.routes.push_back(std::move(route));
      }
    }
  }

  bool load_route(const YAML::Node& node, const std::string& path, const Config& config,
                  RouteConfig& route) {
    if (!node.IsMap()) {
      reader_.error(path, "expected a map, got " + node_kind(node));
      return false;
    }
    MapReader m(reader_, node, path, kRouteKeys);
    m.read_text("name", route.name);
    if (!m.has("name")) {
      reader_.error(m.path("name"), "required");
    } else if (route.name.find_first_of(" \t\r\n") != std::string::npos) {
      reader_.error(m.path("name"), "must not contain spaces");
    } else if (!route.name.empty()) {
      const bool duplicate =
          std::any_of(config.routes.begin(), config.routes.end(),
                      [&](const RouteConfig& r) { return r.name == route.name; });
      if (duplicate) {
        reader_.error(m.path("name"), "duplicate route \"" + route.name + "\"");
      }
    }

    bool any_tier = false;
    const std::pair<const char*, std::vector<TargetRef>*> tiers[] = {
        {"core", &route.core}, {"secondary", &route.secondary}, {"fallback", &route.fallback}};
    for (const auto& [tier, targets] : tiers) {
      if (const auto list = m.get(tier)) {
        load_tier(*list, m.path(tier), config, *targets);
        any_tier = any_tier || list->size() > 0;
      }
    }
    if (const auto target = m.get("target")) {
      if (any_tier) {
        reader_.error(path,
                      "set either \"target\" or tiers (\"core\", \"secondary\", "
                      "\"fallback\"), not both");
      } else if (auto ref = load_target_text(*target, m.path("target"), config)) {
        route.core.push_back(std::move(*ref));
      }
    } else if (!any_tier) {
      reader_.error(path,
                    "set \"target\" or at least one of \"core\", \"secondary\", "
                    "\"fallback\"");
    }

    m.read_fraction("canary", route.canary, 1.0, false);
    if (route.canary > 0.0 && route.secondary.empty() && route.fallback.empty()) {
      reader_.warning(m.path("canary"), "has no effect without secondary or fallback targets");
    }
    m.read_int("retries", route.retries, 0, kMaxRetries);
    if (const auto timeouts = m.get("timeouts")) {
      MapReader t(reader_, *timeouts, m.path("timeouts"), kTimeoutKeys);
      t.read_duration("connect", route.timeouts.connect, false);
      t.read_duration("first_byte", route.timeouts.first_byte, false);
      t.read_duration("idle", route.timeouts.idle, false);
      t.read_duration("total", route.timeouts.total, false);
    }
    if (const auto health = m.get("health")) {
      load_health(*health, m.path("health"), route.health);
    }
    if (const auto budget = m.get("retry_budget")) {
      load_retry_budget(*budget, m.path("retry_budget"), route.retry_budget);
    }
    if (const auto probe = m.get("probe")) {
      MapReader p(reader_, *probe, m.path("probe"), kProbeKeys);
      p.read_duration("interval", route.probe_interval, true);
    }
    if (const auto limits = m.get("limits")) {
      load_limits(*limits, m.path("limits"), route.limits);
    }
    warn_if_all_disabled(route, path, config);
    return true;
  }

  void load_limits(const YAML::Node& node, const std::string& path, RateLimits& limits) {
    MapReader m(reader_, node, path, kLimitKeys);
    m.read_int("rpm", limits.rpm, 1, kMaxCount);
    m.read_int("tpm", limits.tpm, 1, kMaxTokensPerMinute);
    m.read_int("concurrency", limits.concurrency, 1, kMaxCount);
  }

  // budget: {usd_per_day: 50, usd_per_month: 1000}: exact decimals, like prices.
  void load_budget(const YAML::Node& node, const std::string& path, Budget& budget) {
    MapReader m(reader_, node, path, kBudgetKeys);
    const auto read = [&](std::string_view key, std::int64_t& out) {
      const auto value = m.get(key);
      if (!value) {
        return;
      }
      const std::optional<std::string> text = reader_.text(*value, m.path(key));
      if (!text) {
        return;
      }
      const Parsed<std::int64_t> micros = parse_decimal_micros(*text);
      if (!micros.ok()) {
        reader_.error(m.path(key), micros.error);
      } else if (micros.value == 0) {
        reader_.error(m.path(key), "must be more than 0 (leave it out for no budget)");
      } else {
        out = micros.value;
      }
    };
    read("usd_per_day", budget.usd_per_day);
    read("usd_per_month", budget.usd_per_month);
  }

  // A list of names (providers, PII kinds); each must be in `known` when that is given.
  std::vector<std::string> load_name_list(const YAML::Node& node, const std::string& path,
                                          const std::vector<std::string_view>& known,
                                          std::string_view what) {
    std::vector<std::string> out;
    if (!reader_.is_list(node, path)) {
      return out;
    }
    for (std::size_t i = 0; i < node.size(); ++i) {
      const std::string item_path = index_path(path, i);
      const std::optional<std::string> name = reader_.text(node[i], item_path);
      if (!name) {
        continue;
      }
      if (!known.empty() && !contains(known, *name)) {
        const std::string suggestion = closest_key(*name, known);
        reader_.error(item_path, "unknown " + std::string(what) + " \"" + *name + "\" (" +
                                     (suggestion.empty() ? "known: " + join_views(known)
                                                         : "did you mean \"" + suggestion + "\"?") +
                                     ")");
        continue;
      }
      if (std::find(out.begin(), out.end(), *name) != out.end()) {
        reader_.error(item_path, "duplicate " + std::string(what) + " \"" + *name + "\"");
        continue;
      }
      out.push_back(*name);
    }
    return out;
  }

  // allow/deny: {region: [eu], retention: none}: attribute -> one value or a list of values.
  std::map<std::string, std::vector<std::string>> load_attribute_filter(const YAML::Node& node,
                                                                        const std::string& path) {
    std::map<std::string, std::vector<std::string>> out;
    MapReader m(reader_, node, path, {});
    for (const auto& [attr, value] : m.entries()) {
      const std::string attr_path = join_path(path, attr);
      std::vector<std::string> values;
      if (value.IsScalar()) {
        if (auto text = reader_.text(value, attr_path)) {
          values.push_back(std::move(*text));
        }
      } else {
        values = load_name_list(value, attr_path, {}, "value");
      }
      if (values.empty()) {
        reader_.error(attr_path, "expected a value or a non-empty list of values");
        continue;
      }
      out[attr] = std::move(values);
    }
    return out;
  }

  void load_policy(const YAML::Node& node, const std::string& path, const Config& config,
                   DataPolicy& policy) {
    MapReader m(reader_, node, path, kPolicyKeys);
    std::vector<std::string_view> provider_names;
    for (const auto& p : config.providers) {
      provider_names.push_back(p.name);
    }
    if (const auto list = m.get("providers")) {
      policy.providers = load_name_list(*list, m.path("providers"), provider_names, "provider");
      if (policy.providers.empty()) {
        reader_.error(m.path("providers"),
                      "must name at least one provider (leave it out to allow every provider)");
      }
    }
    if (const auto list = m.get("deny_providers")) {
      policy.deny_providers =
          load_name_list(*list, m.path("deny_providers"), provider_names, "provider");
    }
    if (const auto allow = m.get("allow")) {
      policy.allow = load_attribute_filter(*allow, m.path("allow"));
    }
    if (const auto deny = m.get("deny")) {
      policy.deny = load_attribute_filter(*deny, m.path("deny"));
    }
    if (m.has("max_provider_share")) {
      double share = 0;
      m.read_fraction("max_provider_share", share, 1.0, true);
      if (share <= 0.0) {
        reader_.error(m.path("max_provider_share"), "must be more than 0 and at most 1");
      } else {
        policy.max_provider_share = share;
      }
    }
    m.read_bool("enforce", policy.enforce);
    if (policy.enforce && !policy.max_provider_share) {
      reader_.error(m.path("enforce"), "needs max_provider_share");
    }
    m.read_duration("share_window", policy.share_window, false);
    if (const auto list = m.get("redact")) {
      policy.redact = load_name_list(*list, m.path("redact"), kRedactKinds, "PII kind");
    }
  }

  // tenants: [{name, limits, key_limits, budget, key_budget, policy}].
  void load_tenants(const YAML::Node& node, Config& config) {
    if (!reader_.is_list(node, "tenants")) {
      return;
    }
    for (std::size_t i = 0; i < node.size(); ++i) {
      const std::string path = index_path("tenants", i);
      const YAML::Node item = node[i];
      if (!item.IsMap()) {
        reader_.error(path, "expected a map, got " + node_kind(item));
        continue;
      }
      MapReader m(reader_, item, path, kTenantKeys);
      TenantConfig tenant;
      m.read_text("name", tenant.name);
      if (!m.has("name")) {
        reader_.error(m.path("name"), "required");
      } else if (!is_tenant_name(tenant.name)) {
        reader_.error(m.path("name"), "expected 1..64 of A-Z a-z 0-9 . _ -, got \"" +
                                          tenant.name + "\"");
      } else if (config.find_tenant(tenant.name) != nullptr) {
        reader_.error(m.path("name"), "duplicate tenant \"" + tenant.name + "\"");
      }
      if (const auto limits = m.get("limits")) {
        load_limits(*limits, m.path("limits"), tenant.limits);
      }
      if (const auto limits = m.get("key_limits")) {
        load_limits(*limits, m.path("key_limits"), tenant.key_limits);
      }
      if (const auto budget = m.get("budget")) {
        load_budget(*budget, m.path("budget"), tenant.budget);
      }
      if (const auto budget = m.get("key_budget")) {
        load_budget(*budget, m.path("key_budget"), tenant.key_budget);
      }
      tenant.policy.name = tenant.name;
      if (const auto policy = m.get("policy")) {
        load_policy(*policy, m.path("policy"), config, tenant.policy);
      }
      config.tenants.push_back(std::move(tenant));
    }
    if (config.tenants.empty()) {
      reader_.warning("tenants", "empty: the gateway runs open (no keys)");
    }
  }

  // Without tenants nobody needs a key: that is only safe where nobody else can connect.
  void check_open_mode(const Config& config) {
    if (config.multi_tenant() && !config.storage.ledger_enabled()) {
      reader_.error("storage.ledger",
                    "must not be \"off\" with tenants: virtual keys and budgets live in the "
                    "ledger's database");
    }
    if (config.multi_tenant() || is_loopback_host(config.server.host)) {
      return;
    }
    reader_.error("server.listen",
                  "\"" + config.server.listen +
                      "\" is not a loopback address; without tenants the gateway runs open "
                      "(no keys) and only listens on 127.0.0.1 or ::1 (configure tenants, or "
                      "listen on loopback)");
  }

  void load_health(const YAML::Node& node, const std::string& path, HealthSettings& health) {
    MapReader m(reader_, node, path, kHealthKeys);
    m.read_int("consecutive_failures", health.consecutive_failures, 0, kMaxCount);
    m.read_fraction("error_rate", health.error_rate, 1.0, true);
    m.read_int("min_requests", health.min_requests, 1, kMaxCount);
    m.read_duration("window", health.window, false);
    m.read_duration("base_ejection", health.base_ejection, false);
    m.read_duration("max_ejection", health.max_ejection, false);
    if (health.max_ejection < health.base_ejection) {
      reader_.error(m.path("max_ejection"), "must not be less than base_ejection");
    }
  }

  void load_retry_budget(const YAML::Node& node, const std::string& path,
                         RetryBudgetSettings& budget) {
    MapReader m(reader_, node, path, kRetryBudgetKeys);
    m.read_fraction("ratio", budget.ratio, 1.0, true);
    if (const auto value = m.get("min_per_second")) {
      if (const auto text = reader_.text(*value, m.path("min_per_second"))) {
        const Parsed<double> n = parse_number(*text);
        if (!n.ok()) {
          reader_.error(m.path("min_per_second"), n.error);
        } else if (n.value < 0.0 || n.value > kMaxRetriesPerSecond) {
          reader_.error(m.path("min_per_second"),
                        "must be a number 0..1000000, got \"" + *text + "\"");
        } else {
          budget.min_per_second = n.value;
        }
      }
    }
    m.read_duration("window", budget.window, false);
  }

  // admin: {token: "${SWITCHYARD_ADMIN_TOKEN}"}. Like a provider key, a token whose variable is
  // unset (or expands to "") turns the admin API off with one warning instead of failing.
  void load_admin(const YAML::Node& node, AdminConfig& admin) {
    MapReader m(reader_, node, "admin", kAdminKeys);
    if (const auto listen = m.get("listen")) {
      if (const auto text = reader_.text(*listen, m.path("listen"))) {
        const Parsed<ListenAddress> addr = parse_listen(*text);
        if (addr.ok()) {
          admin.listen = *text;
          admin.host = addr.value.host;
          admin.port = addr.value.port;
        } else {
          reader_.error(m.path("listen"), addr.error);
        }
      }
    }
    if (!m.has("token")) {
      if (const auto env_token = env_(kAdminTokenVar); env_token && !env_token->empty()) {
        admin.token = *env_token;
        return;
      }
      if (node.IsMap() || node.IsNull()) {
        reader_.warning("admin", "disabled: no token");
      }
      return;
    }
    const std::optional<Expansion> token = read_secret(m, "token", false);
    if (!token) {
      return;
    }
    if (!token->unset.empty()) {
      const bool one = token->unset.size() == 1;
      reader_.warning("admin", std::string("disabled: environment variable") +
                                   (one ? " " : "s ") + join_names(token->unset) +
                                   (one ? " is not set" : " are not set"));
      return;
    }
    if (token->value.empty()) {
      reader_.warning("admin",
                      "disabled: token is empty (environment: " + join_names(token->referenced) +
                          ")");
      return;
    }
    admin.token = token->value;
  }

  void load_tier(const YAML::Node& node, const std::string& path, const Config& config,
                 std::vector<TargetRef>& targets) {
    if (!reader_.is_list(node, path)) {
      return;
    }
    for (std::size_t i = 0; i < node.size(); ++i) {
      const YAML::Node item = node[i];
      const std::string item_path = index_path(path, i);
      if (item.IsScalar()) {
        if (auto ref = load_target_text(item, item_path, config)) {
          targets.push_back(std::move(*ref));
        }
        continue;
      }
      if (!item.IsMap()) {
        reader_.error(item_path, "expected \"provider/model\" or a map with \"target\", got " +
                                     node_kind(item));
        continue;
      }
      MapReader m(reader_, item, item_path, kTargetKeys);
      std::optional<TargetRef> ref;
      if (const auto target = m.get("target")) {
        ref = load_target_text(*target, m.path("target"), config);
      } else {
        reader_.error(m.path("target"), "required");
      }
      std::uint32_t weight = 1;
      m.read_int("weight", weight, 1, kMaxWeight);  // checked even when the target is wrong
      if (ref) {
        ref->weight = weight;
        targets.push_back(std::move(*ref));
      }
    }
  }

  // "provider/model": split at the first '/', so the model may contain more slashes.
  std::optional<TargetRef> load_target_text(const YAML::Node& node, const std::string& path,
                                            const Config& config) {
    const std::optional<std::string> text = reader_.text(node, path);
    if (!text) {
      return std::nullopt;
    }
    const std::size_t slash = text->find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == text->size()) {
      reader_.error(path, "expected \"provider/model\", got \"" + *text + "\"");
      return std::nullopt;
    }
    TargetRef ref;
    ref.provider = text->substr(0, slash);
    ref.model = text->substr(slash + 1);
    if (config.find_provider(ref.provider) == nullptr) {
      reader_.error(path, "unknown provider \"" + ref.provider + "\"");
      return std::nullopt;
    }
    return ref;
  }

  void warn_if_all_disabled(const RouteConfig& route, const std::string& path,
                            const Config& config) {
    bool any = false;
    for (const auto* tier : {&route.core, &route.secondary, &route.fallback}) {
      for (const TargetRef& t : *tier) {
        const ProviderConfig* p = config.find_provider(t.provider);
        if (p != nullptr && p->enabled) {
          return;
        }
        any = true;
      }
    }
    if (any) {
      reader_.warning(path, "every target is disabled; requests will get 503");
    }
  }

  // catalog: [{target: provider/model, capabilities: [...], price: {...}, price_version: v}].
  void load_catalog(const YAML::Node& node, Config& config) {
    if (!reader_.is_list(node, "catalog")) {
      return;
    }
    std::vector<std::string> seen;  // every valid target, also of entries with other errors
    for (std::size_t i = 0; i < node.size(); ++i) {
      const std::string path = index_path("catalog", i);
      const YAML::Node item = node[i];
      if (!item.IsMap()) {
        reader_.error(path, "expected a map, got " + node_kind(item));
        continue;
      }
      MapReader m(reader_, item, path, kCatalogKeys);
      CatalogEntry entry;
      bool ok = true;
      if (const auto target = m.get("target")) {
        if (const auto ref = load_target_text(*target, m.path("target"), config)) {
          entry.target = ref->text();
          if (std::find(seen.begin(), seen.end(), entry.target) != seen.end()) {
            reader_.error(m.path("target"), "duplicate target \"" + entry.target + "\"");
            ok = false;
          }
          seen.push_back(entry.target);
        } else {
          ok = false;
        }
      } else {
        reader_.error(m.path("target"), "required");
        ok = false;
      }
      if (const auto list = m.get("capabilities")) {
        entry.has_capabilities = true;
        ok = load_capabilities(*list, m.path("capabilities"), entry.capabilities) && ok;
      }
      if (const auto price = m.get("price")) {
        entry.price = load_price(*price, m.path("price"));
        ok = entry.price.has_value() && ok;
      }
      m.read_text("price_version", entry.price_version);
      if (ok) {
        config.catalog.push_back(std::move(entry));
      }
    }
  }

  // price: {input: 2.50, output: 10, cached_input: 1.25, cache_write: ..., reasoning: ...}, in
  // US dollars per million tokens. The scalar's TEXT is parsed exactly (never as a double), so
  // 2.50 is 2'500'000 micro-dollars. input and output are required.
  std::optional<CatalogPrice> load_price(const YAML::Node& node, const std::string& path) {
    if (!node.IsMap()) {
      reader_.error(path, "expected a map, got " + node_kind(node));
      return std::nullopt;
    }
    MapReader m(reader_, node, path, kPriceKeys);
    CatalogPrice price;
    bool ok = true;
    const auto read = [&](std::string_view key, bool required) -> std::optional<std::int64_t> {
      const auto value = m.get(key);
      if (!value) {
        if (required) {
          reader_.error(m.path(key), "required");
          ok = false;
        }
        return std::nullopt;
      }
      const std::optional<std::string> text = reader_.text(*value, m.path(key));
      if (!text) {
        ok = false;
        return std::nullopt;
      }
      const Parsed<std::int64_t> micros = parse_decimal_micros(*text);
      if (!micros.ok()) {
        reader_.error(m.path(key), micros.error);
        ok = false;
        return std::nullopt;
      }
      return micros.value;
    };
    price.input = read("input", true).value_or(0);
    price.output = read("output", true).value_or(0);
    price.cached_input = read("cached_input", false);
    price.cache_write = read("cache_write", false);
    price.reasoning = read("reasoning", false);
    if (!ok) {
      return std::nullopt;
    }
    return price;
  }

  bool load_capabilities(const YAML::Node& node, const std::string& path,
                         std::vector<std::string>& out) {
    if (!reader_.is_list(node, path)) {
      return false;
    }
    bool ok = true;
    for (std::size_t i = 0; i < node.size(); ++i) {
      const std::string item_path = index_path(path, i);
      const std::optional<std::string> name = reader_.text(node[i], item_path);
      if (!name) {
        ok = false;
        continue;
      }
      if (!contains(kCapabilities, *name)) {
        const std::string suggestion = closest_key(*name, kCapabilities);
        reader_.error(item_path, "unknown capability \"" + *name + "\" (" +
                                     (suggestion.empty() ? "known: " + join_views(kCapabilities)
                                                         : "did you mean \"" + suggestion + "\"?") +
                                     ")");
        ok = false;
      } else if (std::find(out.begin(), out.end(), *name) != out.end()) {
        reader_.error(item_path, "duplicate capability \"" + *name + "\"");
        ok = false;
      } else {
        out.push_back(*name);
      }
    }
    return ok;
  }

  const EnvLookup& env_;
  Reader reader_;
};

}  // namespace

EnvLookup process_env() {
  return [](std::string_view name) -> std::optional<std::string> {
    const std::string key(name);
    // getenv is not thread-safe against setenv; config loads happen on the main thread.
    if (const char* value = std::getenv(key.c_str())) {
      return std::string(value);
    }
    return std::nullopt;
  };
}

LoadResult load_config_string(std::string_view yaml, const EnvLookup& env) {
  ConfigLoader loader(env);
  try {
    const YAML::Node root = YAML::Load(std::string(yaml));
    if (!root.IsMap() && !root.IsNull()) {
      return loader.fail("",
                         "the document must be a map (server, storage, providers, routes), "
                         "got " +
                             node_kind(root));
    }
    return loader.load(root);
  } catch (const YAML::ParserException& e) {
    // yaml-cpp counts lines and columns from 0.
    return loader.fail("", "YAML syntax error at line " + std::to_string(e.mark.line + 1) +
                               ", column " + std::to_string(e.mark.column + 1) + ": " + e.msg);
  } catch (const std::exception& e) {
    return loader.fail("", std::string("could not load the configuration: ") + e.what());
  }
}

LoadResult load_config_file(const std::string& path, const EnvLookup& env) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return ConfigLoader(env).fail("", "cannot read config file \"" + path + "\": is a directory");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const std::error_code err(errno, std::generic_category());
    return ConfigLoader(env).fail("", "cannot read config file \"" + path + "\": " + err.message());
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return ConfigLoader(env).fail("", "cannot read config file \"" + path + "\": read failed");
  }
  return load_config_string(text.str(), env);
}

}  // namespace sy::config
