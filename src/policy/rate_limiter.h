#pragma once
// Rate limits per tenant, per virtual key and per route: requests per minute (rpm), tokens per
// minute (tpm) and concurrent requests. One call checks every scope at once and, only when all
// pass, reserves in all of them (all or nothing, see CounterStore::try_acquire):
//
//   auto d = limiter.check_and_reserve(scopes, estimated_tokens, now);
//   if (!d.allowed) { answer 429 with d.http_headers(); }           // Retry-After + x-ratelimit-*
//   ... send upstream ...
//   d.reservation.settle(usage.input + usage.output, now);          // give back over-reservation
//   // ~Reservation releases the concurrency slots
//
// rpm and tpm are token buckets (capacity = the limit, refilled continuously over one minute):
// a burst of up to `limit` is admitted at once, and the long-run rate is `limit` per minute.
// Time is injected. Thread-safe: share one RateLimiter (and its store) between all workers.
//
// Applied per tenant, key and route by server/tenancy.cc. See docs/tenants.md.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "policy/counter_store.h"

namespace sy::policy {

// 0 = no limit of that kind.
struct Limits {
  std::int64_t rpm = 0;
  std::int64_t tpm = 0;
  std::int64_t concurrency = 0;
};

enum class ScopeKind { Tenant, Key, Route };
std::string_view scope_kind_name(ScopeKind kind);  // "tenant", "key", "route"

struct Scope {
  ScopeKind kind = ScopeKind::Tenant;
  std::string id;  // tenant name, key id or route name
  Limits limits;
};

// What was reserved for one admitted request. Move-only; not thread-safe (one request owns it).
// settle() corrects the token reservation to the real usage; release() (or the destructor)
// gives the concurrency slots back. Tokens are not given back by the destructor: an unsettled
// reservation keeps its estimate charged. The store must outlive the reservation.
class Reservation {
 public:
  Reservation() = default;
  Reservation(Reservation&& other) noexcept;
  Reservation& operator=(Reservation&& other) noexcept;
  Reservation(const Reservation&) = delete;
  Reservation& operator=(const Reservation&) = delete;
  ~Reservation();

  bool active() const { return store_ != nullptr; }
  std::int64_t reserved_tokens() const { return reserved_tokens_; }

  // Charges the difference between `actual_tokens` and what is reserved in every tpm scope
  // (negative: tokens go back). May be called again (e.g. as a stream's usage grows).
  void settle(std::int64_t actual_tokens, TimePoint now);
  // Gives the concurrency slots back; idempotent.
  void release();

 private:
  friend class RateLimiter;
  struct TokenBucket {
    std::string key;
    std::int64_t limit;
    Millis window;
  };
  CounterStore* store_ = nullptr;
  std::int64_t reserved_tokens_ = 0;
  std::vector<TokenBucket> tpm_;
  std::vector<std::string> concurrency_;
};

// Values for the OpenAI-style headers; a kind is absent when no scope limits it. When several
// scopes limit the same kind, the one with the fewest remaining is reported.
struct RateLimitInfo {
  std::optional<std::int64_t> limit_requests;
  std::optional<std::int64_t> remaining_requests;
  std::optional<Millis> reset_requests;
  std::optional<std::int64_t> limit_tokens;
  std::optional<std::int64_t> remaining_tokens;
  std::optional<Millis> reset_tokens;
};

struct Decision {
  bool allowed = false;
  Reservation reservation;  // active when allowed
  // Refused: how long to wait; what refused ("tenant:research:tpm"); whether the request can
  // never pass (estimated tokens above a tpm limit, or more than a concurrency ceiling).
  Millis retry_after{0};
  std::string limited_by;
  bool too_large = false;
  RateLimitInfo info;

  // x-ratelimit-{limit,remaining,reset}-{requests,tokens}, and Retry-After (whole seconds,
  // rounded up, at least 1) when refused.
  std::vector<std::pair<std::string, std::string>> http_headers() const;
};

// "250ms", "1s", "1.5s", "6m0s", "1h2m3s": the duration format of OpenAI's reset headers.
std::string format_reset(Millis d);

// Where one scope stands now (the admin API): one state per limited kind.
struct ScopeUsage {
  std::optional<ChargeState> rpm;          // remaining requests, reset
  std::optional<ChargeState> tpm;          // remaining tokens, reset
  std::optional<ChargeState> concurrency;  // remaining slots
};

class RateLimiter {
 public:
  // `store` must outlive the limiter and every reservation it hands out.
  explicit RateLimiter(CounterStore& store, Millis window = Millis(60'000))
      : store_(store), window_(window) {}

  // estimated_tokens: the prompt's size plus max_tokens, charged to every tpm scope.
  Decision check_and_reserve(std::span<const Scope> scopes, std::int64_t estimated_tokens,
                             TimePoint now);

  // Retry-After for a refused concurrency limit: a slot frees when some request ends, which
  // cannot be predicted; this is the hint given.
  static constexpr Millis kConcurrencyRetry{1'000};

  // The scope's counters as they stand, without charging anything.
  ScopeUsage usage(const Scope& scope, TimePoint now) const;

 private:
  CounterStore& store_;
  Millis window_;
};

}  // namespace sy::policy
