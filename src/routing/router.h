#pragma once
// Tiered routing: which targets a request tries, in which order, and whether another attempt
// is allowed. Pure decisions over injected time and randomness; the request path (server/)
// does the I/O. Shared by all workers: every class here is thread-safe.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace sy::routing {

using Clock = std::chrono::steady_clock;
using WallClock = std::chrono::system_clock;

enum class Tier { Core = 0, Secondary = 1, Fallback = 2 };
const char* tier_name(Tier t);

// One target of a route as the planner sees it for one request.
struct TargetView {
  std::string key;         // "provider/model": the health key
  std::string provider;
  Tier tier = Tier::Core;
  std::uint32_t weight = 1;
  bool eligible = true;    // enabled, has every needed capability, allowed by policy, not drilled
};

struct Attempt {
  std::size_t index = 0;  // into the TargetView list
  bool canary = false;    // chosen by the canary share, not by tier order
};

struct HealthConfig {
  std::uint32_t consecutive_failures = 5;  // eject after this many failures in a row
  double error_rate = 0.5;                 // or when the window's error rate reaches this...
  std::uint32_t min_requests = 20;         // ...with at least this many requests in it
  std::chrono::milliseconds window{30'000};
  std::chrono::milliseconds base_ejection{30'000};  // doubles on each repeat ejection
  std::chrono::milliseconds max_ejection{300'000};
  // A half-open trial whose outcome is not recorded (or released) within this time is given
  // up, so that a lost trial cannot keep a target out for ever.
  std::chrono::milliseconds trial_timeout{60'000};
};

struct TargetHealth {
  bool ejected = false;
  bool half_open = false;          // ejection over, one trial request allowed
  std::uint64_t ejections = 0;
  std::int64_t last_success_ms = 0;  // wall clock, Unix ms; 0 = never
  std::int64_t last_failure_ms = 0;
  std::int64_t ejected_until_ms = 0;
};

// Passive outlier detection per target key. Behind an interface so replicas can share it later.
class HealthTracker {
 public:
  virtual ~HealthTracker() = default;
  // Whether a request may go to `key` now. When the ejection has run out, exactly one caller
  // gets true (the half-open trial) until that trial's outcome is recorded.
  virtual bool admit(const std::string& key, Clock::time_point now) = 0;
  virtual void record(const std::string& key, bool success, Clock::time_point now,
                      WallClock::time_point wall) = 0;
  // Gives back a half-open trial that admit() (or plan()) handed out but the request never
  // used (an earlier attempt succeeded). No effect when `key` holds no trial.
  virtual void release(const std::string& key) = 0;
  virtual TargetHealth health(const std::string& key, Clock::time_point now) const = 0;
  virtual std::vector<std::string> keys() const = 0;
};
std::unique_ptr<HealthTracker> make_local_health_tracker(HealthConfig config);

// The attempt order for one request:
//  - with probability `canary` (and when a lower tier has an eligible, admitted target), the
//    first attempt is a canary: one secondary-or-fallback target chosen by weight across both;
//  - then the tiers in order; within a tier, targets in weighted random order (without
//    replacement) among eligible ones; targets the health tracker does not admit are left out
//    (so a request moves down a tier only when every eligible target above failed or is out);
//  - a target appears at most once.
std::vector<Attempt> plan(const std::vector<TargetView>& targets, double canary,
                          HealthTracker& health, Clock::time_point now, std::mt19937_64& rng);

// Keeps retries from multiplying load in an outage: a retry is allowed while retries in the
// sliding window stay under max(min_per_second * window_seconds, ratio * requests in window).
class RetryBudget {
 public:
  RetryBudget(double ratio = 0.2, double min_per_second = 3.0,
              std::chrono::milliseconds window = std::chrono::milliseconds{10'000});
  void on_request(Clock::time_point now);
  bool try_retry(Clock::time_point now);  // consumes one retry when allowed

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// Exponential backoff with full jitter: uniform in [0, min(cap, base * 2^retry)]; a
// Retry-After (seconds or an HTTP-date, parsed relative to `wall_now`) raises the wait to at
// least that, unless it exceeds `max_wait` (then nullopt: do not wait for this target).
std::chrono::milliseconds backoff(unsigned retry, std::mt19937_64& rng,
                                  std::chrono::milliseconds base = std::chrono::milliseconds{50},
                                  std::chrono::milliseconds cap = std::chrono::milliseconds{2'000});
std::optional<std::chrono::milliseconds> parse_retry_after(const std::string& value,
                                                          WallClock::time_point wall_now);
// The wait before retry number `retry` (0 = first retry): backoff(), raised to `retry_after`
// when the upstream sent one; nullopt when that exceeds `max_wait` (try another target now).
std::optional<std::chrono::milliseconds> retry_wait(
    unsigned retry, std::mt19937_64& rng, std::optional<std::chrono::milliseconds> retry_after,
    std::chrono::milliseconds max_wait,
    std::chrono::milliseconds base = std::chrono::milliseconds{50},
    std::chrono::milliseconds cap = std::chrono::milliseconds{2'000});

// Operator drills: "provider P is down until T" (optionally for one route or tenant).
struct Drill {
  std::string id;
  std::string provider;
  std::string route;   // "" = every route
  std::string tenant;  // "" = every tenant
  std::int64_t starts_ms = 0;
  std::int64_t ends_ms = 0;
};
class DrillRegistry {
 public:
  DrillRegistry();
  std::string add(Drill drill);  // returns its id
  bool remove(const std::string& id);
  bool drilled(const std::string& provider, const std::string& route, const std::string& tenant,
               std::int64_t now_ms) const;
  std::vector<Drill> active(std::int64_t now_ms) const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace sy::routing
