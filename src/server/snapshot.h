#pragma once
// What every worker reads to serve a request: the validated config plus tables derived from it
// once at start-up (routes by name, rendered /v1/models). Immutable and shared.

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/schema.h"
#include "ir/chat.h"
#include "policy/redact.h"
#include "providers/adapter.h"

namespace sy::server {

struct ResolvedTarget {
  const config::TargetRef* ref = nullptr;
  std::size_t provider_index = 0;  // into Config::providers
  const char* tier = "core";       // core | secondary | fallback
  int tier_index = 0;              // 0 core, 1 secondary, 2 fallback
  // Speaks OpenAI Chat Completions natively (openai, openai-compatible, simulator): an OpenAI
  // client's request can take the byte-patching fast path.
  bool openai_native = false;
  // The adapter used when the client's protocol differs (the simulator speaks OpenAI).
  const providers::Adapter* adapter = nullptr;
  // What the target can do: the catalog entry's list when the config has one, else the
  // adapter's defaults.
  ir::Capabilities caps;
};

struct Route {
  const config::RouteConfig* config = nullptr;
  std::vector<ResolvedTarget> targets;  // tier order: core, secondary, fallback
};

// A configured tenant as the request path needs it: its config, which providers its data policy
// permits (decided once here), and its redactor.
struct TenantView {
  const config::TenantConfig* config = nullptr;
  // Per provider (index into Config::providers): "" when permitted, else why not.
  std::vector<std::string> refusal;
  bool restricts_targets = false;
  std::shared_ptr<const policy::Redactor> redactor;  // null: no redaction
  const std::string& name() const { return config->name; }
  bool permitted(std::size_t provider_index) const {
    return provider_index < refusal.size() && refusal[provider_index].empty();
  }
};

struct Snapshot {
  std::shared_ptr<const config::Config> config;
  std::unordered_map<std::string, Route> routes;
  std::string models_json;            // GET /v1/models (OpenAI shape)
  std::string anthropic_models_json;  // GET /v1/models for Anthropic clients
  std::unordered_map<std::string, TenantView> tenants;  // by name; empty in open mode

  static std::shared_ptr<const Snapshot> build(std::shared_ptr<const config::Config> config);
  const Route* find_route(const std::string& name) const {
    auto it = routes.find(name);
    return it == routes.end() ? nullptr : &it->second;
  }
  const TenantView* find_tenant(const std::string& name) const {
    auto it = tenants.find(name);
    return it == tenants.end() ? nullptr : &it->second;
  }
};

}  // namespace sy::server
