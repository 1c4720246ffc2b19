#include "reports/exposure.h"

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <climits>
#include <cstdio>
#include <tuple>
#include <utility>

#include "reports/spend.h"

namespace sy::reports {

namespace {

int tier_rank(const std::string& tier) {
  if (tier == "core") {
    return 0;
  }
  if (tier == "secondary") {
    return 1;
  }
  if (tier == "fallback") {
    return 2;
  }
  return 3;
}

std::string ratio_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", v);
  return buf;
}

std::string points_text(double hhi01) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f", hhi01 * 10'000.0);
  return buf;
}

std::string opt_ratio_text(const std::optional<double>& v) {
  return v ? ratio_text(*v) : "-";
}

boost::json::value opt_json(const std::optional<double>& v, int decimals) {
  if (!v) {
    return nullptr;
  }
  return round_to(*v, decimals);
}

boost::json::value when_json(std::int64_t ms) {
  if (ms == 0) {
    return nullptr;
  }
  return boost::json::value(format_utc(ms));
}

std::string when_text(std::int64_t ms) { return ms == 0 ? "never" : format_utc(ms); }

std::string age_text(std::int64_t now_ms, std::int64_t ms) {
  if (ms == 0) {
    return "-";
  }
  const std::int64_t age = now_ms - ms;
  if (age < 0) {
    return "0m";
  }
  const std::int64_t minutes = age / 60'000;
  if (minutes < 60) {
    return std::to_string(minutes) + "m";
  }
  if (minutes < 48 * 60) {
    return std::to_string(minutes / 60) + "h";
  }
  return std::to_string(minutes / (24 * 60)) + "d";
}

}  // namespace

std::optional<double> hhi(const std::vector<std::int64_t>& amounts) {
  long double total = 0;
  for (auto a : amounts) {
    total += static_cast<long double>(a);
  }
  if (total <= 0) {
    return std::nullopt;
  }
  long double sum = 0;
  for (auto a : amounts) {
    const long double s = static_cast<long double>(a) / total;
    sum += s * s;
  }
  return static_cast<double>(sum);
}

ExposureReport build_exposure(const ExposureQuery& query,
                              const std::vector<ledger::AggregateRow>& by_tenant_provider,
                              const std::vector<ledger::LastOutcome>& outcomes) {
  ExposureReport report;
  report.filter = query.filter;
  report.now_ms = query.now_ms;
  report.stale_after_ms = query.stale_after_ms;

  // tenant -> provider -> (requests, cost)
  std::map<std::string, std::map<std::string, std::pair<std::int64_t, ledger::Micros>>> sums;
  for (const auto& row : by_tenant_provider) {
    if (row.keys.size() < 2 || row.keys[1].empty()) {
      continue;  // no attempt was made: no provider holds this request
    }
    auto& cell = sums[row.keys[0]][row.keys[1]];
    cell.first += row.requests;
    cell.second += row.cost_micros;
  }
  for (const auto& [tenant, providers] : sums) {
    TenantExposure t;
    t.tenant = tenant;
    std::vector<std::int64_t> requests;
    std::vector<std::int64_t> costs;
    for (const auto& [provider, cell] : providers) {
      t.requests += cell.first;
      t.cost_micros += cell.second;
      requests.push_back(cell.first);
      costs.push_back(std::max<ledger::Micros>(cell.second, 0));
    }
    for (const auto& [provider, cell] : providers) {
      ProviderShare p;
      p.provider = provider;
      p.requests = cell.first;
      p.cost_micros = cell.second;
      p.request_share = t.requests > 0 ? static_cast<double>(cell.first) /
                                             static_cast<double>(t.requests)
                                       : 0.0;
      if (t.cost_micros > 0) {
        p.spend_share = static_cast<double>(cell.second) / static_cast<double>(t.cost_micros);
      }
      t.providers.push_back(std::move(p));
    }
    std::stable_sort(t.providers.begin(), t.providers.end(),
                     [](const ProviderShare& a, const ProviderShare& b) {
                       return a.requests > b.requests;
                     });
    t.request_hhi = hhi(requests).value_or(0.0);
    t.spend_hhi = hhi(costs);
    for (const auto& p : t.providers) {
      if (t.top_request_provider.empty() || p.request_share > t.top_request_share) {
        t.top_request_provider = p.provider;
        t.top_request_share = p.request_share;
      }
      if (p.spend_share && (!t.top_spend_share || *p.spend_share > *t.top_spend_share)) {
        t.top_spend_provider = p.provider;
        t.top_spend_share = p.spend_share;
      }
    }
    if (auto it = query.max_provider_share.find(tenant); it != query.max_provider_share.end()) {
      t.target = it->second;
      t.over_target = t.top_request_share > it->second ||
                      (t.top_spend_share && *t.top_spend_share > it->second);
    }
    report.tenants.push_back(std::move(t));
  }

  // Tier proof: (route, tier) -> its targets' outcomes.
  std::map<std::pair<std::string, std::string>, TierProof> tiers;
  for (const auto& rt : query.expected_tiers) {
    auto& tp = tiers[{rt.route, rt.tier}];
    tp.route = rt.route;
    tp.tier = rt.tier;
  }
  for (const auto& o : outcomes) {
    if (o.route.empty() || o.tier.empty()) {
      continue;
    }
    auto& tp = tiers[{o.route, o.tier}];
    tp.route = o.route;
    tp.tier = o.tier;
    tp.targets.push_back(o);
    if (o.last_success_ms > tp.last_success_ms) {
      tp.last_success_ms = o.last_success_ms;
      tp.last_success_target = o.provider + "/" + o.model;
    }
    tp.last_failure_ms = std::max(tp.last_failure_ms, o.last_failure_ms);
  }
  for (auto& [key, tp] : tiers) {
    tp.unproven = tp.last_success_ms == 0 ||
                  query.now_ms - tp.last_success_ms > query.stale_after_ms;
    std::sort(tp.targets.begin(), tp.targets.end(),
              [](const ledger::LastOutcome& a, const ledger::LastOutcome& b) {
                return std::tie(a.provider, a.model) < std::tie(b.provider, b.model);
              });
    report.tiers.push_back(std::move(tp));
  }
  std::stable_sort(report.tiers.begin(), report.tiers.end(),
                   [](const TierProof& a, const TierProof& b) {
                     const int ra = tier_rank(a.tier);
                     const int rb = tier_rank(b.tier);
                     return std::tie(a.route, ra, a.tier) < std::tie(b.route, rb, b.tier);
                   });
  return report;
}

