#include "server/admin_tenants.h"

#include <spdlog/spdlog.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/url/parse.hpp>
#include <chrono>

#include "core/clock.h"
#include "server/access_log.h"
#include "server/runtime.h"
#include "server/snapshot.h"

namespace sy::server {

namespace {

namespace json = boost::json;
using http_status = boost::beast::http::status;

// null for 0 (never).
json::value iso(std::int64_t ms) {
  return ms > 0 ? json::value(iso8601_utc(ms)) : json::value(nullptr);
}

std::string_view key_status(const policy::KeyRecord& r, std::int64_t now) {
  if (r.revoked_ms != 0) {
    return "revoked";
  }
  if (r.expires_ms != 0 && r.expires_ms <= now) {
    return "expired";
  }
  return "active";
}

json::object key_json(const policy::KeyRecord& r, std::int64_t now) {
  json::object o;
  o["key_id"] = r.key_id;
  o["tenant"] = r.tenant;
  o["name"] = r.name;
  o["status"] = key_status(r, now);
  o["created_at"] = iso(r.created_ms);
  o["expires_at"] = iso(r.expires_ms);
  o["revoked_at"] = iso(r.revoked_ms);
  return o;
}

Error no_keys() {
  return make_error(ErrorKind::NotFound,
                    "Virtual keys need tenants: none is configured (the gateway runs open).",
                    "tenants_off");
}

json::value limits_json(const config::RateLimits& l) {
  if (!l.any()) {
    return nullptr;
  }
  json::object o;
  o["rpm"] = l.rpm ? json::value(l.rpm) : json::value(nullptr);
  o["tpm"] = l.tpm ? json::value(l.tpm) : json::value(nullptr);
  o["concurrency"] = l.concurrency ? json::value(l.concurrency) : json::value(nullptr);
  return o;
}

std::string reset_text(policy::Millis d) { return policy::format_reset(d); }

// The counters of one scope as they stand now.
json::value usage_json(Runtime& rt, policy::ScopeKind kind, const std::string& id,
                       const config::RateLimits& l) {
  if (!l.any()) {
    return nullptr;
  }
  const policy::Scope scope{kind, id,
                            policy::Limits{static_cast<std::int64_t>(l.rpm),
                                           static_cast<std::int64_t>(l.tpm),
                                           static_cast<std::int64_t>(l.concurrency)}};
  const auto u =
      rt.limiter->usage(scope, policy::TimePoint(std::chrono::milliseconds(unix_now_ms())));
  json::object o;
  if (u.rpm) {
    o["requests"] = json::object{{"limit", l.rpm},
                                 {"remaining", u.rpm->remaining},
                                 {"reset", reset_text(u.rpm->reset)}};
  }
  if (u.tpm) {
    o["tokens"] = json::object{{"limit", l.tpm},
                               {"remaining", u.tpm->remaining},
                               {"reset", reset_text(u.tpm->reset)}};
  }
  if (u.concurrency) {
    o["concurrency"] = json::object{
        {"limit", l.concurrency},
        {"in_flight", static_cast<std::int64_t>(l.concurrency) - u.concurrency->remaining}};
  }
  return o;
}

json::object budget_json(const config::Budget& b, const policy::SpendNow& s) {
  json::object day;
  day["spent_usd"] = format_usd(s.day);
  day["limit_usd"] = b.usd_per_day ? json::value(format_usd(b.usd_per_day)) : json::value(nullptr);
  day["resets_at"] = iso(s.day_resets_at_ms);
  json::object month;
  month["spent_usd"] = format_usd(s.month);
  month["limit_usd"] =
      b.usd_per_month ? json::value(format_usd(b.usd_per_month)) : json::value(nullptr);
  month["resets_at"] = iso(s.month_resets_at_ms);
  return json::object{{"day", std::move(day)}, {"month", std::move(month)}};
}

json::object tenant_json(Runtime& rt, const Snapshot& snap, const TenantView& view,
                         const std::vector<policy::KeyRecord>* keys) {
  const config::TenantConfig& t = *view.config;
  const std::int64_t now = unix_now_ms();
  json::object o;
  o["name"] = t.name;
  o["limits"] = limits_json(t.limits);
  o["usage"] = usage_json(rt, policy::ScopeKind::Tenant, t.name, t.limits);
  o["key_limits"] = limits_json(t.key_limits);
  o["budget"] = budget_json(t.budget, rt.spend.tenant_spend(t.name, now));
  json::object policy;
  json::array permitted;
  json::object refused;
  for (std::size_t i = 0; i < snap.config->providers.size(); ++i) {
    const auto& name = snap.config->providers[i].name;
    if (view.permitted(i)) {
      permitted.push_back(json::value(name));
    } else {
      refused[name] = view.refusal[i];
    }
  }
  policy["permitted_providers"] = std::move(permitted);
  policy["refused_providers"] = std::move(refused);
  json::array redact;
  for (const auto& k : t.policy.redact) {
    redact.push_back(json::value(k));
  }
  policy["redact"] = std::move(redact);
  if (t.policy.max_provider_share) {
    policy["max_provider_share"] = *t.policy.max_provider_share;
    policy["enforce"] = t.policy.enforce;
    policy["share_window_ms"] = t.policy.share_window.count();
    json::object shares;
    for (const auto& [provider, share] : rt.shares.shares(
             t.name, t.policy.share_window, policy::TimePoint(std::chrono::milliseconds(now)))) {
      shares[provider] = share;
    }
    policy["shares"] = std::move(shares);
  } else {
    policy["max_provider_share"] = nullptr;
  }
  o["policy"] = std::move(policy);
  if (keys) {
    json::array list;
    for (const auto& r : *keys) {
      json::object k = key_json(r, now);
      k["usage"] = usage_json(rt, policy::ScopeKind::Key, r.key_id, t.key_limits);
      k["budget"] = budget_json(t.key_budget, rt.spend.key_spend(r.key_id, now));
      list.push_back(std::move(k));
    }
    o["keys"] = std::move(list);
  }
  return o;
}

}  // namespace

Result<AdminReply> admin_list_keys(Runtime& rt, std::string_view target) {
  if (!rt.key_store) {
    return no_keys();
  }
  std::optional<std::string> tenant;
  if (auto url = boost::urls::parse_origin_form(target)) {
    for (const auto& p : url->params()) {
      if (p.key == "tenant" && !p.value.empty()) {
        tenant = p.value;
      }
    }
  }
  auto records = [&] {
    std::lock_guard<std::mutex> lock(rt.key_store_mu);
    return rt.key_store->list(tenant);
  }();
  if (!records) {
    return records.error();
  }
  const std::int64_t now = unix_now_ms();
  json::array data;
  for (const auto& r : *records) {
    data.push_back(key_json(r, now));
  }
  return AdminReply{http_status::ok, json::serialize(json::object{{"data", std::move(data)}})};
}

Result<AdminReply> admin_create_key(Runtime& rt, const Snapshot& snap, std::string_view body) {
  if (!rt.key_store) {
    return no_keys();
  }
  boost::system::error_code ec;
  auto parsed = json::parse(body, ec);
  const json::object* o = ec ? nullptr : parsed.if_object();
  if (!o) {
    return make_error(ErrorKind::InvalidRequest, "Body must be a JSON object.");
  }
  auto text = [&](const char* key) -> std::optional<std::string> {
    const auto* v = o->if_contains(key);
    if (!v || v->is_null()) {
      return std::string();
    }
    if (!v->is_string()) {
      return std::nullopt;
    }
    return std::string(v->as_string());
  };
  const auto tenant = text("tenant");
  const auto name = text("name");
  const auto expires = text("expires");
  if (!tenant || tenant->empty() || !snap.find_tenant(*tenant)) {
    return make_error(ErrorKind::InvalidRequest, "`tenant` must name a configured tenant.",
                      "invalid_value", "tenant");
  }
  if (!name || !expires) {
    return make_error(ErrorKind::InvalidRequest, "`name` and `expires` must be strings.",
                      "invalid_value");
  }
  const std::int64_t now = unix_now_ms();
  auto expiry = policy::parse_expiry(*expires, now);
  if (!expiry) {
    // parse_expiry() speaks to the CLI ("--expires: ..."); here the field is `expires`.
    Error e = expiry.error();
    constexpr std::string_view kFlag = "--expires";
    if (e.public_message.rfind(kFlag, 0) == 0) {
      e.public_message = "`expires`" + e.public_message.substr(kFlag.size());
    }
    e.param = "expires";
    return e;
  }
  if (*expiry != 0 && *expiry <= now) {
    return make_error(ErrorKind::InvalidRequest, "`expires` must be in the future.",
                      "invalid_value", "expires");
  }
  auto created = [&] {
    std::lock_guard<std::mutex> lock(rt.key_store_mu);
    return policy::create_key(*rt.key_store, *tenant, *name, *expiry, now);
  }();
  if (!created) {
    return created.error();
  }
  if (rt.keys) {
    rt.keys->upsert(created->record);  // usable at once in this process
  }
  spdlog::info("admin: created key {} for tenant {}", created->record.key_id, *tenant);
  json::object out = key_json(created->record, now);
  out["key"] = created->key;
  out["warning"] = "This is the only time the key is shown; only a salted hash is stored.";
  return AdminReply{http_status::created, json::serialize(out)};
}

Result<AdminReply> admin_revoke_key(Runtime& rt, std::string_view key_id) {
  if (!rt.key_store) {
    return no_keys();
  }
  // A pasted full key is reduced to its id, as `switchyard keys revoke` does (never echoed).
  if (const auto parsed = policy::parse_key(key_id)) {
    key_id = parsed->key_id;
  }
  const std::int64_t now = unix_now_ms();
  auto outcome = [&] {
    std::lock_guard<std::mutex> lock(rt.key_store_mu);
    return rt.key_store->revoke(key_id, now);
  }();
  if (!outcome) {
    return outcome.error();
  }
  if (*outcome == policy::RevokeOutcome::NotFound) {
    return make_error(ErrorKind::NotFound, "No such key.", "not_found");
  }
  if (*outcome == policy::RevokeOutcome::Revoked && rt.keys) {
    rt.keys->mark_revoked(key_id, now);  // refused at once in this process
    spdlog::info("admin: revoked key {}", key_id);
  }
  json::object out;
  out["key_id"] = key_id;
  out["revoked"] = true;
  out["already_revoked"] = *outcome == policy::RevokeOutcome::AlreadyRevoked;
  return AdminReply{http_status::ok, json::serialize(out)};
}

Result<AdminReply> admin_tenants(Runtime& rt, const Snapshot& snap, std::string_view name) {
  if (!name.empty()) {
    const TenantView* view = snap.find_tenant(std::string(name));
    if (!view) {
      return make_error(ErrorKind::NotFound, "No such tenant.", "not_found");
    }
    std::vector<policy::KeyRecord> keys;
    if (rt.key_store) {
      auto records = [&] {
        std::lock_guard<std::mutex> lock(rt.key_store_mu);
        return rt.key_store->list(std::string(name));
      }();
      if (!records) {
        return records.error();
      }
      keys = std::move(*records);
    }
    return AdminReply{http_status::ok, json::serialize(tenant_json(rt, snap, *view, &keys))};
  }
  json::array data;
  for (const auto& t : snap.config->tenants) {
    data.push_back(tenant_json(rt, snap, *snap.find_tenant(t.name), nullptr));
  }
  json::object out;
  out["open_mode"] = !snap.config->multi_tenant();
  out["data"] = std::move(data);
  return AdminReply{http_status::ok, json::serialize(out)};
}

}  // namespace sy::server
