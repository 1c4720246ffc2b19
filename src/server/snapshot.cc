#include "server/snapshot.h"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <ctime>

#include "policy/data_policy.h"

namespace sy::server {

namespace {

// The simulator's honest capabilities: it answers text and (when tools are offered) one tool
// call, and ignores everything else.
ir::Capabilities simulator_caps() {
  ir::Capabilities c;
  c.tools = true;
  return c;
}

ir::Capabilities caps_from_names(const std::vector<std::string>& names) {
  ir::Capabilities c;
  for (const auto& n : names) {
    c.tools |= n == "tools";
    c.parallel_tool_calls |= n == "parallel_tool_calls";
    c.vision |= n == "vision";
    c.json_object |= n == "json_object";
    c.json_schema |= n == "json_schema";
    c.logprobs |= n == "logprobs";
    c.multiple_choices |= n == "multiple_choices";
    c.reasoning |= n == "reasoning";
  }
  return c;
}

}  // namespace

std::shared_ptr<const Snapshot> Snapshot::build(std::shared_ptr<const config::Config> config) {
  auto snap = std::make_shared<Snapshot>();
  snap->config = config;
  auto provider_index = [&](const std::string& name) {
    for (std::size_t i = 0; i < config->providers.size(); ++i) {
      if (config->providers[i].name == name) {
        return i;
      }
    }
    return config->providers.size();  // validation guarantees this does not happen
  };
  boost::json::array data;
  const auto created = static_cast<std::int64_t>(std::time(nullptr));
  for (const auto& rc : config->routes) {
    Route route;
    route.config = &rc;
    auto add = [&](const std::vector<config::TargetRef>& tier, const char* name, int index) {
      for (const auto& t : tier) {
        ResolvedTarget rt;
        rt.ref = &t;
        rt.provider_index = provider_index(t.provider);
        rt.tier = name;
        rt.tier_index = index;
        if (rt.provider_index < config->providers.size()) {
          const auto& p = config->providers[rt.provider_index];
          const bool sim = p.type == "simulator";
          rt.openai_native = sim || p.type == "openai" || p.type == "openai-compatible";
          rt.adapter = providers::adapter_for(sim ? "openai-compatible" : p.type);
          if (sim) {
            rt.caps = simulator_caps();
          } else if (rt.adapter) {
            rt.caps = rt.adapter->capabilities(providers::Target{&p, t.model});
          }
          for (const auto& entry : config->catalog) {
            if (entry.has_capabilities && entry.target == t.text()) {
              rt.caps = caps_from_names(entry.capabilities);
            }
          }
        }
        route.targets.push_back(rt);
      }
    };
    add(rc.core, "core", 0);
    add(rc.secondary, "secondary", 1);
    add(rc.fallback, "fallback", 2);
    snap->routes.emplace(rc.name, std::move(route));
    data.push_back(boost::json::object{
        {"id", rc.name}, {"object", "model"}, {"created", created}, {"owned_by", "switchyard"}});
  }
  boost::json::array anthropic_data;
  for (const auto& rc : config->routes) {
    anthropic_data.push_back(boost::json::object{{"type", "model"},
                                                 {"id", rc.name},
                                                 {"display_name", rc.name},
                                                 {"created_at", "1970-01-01T00:00:00Z"}});
  }
  const std::string first = config->routes.empty() ? "" : config->routes.front().name;
  const std::string last = config->routes.empty() ? "" : config->routes.back().name;
  snap->anthropic_models_json = boost::json::serialize(
      boost::json::object{{"data", std::move(anthropic_data)},
                          {"has_more", false},
                          {"first_id", first.empty() ? boost::json::value() : boost::json::value(first)},
                          {"last_id", last.empty() ? boost::json::value() : boost::json::value(last)}});
  snap->models_json =
      boost::json::serialize(boost::json::object{{"object", "list"}, {"data", std::move(data)}});
  for (const auto& tc : config->tenants) {
    TenantView view;
    view.config = &tc;
    view.restricts_targets = tc.policy.restricts_targets();
    for (const auto& p : config->providers) {
      view.refusal.push_back(policy::policy_refusal(tc.policy, p).value_or(""));
    }
    if (!tc.policy.redact.empty()) {
      std::vector<policy::PiiKind> kinds;
      for (const auto& name : tc.policy.redact) {
        if (auto kind = policy::parse_pii_kind(name)) {
          kinds.push_back(*kind);
        }
      }
      view.redactor = std::make_shared<const policy::Redactor>(kinds);
    }
    snap->tenants.emplace(tc.name, std::move(view));
  }
  return snap;
}

}  // namespace sy::server
