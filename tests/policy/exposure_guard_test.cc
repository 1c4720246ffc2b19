#include "policy/exposure_guard.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "config/schema.h"

namespace sy::policy {
namespace {

// A whole minute (and second), so that bucket boundaries fall on round offsets from it.
const TimePoint kT0{Millis(1'700'000'040'000)};
constexpr Millis kHour{3'600'000};
constexpr Millis kMinute{60'000};
constexpr Millis kSecond{1'000};

TimePoint at(Millis offset) { return kT0 + offset; }

TEST(ShareTracker, BucketWidth) {
  EXPECT_EQ(ShareTracker::bucket_width(kHour), kMinute);
  EXPECT_EQ(ShareTracker::bucket_width(10 * kMinute), 10 * kSecond);
  EXPECT_EQ(ShareTracker::bucket_width(10 * kSecond), kSecond);  // at least 1 s
  EXPECT_EQ(ShareTracker::bucket_width(Millis(0)), kSecond);
}

TEST(ShareTracker, ExactSharesForASimpleSequence) {
  ShareTracker t;
  EXPECT_EQ(t.share("research", "openai", kHour, at(Millis(0))), 0.0);  // nothing yet
  EXPECT_TRUE(t.shares("research", kHour, at(Millis(0))).empty());
  t.record("research", "openai", at(Millis(0)));
  EXPECT_EQ(t.share("research", "openai", kHour, at(Millis(0))), 1.0);
  t.record("research", "claude", at(Millis(10)));
  t.record("research", "openai", at(5 * kMinute));
  t.record("research", "openai", at(20 * kMinute));
  const TimePoint now = at(30 * kMinute);
  EXPECT_EQ(t.share("research", "openai", kHour, now), 0.75);
  EXPECT_EQ(t.share("research", "claude", kHour, now), 0.25);
  EXPECT_EQ(t.share("research", "local", kHour, now), 0.0);
  EXPECT_EQ(t.total("research", kHour, now), 4);
  EXPECT_EQ(t.shares("research", kHour, now),
            (std::map<std::string, double>{{"claude", 0.25}, {"openai", 0.75}}));
  EXPECT_EQ(t.share("nobody", "openai", kHour, now), 0.0);
  EXPECT_EQ(t.total("nobody", kHour, now), 0);
  EXPECT_EQ(t.share("research", "openai", Millis(0), now), 0.0);  // an empty window
}

TEST(ShareTracker, WindowExpiry) {
  ShareTracker t;  // 1 h window: 60 one-minute buckets
  t.record("research", "openai", at(Millis(0)));
  t.record("research", "claude", at(30 * kMinute));
  EXPECT_EQ(t.share("research", "openai", kHour, at(kHour - Millis(1))), 0.5);
  // At exactly one hour the first request has left the window.
  EXPECT_EQ(t.share("research", "openai", kHour, at(kHour)), 0.0);
  EXPECT_EQ(t.share("research", "claude", kHour, at(kHour)), 1.0);
  EXPECT_EQ(t.shares("research", kHour, at(kHour)),
            (std::map<std::string, double>{{"claude", 1.0}}));
  EXPECT_EQ(t.total("research", kHour, at(90 * kMinute)), 0);
  EXPECT_TRUE(t.shares("research", kHour, at(90 * kMinute)).empty());
  // A shorter window over the same buckets.
  EXPECT_EQ(t.share("research", "claude", 10 * kMinute, at(35 * kMinute)), 1.0);
  EXPECT_EQ(t.total("research", 10 * kMinute, at(35 * kMinute)), 1);
  // A longer window is cut to the hour kept.
  EXPECT_EQ(t.total("research", 2 * kHour, at(kHour)), 1);

  // The granularity error: a request half-way through its minute leaves with its bucket, half a
  // minute before it is an hour old.
  ShareTracker g;
  g.record("research", "openai", at(30 * kSecond));
  EXPECT_EQ(g.total("research", kHour, at(kHour - Millis(1))), 1);
  EXPECT_EQ(g.total("research", kHour, at(kHour)), 0);

  // A 10 s window has 1 s buckets.
  ShareTracker s;
  s.set_window("research", 10 * kSecond);
  s.record("research", "openai", at(Millis(0)));
  s.record("research", "claude", at(5 * kSecond));
  EXPECT_EQ(s.share("research", "openai", 10 * kSecond, at(10 * kSecond - Millis(1))), 0.5);
  EXPECT_EQ(s.share("research", "openai", 10 * kSecond, at(10 * kSecond)), 0.0);
  EXPECT_EQ(s.share("research", "claude", 10 * kSecond, at(10 * kSecond)), 1.0);
  EXPECT_EQ(s.total("research", 10 * kSecond, at(15 * kSecond)), 0);
}

TEST(ShareTracker, TenantsAreIndependent) {
  ShareTracker t;
  t.set_window("fast", 10 * kSecond);
  for (int i = 0; i < 3; ++i) {
    t.record("research", "openai", at(Millis(i)));
  }
  t.record("research", "claude", at(Millis(3)));
  t.record("default", "claude", at(Millis(0)));
  t.record("fast", "local", at(Millis(0)));
  const TimePoint now = at(kSecond);
  EXPECT_EQ(t.share("research", "openai", kHour, now), 0.75);
  EXPECT_EQ(t.share("default", "claude", kHour, now), 1.0);
  EXPECT_EQ(t.share("default", "openai", kHour, now), 0.0);
  EXPECT_EQ(t.share("fast", "local", kHour, now), 1.0);
  EXPECT_EQ(t.size(), 3u);
  // Only "fast" has a 10 s window.
  EXPECT_EQ(t.total("fast", kHour, at(20 * kSecond)), 0);
  EXPECT_EQ(t.total("research", kHour, at(20 * kSecond)), 4);
  EXPECT_EQ(t.total("default", kHour, at(20 * kSecond)), 1);
}

TEST(ShareTracker, PrimeSeedsFromTheLedger) {
  ShareTracker t;
  t.prime("research", "openai", 80, at(-30 * kMinute));
  t.prime("research", "claude", 20, at(-10 * kMinute));
  t.prime("research", "local", 0, at(Millis(0)));   // ignored
  t.prime("research", "local", -5, at(Millis(0)));  // ignored
  EXPECT_EQ(t.total("research", kHour, at(Millis(0))), 100);
  EXPECT_EQ(t.share("research", "openai", kHour, at(Millis(0))), 0.8);
  EXPECT_EQ(t.shares("research", kHour, at(Millis(0))),
            (std::map<std::string, double>{{"claude", 0.2}, {"openai", 0.8}}));
  // Live requests add to the primed counts.
  for (int i = 0; i < 100; ++i) {
    t.record("research", "claude", at(Millis(i)));
  }
  EXPECT_EQ(t.share("research", "claude", kHour, at(kSecond)), 0.6);
  // Primed counts expire like any other: an hour after their time.
  EXPECT_EQ(t.share("research", "claude", kHour, at(30 * kMinute)), 1.0);
  // A count older than the window kept changes nothing.
  t.prime("research", "openai", 1'000, at(-2 * kHour));
  EXPECT_EQ(t.share("research", "claude", kHour, at(30 * kMinute)), 1.0);
}

TEST(ShareTracker, TimeGoingBackwards) {
  ShareTracker t;
  t.record("research", "openai", at(5 * kMinute));
  t.record("research", "claude", at(Millis(0)));  // an earlier bucket: still counted
  EXPECT_EQ(t.share("research", "claude", kHour, at(6 * kMinute)), 0.5);
  // So far back that its slot holds a newer bucket: dropped.
  t.record("research", "claude", at(-2 * kHour + 5 * kMinute));
  EXPECT_EQ(t.total("research", kHour, at(6 * kMinute)), 2);
  // Asked about an earlier time, the buckets of later times are not counted.
  EXPECT_EQ(t.total("research", kHour, at(kMinute)), 1);
}

TEST(ShareTracker, SetWindowRebuckets) {
  ShareTracker t;  // tenant starts with the default hour
  for (int m = 0; m < 10; ++m) {
    t.record("research", m < 8 ? "openai" : "claude", at(m * kMinute + 30 * kSecond));
  }
  const TimePoint now = at(10 * kMinute);
  EXPECT_EQ(t.share("research", "openai", kHour, now), 0.8);
  t.set_window("research", 20 * kMinute);  // 20 s buckets: every count is kept
  EXPECT_EQ(t.total("research", 20 * kMinute, now), 10);
  EXPECT_EQ(t.share("research", "openai", 20 * kMinute, now), 0.8);
  // 5 s buckets, 60 of them: minutes 5..9 are kept. A bucket moves whole to the new bucket
  // holding its start (m:00), so minute 5 is exactly 5 minutes old and out of the window.
  t.set_window("research", 5 * kMinute);
  EXPECT_EQ(t.total("research", 5 * kMinute, now), 4);
  EXPECT_EQ(t.share("research", "claude", 5 * kMinute, now), 0.5);
  t.set_window("research", 5 * kMinute);  // unchanged: nothing moves
  EXPECT_EQ(t.total("research", 5 * kMinute, now), 4);
  t.set_window("research", kHour);  // back to minutes: what was kept stays
  EXPECT_EQ(t.total("research", kHour, now), 5);
  t.record("research", "openai", now);
  EXPECT_EQ(t.total("research", kHour, now), 6);
}

TEST(ShareTracker, SweepDropsIdleTenants) {
  ShareTracker t;
  t.record("research", "openai", at(Millis(0)));
  t.record("default", "openai", at(30 * kMinute));
  t.set_window("configured", kHour);
  EXPECT_EQ(t.size(), 3u);
  EXPECT_EQ(t.sweep(at(30 * kMinute)), 0u);
  EXPECT_EQ(t.sweep(at(kHour)), 1u);  // research's only bucket has expired
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.sweep(at(2 * kHour)), 1u);  // default; the configured tenant stays
  EXPECT_EQ(t.size(), 1u);
}

// 8 threads record at once (over several buckets and tenants) while another reads: every
// request is counted exactly once.
TEST(ShareTracker, ConcurrentRecordsAreExact) {
  ShareTracker t;
  const std::vector<std::string> tenants = {"research", "default", "batch", "eval"};
  const std::vector<std::string> providers = {"openai", "claude", "local"};
  constexpr int kThreads = 8;
  constexpr int kPerThread = 6'000;
  std::atomic<bool> done{false};
  std::thread reader([&] {
    while (!done.load()) {
      for (const auto& tenant : tenants) {
        double sum = 0;
        for (const auto& [p, s] : t.shares(tenant, kHour, at(kHour - Millis(1)))) {
          sum += s;
        }
        EXPECT_TRUE(sum == 0.0 || std::abs(sum - 1.0) < 1e-9) << sum;
      }
    }
  });
  std::vector<std::thread> threads;
  for (int k = 0; k < kThreads; ++k) {
    threads.emplace_back([&, k] {
      for (int i = 0; i < kPerThread; ++i) {
        const auto& tenant = tenants[static_cast<std::size_t>(i % 4)];
        const auto& provider = providers[static_cast<std::size_t>((i / 4) % 3)];
        t.record(tenant, provider, at(Millis((i + k) % 60) * 60'000));
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  done.store(true);
  reader.join();
  // Per thread: 1,500 per tenant, 500 per tenant and provider.
  for (const auto& tenant : tenants) {
    EXPECT_EQ(t.total(tenant, kHour, at(kHour - Millis(1))), kThreads * kPerThread / 4);
    for (const auto& provider : providers) {
      EXPECT_DOUBLE_EQ(t.share(tenant, provider, kHour, at(kHour - Millis(1))), 1.0 / 3);
    }
  }
}

std::function<double(std::string_view)> table(std::map<std::string, double> shares) {
  return [shares = std::move(shares)](std::string_view p) {
    auto it = shares.find(std::string(p));
    return it != shares.end() ? it->second : 0.0;
  };
}

TEST(PreferUnderShare, OverTargetGoLastStably) {
  const std::vector<std::string> plan = {"openai", "claude", "openai", "local", "claude"};
  auto shares = table({{"openai", 0.6}, {"claude", 0.3}, {"local", 0.1}});
  EXPECT_EQ(prefer_under_share(plan, shares, 0.5), (std::vector<std::size_t>{1, 3, 4, 0, 2}));
  EXPECT_EQ(prefer_under_share(plan, shares, 0.2), (std::vector<std::size_t>{3, 0, 1, 2, 4}));
  // Exactly at the target is not over it.
  EXPECT_EQ(prefer_under_share(plan, shares, 0.6), (std::vector<std::size_t>{0, 1, 2, 3, 4}));
}

TEST(PreferUnderShare, AllOverOrNoneOverKeepsThePlan) {
  const std::vector<std::string> plan = {"openai", "claude", "openai"};
  EXPECT_EQ(prefer_under_share(plan, table({{"openai", 0.9}, {"claude", 0.9}}), 0.5),
            (std::vector<std::size_t>{0, 1, 2}));
  EXPECT_EQ(prefer_under_share(plan, table({}), 0.5), (std::vector<std::size_t>{0, 1, 2}));
  EXPECT_TRUE(prefer_under_share({}, table({}), 0.5).empty());
}

TEST(PreferUnderShare, FromTheTracker) {
  ShareTracker t;
  t.set_window("research", 10 * kMinute);
  for (int i = 0; i < 9; ++i) {
    t.record("research", "openai", at(Millis(i)));
  }
  t.record("research", "claude", at(Millis(9)));
  const std::vector<std::string> plan = {"openai", "claude", "local"};
  const ShareTarget target{0.8, 10 * kMinute};
  const TimePoint now = at(kMinute);
  EXPECT_TRUE(over_target(t, "research", "openai", target, now));
  EXPECT_FALSE(over_target(t, "research", "claude", target, now));
  EXPECT_FALSE(over_target(t, "research", "local", target, now));
  EXPECT_EQ(prefer_under_share(t, "research", plan, target, now),
            (std::vector<std::size_t>{1, 2, 0}));
  EXPECT_EQ(prefer_under_share(t, "research", plan, ShareTarget{0.9, 10 * kMinute}, now),
            (std::vector<std::size_t>{0, 1, 2}));
  EXPECT_EQ(prefer_under_share(t, "default", plan, target, now),
            (std::vector<std::size_t>{0, 1, 2}));
  // Once the window has passed, nobody is over.
  EXPECT_EQ(prefer_under_share(t, "research", plan, target, at(11 * kMinute)),
            (std::vector<std::size_t>{0, 1, 2}));
}

TEST(EnforcedShareTarget, OnlyWithEnforceAndAShare) {
  config::DataPolicy p;
  EXPECT_FALSE(enforced_share_target(p));
  p.max_provider_share = 0.8;
  EXPECT_FALSE(enforced_share_target(p));  // reported only
  p.enforce = true;
  p.share_window = 15 * kMinute;
  auto target = enforced_share_target(p);
  ASSERT_TRUE(target);
  EXPECT_EQ(target->max_share, 0.8);
  EXPECT_EQ(target->window, 15 * kMinute);
}

}  // namespace
}  // namespace sy::policy
