#pragma once
// The exposure report ("how concentrated are we, and is our fallback proven?"):
//  - per tenant, each provider's share of requests and of spend, the Herfindahl–Hirschman index
//    (HHI: the sum of squared shares) of both, and the largest share against the tenant's
//    max_provider_share target;
//  - per route and tier, when it last succeeded; a tier whose last success is older than the
//    staleness threshold, or that never succeeded, is "unproven".

#include <boost/json/value.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "ledger/store.h"
#include "reports/format.h"

namespace sy::reports {

inline constexpr std::int64_t kDefaultStaleAfterMs = 7 * kMsPerDay;

struct RouteTier {
  std::string route;
  std::string tier;
};

struct ExposureQuery {
  ledger::Filter filter;  // the window for shares; tier proof looks at all time up to until
  std::int64_t now_ms = 0;
  std::int64_t stale_after_ms = kDefaultStaleAfterMs;
  std::map<std::string, double> max_provider_share;  // tenant -> target in (0, 1]
  // Tiers the configuration defines: reported (as never succeeded) even without any record.
  std::vector<RouteTier> expected_tiers;
};

struct ProviderShare {
  std::string provider;
  std::int64_t requests = 0;
  ledger::Micros cost_micros = 0;
  double request_share = 0;
  std::optional<double> spend_share;  // nullopt when the tenant's spend is 0
};

struct TenantExposure {
  std::string tenant;
  std::int64_t requests = 0;  // requests that reached a provider
  ledger::Micros cost_micros = 0;
  std::vector<ProviderShare> providers;  // by requests, descending; then by name
  double request_hhi = 0;                // 0..1
  std::optional<double> spend_hhi;       // 0..1; nullopt when spend is 0
  std::string top_request_provider;
  double top_request_share = 0;
  std::string top_spend_provider;
  std::optional<double> top_spend_share;
  std::optional<double> target;  // max_provider_share
  bool over_target = false;      // a request or spend share is above the target
};

struct TierProof {
  std::string route;
  std::string tier;
  std::int64_t last_success_ms = 0;  // 0 = never (in the ledger)
  std::int64_t last_failure_ms = 0;
  std::string last_success_target;  // provider/model of the last success
  std::vector<ledger::LastOutcome> targets;
  bool unproven = true;
};

struct ExposureReport {
  ledger::Filter filter;
  std::int64_t now_ms = 0;
  std::int64_t stale_after_ms = kDefaultStaleAfterMs;
  std::vector<TenantExposure> tenants;  // by name
  std::vector<TierProof> tiers;         // by route, then core, secondary, fallback, others
};

// HHI of a set of non-negative amounts: sum of (amount / total)^2 on the 0..1 scale; nullopt
// when the total is 0.
std::optional<double> hhi(const std::vector<std::int64_t>& amounts);

// Pure: by_tenant_provider = Store::aggregate(filter, {Tenant, Provider}); outcomes =
// Store::last_outcomes. Records without a provider (no attempt was made) hold no share.
ExposureReport build_exposure(const ExposureQuery& query,
                              const std::vector<ledger::AggregateRow>& by_tenant_provider,
                              const std::vector<ledger::LastOutcome>& outcomes);
// Runs both queries (last_outcomes over [0, filter.until)) and builds the report.
Result<ExposureReport> run_exposure(ledger::Store& store, const ExposureQuery& query);

// Tables: one row per tenant (concentration), per tenant × provider (shares), and per route ×
// tier (fallback proof).
Table exposure_tenants_table(const ExposureReport& report);
Table exposure_shares_table(const ExposureReport& report);
Table exposure_tiers_table(const ExposureReport& report);
// Both tables, each with a title line, for the terminal.
std::string exposure_text(const ExposureReport& report);
boost::json::value exposure_to_json(const ExposureReport& report);
Result<boost::json::value> exposure_json(ledger::Store& store, const ExposureQuery& query);

}  // namespace sy::reports
