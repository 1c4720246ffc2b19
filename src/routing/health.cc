// Passive outlier detection: each target key is Healthy or Ejected. A failure
// streak or a bad error rate over a sliding window ejects it for base_ejection
// * 2^k (capped), where k counts the ejections since it was last healthy for a
// while. When the ejection runs out, one request is let through (half-open);
// its success restores the target, its failure ejects it again for longer. One
// mutex for the whole table: every operation is O(1) (the window has a fixed
// number of buckets), so the critical sections are short.

#include <algorithm>
#include <array>
#include <mutex>
#include <unordered_map>

#include "routing/router.h"

namespace sy::routing {
namespace {

using std::chrono::milliseconds;

constexpr std::size_t kBuckets = 10; // the window's resolution: window / 10

std::int64_t steady_ms(Clock::time_point t) {
  return std::chrono::duration_cast<milliseconds>(t.time_since_epoch()).count();
}

std::int64_t unix_ms(WallClock::time_point t) {
  return std::chrono::duration_cast<milliseconds>(t.time_since_epoch()).count();
}

struct Bucket {
  std::int64_t index =
      -1; // which bucket-width slice of time this bucket counts
  std::uint32_t requests = 0;
  std::uint32_t failures = 0;
};

struct TargetState {
  // Outcomes in the sliding window.
  std::array<Bucket, kBuckets> buckets{};
  std::uint32_t consecutive_failures = 0;

  bool ejected = false;
  std::int64_t ejected_until = 0; // steady ms
  bool trial_out = false;         // the half-open trial has been handed out
  std::int64_t trial_started = 0; // steady ms
  std::uint32_t streak =
      0; // ejections since the target was last healthy for a while
  std::int64_t restored_at =
      -1; // steady ms when it last came back; -1 = never ejected

  std::uint64_t ejections = 0;
  std::int64_t last_success_ms = 0;
  std::int64_t last_failure_ms = 0;
  std::int64_t ejected_until_wall = 0;
};

class LocalHealthTracker final : public HealthTracker {
public:
  explicit LocalHealthTracker(HealthConfig config) : config_(config) {
    const std::int64_t window =
        std::max<std::int64_t>(config_.window.count(), 1);
    bucket_ms_ =
        std::max<std::int64_t>(window / static_cast<std::int64_t>(kBuckets), 1);
  }

  bool admit(const std::string &key, Clock::time_point now) override {
    const std::lock_guard lock(mu_);
    const auto it = targets_.find(key);
    if (it == targets_.end() || !it->second.ejected) {
      return true;
    }
    TargetState &s = it->second;
    const std::int64_t t = steady_ms(now);
    if (t < s.ejected_until) {
      return false;
    }
    if (s.trial_out && t - s.trial_started < config_.trial_timeout.count()) {
      return false; // someone else holds the trial
    }
    s.trial_out = true;
    s.trial_started = t;
    return true;
  }

  void record(const std::string &key, bool success, Clock::time_point now,
              WallClock::time_point wall) override {
    const std::lock_guard lock(mu_);
    TargetState &s = targets_[key];
    const std::int64_t t = steady_ms(now);
    if (success) {
      s.last_success_ms = unix_ms(wall);
    } else {
      s.last_failure_ms = unix_ms(wall);
    }
    if (s.ejected) {
      if (!s.trial_out) {
        return; // a late answer to a request sent before the ejection: not
                // evidence either way
      }
      s.trial_out = false;
      if (success) {
        restore(s, t);
      } else {
        eject(s, t, wall);
      }
      return;
    }
    Bucket &b = bucket_for(s, t);
    ++b.requests;
    if (success) {
      s.consecutive_failures = 0;
      return;
    }
    ++b.failures;
    ++s.consecutive_failures;
    if (config_.consecutive_failures > 0 &&
        s.consecutive_failures >= config_.consecutive_failures) {
      eject(s, t, wall);
      return;
    }
    if (config_.error_rate > 0.0) {
      std::uint64_t requests = 0;
      std::uint64_t failures = 0;
      window_totals(s, t, requests, failures);
      if (requests >= std::max<std::uint32_t>(config_.min_requests, 1) &&
          static_cast<double>(failures) >=
              config_.error_rate * static_cast<double>(requests)) {
        eject(s, t, wall);
      }
    }
  }

