#include "routing/router.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <set>

namespace sy::routing {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;

const Clock::time_point kT0 = Clock::time_point{} + 1h;
const WallClock::time_point kWall0 =
    WallClock::time_point{} + std::chrono::seconds{1'700'000'000};

TargetView target(std::string key, Tier tier, std::uint32_t weight = 1,
                  bool eligible = true) {
  TargetView t;
  t.provider = key.substr(0, key.find('/'));
  t.key = std::move(key);
  t.tier = tier;
  t.weight = weight;
  t.eligible = eligible;
  return t;
}

std::vector<std::size_t> indices(const std::vector<Attempt> &attempts) {
  std::vector<std::size_t> out;
  for (const Attempt &a : attempts) {
    out.push_back(a.index);
  }
  return out;
}

// Ejects `key` by recording failures until the tracker says so.
void eject(HealthTracker &health, const std::string &key,
           Clock::time_point now) {
  for (int i = 0; i < 100 && !health.health(key, now).ejected; ++i) {
    health.record(key, false, now, kWall0);
  }
  ASSERT_TRUE(health.health(key, now).ejected);
}

TEST(TierName, Names) {
  EXPECT_STREQ(tier_name(Tier::Core), "core");
  EXPECT_STREQ(tier_name(Tier::Secondary), "secondary");
  EXPECT_STREQ(tier_name(Tier::Fallback), "fallback");
}

TEST(Plan, WeightsThreeToOneGiveSeventyFivePercent) {
  const std::vector<TargetView> targets = {target("a/m", Tier::Core, 3),
                                           target("b/m", Tier::Core, 1)};
  auto health = make_local_health_tracker({});
  std::mt19937_64 rng(42);
  int first_a = 0;
  constexpr int kPlans = 10'000;
  for (int i = 0; i < kPlans; ++i) {
    const std::vector<Attempt> p = plan(targets, 0.0, *health, kT0, rng);
    ASSERT_EQ(p.size(), 2u);
    EXPECT_NE(p[0].index, p[1].index);
    first_a += p[0].index == 0 ? 1 : 0;
  }
  const double share = static_cast<double>(first_a) / kPlans;
  EXPECT_NEAR(share, 0.75, 0.03);
}

TEST(Plan, TiersInOrderWithoutDuplicates) {
  const std::vector<TargetView> targets = {
      target("f/m", Tier::Fallback), target("c1/m", Tier::Core, 5),
      target("s/m", Tier::Secondary), target("c2/m", Tier::Core, 5),
      target("c1/m", Tier::Secondary)}; // c1 listed twice
  auto health = make_local_health_tracker({});
  std::mt19937_64 rng(7);
  for (int i = 0; i < 200; ++i) {
    const std::vector<Attempt> p = plan(targets, 0.0, *health, kT0, rng);
    ASSERT_EQ(p.size(), 4u);
    const std::set<std::size_t> core = {p[0].index, p[1].index};
    EXPECT_EQ(core, (std::set<std::size_t>{1, 3}));
    EXPECT_EQ(p[2].index, 2u);
    EXPECT_EQ(p[3].index, 0u);
    for (const Attempt &a : p) {
      EXPECT_FALSE(a.canary);
    }
  }
}

TEST(Plan, IneligibleAndEjectedTargetsAreSkipped) {
  const std::vector<TargetView> targets = {
      target("a/m", Tier::Core), target("b/m", Tier::Core, 1, false),
      target("c/m", Tier::Core), target("d/m", Tier::Secondary, 1, false),
      target("e/m", Tier::Fallback)};
  auto health = make_local_health_tracker({});
  eject(*health, "a/m", kT0);
  std::mt19937_64 rng(1);
  for (int i = 0; i < 50; ++i) {
    EXPECT_THAT(indices(plan(targets, 0.0, *health, kT0, rng)),
                ElementsAre(2u, 4u));
  }
}

TEST(Plan, AllEjectedTierMovesDown) {
  const std::vector<TargetView> targets = {
      target("a/m", Tier::Core), target("b/m", Tier::Core),
      target("s/m", Tier::Secondary), target("f/m", Tier::Fallback)};
  auto health = make_local_health_tracker({});
  eject(*health, "a/m", kT0);
  eject(*health, "b/m", kT0);
  std::mt19937_64 rng(3);
  EXPECT_THAT(indices(plan(targets, 0.0, *health, kT0, rng)),
              ElementsAre(2u, 3u));
  eject(*health, "s/m", kT0);
  EXPECT_THAT(indices(plan(targets, 0.0, *health, kT0, rng)), ElementsAre(3u));
  eject(*health, "f/m", kT0);
  EXPECT_TRUE(plan(targets, 0.0, *health, kT0, rng).empty());
}

TEST(Plan, CanaryGoesToLowerTiersByWeight) {
  const std::vector<TargetView> targets = {target("c/m", Tier::Core, 10),
                                           target("s/m", Tier::Secondary, 3),
                                           target("f/m", Tier::Fallback, 1)};
  auto health = make_local_health_tracker({});
  std::mt19937_64 rng(2024);
  constexpr int kPlans = 10'000;
  std::map<std::size_t, int> canary_first;
  int canaries = 0;
  for (int i = 0; i < kPlans; ++i) {
    const std::vector<Attempt> p = plan(targets, 0.1, *health, kT0, rng);
    ASSERT_EQ(p.size(), 3u);
    const std::set<std::size_t> all = {p[0].index, p[1].index, p[2].index};
    ASSERT_EQ(all.size(), 3u); // every target once
    if (p[0].canary) {
      ++canaries;
      ++canary_first[p[0].index];
      EXPECT_NE(p[0].index, 0u);
      EXPECT_EQ(p[1].index, 0u); // then the tiers in order
      EXPECT_FALSE(p[1].canary);
    } else {
      EXPECT_THAT(indices(p), ElementsAre(0u, 1u, 2u));
    }
  }
  EXPECT_NEAR(static_cast<double>(canaries) / kPlans, 0.1, 0.02);
  ASSERT_GT(canaries, 0);
  EXPECT_NEAR(static_cast<double>(canary_first[1]) / canaries, 0.75, 0.05);
  EXPECT_NEAR(static_cast<double>(canary_first[2]) / canaries, 0.25, 0.05);
}

TEST(Plan, CanaryWithoutLowerTargetsIsAnOrdinaryPlan) {
  const std::vector<TargetView> targets = {
      target("c/m", Tier::Core), target("s/m", Tier::Secondary, 1, false)};
  auto health = make_local_health_tracker({});
  std::mt19937_64 rng(5);
  for (int i = 0; i < 100; ++i) {
    const std::vector<Attempt> p = plan(targets, 0.9, *health, kT0, rng);
    ASSERT_EQ(p.size(), 1u);
    EXPECT_FALSE(p[0].canary);
  }
}

TEST(Plan, SameSeedSamePlans) {
  const std::vector<TargetView> targets = {target("a/m", Tier::Core, 2),
                                           target("b/m", Tier::Core, 5),
                                           target("s/m", Tier::Secondary)};
  auto health = make_local_health_tracker({});
  std::mt19937_64 r1(99);
  std::mt19937_64 r2(99);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(indices(plan(targets, 0.2, *health, kT0, r1)),
              indices(plan(targets, 0.2, *health, kT0, r2)));
  }
}

// ---------------------------------------------------------------------------------------------
// Backoff and Retry-After

TEST(Backoff, FullJitterWithinTheDoublingCeiling) {
  std::mt19937_64 rng(11);
  for (unsigned retry = 0; retry < 8; ++retry) {
    const std::int64_t ceiling = std::min<std::int64_t>(50 << retry, 2'000);
    std::int64_t lo = ceiling;
    std::int64_t hi = 0;
    for (int i = 0; i < 2'000; ++i) {
      const auto d = backoff(retry, rng).count();
      ASSERT_GE(d, 0);
      ASSERT_LE(d, ceiling) << retry;
      lo = std::min(lo, d);
      hi = std::max(hi, d);
    }
    EXPECT_LT(lo, ceiling / 10 + 1) << retry; // jitter reaches near 0...
    EXPECT_GT(hi, ceiling * 9 / 10) << retry; // ...and near the ceiling
  }
  EXPECT_LE(backoff(1'000, rng, 100ms, 5s),
            5s); // no overflow for huge retry numbers
  EXPECT_EQ(backoff(3, rng, 0ms, 5s), 0ms);
}

TEST(RetryWait, RetryAfterRaisesTheWaitUnlessTooLong) {
  std::mt19937_64 rng(12);
  EXPECT_LE(*retry_wait(0, rng, std::nullopt, 10s), 50ms);
  EXPECT_EQ(*retry_wait(0, rng, 3s, 10s), 3s);
  EXPECT_EQ(*retry_wait(0, rng, 10s, 10s), 10s);
  EXPECT_EQ(retry_wait(0, rng, 11s, 10s), std::nullopt);
  const auto w =
      retry_wait(5, rng, 0ms, 10s); // Retry-After: 0 keeps the backoff
  ASSERT_TRUE(w);
  EXPECT_LE(*w, 1'600ms);
}

TEST(ParseRetryAfter, DelaySeconds) {
  EXPECT_EQ(parse_retry_after("3", kWall0), 3s);
  EXPECT_EQ(parse_retry_after("0", kWall0), 0ms);
  EXPECT_EQ(parse_retry_after(" 120 ", kWall0), 120s);
  EXPECT_EQ(parse_retry_after("99999999999999999999", kWall0),
            24h); // clamped to a day
}

// RFC 9110 allows only whole seconds; Switchyard accepts a fraction too
// (rounded up to whole milliseconds), because some servers send one and its
// meaning is plain.
TEST(ParseRetryAfter, FractionalSecondsAreAcceptedLeniently) {
  EXPECT_EQ(parse_retry_after("1.5", kWall0), 1'500ms);
  EXPECT_EQ(parse_retry_after("0.0001", kWall0), 1ms);
  EXPECT_EQ(parse_retry_after("2.", kWall0), std::nullopt);
  EXPECT_EQ(parse_retry_after("1.5.1", kWall0), std::nullopt);
}

TEST(ParseRetryAfter, HttpDates) {
  // 2023-11-14T22:13:20Z is Unix 1700000000, a Tuesday.
  EXPECT_EQ(parse_retry_after("Tue, 14 Nov 2023 22:13:25 GMT", kWall0), 5s);
  EXPECT_EQ(parse_retry_after("Tue, 14 Nov 2023 23:13:20 GMT", kWall0), 1h);
  EXPECT_EQ(parse_retry_after("Tue, 14 Nov 2023 22:13:20 GMT", kWall0), 0ms);
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", kWall0),
            0ms); // past
  EXPECT_EQ(parse_retry_after("Tuesday, 14-Nov-23 22:13:30 GMT", kWall0),
            10s); // RFC 850
  EXPECT_EQ(parse_retry_after("Tue Nov 14 22:14:20 2023", kWall0),
            1min); // asctime
  EXPECT_EQ(parse_retry_after("Tue Nov  7 22:14:20 2023", kWall0), 0ms);
  EXPECT_EQ(parse_retry_after("Tue, 14 Nov 2023 22:13:20.5 GMT", kWall0),
            std::nullopt);
}

TEST(ParseRetryAfter, GarbageIsNullopt) {
  for (const char *bad :
       {"", "  ", "-1", "soon", "3s", "1e3", "Tue, 31 Feb 2023 10:00:00 GMT",
        "Tue, 14 Nov 2023 25:00:00 GMT", "Tue, 14 Foo 2023 10:00:00 GMT",
        "Tue, 14 Nov 2023 10:00:00 UTC", "0x10"}) {
    EXPECT_EQ(parse_retry_after(bad, kWall0), std::nullopt) << bad;
  }
}

// ---------------------------------------------------------------------------------------------
// Drills

TEST(Drills, ActiveOnlyInTheirWindow) {
  DrillRegistry drills;
  const std::string id = drills.add({"", "openai", "", "", 1'000, 2'000});
  EXPECT_FALSE(id.empty());
  EXPECT_FALSE(drills.drilled("openai", "chat", "t", 999));
  EXPECT_TRUE(drills.drilled("openai", "chat", "t", 1'000));
  EXPECT_TRUE(drills.drilled("openai", "other", "", 1'999));
  EXPECT_FALSE(drills.drilled("openai", "chat", "t", 2'000));
  EXPECT_FALSE(drills.drilled("claude", "chat", "t", 1'500));
  EXPECT_EQ(drills.active(1'500).size(), 1u);
  EXPECT_TRUE(drills.active(2'500).empty());
}

TEST(Drills, ScopedByRouteAndTenant) {
  DrillRegistry drills;
  drills.add({"r", "openai", "chat", "", 0, 10'000});
  drills.add({"t", "claude", "", "research", 0, 10'000});
  drills.add(
      {"both", "gemini", "chat", "research", 0, 0}); // no end: until removed
  EXPECT_TRUE(drills.drilled("openai", "chat", "anyone", 5));
  EXPECT_FALSE(drills.drilled("openai", "summarise", "anyone", 5));
  EXPECT_TRUE(drills.drilled("claude", "summarise", "research", 5));
  EXPECT_FALSE(drills.drilled("claude", "summarise", "sales", 5));
  EXPECT_TRUE(drills.drilled("gemini", "chat", "research", 1'000'000'000));
  EXPECT_FALSE(drills.drilled("gemini", "chat", "sales", 5));
  EXPECT_FALSE(drills.drilled("gemini", "code", "research", 5));
}

TEST(Drills, RemovableAndIdsAreUnique) {
  DrillRegistry drills;
  const std::string a = drills.add({"", "openai", "", "", 0, 100});
  const std::string b = drills.add({"", "openai", "", "", 0, 100});
  EXPECT_NE(a, b);
  EXPECT_TRUE(drills.remove(a));
  EXPECT_FALSE(drills.remove(a));
  EXPECT_TRUE(drills.drilled("openai", "", "", 50));
  EXPECT_TRUE(drills.remove(b));
  EXPECT_FALSE(drills.drilled("openai", "", "", 50));
  EXPECT_EQ(drills.add({"mine", "x", "", "", 0, 10}), "mine");
  EXPECT_EQ(drills.add({"mine", "y", "", "", 0, 10}),
            "mine"); // same id replaces
  EXPECT_FALSE(drills.drilled("x", "", "", 5));
  EXPECT_TRUE(drills.drilled("y", "", "", 5));
}

} // namespace
} // namespace sy::routing
