#include "app/wiring.h"

#include <boost/asio/ssl/context.hpp>
#include <stdexcept>

#include "auth/api_key.h"
#include "upstream/base_url.h"
#include "upstream/http_transport.h"
#include "upstream/simulator_transport.h"

namespace sy::app {

struct Shared {
  // Per provider (index into Config::providers): its TLS context, or null.
  std::vector<std::shared_ptr<boost::asio::ssl::context>> tls;
  std::vector<upstream::BaseUrl> base;
};

std::shared_ptr<Shared> make_shared_state(const config::Config& config) {
  auto shared = std::make_shared<Shared>();
  std::shared_ptr<boost::asio::ssl::context> default_tls;
  for (const auto& p : config.providers) {
    upstream::BaseUrl base;
    std::shared_ptr<boost::asio::ssl::context> tls;
    if (p.type != "simulator") {
      auto parsed = upstream::parse_base_url(p.base_url);
      if (!parsed) {
        throw std::runtime_error("providers." + p.name + ".base_url: " +
                                 parsed.error().public_message);
      }
      base = *parsed;
      if (base.tls) {
        if (p.tls_skip_verify || !p.ca_file.empty()) {
          tls = upstream::make_tls_context({p.tls_skip_verify, p.ca_file});
        } else {
          if (!default_tls) {
            default_tls = upstream::make_tls_context({});
          }
          tls = default_tls;
        }
      }
    }
    shared->base.push_back(std::move(base));
    shared->tls.push_back(std::move(tls));
  }
  return shared;
}

std::vector<upstream::TransportPtr> make_transports(const config::Config& config,
                                                    const Shared& shared,
                                                    boost::asio::io_context& ioc,
                                                    unsigned worker_index) {
  std::vector<upstream::TransportPtr> out;
  for (std::size_t i = 0; i < config.providers.size(); ++i) {
    const auto& p = config.providers[i];
    if (!p.enabled) {
      out.push_back(nullptr);
      continue;
    }
    if (p.type == "simulator") {
      out.push_back(std::make_unique<upstream::SimulatorTransport>(
          ioc.get_executor(), p.simulator, 0x5157ull * (worker_index + 1) + i));
      continue;
    }
    upstream::HttpTransportOptions opts;
    opts.base = shared.base[i];
    opts.tls = shared.tls[i];
    opts.fixed_headers = auth::static_auth_headers(p);
    opts.signer = auth::make_signer(p);
    for (const auto& [name, value] : p.headers) {
      opts.fixed_headers.emplace_back(name, value);
    }
    out.push_back(std::make_unique<upstream::HttpTransport>(ioc.get_executor(), std::move(opts)));
  }
  return out;
}

std::shared_ptr<server::Runtime> make_runtime(const config::Config& config) {
  auto rt = std::make_shared<server::Runtime>();
  for (const auto& route : config.routes) {
    server::RouteState state;
    routing::HealthConfig health;
    state.health = routing::make_local_health_tracker(health);
    state.retry_budget = std::make_unique<routing::RetryBudget>();
    rt->routes.emplace(route.name, std::move(state));
  }
  return rt;
}

}  // namespace sy::app