Result<ExposureReport> run_exposure(ledger::Store& store, const ExposureQuery& query) {
  auto rows = store.aggregate(query.filter, {ledger::Dim::Tenant, ledger::Dim::Provider});
  if (!rows) {
    return rows.error();
  }
  ledger::Filter all_time;
  all_time.since_ms = 0;
  all_time.until_ms = query.filter.until_ms;
  auto outcomes = store.last_outcomes(all_time);
  if (!outcomes) {
    return outcomes.error();
  }
  return build_exposure(query, *rows, *outcomes);
}

Table exposure_tenants_table(const ExposureReport& report) {
  Table t;
  t.columns = {"tenant",          "requests",         "cost_usd",          "top_request_provider",
               "top_request_share", "request_hhi",    "request_hhi_points", "top_spend_provider",
               "top_spend_share", "spend_hhi",        "spend_hhi_points",  "max_provider_share",
               "status"};
  t.align = {Align::Left,  Align::Right, Align::Right, Align::Left,  Align::Right,
             Align::Right, Align::Right, Align::Left,  Align::Right, Align::Right,
             Align::Right, Align::Right, Align::Left};
  for (const auto& te : report.tenants) {
    t.rows.push_back({te.tenant, std::to_string(te.requests), format_micros(te.cost_micros),
                      te.top_request_provider, ratio_text(te.top_request_share),
                      ratio_text(te.request_hhi), points_text(te.request_hhi),
                      te.top_spend_share ? te.top_spend_provider : "-",
                      opt_ratio_text(te.top_spend_share), opt_ratio_text(te.spend_hhi),
                      te.spend_hhi ? points_text(*te.spend_hhi) : "-",
                      te.target ? ratio_text(*te.target) : "-",
                      !te.target ? "" : (te.over_target ? "OVER TARGET" : "ok")});
  }
  return t;
}

Table exposure_shares_table(const ExposureReport& report) {
  Table t;
  t.columns = {"tenant", "provider", "requests", "request_share", "cost_usd", "spend_share"};
  t.align = {Align::Left, Align::Left, Align::Right, Align::Right, Align::Right, Align::Right};
  for (const auto& te : report.tenants) {
    for (const auto& p : te.providers) {
      t.rows.push_back({te.tenant, p.provider, std::to_string(p.requests),
                        ratio_text(p.request_share), format_micros(p.cost_micros),
                        opt_ratio_text(p.spend_share)});
    }
  }
  return t;
}

