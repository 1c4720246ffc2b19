#include "policy/rate_limiter.h"

#include <algorithm>

namespace sy::policy {
namespace {

enum class Metric { Rpm, Tpm, Concurrency };

std::string_view metric_name(Metric m) {
  switch (m) {
    case Metric::Rpm: return "rpm";
    case Metric::Tpm: return "tpm";
    case Metric::Concurrency: return "concurrency";
  }
  return "";
}

struct Meta {
  const Scope* scope;
  Metric metric;
};

}  // namespace

std::string_view scope_kind_name(ScopeKind kind) {
  switch (kind) {
    case ScopeKind::Tenant: return "tenant";
    case ScopeKind::Key: return "key";
    case ScopeKind::Route: return "route";
  }
  return "";
}

Reservation::Reservation(Reservation&& other) noexcept
    : store_(std::exchange(other.store_, nullptr)),
      reserved_tokens_(std::exchange(other.reserved_tokens_, 0)),
      tpm_(std::move(other.tpm_)),
      concurrency_(std::move(other.concurrency_)) {}

Reservation& Reservation::operator=(Reservation&& other) noexcept {
  if (this != &other) {
    release();
    store_ = std::exchange(other.store_, nullptr);
    reserved_tokens_ = std::exchange(other.reserved_tokens_, 0);
    tpm_ = std::move(other.tpm_);
    concurrency_ = std::move(other.concurrency_);
  }
  return *this;
}

Reservation::~Reservation() { release(); }

void Reservation::settle(std::int64_t actual_tokens, TimePoint now) {
  if (store_ == nullptr) {
    return;
  }
  actual_tokens = std::max<std::int64_t>(0, actual_tokens);
  const std::int64_t delta = actual_tokens - reserved_tokens_;
  if (delta != 0) {
    for (const TokenBucket& b : tpm_) {
      store_->adjust(b.key, delta, b.limit, b.window, now);
    }
  }
  reserved_tokens_ = actual_tokens;
}

void Reservation::release() {
  if (store_ == nullptr) {
    return;
  }
  for (const std::string& key : concurrency_) {
    store_->release(key, 1);
  }
  concurrency_.clear();
  tpm_.clear();
  store_ = nullptr;
}

std::string format_reset(Millis d) {
  std::int64_t ms = std::max<std::int64_t>(0, d.count());
  if (ms < 1000) {
    return std::to_string(ms) + "ms";
  }
  std::int64_t h = ms / 3'600'000;
  std::int64_t m = (ms / 60'000) % 60;
  std::int64_t s = (ms / 1000) % 60;
  std::int64_t frac = ms % 1000;
  std::string out;
  if (h > 0) {
    out += std::to_string(h) + "h";
  }
  if (h > 0 || m > 0) {
    out += std::to_string(m) + "m";
  }
  out += std::to_string(s);
  if (frac > 0) {
    std::string f = std::to_string(frac);
    f.insert(0, 3 - f.size(), '0');
    while (!f.empty() && f.back() == '0') {
      f.pop_back();
    }
    out += "." + f;
  }
  out += "s";
  return out;
}

std::vector<std::pair<std::string, std::string>> Decision::http_headers() const {
  std::vector<std::pair<std::string, std::string>> h;
  if (info.limit_requests) {
    h.emplace_back("x-ratelimit-limit-requests", std::to_string(*info.limit_requests));
    h.emplace_back("x-ratelimit-remaining-requests", std::to_string(*info.remaining_requests));
    h.emplace_back("x-ratelimit-reset-requests", format_reset(*info.reset_requests));
  }
  if (info.limit_tokens) {
    h.emplace_back("x-ratelimit-limit-tokens", std::to_string(*info.limit_tokens));
    h.emplace_back("x-ratelimit-remaining-tokens", std::to_string(*info.remaining_tokens));
    h.emplace_back("x-ratelimit-reset-tokens", format_reset(*info.reset_tokens));
  }
  if (!allowed) {
    std::int64_t secs = std::max<std::int64_t>(1, (retry_after.count() + 999) / 1000);
    h.emplace_back("retry-after", std::to_string(secs));
  }
  return h;
}

Decision RateLimiter::check_and_reserve(std::span<const Scope> scopes,
                                        std::int64_t estimated_tokens, TimePoint now) {
  estimated_tokens = std::max<std::int64_t>(0, estimated_tokens);
  // On the request path: one allocation per counter key, none for the vectors' growth.
  std::vector<Charge> charges;
  std::vector<Meta> meta;
  charges.reserve(scopes.size() * 3);
  meta.reserve(scopes.size() * 3);
  for (const Scope& sc : scopes) {
    const std::string_view kind = scope_kind_name(sc.kind);
    auto key = [&](std::string_view metric) {
      std::string k;
      k.reserve(5 + kind.size() + sc.id.size() + metric.size());
      k.append("rl:").append(kind).append(":").append(sc.id).append(":").append(metric);
      return k;
    };
    if (sc.limits.rpm > 0) {
      charges.push_back({key("rpm"), ChargeKind::Rate, 1, sc.limits.rpm, window_});
      meta.push_back({&sc, Metric::Rpm});
    }
    if (sc.limits.tpm > 0) {
      charges.push_back({key("tpm"), ChargeKind::Rate, estimated_tokens, sc.limits.tpm, window_});
      meta.push_back({&sc, Metric::Tpm});
    }
    if (sc.limits.concurrency > 0) {
      charges.push_back(
          {key("concurrency"), ChargeKind::Concurrency, 1, sc.limits.concurrency, window_});
      meta.push_back({&sc, Metric::Concurrency});
    }
  }

  Decision d;
  if (charges.empty()) {
    d.allowed = true;
    return d;  // nothing limited: an inactive reservation, no headers
  }
  AcquireOutcome out = store_.try_acquire(charges, now);
  d.allowed = out.allowed;

  // Header values: per kind, the scope with the fewest remaining.
  for (std::size_t k = 0; k < charges.size(); ++k) {
    const ChargeState& st = out.states[k];
    if (meta[k].metric == Metric::Rpm) {
      if (!d.info.remaining_requests || st.remaining < *d.info.remaining_requests) {
        d.info.limit_requests = charges[k].limit;
        d.info.remaining_requests = st.remaining;
        d.info.reset_requests = st.reset;
      }
    } else if (meta[k].metric == Metric::Tpm) {
      if (!d.info.remaining_tokens || st.remaining < *d.info.remaining_tokens) {
        d.info.limit_tokens = charges[k].limit;
        d.info.remaining_tokens = st.remaining;
        d.info.reset_tokens = st.reset;
      }
    }
  }

  if (!out.allowed) {
    // The refusal that takes longest to clear is the one to report.
    for (std::size_t k = 0; k < charges.size(); ++k) {
      const ChargeState& st = out.states[k];
      if (st.allowed) {
        continue;
      }
      Millis wait = meta[k].metric == Metric::Concurrency ? kConcurrencyRetry : st.retry_after;
      if (d.limited_by.empty() || wait > d.retry_after) {
        d.retry_after = wait;
        d.limited_by = std::string(scope_kind_name(meta[k].scope->kind)) + ":" +
                       meta[k].scope->id + ":" + std::string(metric_name(meta[k].metric));
      }
      d.too_large = d.too_large || st.too_large;
    }
    return d;
  }

  d.reservation.store_ = &store_;
  d.reservation.reserved_tokens_ = estimated_tokens;
  for (std::size_t k = 0; k < charges.size(); ++k) {
    if (meta[k].metric == Metric::Tpm) {
      d.reservation.tpm_.push_back({std::move(charges[k].key), charges[k].limit, charges[k].window});
    } else if (meta[k].metric == Metric::Concurrency) {
      d.reservation.concurrency_.push_back(std::move(charges[k].key));
    }
  }
  return d;
}

ScopeUsage RateLimiter::usage(const Scope& scope, TimePoint now) const {
  std::string base = "rl:";
  base.append(scope_kind_name(scope.kind)).append(":").append(scope.id).append(":");
  ScopeUsage u;
  if (scope.limits.rpm > 0) {
    u.rpm = store_.peek({base + "rpm", ChargeKind::Rate, 0, scope.limits.rpm, window_}, now);
  }
  if (scope.limits.tpm > 0) {
    u.tpm = store_.peek({base + "tpm", ChargeKind::Rate, 0, scope.limits.tpm, window_}, now);
  }
  if (scope.limits.concurrency > 0) {
    u.concurrency = store_.peek(
        {base + "concurrency", ChargeKind::Concurrency, 0, scope.limits.concurrency, window_}, now);
  }
  return u;
}

}  // namespace sy::policy
