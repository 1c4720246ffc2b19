#pragma once
// Exposure guard: each provider's share of a tenant's requests over a trailing window, and the
// plan order that prefers providers under the tenant's `max_provider_share` target
// (config: tenants[].policy.{max_provider_share, enforce, share_window}).
//
//   ShareTracker shares;                                   // one per process, shared by workers
//   shares.set_window("research", Millis(3'600'000));      // per tenant, from its share_window
//   ...
//   auto order = prefer_under_share(shares, tenant, plan_providers, *target, now);
//   ... try the plan's attempts in `order` ...
//   shares.record(tenant, provider_of_last_attempt, now);  // once per request that reached one
//
// record() counts what the ledger's `provider` column holds (the provider of the request's last
// attempt), so the live share and the exposure report measure the same thing. A request that
// reached no provider is not recorded.
//
// Counts are kept in time buckets, one ring per tenant: the bucket width is window / 60 (at
// least 1 s) and the ring holds ceil(window / width) buckets, so memory per tenant is bounded by
// that many buckets times its providers, and old buckets expire by being overwritten.
// Granularity error: a share over `window` sums the last k = ceil(window / width) buckets, the
// current one included. A request still counts while its age is below (k - 1) x width and never
// once its age reaches k x width; in between, it depends on where in its bucket it fell. So the
// window is measured to within one bucket (1/60 of the configured window, at least 1 s); when
// the width divides the window (1 h: 1 min buckets), nothing older than the window counts.
//
// With few requests the shares move in large steps (after one request its provider holds 100%):
// an enforced target then alternates the order between providers until traffic builds up.
// Time is injected (policy::TimePoint, Unix epoch ms). Time that goes backwards is fine: a
// request lands in the bucket of its own time, or is dropped when that bucket has already been
// overwritten by a newer one.
//
// Thread-safe: tenants are spread over shards, each a mutex and a map; every call locks one.

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "policy/counter_store.h"

namespace sy::config {
struct DataPolicy;
}

namespace sy::policy {

class ShareTracker {
 public:
  static constexpr std::size_t kShards = 16;
  static constexpr std::int64_t kBucketsPerWindow = 60;
  static constexpr Millis kMinBucket{1'000};

  // `default_window`: the window of tenants without set_window (config default: 1 h).
  explicit ShareTracker(Millis default_window = Millis(3'600'000));

  // The bucket width for a window: window / 60, at least 1 s.
  static Millis bucket_width(Millis window);

  // The tenant's share window (its buckets' width and how many are kept). A change re-buckets
  // what is counted so far into the new width (each old bucket goes whole into the new bucket
  // holding its start). Windows below 1 s are taken as 1 s.
  void set_window(std::string_view tenant, Millis window);

  // Counts one request of `tenant` that `provider` served (was attempted on).
  void record(std::string_view tenant, std::string_view provider, TimePoint now);
  // Adds `count` (> 0) requests at time `at`, e.g. from the ledger at start-up.
  void prime(std::string_view tenant, std::string_view provider, std::int64_t count,
             TimePoint at);

  // provider's requests / all the tenant's requests over the trailing window; 0 when none.
  // A window longer than the tenant's own is cut to the buckets kept (its own window).
  double share(std::string_view tenant, std::string_view provider, Millis window,
               TimePoint now) const;
  // Every provider with a request in the window -> its share (they sum to 1); empty when none.
  std::map<std::string, double> shares(std::string_view tenant, Millis window,
                                       TimePoint now) const;
  // The tenant's requests over the trailing window.
  std::int64_t total(std::string_view tenant, Millis window, TimePoint now) const;

  // Drops tenants without set_window whose every bucket is older than their window; returns how
  // many were dropped.
  std::size_t sweep(TimePoint now);
  std::size_t size() const;

 private:
  static constexpr std::int64_t kNoBucket = std::numeric_limits<std::int64_t>::min();

  struct Bucket {
    std::int64_t index = kNoBucket;     // floor(time / width)
    std::int64_t total = 0;
    std::vector<std::int64_t> counts;  // by provider id; missing = 0
  };
  struct Tenant {
    Millis width{kMinBucket};
    std::vector<Bucket> ring;            // bucket i lives at ring[i mod ring.size()]
    std::vector<std::string> providers;  // provider id -> name
    bool configured = false;             // set_window was called: never swept

    void resize(Millis window);
    std::size_t provider_id(std::string_view provider);
    void add(std::size_t provider, std::int64_t count, std::int64_t at_ms);
    // The bucket `index` when it is still in the ring, else nullptr.
    const Bucket* find(std::int64_t index) const;
    // [first, last] bucket indices of the trailing window ending at now (first > last: none).
    std::pair<std::int64_t, std::int64_t> window_range(Millis window, TimePoint now) const;
  };
  struct Shard {
    mutable std::mutex mu;
    std::map<std::string, Tenant, std::less<>> tenants;
  };

  static std::size_t shard_of(std::string_view tenant);
  Tenant& tenant_locked(Shard& shard, std::string_view tenant);
  void add(std::string_view tenant, std::string_view provider, std::int64_t count, TimePoint at);

  Millis default_window_;
  std::array<Shard, kShards> shards_;
};

// A tenant's enforced exposure target.
struct ShareTarget {
  double max_share = 1.0;  // (0, 1]
  Millis window{3'600'000};
};

// The target to enforce for a data policy: present only with `enforce: true` and a
// `max_provider_share` (a target without enforce is only reported).
std::optional<ShareTarget> enforced_share_target(const config::DataPolicy& policy);

// Whether `provider` served strictly more than target.max_share of the tenant's requests over
// target.window (strict, like the exposure report's `over_target`).
bool over_target(const ShareTracker& tracker, std::string_view tenant, std::string_view provider,
                 const ShareTarget& target, TimePoint now);

// Pure: the plan's indices, reordered so that every attempt whose provider's share is strictly
// above max_share comes after all the others; the order within both groups is kept. When every
// attempt is over (or none is), the original order is returned. share_of is called once per
// attempt.
std::vector<std::size_t> prefer_under_share(
    std::span<const std::string> providers_in_plan_order,
    const std::function<double(std::string_view)>& share_of, double max_share);

// The same with the tenant's current shares (read in one lock).
std::vector<std::size_t> prefer_under_share(const ShareTracker& tracker, std::string_view tenant,
                                            std::span<const std::string> providers_in_plan_order,
                                            const ShareTarget& target, TimePoint now);

}  // namespace sy::policy
