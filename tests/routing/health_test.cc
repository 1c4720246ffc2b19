#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "routing/router.h"

namespace sy::routing {
namespace {

using namespace std::chrono_literals;

const Clock::time_point kT0 = Clock::time_point{} + 1h;
const WallClock::time_point kWall0 =
    WallClock::time_point{} + std::chrono::seconds{1'700'000'000};
constexpr std::int64_t kWall0Ms = 1'700'000'000'000;

HealthConfig config() {
  HealthConfig c;
  c.consecutive_failures = 3;
  c.error_rate = 0.5;
  c.min_requests = 10;
  c.window = 10s;
  c.base_ejection = 10s;
  c.max_ejection = 35s;
  return c;
}

void fail(HealthTracker &h, const std::string &key, Clock::time_point now,
          int n = 1) {
  for (int i = 0; i < n; ++i) {
    h.record(key, false, now, kWall0 + (now - kT0));
  }
}

void succeed(HealthTracker &h, const std::string &key, Clock::time_point now) {
  h.record(key, true, now, kWall0 + (now - kT0));
}

TEST(Health, UnknownTargetsAreHealthyAndAdmitted) {
  auto h = make_local_health_tracker(config());
  EXPECT_TRUE(h->admit("a/m", kT0));
  const TargetHealth th = h->health("a/m", kT0);
  EXPECT_FALSE(th.ejected);
  EXPECT_FALSE(th.half_open);
  EXPECT_EQ(th.ejections, 0u);
  EXPECT_EQ(th.last_success_ms, 0);
  EXPECT_TRUE(h->keys().empty());
}

TEST(Health, EjectedAfterConsecutiveFailures) {
  auto h = make_local_health_tracker(config());
  fail(*h, "a/m", kT0, 2);
  succeed(*h, "a/m", kT0); // breaks the streak
  fail(*h, "a/m", kT0, 2);
  EXPECT_FALSE(h->health("a/m", kT0).ejected);
  EXPECT_TRUE(h->admit("a/m", kT0));
  fail(*h, "a/m", kT0 + 1s);
  const TargetHealth th = h->health("a/m", kT0 + 1s);
  EXPECT_TRUE(th.ejected);
  EXPECT_EQ(th.ejections, 1u);
  EXPECT_EQ(th.ejected_until_ms, kWall0Ms + 11'000);
  EXPECT_FALSE(h->admit("a/m", kT0 + 1s));
  EXPECT_FALSE(h->admit("a/m", kT0 + 10'999ms));
  EXPECT_TRUE(h->admit("b/m", kT0 + 1s)); // other targets are unaffected
}

TEST(Health, EjectedByErrorRateOverTheWindow) {
  HealthConfig c = config();
  c.consecutive_failures = 0; // off
  auto h = make_local_health_tracker(c);
  // 9 requests, 5 failures: above the rate but under min_requests.
  for (int i = 0; i < 4; ++i) {
    succeed(*h, "a/m", kT0);
    fail(*h, "a/m", kT0);
  }
  fail(*h, "a/m", kT0);
  EXPECT_FALSE(h->health("a/m", kT0).ejected);
  fail(*h, "a/m", kT0); // 10 requests, 6 failures
  EXPECT_TRUE(h->health("a/m", kT0).ejected);
}

TEST(Health, OldOutcomesLeaveTheWindow) {
  HealthConfig c = config();
  c.consecutive_failures = 0;
  auto h = make_local_health_tracker(c);
  fail(*h, "a/m", kT0, 4);
  for (int i = 0; i < 5; ++i) {
    succeed(*h, "a/m", kT0);
  }
  // 11s later the first 9 outcomes are out of the 10s window: 1 failure in 10
  // requests.
  const auto later = kT0 + 11s;
  for (int i = 0; i < 9; ++i) {
    succeed(*h, "a/m", later);
  }
  fail(*h, "a/m", later);
  EXPECT_FALSE(h->health("a/m", later).ejected);
}

TEST(Health, HalfOpenAdmitsExactlyOneTrialAndSuccessRestores) {
  auto h = make_local_health_tracker(config());
  fail(*h, "a/m", kT0, 3);
  const auto after = kT0 + 10s;
  TargetHealth th = h->health("a/m", after);
  EXPECT_FALSE(th.ejected);
  EXPECT_TRUE(th.half_open);
  EXPECT_TRUE(h->admit("a/m", after));
  EXPECT_FALSE(h->admit("a/m", after));
  EXPECT_FALSE(h->admit("a/m", after + 1s));
  succeed(*h, "a/m", after + 2s);
  th = h->health("a/m", after + 2s);
  EXPECT_FALSE(th.ejected);
  EXPECT_FALSE(th.half_open);
  EXPECT_EQ(th.last_success_ms, kWall0Ms + 12'000);
  EXPECT_EQ(th.last_failure_ms, kWall0Ms);
  EXPECT_TRUE(h->admit("a/m", after + 2s));
  EXPECT_TRUE(h->admit("a/m", after + 2s));
}

TEST(Health, ReleasedTrialCanBeTakenAgain) {
  auto h = make_local_health_tracker(config());
  fail(*h, "a/m", kT0, 3);
  const auto after = kT0 + 10s;
  EXPECT_TRUE(h->admit("a/m", after));
  h->release("a/m");
  EXPECT_TRUE(h->admit("a/m", after));
  EXPECT_FALSE(h->admit("a/m", after));
}

TEST(Health, LostTrialTimesOut) {
  HealthConfig c = config();
  c.trial_timeout = 5s;
  auto h = make_local_health_tracker(c);
  fail(*h, "a/m", kT0, 3);
  EXPECT_TRUE(h->admit("a/m", kT0 + 10s));
  EXPECT_FALSE(h->admit("a/m", kT0 + 14s));
  EXPECT_TRUE(h->admit("a/m", kT0 + 15s));
}

TEST(Health, FailedTrialReEjectsLongerAndDoublesUpToTheMax) {
  auto h = make_local_health_tracker(config()); // base 10s, max 35s
  auto now = kT0;
  fail(*h, "a/m", now, 3);
  const std::int64_t expected[] = {10'000, 20'000, 35'000, 35'000};
  for (std::size_t i = 0; i < 4; ++i) {
    const TargetHealth th = h->health("a/m", now);
    ASSERT_TRUE(th.ejected) << i;
    EXPECT_EQ(th.ejections, i + 1);
    EXPECT_EQ(th.ejected_until_ms,
              kWall0Ms + (now - kT0).count() / 1'000'000 + expected[i])
        << i;
    now += std::chrono::milliseconds{expected[i]};
    EXPECT_FALSE(h->admit("a/m", now - 1ms));
    ASSERT_TRUE(h->admit("a/m", now));
    fail(*h, "a/m", now); // the trial fails
  }
}

TEST(Health, RepeatEjectionAfterRecoveryDoublesAndLongHealthResets) {
  auto h = make_local_health_tracker(config());
  fail(*h, "a/m", kT0, 3); // 10s
  auto now = kT0 + 10s;
  ASSERT_TRUE(h->admit("a/m", now));
  succeed(*h, "a/m", now);
  fail(*h, "a/m", now + 1s, 3); // soon again: 20s
  EXPECT_EQ(h->health("a/m", now + 1s).ejected_until_ms,
            kWall0Ms + 11'000 + 20'000);
  now += 1s + 20s;
  ASSERT_TRUE(h->admit("a/m", now));
  succeed(*h, "a/m", now);
  // Healthy for max_ejection (35s): back to the base time.
  now += 35s;
  fail(*h, "a/m", now, 3);
  const TargetHealth th = h->health("a/m", now);
  EXPECT_EQ(th.ejected_until_ms,
            kWall0Ms + (now - kT0).count() / 1'000'000 + 10'000);
  EXPECT_EQ(th.ejections, 3u);
}

TEST(Health, LateAnswersWhileEjectedDoNotChangeTheState) {
  auto h = make_local_health_tracker(config());
  fail(*h, "a/m", kT0, 3);
  succeed(*h, "a/m", kT0 + 1s); // sent before the ejection
  EXPECT_TRUE(h->health("a/m", kT0 + 1s).ejected);
  EXPECT_EQ(h->health("a/m", kT0 + 1s).last_success_ms, kWall0Ms + 1'000);
  fail(*h, "a/m", kT0 + 2s, 5);
  EXPECT_EQ(h->health("a/m", kT0 + 2s).ejections, 1u);
}

TEST(Health, ExactlyOneOfEightRacingThreadsGetsTheTrial) {
  for (int round = 0; round < 20; ++round) {
    auto h = make_local_health_tracker(config());
    fail(*h, "a/m", kT0, 3);
    std::atomic<int> admitted{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; ++i) {
      threads.emplace_back([&] {
        while (!go.load()) {
          std::this_thread::yield();
        }
        if (h->admit("a/m", kT0 + 10s)) {
          admitted.fetch_add(1);
        }
      });
    }
    go.store(true);
    for (std::thread &t : threads) {
      t.join();
    }
    EXPECT_EQ(admitted.load(), 1) << round;
  }
}

TEST(Health, KeysListsEveryRecordedTarget) {
  auto h = make_local_health_tracker(config());
  succeed(*h, "b/m", kT0);
  fail(*h, "a/m", kT0);
  EXPECT_EQ(h->keys(), (std::vector<std::string>{"a/m", "b/m"}));
}

// ---------------------------------------------------------------------------------------------
// Retry budget

TEST(RetryBudget, IdleAllowsMinPerSecondTimesWindow) {
  RetryBudget budget(0.2, 3.0, 10s);
  int allowed = 0;
  for (int i = 0; i < 100; ++i) {
    allowed += budget.try_retry(kT0) ? 1 : 0;
  }
  EXPECT_EQ(allowed, 30);
  EXPECT_FALSE(budget.try_retry(kT0 + 5s));
  // Once the window has moved on, the retries are forgotten.
  EXPECT_TRUE(budget.try_retry(kT0 + 11s));
}

TEST(RetryBudget, UnderLoadAllowsTheRatioOfRequestsThenRefuses) {
  RetryBudget budget(0.2, 1.0, 10s); // floor of 10 retries
  for (int i = 0; i < 1'000; ++i) {
    budget.on_request(kT0 + std::chrono::milliseconds{i});
  }
  int allowed = 0;
  for (int i = 0; i < 500; ++i) {
    allowed += budget.try_retry(kT0 + 1s) ? 1 : 0;
  }
  EXPECT_EQ(allowed, 200);
  EXPECT_FALSE(budget.try_retry(kT0 + 2s));
  budget.on_request(kT0 + 2s); // 1001 requests: still 200
  EXPECT_FALSE(budget.try_retry(kT0 + 2s));
  for (int i = 0; i < 5; ++i) {
    budget.on_request(kT0 + 2s);
  }
  EXPECT_TRUE(budget.try_retry(kT0 + 2s)); // 1006 requests: 201
}

TEST(RetryBudget, CopiesShareOneBudgetAcrossThreads) {
  RetryBudget budget(0.0, 10.0, 1s); // exactly 10 retries
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([copy = budget, &allowed]() mutable {
      for (int k = 0; k < 100; ++k) {
        if (copy.try_retry(kT0)) {
          allowed.fetch_add(1);
        }
      }
    });
  }
  for (std::thread &t : threads) {
    t.join();
  }
  EXPECT_EQ(allowed.load(), 10);
}

} // namespace
} // namespace sy::routing
