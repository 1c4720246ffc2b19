#include "app/wiring.h"

#include <boost/asio/ssl/context.hpp>
#include <stdexcept>

#include "core/clock.h"
#include "ledger/store.h"
#include "policy/keys.h"
#include <spdlog/spdlog.h>

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

std::shared_ptr<server::Runtime> make_runtime(std::shared_ptr<const config::Config> config) {
  auto rt = std::make_shared<server::Runtime>();
  rt->config = config;
  for (const auto& route : config->routes) {
    server::RouteState state;
    routing::HealthConfig health;
    health.consecutive_failures = route.health.consecutive_failures;
    health.error_rate = route.health.error_rate;
    health.min_requests = route.health.min_requests;
    health.window = route.health.window;
    health.base_ejection = route.health.base_ejection;
    health.max_ejection = route.health.max_ejection;
    state.health = routing::make_local_health_tracker(health);
    state.retry_budget = std::make_unique<routing::RetryBudget>(
        route.retry_budget.ratio, route.retry_budget.min_per_second, route.retry_budget.window);
    rt->routes.emplace(route.name, std::move(state));
  }
  rt->registry = std::make_unique<admin::Registry>();
  rt->metrics = std::make_unique<admin::GatewayMetrics>(*rt->registry);
  auto prices = ledger::PriceTable::with_shipped_defaults(config->catalog);
  if (!prices) {
    throw std::runtime_error("catalog: " + prices.error().public_message);
  }
  rt->prices = std::move(*prices);
  rt->admin_token = config->admin.token;
  if (config->storage.ledger_enabled()) {
    rt->ledger_url = config->storage.ledger;
    ledger::WriterOptions options;
    options.queue_capacity = config->storage.queue_capacity;
    options.batch_size = config->storage.batch_size;
    options.flush_interval = config->storage.flush_interval;
    rt->ledger = std::make_unique<ledger::LedgerWriter>(ledger::open_store(config->storage.ledger),
                                                        options);
    rt->ledger->start();
  }
  if (config->multi_tenant()) {
    // Keys are checked against an in-memory copy of the key table, re-read every
    // keys.refresh_interval (keys made by the CLI in another process appear within it).
    rt->key_store = policy::open_key_store(config->storage.ledger);
    rt->key_cache_store = policy::open_key_store(config->storage.ledger);
    rt->keys = std::make_unique<policy::KeyCache>(*rt->key_cache_store);
    if (auto loaded = rt->keys->refresh(); !loaded) {
      throw std::runtime_error("keys: " + loaded.error().public_message + " (" +
                               loaded.error().detail + ")");
    }
    rt->keys->start(config->keys.refresh_interval);
    // Budgets survive a restart: today's and this month's spend come from the ledger.
    const auto now_ms = unix_now_ms();
    auto store = ledger::open_store(config->storage.ledger);
    if (auto loaded = rt->spend.load(*store, now_ms); !loaded) {
      throw std::runtime_error("budgets: " + loaded.error().public_message);
    }
    // Exposure shares over each enforcing tenant's window start from the ledger too.
    for (const auto& t : config->tenants) {
      const auto& pol = t.policy;
      if (!pol.max_provider_share) {
        continue;
      }
      rt->shares.set_window(t.name, pol.share_window);
      // In slices, each primed at its middle, so that old requests age out of the window when
      // they would have, not all at once a full window after start-up.
      constexpr std::int64_t kSlices = 12;
      const std::int64_t window = pol.share_window.count();
      for (std::int64_t i = 0; i < kSlices; ++i) {
        ledger::Filter filter;
        filter.since_ms = now_ms - window + window * i / kSlices;
        filter.until_ms = now_ms - window + window * (i + 1) / kSlices;
        auto rows = store->aggregate(filter, {ledger::Dim::Tenant, ledger::Dim::Provider});
        if (!rows) {
          throw std::runtime_error("exposure: " + rows.error().public_message);
        }
        const auto mid = (filter.since_ms + filter.until_ms) / 2;
        for (const auto& row : *rows) {
          if (row.keys.size() == 2 && row.keys[0] == t.name && !row.keys[1].empty() &&
              row.requests > 0) {
            rt->shares.prime(t.name, row.keys[1], row.requests,
                             policy::TimePoint(std::chrono::milliseconds(mid)));
          }
        }
      }
    }
    spdlog::info("tenants: {} configured, {} virtual key(s) loaded", config->tenants.size(),
                 rt->keys->size());
  } else {
    spdlog::warn("no tenants configured: running open (no virtual keys, every request is tenant "
                 "\"default\"); allowed only because {} is a loopback address",
                 config->server.host);
  }
  return rt;
}

}  // namespace sy::app