Table exposure_tiers_table(const ExposureReport& report) {
  Table t;
  t.columns = {"route", "tier", "last_success", "age", "last_success_target", "last_failure",
               "status"};
  t.align = {Align::Left, Align::Left, Align::Left, Align::Right,
             Align::Left, Align::Left, Align::Left};
  for (const auto& tp : report.tiers) {
    t.rows.push_back({tp.route, tp.tier, when_text(tp.last_success_ms),
                      age_text(report.now_ms, tp.last_success_ms), tp.last_success_target,
                      when_text(tp.last_failure_ms), tp.unproven ? "UNPROVEN" : "proven"});
  }
  return t;
}

std::string exposure_text(const ExposureReport& report) {
  std::string out = "Concentration per tenant (" + format_utc(report.filter.since_ms) + " .. " +
                    (report.filter.until_ms == INT64_MAX ? std::string("now")
                                                         : format_utc(report.filter.until_ms)) +
                    ")\n";
  out += render_table(exposure_tenants_table(report));
  out += "\nProvider shares\n";
  out += render_table(exposure_shares_table(report));
  out += "\nFallback proof (unproven: no success in the last " +
         std::to_string(report.stale_after_ms / kMsPerDay) + " days" +
         (report.stale_after_ms % kMsPerDay != 0
              ? " " + std::to_string((report.stale_after_ms % kMsPerDay) / 3'600'000) + " hours"
              : std::string()) +
         ")\n";
  out += render_table(exposure_tiers_table(report));
  return out;
}

boost::json::value exposure_to_json(const ExposureReport& report) {
  boost::json::object out;
  out["report"] = "exposure";
  out["period"] = period_json(report.filter);
  out["now"] = format_utc(report.now_ms);
  boost::json::array tenants;
  for (const auto& te : report.tenants) {
    boost::json::object o;
    o["tenant"] = te.tenant;
    o["requests"] = te.requests;
    o["cost_usd"] = format_micros(te.cost_micros);
    o["cost_micros"] = te.cost_micros;
    boost::json::array providers;
    for (const auto& p : te.providers) {
      boost::json::object po;
      po["provider"] = p.provider;
      po["requests"] = p.requests;
      po["request_share"] = round_to(p.request_share, 6);
      po["cost_usd"] = format_micros(p.cost_micros);
      po["cost_micros"] = p.cost_micros;
      po["spend_share"] = opt_json(p.spend_share, 6);
      providers.emplace_back(std::move(po));
    }
    o["providers"] = std::move(providers);
    boost::json::object req;
    req["hhi"] = round_to(te.request_hhi, 6);
    req["hhi_points"] = round_to(te.request_hhi * 10'000.0, 2);
    req["top_provider"] = te.top_request_provider;
    req["top_share"] = round_to(te.top_request_share, 6);
    o["requests_concentration"] = std::move(req);
    boost::json::object spend;
    spend["hhi"] = opt_json(te.spend_hhi, 6);
    spend["hhi_points"] =
        te.spend_hhi ? boost::json::value(round_to(*te.spend_hhi * 10'000.0, 2)) : nullptr;
    spend["top_provider"] =
        te.top_spend_share ? boost::json::value(te.top_spend_provider) : nullptr;
    spend["top_share"] = opt_json(te.top_spend_share, 6);
    o["spend_concentration"] = std::move(spend);
    o["max_provider_share"] = opt_json(te.target, 6);
    o["over_target"] = te.over_target;
    tenants.emplace_back(std::move(o));
  }
  out["tenants"] = std::move(tenants);
  boost::json::object proof;
  proof["stale_after_seconds"] = report.stale_after_ms / 1000;
  boost::json::array tiers;
  for (const auto& tp : report.tiers) {
    boost::json::object o;
    o["route"] = tp.route;
    o["tier"] = tp.tier;
    o["last_success"] = when_json(tp.last_success_ms);
    o["last_success_target"] =
        tp.last_success_ms ? boost::json::value(tp.last_success_target) : nullptr;
    o["last_failure"] = when_json(tp.last_failure_ms);
    o["unproven"] = tp.unproven;
    boost::json::array targets;
    for (const auto& lo : tp.targets) {
      boost::json::object to;
      to["provider"] = lo.provider;
      to["model"] = lo.model;
      to["last_success"] = when_json(lo.last_success_ms);
      to["last_failure"] = when_json(lo.last_failure_ms);
      targets.emplace_back(std::move(to));
    }
    o["targets"] = std::move(targets);
    tiers.emplace_back(std::move(o));
  }
  proof["tiers"] = std::move(tiers);
  out["fallback_proof"] = std::move(proof);
  return out;
}

Result<boost::json::value> exposure_json(ledger::Store& store, const ExposureQuery& query) {
  auto report = run_exposure(store, query);
  if (!report) {
    return report.error();
  }
  return exposure_to_json(*report);
}

}  // namespace sy::reports