  void release(const std::string &key) override {
    const std::lock_guard lock(mu_);
    const auto it = targets_.find(key);
    if (it != targets_.end()) {
      it->second.trial_out = false;
    }
  }

  TargetHealth health(const std::string &key,
                      Clock::time_point now) const override {
    const std::lock_guard lock(mu_);
    TargetHealth h;
    const auto it = targets_.find(key);
    if (it == targets_.end()) {
      return h;
    }
    const TargetState &s = it->second;
    const bool waiting = s.ejected && steady_ms(now) < s.ejected_until;
    h.ejected = waiting;
    h.half_open = s.ejected && !waiting;
    h.ejections = s.ejections;
    h.last_success_ms = s.last_success_ms;
    h.last_failure_ms = s.last_failure_ms;
    h.ejected_until_ms = s.ejected ? s.ejected_until_wall : 0;
    return h;
  }

  std::vector<std::string> keys() const override {
    const std::lock_guard lock(mu_);
    std::vector<std::string> out;
    out.reserve(targets_.size());
    for (const auto &entry : targets_) {
      out.push_back(entry.first);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

private:
  Bucket &bucket_for(TargetState &s, std::int64_t t) const {
    const std::int64_t index = t / bucket_ms_;
    Bucket &b = s.buckets[static_cast<std::size_t>(
        index % static_cast<std::int64_t>(kBuckets))];
    if (b.index != index) {
      b = Bucket{index, 0, 0};
    }
    return b;
  }

  void window_totals(const TargetState &s, std::int64_t t,
                     std::uint64_t &requests, std::uint64_t &failures) const {
    const std::int64_t index = t / bucket_ms_;
    for (const Bucket &b : s.buckets) {
      if (b.index >= 0 &&
          b.index > index - static_cast<std::int64_t>(kBuckets) &&
          b.index <= index) {
        requests += b.requests;
        failures += b.failures;
      }
    }
  }

  void eject(TargetState &s, std::int64_t t, WallClock::time_point wall) const {
    // A target that stayed healthy for max_ejection since it came back starts
    // from the base ejection time again; otherwise each ejection doubles the
    // previous one.
    if (!s.ejected && s.restored_at >= 0 &&
        t - s.restored_at >= config_.max_ejection.count()) {
      s.streak = 0;
    }
    std::int64_t length =
        std::max<std::int64_t>(config_.base_ejection.count(), 0);
    const std::int64_t cap =
        std::max<std::int64_t>(config_.max_ejection.count(), length);
    for (std::uint32_t i = 0; i < s.streak && length < cap; ++i) {
      length *= 2;
    }
    length = std::min(length, cap);
    ++s.streak;
    ++s.ejections;
    s.ejected = true;
    s.trial_out = false;
    s.ejected_until = t + length;
    s.ejected_until_wall = unix_ms(wall) + length;
    s.consecutive_failures = 0;
    s.buckets.fill(Bucket{});
  }

  static void restore(TargetState &s, std::int64_t t) {
    s.ejected = false;
    s.trial_out = false;
    s.restored_at = t;
    s.ejected_until = 0;
    s.ejected_until_wall = 0;
    s.consecutive_failures = 0;
    s.buckets.fill(Bucket{});
  }

  const HealthConfig config_;
  std::int64_t bucket_ms_ = 1;
  mutable std::mutex mu_;
  std::unordered_map<std::string, TargetState> targets_;
};

} // namespace

std::unique_ptr<HealthTracker> make_local_health_tracker(HealthConfig config) {
  return std::make_unique<LocalHealthTracker>(config);
}

} // namespace sy::routing
