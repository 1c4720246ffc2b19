#pragma once
// Process-wide state every worker shares: target health, drills, retry budgets, metrics. All
// of it is thread-safe (see routing/ and admin/); it outlives the workers.

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "admin/metrics.h"
#include "config/schema.h"
#include "ledger/pricing.h"
#include "ledger/writer.h"
#include "policy/budget.h"
#include "policy/exposure_guard.h"
#include "policy/key_cache.h"
#include "policy/keys.h"
#include "policy/local_counters.h"
#include "policy/rate_limiter.h"
#include "routing/router.h"

namespace sy::server {

// Targets that asked us to back off (Retry-After): skipped by every worker until then.
class Cooldowns {
 public:
  void set(const std::string& key, routing::Clock::time_point until) {
    std::lock_guard<std::mutex> lock(mu_);
    auto& slot = until_[key];
    slot = std::max(slot, until);
  }
  bool active(const std::string& key, routing::Clock::time_point now) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = until_.find(key);
    return it != until_.end() && now < it->second;
  }

 private:
  mutable std::mutex mu_;
  std::unordered_map<std::string, routing::Clock::time_point> until_;
};

// Per route: its targets' health (a target shared by two routes is judged per route, with that
// route's thresholds) and its retry budget.
struct RouteState {
  std::unique_ptr<routing::HealthTracker> health;
  std::unique_ptr<routing::RetryBudget> retry_budget;
};

struct Runtime {
  std::map<std::string, RouteState> routes;  // by route name; built at start-up, then fixed
  routing::DrillRegistry drills;
  Cooldowns cooldowns;
  std::unique_ptr<admin::Registry> registry;
  std::unique_ptr<admin::GatewayMetrics> metrics;
  ledger::PriceTable prices;
  std::unique_ptr<ledger::LedgerWriter> ledger;  // null when storage.ledger is "off"
  std::string ledger_url;                        // for reports (never logged: may hold a password)
  std::string admin_token;                       // "" = admin API disabled
  std::shared_ptr<const config::Config> config;

  // Tenancy (docs/tenants.md). The key store and cache exist only with tenants configured.
  // The ledger's database for the admin API (one connection: lock key_store_mu to use it).
  std::unique_ptr<policy::KeyStore> key_store;
  std::mutex key_store_mu;
  // What the request path checks keys against, refreshed by its own thread over its own
  // connection (a SQL store is not shared between threads).
  std::unique_ptr<policy::KeyStore> key_cache_store;
  std::unique_ptr<policy::KeyCache> keys;
  policy::LocalCounters counters;               // rate-limit counters of every worker
  std::unique_ptr<policy::RateLimiter> limiter{std::make_unique<policy::RateLimiter>(counters)};
  policy::SpendTracker spend;                   // budgets: today's and this month's spend
  policy::ShareTracker shares;                  // exposure: requests per tenant and provider

  RouteState* route(const std::string& name) {
    auto it = routes.find(name);
    return it == routes.end() ? nullptr : &it->second;
  }
};

}  // namespace sy::server
