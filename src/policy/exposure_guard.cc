#include "policy/exposure_guard.h"

#include <algorithm>

#include "config/schema.h"

namespace sy::policy {
namespace {

// Floor division for b > 0 (times before the epoch round down too).
std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  const std::int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

std::size_t ring_slot(std::int64_t index, std::size_t size) {
  const auto n = static_cast<std::int64_t>(size);
  return static_cast<std::size_t>(((index % n) + n) % n);
}

}  // namespace

// --- ShareTracker::Tenant ------------------------------------------------------------------

void ShareTracker::Tenant::resize(Millis window) {
  const Millis w = bucket_width(window);
  const auto n = static_cast<std::size_t>((window.count() + w.count() - 1) / w.count());
  if (w == width && n == ring.size()) {
    return;
  }
  std::vector<Bucket> old = std::move(ring);
  const Millis old_width = width;
  width = w;
  ring.assign(n, Bucket{});
  for (const Bucket& b : old) {
    if (b.index == kNoBucket) {
      continue;
    }
    for (std::size_t p = 0; p < b.counts.size(); ++p) {
      if (b.counts[p] > 0) {
        add(p, b.counts[p], b.index * old_width.count());
      }
    }
  }
}

std::size_t ShareTracker::Tenant::provider_id(std::string_view provider) {
  auto it = std::find(providers.begin(), providers.end(), provider);
  if (it != providers.end()) {
    return static_cast<std::size_t>(it - providers.begin());
  }
  providers.emplace_back(provider);
  return providers.size() - 1;
}

void ShareTracker::Tenant::add(std::size_t provider, std::int64_t count, std::int64_t at_ms) {
  const std::int64_t index = floor_div(at_ms, width.count());
  Bucket& b = ring[ring_slot(index, ring.size())];
  if (b.index > index) {
    return;  // that slot already holds a newer bucket: this one has expired
  }
  if (b.index < index) {
    b.index = index;
    b.total = 0;
    std::fill(b.counts.begin(), b.counts.end(), 0);
  }
  if (b.counts.size() <= provider) {
    b.counts.resize(provider + 1, 0);
  }
  b.counts[provider] += count;
  b.total += count;
}

const ShareTracker::Bucket* ShareTracker::Tenant::find(std::int64_t index) const {
  const Bucket& b = ring[ring_slot(index, ring.size())];
  return b.index == index ? &b : nullptr;
}

std::pair<std::int64_t, std::int64_t> ShareTracker::Tenant::window_range(Millis window,
                                                                          TimePoint now) const {
  if (window <= Millis(0)) {
    return {1, 0};
  }
  const std::int64_t w = width.count();
  const std::int64_t k =
      std::min((window.count() + w - 1) / w, static_cast<std::int64_t>(ring.size()));
  const std::int64_t last = floor_div(now.time_since_epoch().count(), w);
  return {last - k + 1, last};
}

// --- ShareTracker ----------------------------------------------------------------------------

ShareTracker::ShareTracker(Millis default_window)
    : default_window_(std::max(default_window, kMinBucket)) {}

Millis ShareTracker::bucket_width(Millis window) {
  return std::max(window / kBucketsPerWindow, kMinBucket);
}

std::size_t ShareTracker::shard_of(std::string_view tenant) {
  return std::hash<std::string_view>{}(tenant) % kShards;
}

ShareTracker::Tenant& ShareTracker::tenant_locked(Shard& shard, std::string_view tenant) {
  auto it = shard.tenants.find(tenant);
  if (it == shard.tenants.end()) {
    it = shard.tenants.emplace(std::string(tenant), Tenant{}).first;
    it->second.resize(default_window_);
  }
  return it->second;
}

void ShareTracker::set_window(std::string_view tenant, Millis window) {
  Shard& shard = shards_[shard_of(tenant)];
  std::lock_guard lock(shard.mu);
  Tenant& t = tenant_locked(shard, tenant);
  t.configured = true;
  t.resize(std::max(window, kMinBucket));
}

void ShareTracker::add(std::string_view tenant, std::string_view provider, std::int64_t count,
                       TimePoint at) {
  Shard& shard = shards_[shard_of(tenant)];
  std::lock_guard lock(shard.mu);
  Tenant& t = tenant_locked(shard, tenant);
  t.add(t.provider_id(provider), count, at.time_since_epoch().count());
}

void ShareTracker::record(std::string_view tenant, std::string_view provider, TimePoint now) {
  add(tenant, provider, 1, now);
}

void ShareTracker::prime(std::string_view tenant, std::string_view provider, std::int64_t count,
                         TimePoint at) {
  if (count > 0) {
    add(tenant, provider, count, at);
  }
}

double ShareTracker::share(std::string_view tenant, std::string_view provider, Millis window,
                           TimePoint now) const {
  const Shard& shard = shards_[shard_of(tenant)];
  std::lock_guard lock(shard.mu);
  auto it = shard.tenants.find(tenant);
  if (it == shard.tenants.end()) {
    return 0.0;
  }
  const Tenant& t = it->second;
  auto p = std::find(t.providers.begin(), t.providers.end(), provider);
  if (p == t.providers.end()) {
    return 0.0;
  }
  const auto id = static_cast<std::size_t>(p - t.providers.begin());
  std::int64_t mine = 0;
  std::int64_t all = 0;
  const auto [first, last] = t.window_range(window, now);
  for (std::int64_t i = first; i <= last; ++i) {
    if (const Bucket* b = t.find(i)) {
      all += b->total;
      mine += id < b->counts.size() ? b->counts[id] : 0;
    }
  }
  return all > 0 ? static_cast<double>(mine) / static_cast<double>(all) : 0.0;
}

std::map<std::string, double> ShareTracker::shares(std::string_view tenant, Millis window,
                                                   TimePoint now) const {
  std::map<std::string, double> out;
  const Shard& shard = shards_[shard_of(tenant)];
  std::lock_guard lock(shard.mu);
  auto it = shard.tenants.find(tenant);
  if (it == shard.tenants.end()) {
    return out;
  }
  const Tenant& t = it->second;
  std::vector<std::int64_t> counts(t.providers.size(), 0);
  std::int64_t all = 0;
  const auto [first, last] = t.window_range(window, now);
  for (std::int64_t i = first; i <= last; ++i) {
    if (const Bucket* b = t.find(i)) {
      all += b->total;
      for (std::size_t p = 0; p < b->counts.size(); ++p) {
        counts[p] += b->counts[p];
      }
    }
  }
  for (std::size_t p = 0; p < counts.size(); ++p) {
    if (counts[p] > 0) {
      out[t.providers[p]] = static_cast<double>(counts[p]) / static_cast<double>(all);
    }
  }
  return out;
}

std::int64_t ShareTracker::total(std::string_view tenant, Millis window, TimePoint now) const {
  const Shard& shard = shards_[shard_of(tenant)];
  std::lock_guard lock(shard.mu);
  auto it = shard.tenants.find(tenant);
  if (it == shard.tenants.end()) {
    return 0;
  }
  const Tenant& t = it->second;
  std::int64_t all = 0;
  const auto [first, last] = t.window_range(window, now);
  for (std::int64_t i = first; i <= last; ++i) {
    if (const Bucket* b = t.find(i)) {
      all += b->total;
    }
  }
  return all;
}

std::size_t ShareTracker::sweep(TimePoint now) {
  std::size_t dropped = 0;
  for (Shard& shard : shards_) {
    std::lock_guard lock(shard.mu);
    for (auto it = shard.tenants.begin(); it != shard.tenants.end();) {
      const Tenant& t = it->second;
      const Millis kept = t.width * static_cast<std::int64_t>(t.ring.size());
      const std::int64_t first = t.window_range(kept, now).first;
      const bool live = std::any_of(t.ring.begin(), t.ring.end(), [&](const Bucket& b) {
        return b.index != kNoBucket && b.index >= first;
      });
      if (!t.configured && !live) {
        it = shard.tenants.erase(it);
        ++dropped;
      } else {
        ++it;
      }
    }
  }
  return dropped;
}

std::size_t ShareTracker::size() const {
  std::size_t n = 0;
  for (const Shard& shard : shards_) {
    std::lock_guard lock(shard.mu);
    n += shard.tenants.size();
  }
  return n;
}

// --- Targets and plan order ------------------------------------------------------------------

std::optional<ShareTarget> enforced_share_target(const config::DataPolicy& policy) {
  if (!policy.enforce || !policy.max_provider_share) {
    return std::nullopt;
  }
  return ShareTarget{*policy.max_provider_share, policy.share_window};
}

bool over_target(const ShareTracker& tracker, std::string_view tenant, std::string_view provider,
                 const ShareTarget& target, TimePoint now) {
  return tracker.share(tenant, provider, target.window, now) > target.max_share;
}

std::vector<std::size_t> prefer_under_share(
    std::span<const std::string> providers_in_plan_order,
    const std::function<double(std::string_view)>& share_of, double max_share) {
  std::vector<std::size_t> under;
  std::vector<std::size_t> over;
  under.reserve(providers_in_plan_order.size());
  for (std::size_t i = 0; i < providers_in_plan_order.size(); ++i) {
    (share_of(providers_in_plan_order[i]) > max_share ? over : under).push_back(i);
  }
  if (under.empty()) {
    return over;  // every attempt is over: nothing to prefer, the plan's order stands
  }
  under.insert(under.end(), over.begin(), over.end());
  return under;
}

std::vector<std::size_t> prefer_under_share(const ShareTracker& tracker, std::string_view tenant,
                                            std::span<const std::string> providers_in_plan_order,
                                            const ShareTarget& target, TimePoint now) {
  const std::map<std::string, double> current = tracker.shares(tenant, target.window, now);
  return prefer_under_share(
      providers_in_plan_order,
      [&current](std::string_view provider) {
        auto it = current.find(std::string(provider));
        return it != current.end() ? it->second : 0.0;
      },
      target.max_share);
}

}  // namespace sy::policy
