#include "reports/format.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <climits>

namespace sy::reports {
namespace {

TEST(FormatTest, MicrosAreExactDecimals) {
  EXPECT_EQ(format_micros(0), "0.000000");
  EXPECT_EQ(format_micros(1234), "0.001234");
  EXPECT_EQ(format_micros(1), "0.000001");
  EXPECT_EQ(format_micros(-1), "-0.000001");
  EXPECT_EQ(format_micros(12'500'000), "12.500000");
  EXPECT_EQ(format_micros(-3'000'001), "-3.000001");
  EXPECT_EQ(format_micros(INT64_MAX), "9223372036854.775807");
  EXPECT_EQ(format_micros(INT64_MIN), "-9223372036854.775808");
}

TEST(FormatTest, UtcFormatting) {
  EXPECT_EQ(format_utc(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_utc(1'741'651'200'000), "2025-03-11T00:00:00Z");
  EXPECT_EQ(format_utc(1'741'651'200'250), "2025-03-11T00:00:00.250Z");
  EXPECT_EQ(format_utc(-1000), "1969-12-31T23:59:59Z");
  EXPECT_EQ(format_day(1'741'651'199'999), "2025-03-10");
  EXPECT_EQ(format_day(1'741'651'200'000), "2025-03-11");
}

TEST(FormatTest, ParsesDatesAndRfc3339) {
  EXPECT_EQ(parse_time("2025-03-11", DateBound::Start), 1'741'651'200'000);
  EXPECT_EQ(parse_time("2025-03-11", DateBound::End), 1'741'651'200'000 + kMsPerDay);
  EXPECT_EQ(parse_time("2025-03-11T00:00:00Z", DateBound::End), 1'741'651'200'000);
  EXPECT_EQ(parse_time("2025-03-11T02:00:00+02:00", DateBound::Start), 1'741'651'200'000);
  EXPECT_EQ(parse_time("2025-03-10T19:00:00-05:00", DateBound::Start), 1'741'651'200'000);
  EXPECT_EQ(parse_time("2025-03-11t00:00:00.25z", DateBound::Start), 1'741'651'200'250);
  EXPECT_EQ(parse_time("2025-03-11 00:00:00.123456Z", DateBound::Start), 1'741'651'200'123);
  EXPECT_EQ(parse_day("2024-02-29"), 1'709'164'800'000);
  for (const char* bad : {"", "2025-3-11", "2025-02-29", "2025-13-01", "2025-03-11T00:00:00",
                          "2025-03-11T24:00:00Z", "2025-03-11T00:00Z", "2025-03-11T00:00:00.Z",
                          "2025-03-11T00:00:00+0200", "2025-03-11x", "yesterday"}) {
    EXPECT_FALSE(parse_time(bad, DateBound::Start)) << bad;
  }
  EXPECT_FALSE(parse_day("2025-03-11T00:00:00Z"));
}

TEST(FormatTest, GroupByNames) {
  auto dims = parse_group_by("tenant, provider,day");
  ASSERT_TRUE(dims);
  EXPECT_EQ(*dims, (std::vector<ledger::Dim>{ledger::Dim::Tenant, ledger::Dim::Provider,
                                             ledger::Dim::Day}));
  EXPECT_TRUE(parse_group_by("")->empty());
  auto unknown = parse_group_by("tenant,vendor");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().public_message.find("\"vendor\""), std::string::npos);
  EXPECT_FALSE(parse_group_by("model,model"));
  EXPECT_FALSE(parse_group_by("tenant,"));
  for (auto d : {ledger::Dim::Tenant, ledger::Dim::Provider, ledger::Dim::Model,
                 ledger::Dim::Route, ledger::Dim::Day, ledger::Dim::Tier}) {
    EXPECT_EQ(parse_dim(dim_name(d)), d);
  }
}

TEST(FormatTest, CsvQuotingFollowsRfc4180) {
  EXPECT_EQ(csv_field("plain"), "plain");
  EXPECT_EQ(csv_field(""), "");
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_field("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(csv_field("cr\r"), "\"cr\r\"");
  EXPECT_EQ(csv_field(" padded"), "\" padded\"");
  Table t;
  t.columns = {"name", "note"};
  t.rows = {{"acme, inc", "the \"best\""}, {"x", ""}};
  t.totals = {"total", "ignored"};
  EXPECT_EQ(render_csv(t),
            "name,note\r\n\"acme, inc\",\"the \"\"best\"\"\"\r\nx,\r\n");
}

TEST(FormatTest, TableIsAligned) {
  Table t;
  t.columns = {"tenant", "cost_usd"};
  t.align = {Align::Left, Align::Right};
  t.rows = {{"research", "0.010000"}, {"é", "12.000000"}};
  t.totals = {"total", "12.010000"};
  EXPECT_EQ(render_table(t),
            "tenant     cost_usd\n"
            "-------------------\n"
            "research   0.010000\n"
            "é         12.000000\n"
            "-------------------\n"
            "total     12.010000\n");
}

TEST(FormatTest, JsonWritesPlainDoubles) {
  boost::json::value v = {{"hhi", 0.38}, {"points", 3800.0}, {"n", 3}, {"s", "a\"b"},
                          {"none", nullptr}, {"list", boost::json::array{1, true}},
                          {"empty", boost::json::object{}}};
  EXPECT_EQ(render_json(v, false),
            R"({"hhi":0.38,"points":3800,"n":3,"s":"a\"b","none":null,"list":[1,true],)"
            R"("empty":{}})");
  const std::string pretty = render_json(v, true);
  EXPECT_NE(pretty.find("\n  \"hhi\": 0.38,\n"), std::string::npos) << pretty;
  EXPECT_EQ(boost::json::parse(pretty), boost::json::parse(render_json(v, false)));
  EXPECT_EQ(round_to(0.38000000000000006, 6), 0.38);
}

TEST(FormatTest, OutputFormats) {
  EXPECT_EQ(parse_format("table"), OutputFormat::Table);
  EXPECT_EQ(parse_format("csv"), OutputFormat::Csv);
  EXPECT_EQ(parse_format("json"), OutputFormat::Json);
  EXPECT_FALSE(parse_format("xml"));
}

}  // namespace
}  // namespace sy::reports
