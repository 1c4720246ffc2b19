#include "server/snapshot.h"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <ctime>

namespace sy::server {

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
    auto add = [&](const std::vector<config::TargetRef>& tier, const char* name) {
      for (const auto& t : tier) {
        route.targets.push_back(ResolvedTarget{&t, provider_index(t.provider), name});
      }
    };
    add(rc.core, "core");
    add(rc.secondary, "secondary");
    add(rc.fallback, "fallback");
    snap->routes.emplace(rc.name, std::move(route));
    data.push_back(boost::json::object{
        {"id", rc.name}, {"object", "model"}, {"created", created}, {"owned_by", "switchyard"}});
  }
  snap->models_json =
      boost::json::serialize(boost::json::object{{"object", "list"}, {"data", std::move(data)}});
  return snap;
}

}  // namespace sy::server
