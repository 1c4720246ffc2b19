#include "reports/report_cli.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <map>
#include <string>

#include "fakes/fake_store.h"
#include "reports/sample_ledger.h"

namespace sy::reports {
namespace {

ReportContext context() {
  ReportContext c;
  c.now_ms = testing::sample_now();
  c.expected_tiers = {{"chat", "core"}, {"chat", "secondary"}, {"chat", "fallback"}};
  c.max_provider_share = {{"research", 0.5}};
  return c;
}

Result<std::string> render(ReportArgs args) {
  testing::FakeStore store(testing::sample_ledger());
  return render_report(store, args, context());
}

TEST(ReportCliTest, WindowDefaultsAndBounds) {
  const std::int64_t now = testing::sample_now();
  auto w = report_window(ReportArgs{}, now);
  ASSERT_TRUE(w);
  EXPECT_EQ(w->until_ms, now);
  EXPECT_EQ(w->since_ms, now - 30 * kMsPerDay);
  ReportArgs a;
  a.since = "2025-03-01";
  a.until = "2025-03-31";
  w = report_window(a, now);
  ASSERT_TRUE(w);
  EXPECT_EQ(format_utc(w->since_ms), "2025-03-01T00:00:00Z");
  EXPECT_EQ(format_utc(w->until_ms), "2025-04-01T00:00:00Z");  // the whole of March 31st
  a.until = "2025-03-10T12:00:00+01:00";
  EXPECT_EQ(format_utc(report_window(a, now)->until_ms), "2025-03-10T11:00:00Z");
  a.until = "2025-02-01";
  EXPECT_FALSE(report_window(a, now));
  a.until = "march";
  EXPECT_FALSE(report_window(a, now));
}

TEST(ReportCliTest, SpendFormats) {
  ReportArgs a;
  a.kind = "spend";
  a.since = "2025-03-01";
  a.group_by = "tenant";
  auto table = render(a);
  ASSERT_TRUE(table);
  EXPECT_NE(table->find("0.010500"), std::string::npos) << *table;
  a.format = "csv";
  auto csv = render(a);
  ASSERT_TRUE(csv);
  EXPECT_EQ(csv->rfind("tenant,requests,", 0), 0u);
  a.format = "json";
  auto json = render(a);
  ASSERT_TRUE(json);
  EXPECT_EQ(boost::json::parse(*json).as_object().at("total").as_object().at("cost_usd"),
            "0.010500");
  a.group_by = "tenant,colour";
  EXPECT_FALSE(render(a));
  a.group_by = "tenant";
  a.format = "xml";
  EXPECT_FALSE(render(a));
}

TEST(ReportCliTest, ExposureAndFocus) {
  ReportArgs a;
  a.kind = "exposure";
  a.since = "2025-03-01";
  auto text = render(a);
  ASSERT_TRUE(text);
  EXPECT_NE(text->find("OVER TARGET"), std::string::npos) << *text;
  EXPECT_NE(text->find("UNPROVEN"), std::string::npos) << *text;
  a.format = "csv";
  a.section = "tiers";
  auto tiers = render(a);
  ASSERT_TRUE(tiers);
  EXPECT_EQ(tiers->rfind("route,tier,last_success,", 0), 0u) << *tiers;
  a.section = "nope";
  EXPECT_FALSE(render(a));
  a.section = "tenants";
  a.stale_days = 0;
  EXPECT_FALSE(render(a));

  ReportArgs f;
  f.kind = "focus";
  f.since = "2025-03-01";
  auto csv = render(f);  // focus defaults to CSV
  ASSERT_TRUE(csv);
  EXPECT_EQ(csv->rfind("BillingAccountId,", 0), 0u);
  f.kind = "forecast";
  EXPECT_FALSE(render(f));
}

// The exposure report's targets come from the tenants' policies in the configuration.
TEST(ReportCliTest, TargetsFromTenantPolicies) {
  config::Config cfg;
  config::TenantConfig research;
  research.name = "research";
  research.policy.max_provider_share = 0.4;  // its top request share is 0.5: over
  config::TenantConfig def;
  def.name = "default";  // no target: never flagged
  config::TenantConfig eval;
  eval.name = "eval";
  eval.policy.max_provider_share = 0.9;
  eval.policy.enforce = true;
  cfg.tenants = {research, def, eval};

  const ReportContext c = report_context(cfg, testing::sample_now());
  EXPECT_EQ(c.max_provider_share,
            (std::map<std::string, double>{{"eval", 0.9}, {"research", 0.4}}));

  testing::FakeStore store(testing::sample_ledger());
  ReportArgs a;
  a.kind = "exposure";
  a.since = "2025-03-01";
  a.format = "json";
  auto json = render_report(store, a, c);
  ASSERT_TRUE(json);
  const boost::json::value parsed = boost::json::parse(*json);
  const auto& tenants = parsed.as_object().at("tenants").as_array();
  ASSERT_EQ(tenants.size(), 2u);  // tenants with traffic in the window
  const auto& d = tenants[0].as_object();
  EXPECT_EQ(d.at("tenant"), "default");
  EXPECT_TRUE(d.at("max_provider_share").is_null());
  EXPECT_EQ(d.at("over_target"), false);
  const auto& r = tenants[1].as_object();
  EXPECT_EQ(r.at("tenant"), "research");
  EXPECT_EQ(r.at("max_provider_share").to_number<double>(), 0.4);
  EXPECT_EQ(r.at("over_target"), true);

  // At 0.7 neither its request share (0.5) nor its spend share (0.6) is above the target.
  cfg.tenants[0].policy.max_provider_share = 0.7;
  json = render_report(store, a, report_context(cfg, testing::sample_now()));
  ASSERT_TRUE(json);
  const boost::json::value parsed2 = boost::json::parse(*json);
  const auto& r2 = parsed2.as_object().at("tenants").as_array()[1].as_object();
  EXPECT_EQ(r2.at("max_provider_share").to_number<double>(), 0.7);
  EXPECT_EQ(r2.at("over_target"), false);
}

}  // namespace
}  // namespace sy::reports
