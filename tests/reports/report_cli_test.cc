#include "reports/report_cli.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

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

}  // namespace
}  // namespace sy::reports
