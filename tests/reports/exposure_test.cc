#include "reports/exposure.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <stdexcept>

#include "fakes/fake_store.h"
#include "reports/sample_ledger.h"

namespace sy::reports {
namespace {

ExposureQuery sample_query() {
  ExposureQuery q;
  q.filter = testing::sample_window();
  q.now_ms = testing::sample_now();
  q.max_provider_share = {{"research", 0.5}, {"default", 0.8}};
  q.expected_tiers = {{"chat", "core"}, {"chat", "secondary"}, {"chat", "fallback"},
                      {"batch", "core"}, {"batch", "secondary"}};
  return q;
}

ExposureReport run(const ExposureQuery& q) {
  testing::FakeStore store(testing::sample_ledger());
  auto r = run_exposure(store, q);
  EXPECT_TRUE(r);
  return *r;
}

const TenantExposure& tenant(const ExposureReport& r, const std::string& name) {
  for (const auto& t : r.tenants) {
    if (t.tenant == name) {
      return t;
    }
  }
  throw std::runtime_error("no tenant " + name);
}

const TierProof& tier(const ExposureReport& r, const std::string& route, const std::string& t) {
  for (const auto& tp : r.tiers) {
    if (tp.route == route && tp.tier == t) {
      return tp;
    }
  }
  throw std::runtime_error("no tier " + route + "/" + t);
}

TEST(ExposureTest, HhiDefinition) {
  EXPECT_NEAR(*hhi({5, 3, 2}), 0.38, 1e-12);
  EXPECT_NEAR(*hhi({1, 1, 1, 1}), 0.25, 1e-12);
  EXPECT_DOUBLE_EQ(*hhi({7}), 1.0);
  EXPECT_DOUBLE_EQ(*hhi({7, 0}), 1.0);
  EXPECT_FALSE(hhi({}));
  EXPECT_FALSE(hhi({0, 0}));
}

TEST(ExposureTest, SharesAndHhiOfAKnownLedger) {
  auto r = run(sample_query());
  ASSERT_EQ(r.tenants.size(), 2u);
  EXPECT_EQ(r.tenants[0].tenant, "default");
  EXPECT_EQ(r.tenants[1].tenant, "research");

  const auto& research = tenant(r, "research");
  EXPECT_EQ(research.requests, 10);
  EXPECT_EQ(research.cost_micros, 10'000);
  ASSERT_EQ(research.providers.size(), 3u);
  EXPECT_EQ(research.providers[0].provider, "openai");
  EXPECT_DOUBLE_EQ(research.providers[0].request_share, 0.5);
  EXPECT_DOUBLE_EQ(*research.providers[0].spend_share, 0.6);
  EXPECT_EQ(research.providers[1].provider, "claude");
  EXPECT_DOUBLE_EQ(research.providers[1].request_share, 0.3);
  EXPECT_DOUBLE_EQ(*research.providers[1].spend_share, 0.4);
  EXPECT_EQ(research.providers[2].provider, "local");
  EXPECT_DOUBLE_EQ(research.providers[2].request_share, 0.2);
  EXPECT_DOUBLE_EQ(*research.providers[2].spend_share, 0.0);
  EXPECT_NEAR(research.request_hhi, 0.38, 1e-12);
  EXPECT_NEAR(research.request_hhi * 10'000, 3800, 1e-8);
  EXPECT_NEAR(*research.spend_hhi, 0.52, 1e-12);
  EXPECT_EQ(research.top_request_provider, "openai");
  EXPECT_DOUBLE_EQ(research.top_request_share, 0.5);
  EXPECT_EQ(research.top_spend_provider, "openai");
  EXPECT_DOUBLE_EQ(*research.top_spend_share, 0.6);
  // 0.5 of requests is not over a 0.5 target, but 0.6 of spend is.
  EXPECT_DOUBLE_EQ(*research.target, 0.5);
  EXPECT_TRUE(research.over_target);

  const auto& def = tenant(r, "default");
  EXPECT_EQ(def.requests, 4);  // the request that reached no provider holds no share
  ASSERT_EQ(def.providers.size(), 1u);
  EXPECT_DOUBLE_EQ(def.request_hhi, 1.0);
  EXPECT_DOUBLE_EQ(*def.spend_hhi, 1.0);
  EXPECT_TRUE(def.over_target);  // 1.0 > 0.8
}

TEST(ExposureTest, TargetFlags) {
  auto q = sample_query();
  q.max_provider_share = {{"research", 0.6}};
  auto r = run(q);
  EXPECT_FALSE(tenant(r, "research").over_target);  // 0.6 is not over 0.6
  EXPECT_FALSE(tenant(r, "default").target);
  EXPECT_FALSE(tenant(r, "default").over_target);  // no target, no flag
  q.max_provider_share = {{"research", 0.55}};
  EXPECT_TRUE(tenant(run(q), "research").over_target);  // spend 0.6 > 0.55
  q.max_provider_share = {};
  EXPECT_FALSE(tenant(run(q), "research").over_target);
}

TEST(ExposureTest, FallbackProof) {
  auto r = run(sample_query());
  ASSERT_EQ(r.tiers.size(), 5u);
  // Ordered by route, then core, secondary, fallback.
  EXPECT_EQ(r.tiers[0].route, "batch");
  EXPECT_EQ(r.tiers[0].tier, "core");
  EXPECT_EQ(r.tiers[1].tier, "secondary");
  EXPECT_EQ(r.tiers[2].route, "chat");
  EXPECT_EQ(r.tiers[2].tier, "core");
  EXPECT_EQ(r.tiers[3].tier, "secondary");
  EXPECT_EQ(r.tiers[4].tier, "fallback");

  const auto& batch_core = tier(r, "batch", "core");  // configured, never tried
  EXPECT_EQ(batch_core.last_success_ms, 0);
  EXPECT_TRUE(batch_core.unproven);
  EXPECT_TRUE(batch_core.targets.empty());

  // Last success before the window still counts, but is older than 7 days.
  const auto& batch_secondary = tier(r, "batch", "secondary");
  EXPECT_EQ(batch_secondary.last_success_ms, testing::at("2025-02-01T00:00:00Z"));
  EXPECT_EQ(batch_secondary.last_success_target, "claude/claude-haiku-4-5");
  EXPECT_TRUE(batch_secondary.unproven);

  const auto& chat_core = tier(r, "chat", "core");
  EXPECT_EQ(chat_core.last_success_ms, testing::at("2025-03-11T12:03:00Z"));
  EXPECT_FALSE(chat_core.unproven);
  EXPECT_FALSE(tier(r, "chat", "secondary").unproven);

  const auto& fallback = tier(r, "chat", "fallback");  // tried, always failed
  EXPECT_EQ(fallback.last_success_ms, 0);
  EXPECT_EQ(fallback.last_failure_ms, testing::at("2025-03-11T11:01:00Z"));
  EXPECT_TRUE(fallback.unproven);
}

TEST(ExposureTest, StalenessThreshold) {
  auto q = sample_query();
  q.expected_tiers.clear();
  q.stale_after_ms = 12 * 60 * 60'000;  // twelve hours
  auto r = run(q);
  EXPECT_EQ(r.tiers.size(), 4u);  // without the config, only tiers seen in the ledger
  EXPECT_TRUE(tier(r, "chat", "secondary").unproven);  // 13h58m old
  EXPECT_FALSE(tier(r, "chat", "core").unproven);      // 11h57m old
}

TEST(ExposureTest, StaleExactlyAtThresholdIsProven) {
  auto q = sample_query();
  q.now_ms = testing::at("2025-03-18T12:03:00Z");
  auto r = run(q);
  EXPECT_FALSE(tier(r, "chat", "core").unproven);  // exactly 7 days
  q.now_ms += 1;
  EXPECT_TRUE(tier(run(q), "chat", "core").unproven);
}

TEST(ExposureTest, JsonAndText) {
  auto r = run(sample_query());
  auto j = boost::json::parse(render_json(exposure_to_json(r), false)).as_object();
  EXPECT_EQ(j["report"], "exposure");
  auto& tenants = j["tenants"].as_array();
  ASSERT_EQ(tenants.size(), 2u);
  auto& research = tenants[1].as_object();
  EXPECT_EQ(research["tenant"], "research");
  EXPECT_EQ(research["requests_concentration"].as_object()["hhi"].to_number<double>(), 0.38);
  EXPECT_EQ(research["requests_concentration"].as_object()["hhi_points"].to_number<double>(),
            3800.0);
  EXPECT_EQ(research["spend_concentration"].as_object()["hhi"].to_number<double>(), 0.52);
  EXPECT_EQ(research["spend_concentration"].as_object()["top_provider"], "openai");
  EXPECT_EQ(research["max_provider_share"].to_number<double>(), 0.5);
  EXPECT_EQ(research["over_target"], true);
  EXPECT_EQ(research["providers"].as_array()[0].as_object()["cost_usd"], "0.006000");
  auto& tiers = j["fallback_proof"].as_object()["tiers"].as_array();
  ASSERT_EQ(tiers.size(), 5u);
  EXPECT_EQ(tiers[0].as_object().at("last_success"), nullptr);
  EXPECT_EQ(tiers[0].as_object().at("unproven"), true);
  EXPECT_EQ(tiers[2].as_object().at("last_success"), "2025-03-11T12:03:00Z");
  EXPECT_EQ(tiers[2].as_object().at("unproven"), false);
  EXPECT_EQ(j["fallback_proof"].as_object()["stale_after_seconds"], 7 * 86'400);

  const std::string text = exposure_text(r);
  EXPECT_NE(text.find("OVER TARGET"), std::string::npos) << text;
  EXPECT_NE(text.find("UNPROVEN"), std::string::npos) << text;
  EXPECT_NE(text.find("3800"), std::string::npos) << text;
  EXPECT_NE(text.find("0.3800"), std::string::npos) << text;
}

TEST(ExposureTest, NoSpendMeansNoSpendShares) {
  std::vector<ledger::UsageRecord> v;
  v.push_back(testing::record(testing::at("2025-03-10T00:00:00Z"), "t", "r", "a", "m", "core",
                              200, 1, 1, std::nullopt));
  testing::FakeStore store(v);
  ExposureQuery q;
  q.now_ms = testing::sample_now();
  auto r = run_exposure(store, q);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->tenants.size(), 1u);
  EXPECT_FALSE(r->tenants[0].spend_hhi);
  EXPECT_FALSE(r->tenants[0].top_spend_share);
  EXPECT_DOUBLE_EQ(r->tenants[0].request_hhi, 1.0);
  auto j = exposure_to_json(*r).as_object();
  EXPECT_TRUE(j["tenants"].as_array()[0].as_object()["spend_concentration"].as_object()["hhi"]
                  .is_null());
}

}  // namespace
}  // namespace sy::reports
