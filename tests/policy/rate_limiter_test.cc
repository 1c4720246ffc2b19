#include "policy/rate_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>
#include <vector>

#include "policy/local_counters.h"

namespace sy::policy {
namespace {

const TimePoint kT0{Millis(1'700'000'000'000)};

TimePoint at(std::int64_t ms) { return kT0 + Millis(ms); }

std::map<std::string, std::string> headers(const Decision& d) {
  std::map<std::string, std::string> h;
  for (auto& [k, v] : d.http_headers()) {
    h[k] = v;
  }
  return h;
}

std::vector<Scope> tenant(Limits l, std::string id = "research") {
  return {Scope{ScopeKind::Tenant, std::move(id), l}};
}

TEST(RateLimiter, RpmBurstThenRefillPerSecond) {
  LocalCounters store;
  RateLimiter limiter(store);
  auto scopes = tenant({.rpm = 60});
  for (int i = 0; i < 60; ++i) {
    ASSERT_TRUE(limiter.check_and_reserve(scopes, 0, at(0)).allowed) << i;
  }
  Decision refused = limiter.check_and_reserve(scopes, 0, at(0));
  EXPECT_FALSE(refused.allowed);
  EXPECT_FALSE(refused.too_large);
  EXPECT_EQ(refused.retry_after, Millis(1000));
  EXPECT_EQ(refused.limited_by, "tenant:research:rpm");
  // 999 ms later: still nothing; at 1000 ms: exactly one.
  EXPECT_FALSE(limiter.check_and_reserve(scopes, 0, at(999)).allowed);
  EXPECT_EQ(limiter.check_and_reserve(scopes, 0, at(999)).retry_after, Millis(1));
  EXPECT_TRUE(limiter.check_and_reserve(scopes, 0, at(1000)).allowed);
  EXPECT_FALSE(limiter.check_and_reserve(scopes, 0, at(1000)).allowed);
  // After a full idle minute the whole burst is back.
  int admitted = 0;
  for (int i = 0; i < 100; ++i) {
    admitted += limiter.check_and_reserve(scopes, 0, at(61'000)).allowed ? 1 : 0;
  }
  EXPECT_EQ(admitted, 60);
}

TEST(RateLimiter, UsageReportsWithoutCharging) {
  LocalCounters store;
  RateLimiter limiter(store);
  const Scope scope{ScopeKind::Tenant, "research", {.rpm = 10, .tpm = 1000, .concurrency = 3}};
  ScopeUsage fresh = limiter.usage(scope, at(0));
  ASSERT_TRUE(fresh.rpm && fresh.tpm && fresh.concurrency);
  EXPECT_EQ(fresh.rpm->remaining, 10);
  EXPECT_EQ(fresh.tpm->remaining, 1000);
  EXPECT_EQ(fresh.concurrency->remaining, 3);
  const std::vector<Scope> scopes{scope};
  Decision d = limiter.check_and_reserve(scopes, 400, at(0));
  ASSERT_TRUE(d.allowed);
  for (int i = 0; i < 3; ++i) {  // looking does not charge
    ScopeUsage u = limiter.usage(scope, at(0));
    EXPECT_EQ(u.rpm->remaining, 9);
    EXPECT_EQ(u.tpm->remaining, 600);
    EXPECT_EQ(u.concurrency->remaining, 2);
  }
  d.reservation.release();
  EXPECT_EQ(limiter.usage(scope, at(0)).concurrency->remaining, 3);
  const Scope rpm_only{ScopeKind::Key, "k", {.rpm = 5}};
  ScopeUsage only = limiter.usage(rpm_only, at(0));
  EXPECT_TRUE(only.rpm);
  EXPECT_FALSE(only.tpm);
  EXPECT_FALSE(only.concurrency);
}

TEST(RateLimiter, ExactOverASimulatedMinute) {
  LocalCounters store;
  RateLimiter limiter(store);
  auto scopes = tenant({.rpm = 60});
  // Ten attempts a second for a minute: the burst of 60, then one per refilled second.
  int admitted = 0;
  for (int ms = 0; ms < 60'000; ms += 100) {
    admitted += limiter.check_and_reserve(scopes, 0, at(ms)).allowed ? 1 : 0;
  }
  EXPECT_EQ(admitted, 60 + 59);
  // At the steady rate (one a second) every attempt passes and none more.
  LocalCounters store2;
  RateLimiter limiter2(store2);
  admitted = 0;
  for (int ms = 0; ms < 600'000; ms += 1000) {
    admitted += limiter2.check_and_reserve(scopes, 0, at(ms)).allowed ? 1 : 0;
  }
  EXPECT_EQ(admitted, 600);
}

TEST(RateLimiter, TpmReserveThenSettle) {
  LocalCounters store;
  RateLimiter limiter(store);
  auto scopes = tenant({.tpm = 1000});
  Decision first = limiter.check_and_reserve(scopes, 600, at(0));
  ASSERT_TRUE(first.allowed);
  EXPECT_EQ(first.reservation.reserved_tokens(), 600);
  EXPECT_EQ(first.info.remaining_tokens, 400);
  Decision second = limiter.check_and_reserve(scopes, 600, at(0));
  EXPECT_FALSE(second.allowed);
  // 200 tokens short at 1000 tokens / 60 s: 12 s.
  EXPECT_EQ(second.retry_after, Millis(12'000));
  EXPECT_EQ(second.info.remaining_tokens, 400);
  EXPECT_EQ(second.limited_by, "tenant:research:tpm");
  // The real usage was 100: 500 tokens go back and the second request fits.
  first.reservation.settle(100, at(0));
  EXPECT_EQ(first.reservation.reserved_tokens(), 100);
  Decision third = limiter.check_and_reserve(scopes, 600, at(0));
  ASSERT_TRUE(third.allowed);
  EXPECT_EQ(third.info.remaining_tokens, 300);
  // Under-reservation: the real usage (1500) is charged, as a debt later requests wait for.
  third.reservation.settle(1500, at(0));
  Decision fourth = limiter.check_and_reserve(scopes, 1, at(0));
  EXPECT_FALSE(fourth.allowed);
  EXPECT_EQ(fourth.info.remaining_tokens, 0);
  // Level 1600 of 1000; one more token needs 601 drained: 36,060 ms.
  EXPECT_EQ(fourth.retry_after, Millis(36'060));
  EXPECT_TRUE(limiter.check_and_reserve(scopes, 1, at(36'060)).allowed);
}

TEST(RateLimiter, RequestLargerThanTpmIsTooLarge) {
  LocalCounters store;
  RateLimiter limiter(store);
  Decision d = limiter.check_and_reserve(tenant({.tpm = 1000}), 1001, at(0));
  EXPECT_FALSE(d.allowed);
  EXPECT_TRUE(d.too_large);
  EXPECT_EQ(d.info.remaining_tokens, 1000);
}

TEST(RateLimiter, ConcurrencyAcquireRelease) {
  LocalCounters store;
  RateLimiter limiter(store);
  auto scopes = tenant({.concurrency = 2}, "t");
  Decision a = limiter.check_and_reserve(scopes, 0, at(0));
  Decision b = limiter.check_and_reserve(scopes, 0, at(0));
  ASSERT_TRUE(a.allowed);
  ASSERT_TRUE(b.allowed);
  Decision c = limiter.check_and_reserve(scopes, 0, at(0));
  EXPECT_FALSE(c.allowed);
  EXPECT_EQ(c.limited_by, "tenant:t:concurrency");
  EXPECT_EQ(c.retry_after, RateLimiter::kConcurrencyRetry);
  EXPECT_EQ(headers(c)["retry-after"], "1");
  {
    Reservation moved = std::move(a.reservation);  // a move transfers, never double-releases
    EXPECT_FALSE(a.reservation.active());
    EXPECT_TRUE(moved.active());
  }  // released here
  a.reservation.release();  // no-op
  Decision d = limiter.check_and_reserve(scopes, 0, at(0));
  EXPECT_TRUE(d.allowed);
  EXPECT_FALSE(limiter.check_and_reserve(scopes, 0, at(0)).allowed);
  b.reservation.release();
  b.reservation.release();  // idempotent: frees one slot only
  Decision e = limiter.check_and_reserve(scopes, 0, at(0));
  EXPECT_TRUE(e.allowed);
  // (A Decision that is not kept releases its slot at once.)
  EXPECT_FALSE(limiter.check_and_reserve(scopes, 0, at(0)).allowed);
}

TEST(RateLimiter, AllScopesOrNothing) {
  LocalCounters store;
  RateLimiter limiter(store);
  std::vector<Scope> scopes = {{ScopeKind::Tenant, "t", {.rpm = 10}},
                               {ScopeKind::Key, "k1", {.rpm = 2}},
                               {ScopeKind::Route, "chat", {.rpm = 100, .tpm = 10'000}}};
  EXPECT_TRUE(limiter.check_and_reserve(scopes, 10, at(0)).allowed);
  EXPECT_TRUE(limiter.check_and_reserve(scopes, 10, at(0)).allowed);
  Decision refused = limiter.check_and_reserve(scopes, 10, at(0));
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.limited_by, "key:k1:rpm");
  // Headers show the tightest scope.
  EXPECT_EQ(refused.info.limit_requests, 2);
  EXPECT_EQ(refused.info.remaining_requests, 0);
  // Nothing was charged to the tenant or the route by the refused request.
  EXPECT_EQ(store.peek({"rl:tenant:t:rpm", ChargeKind::Rate, 1, 10, Millis(60'000)}, at(0)).remaining, 8);
  EXPECT_EQ(store.peek({"rl:route:chat:tpm", ChargeKind::Rate, 1, 10'000, Millis(60'000)}, at(0)).remaining,
            9'980);
  // Another key of the same tenant still passes.
  scopes[1].id = "k2";
  EXPECT_TRUE(limiter.check_and_reserve(scopes, 10, at(0)).allowed);
}

TEST(RateLimiter, NoLimitsNoHeaders) {
  LocalCounters store;
  RateLimiter limiter(store);
  Decision d = limiter.check_and_reserve(tenant({}), 100, at(0));
  EXPECT_TRUE(d.allowed);
  EXPECT_FALSE(d.reservation.active());
  EXPECT_TRUE(d.http_headers().empty());
}

TEST(RateLimiter, HeaderValues) {
  LocalCounters store;
  RateLimiter limiter(store);
  auto scopes = tenant({.rpm = 60, .tpm = 1000});
  Decision ok = limiter.check_and_reserve(scopes, 250, at(0));
  ASSERT_TRUE(ok.allowed);
  auto h = headers(ok);
  EXPECT_EQ(h["x-ratelimit-limit-requests"], "60");
  EXPECT_EQ(h["x-ratelimit-remaining-requests"], "59");
  EXPECT_EQ(h["x-ratelimit-reset-requests"], "1s");
  EXPECT_EQ(h["x-ratelimit-limit-tokens"], "1000");
  EXPECT_EQ(h["x-ratelimit-remaining-tokens"], "750");
  EXPECT_EQ(h["x-ratelimit-reset-tokens"], "15s");
  EXPECT_EQ(h.count("retry-after"), 0u);
  Decision big = limiter.check_and_reserve(scopes, 900, at(0));
  ASSERT_FALSE(big.allowed);
  h = headers(big);
  // 150 tokens short: 9 s; Retry-After in whole seconds.
  EXPECT_EQ(big.retry_after, Millis(9'000));
  EXPECT_EQ(h["retry-after"], "9");
  EXPECT_EQ(h["x-ratelimit-remaining-tokens"], "750");
  EXPECT_EQ(h["x-ratelimit-remaining-requests"], "59");  // nothing charged
  // A sub-second wait still says Retry-After: 1.
  Decision tiny = limiter.check_and_reserve(scopes, 751, at(0));
  EXPECT_EQ(tiny.retry_after, Millis(60));
  EXPECT_EQ(headers(tiny)["retry-after"], "1");
}

TEST(RateLimiter, FormatReset) {
  EXPECT_EQ(format_reset(Millis(0)), "0ms");
  EXPECT_EQ(format_reset(Millis(250)), "250ms");
  EXPECT_EQ(format_reset(Millis(1000)), "1s");
  EXPECT_EQ(format_reset(Millis(1500)), "1.5s");
  EXPECT_EQ(format_reset(Millis(1005)), "1.005s");
  EXPECT_EQ(format_reset(Millis(360'000)), "6m0s");
  EXPECT_EQ(format_reset(Millis(3'723'000)), "1h2m3s");
}

TEST(RateLimiter, TimeGoingBackwardsRefillsNothing) {
  LocalCounters store;
  RateLimiter limiter(store);
  auto scopes = tenant({.rpm = 1});
  EXPECT_TRUE(limiter.check_and_reserve(scopes, 0, at(10'000)).allowed);
  EXPECT_FALSE(limiter.check_and_reserve(scopes, 0, at(0)).allowed);
  EXPECT_FALSE(limiter.check_and_reserve(scopes, 0, at(69'999)).allowed);
  EXPECT_TRUE(limiter.check_and_reserve(scopes, 0, at(70'000)).allowed);
}

TEST(LocalCounters, SweepDropsIdleCounters) {
  LocalCounters store;
  RateLimiter limiter(store);
  Decision d = limiter.check_and_reserve(tenant({.rpm = 60, .concurrency = 5}), 0, at(0));
  ASSERT_TRUE(d.allowed);
  EXPECT_EQ(store.size(), 2u);
  EXPECT_EQ(store.sweep(at(500)), 0u);  // bucket not refilled, one in flight
  d.reservation.release();
  EXPECT_EQ(store.sweep(at(500)), 1u);  // the concurrency counter
  EXPECT_EQ(store.sweep(at(1000)), 1u);  // the refilled bucket
  EXPECT_EQ(store.size(), 0u);
}

// 8 threads x 10,000 attempts at one instant: exactly the limit is admitted, never one more.
TEST(RateLimiter, ExactUnderConcurrentLoad) {
  constexpr int kThreads = 8;
  constexpr int kAttempts = 10'000;
  LocalCounters store;
  RateLimiter limiter(store);
  std::vector<Scope> scopes = {{ScopeKind::Tenant, "t", {.rpm = 1000, .tpm = 50'000}},
                               {ScopeKind::Key, "k", {.rpm = 5000}}};
  std::atomic<int> admitted{0};
  std::atomic<int> start{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      start.fetch_add(1);
      while (start.load() < kThreads) {
      }
      for (int i = 0; i < kAttempts; ++i) {
        if (limiter.check_and_reserve(scopes, 7, at(0)).allowed) {
          admitted.fetch_add(1);
        }
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  EXPECT_EQ(admitted.load(), 1000);
  // And the tokens: 50,000 / 7 = 7,142 requests of 7 tokens.
  LocalCounters store2;
  RateLimiter limiter2(store2);
  auto tpm_only = tenant({.tpm = 50'000}, "t2");
  admitted = 0;
  threads.clear();
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kAttempts; ++i) {
        if (limiter2.check_and_reserve(tpm_only, 7, at(0)).allowed) {
          admitted.fetch_add(1);
        }
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  EXPECT_EQ(admitted.load(), 7142);
}

// Concurrency slots under contention: never more in flight than the ceiling.
TEST(RateLimiter, ConcurrencyCeilingUnderLoad) {
  LocalCounters store;
  RateLimiter limiter(store);
  auto scopes = tenant({.concurrency = 3}, "c");
  std::atomic<int> in_flight{0};
  std::atomic<int> max_seen{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        Decision d = limiter.check_and_reserve(scopes, 0, at(0));
        if (d.allowed) {
          int now_in = in_flight.fetch_add(1) + 1;
          int seen = max_seen.load();
          while (now_in > seen && !max_seen.compare_exchange_weak(seen, now_in)) {
          }
          in_flight.fetch_sub(1);
        }
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  EXPECT_LE(max_seen.load(), 3);
  EXPECT_GE(max_seen.load(), 1);
  EXPECT_EQ(store.peek({"rl:tenant:c:concurrency", ChargeKind::Concurrency, 1, 3, Millis(0)}, at(0))
                .remaining,
            3);
}

}  // namespace
}  // namespace sy::policy
