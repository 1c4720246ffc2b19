#include "server/tenancy.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <limits>

#include "core/clock.h"
#include "server/runtime.h"
#include "server/snapshot.h"
#include "server/worker.h"

namespace sy::server {

namespace {

policy::Limits limits_of(const config::RateLimits& l) {
  return policy::Limits{static_cast<std::int64_t>(l.rpm), static_cast<std::int64_t>(l.tpm),
                        static_cast<std::int64_t>(l.concurrency)};
}

// "tenant:research:tpm" -> "tenant research: tokens per minute".
std::string describe_limit(const std::string& limited_by) {
  const auto first = limited_by.find(':');
  const auto last = limited_by.rfind(':');
  if (first == std::string::npos || last == first) {
    return limited_by;
  }
  const std::string kind = limited_by.substr(last + 1);
  const std::string metric = kind == "rpm"   ? "requests per minute"
                             : kind == "tpm" ? "tokens per minute"
                                             : "concurrent requests";
  return limited_by.substr(0, first) + " " + limited_by.substr(first + 1, last - first - 1) +
         ": " + metric;
}

}  // namespace

std::optional<Error> authenticate(Worker& worker, const Request& req, RequestContext& ctx) {
  const Snapshot& snap = worker.snapshot();
  if (!snap.config->multi_tenant()) {
    return std::nullopt;  // open mode (loopback only): everyone is tenant "default"
  }
  Runtime& rt = worker.runtime();
  ctx.record.tenant.clear();  // not "default" (open mode) until a key names the tenant
  const auto presented =
      policy::presented_key(req[http::field::authorization], req["x-api-key"]);
  if (!presented) {
    return make_error(ErrorKind::Unauthorized,
                      "A virtual key is required: send it as `Authorization: Bearer <key>` or "
                      "`x-api-key: <key>`.",
                      "missing_api_key");
  }
  auto info = rt.keys->verify(*presented, unix_now_ms());
  if (!info) {
    spdlog::info("request {}: key refused: {}", ctx.request_id, info.error().detail);
    return info.error();
  }
  const TenantView* tenant = snap.find_tenant(info->tenant);
  if (!tenant) {
    // A key of a tenant that was removed from the config: refused like any other bad key.
    auto e = policy::unauthorized("tenant " + info->tenant + " of key " + info->key_id +
                                  " is not configured");
    spdlog::info("request {}: key refused: {}", ctx.request_id, e.detail);
    return e;
  }
  ctx.tenant = tenant;
  ctx.record.tenant = info->tenant;
  ctx.record.key_id = info->key_id;
  return std::nullopt;
}

std::int64_t estimate_tokens(std::size_t body_bytes, std::optional<std::int64_t> max_tokens) {
  // Saturating: a client's max_tokens near INT64_MAX must not wrap the sum to a small or
  // negative estimate (which would reserve nothing and slip past every tpm limit).
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  const auto prompt =
      static_cast<std::int64_t>(std::min<std::size_t>((body_bytes / 4) + (body_bytes % 4 != 0),
                                                      static_cast<std::size_t>(kMax)));
  const std::int64_t output = std::max<std::int64_t>(0, max_tokens.value_or(0));
  return output > kMax - prompt ? kMax : prompt + output;
}

std::optional<Error> admit(Worker& worker, RequestContext& ctx, const Route& route,
                           std::int64_t estimated_tokens) {
  Runtime& rt = worker.runtime();
  const std::int64_t now_ms = unix_now_ms();
  const config::TenantConfig* tc = ctx.tenant ? ctx.tenant->config : nullptr;

  if (tc && (tc->budget.any() || tc->key_budget.any())) {
    if (auto refusal = rt.spend.check(ctx.record.tenant, tc->budget, ctx.record.key_id,
                                      tc->key_budget, now_ms)) {
      Error e = make_error(ErrorKind::RateLimited, refusal->message(), "budget_exceeded");
      e.retry_after = std::to_string(std::max<std::int64_t>(1, (refusal->resets_at_ms - now_ms + 999) / 1000));
      e.detail = refusal->scope + " " + refusal->period + " budget";
      // Retrying before the reset cannot help: the SDKs honour x-should-retry.
      ctx.extra_headers.emplace_back("x-should-retry", "false");
      return e;
    }
  }

  std::vector<policy::Scope> scopes;
  if (tc && tc->limits.any()) {
    scopes.push_back({policy::ScopeKind::Tenant, tc->name, limits_of(tc->limits)});
  }
  if (tc && tc->key_limits.any() && !ctx.record.key_id.empty()) {
    scopes.push_back({policy::ScopeKind::Key, ctx.record.key_id, limits_of(tc->key_limits)});
  }
  if (route.config->limits.any()) {
    scopes.push_back({policy::ScopeKind::Route, route.config->name, limits_of(route.config->limits)});
  }
  if (scopes.empty()) {
    return std::nullopt;
  }
  auto decision = rt.limiter->check_and_reserve(
      scopes, estimated_tokens, policy::TimePoint(std::chrono::milliseconds(now_ms)));
  std::string retry_after;
  for (auto& [name, value] : decision.http_headers()) {
    if (name == "retry-after") {
      retry_after = value;  // set by the error response itself
      continue;
    }
    ctx.extra_headers.emplace_back(std::move(name), std::move(value));
  }
  if (decision.allowed) {
    ctx.reservation = std::move(decision.reservation);
    return std::nullopt;
  }
  const std::string what = describe_limit(decision.limited_by);
  Error e;
  if (decision.too_large) {
    e = make_error(ErrorKind::RateLimited,
                   "Request too large for the rate limit of " + what + ": about " +
                       std::to_string(estimated_tokens) +
                       " tokens (prompt and max_tokens) can never fit. Lower max_tokens or "
                       "shorten the request.",
                   "rate_limit_exceeded");
    ctx.extra_headers.emplace_back("x-should-retry", "false");
  } else {
    e = make_error(ErrorKind::RateLimited,
                   "Rate limit reached for " + what + ". Retry after " + retry_after + "s.",
                   "rate_limit_exceeded");
  }
  e.retry_after = retry_after;
  e.detail = decision.limited_by;
  return e;
}

void count_spend(const RequestContext& ctx) {
  const auto& r = ctx.record;
  if (!ctx.runtime || !r.cost_micros || *r.cost_micros <= 0) {
    return;
  }
  // The request's start in wall time, as the ledger dates it.
  const auto elapsed =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - ctx.start).count();
  ctx.runtime->spend.add(r.tenant, r.key_id, unix_now_ms() - elapsed, *r.cost_micros);
}

void account(RequestContext& ctx) {
  auto& r = ctx.record;
  Runtime* rt = ctx.runtime;
  const auto now = policy::TimePoint(std::chrono::milliseconds(unix_now_ms()));
  if (ctx.reservation) {
    if (r.usage.input_tokens || r.usage.output_tokens) {
      ctx.reservation->settle(r.usage.input_tokens.value_or(0) + r.usage.output_tokens.value_or(0),
                              now);
    } else if (r.attempts == 0 || r.status >= 400) {
      ctx.reservation->settle(0, now);  // nothing was generated: the estimate goes back
    }
    ctx.reservation->release();
    ctx.reservation.reset();
  }
  if (!rt || r.attempts == 0 || r.provider.empty()) {
    return;
  }
  if (ctx.tenant && ctx.tenant->config->policy.max_provider_share) {
    rt->shares.record(r.tenant, r.provider, now);
  }
}

}  // namespace sy::server
