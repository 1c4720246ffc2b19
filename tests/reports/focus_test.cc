#include "reports/focus.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <map>
#include <regex>
#include <set>

#include "fakes/fake_store.h"
#include "reports/sample_ledger.h"
#include "reports/spend.h"

namespace sy::reports {
namespace {

// A strict RFC 4180 reader: CRLF line ends, quoted fields with "" escapes.
std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false;
  bool was_quoted = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      EXPECT_TRUE(field.empty() && !was_quoted) << "quote inside an unquoted field";
      quoted = true;
      was_quoted = true;
    } else if (c == ',') {
      row.push_back(std::move(field));
      field.clear();
      was_quoted = false;
    } else if (c == '\r') {
      EXPECT_TRUE(i + 1 < text.size() && text[i + 1] == '\n') << "bare CR";
      row.push_back(std::move(field));
      field.clear();
      was_quoted = false;
      rows.push_back(std::move(row));
      row.clear();
      ++i;
    } else {
      EXPECT_NE(c, '\n') << "bare LF outside quotes";
      field += c;
    }
  }
  EXPECT_FALSE(quoted);
  EXPECT_TRUE(row.empty() && field.empty()) << "last line not ended by CRLF";
  return rows;
}

// "0.001234" -> 1234 micros, exactly; -1 when not a 6-decimal number.
ledger::Micros parse_decimal(const std::string& s) {
  static const std::regex re(R"(-?(0|[1-9][0-9]*)\.[0-9]{6})");
  if (!std::regex_match(s, re)) {
    return -1;
  }
  const bool neg = s[0] == '-';
  std::string digits;
  for (char c : s) {
    if (c >= '0' && c <= '9') {
      digits += c;
    }
  }
  const ledger::Micros v = std::stoll(digits);
  return neg ? -v : v;
}

struct Parsed {
  std::vector<std::string> header;
  std::vector<std::map<std::string, std::string>> rows;
};

Parsed parse_focus(const std::string& csv) {
  auto lines = parse_csv(csv);
  Parsed p;
  if (lines.empty()) {
    ADD_FAILURE() << "no header";
    return p;
  }
  p.header = lines[0];
  for (std::size_t i = 1; i < lines.size(); ++i) {
    EXPECT_EQ(lines[i].size(), p.header.size()) << "row " << i;
    std::map<std::string, std::string> m;
    for (std::size_t c = 0; c < p.header.size() && c < lines[i].size(); ++c) {
      m[p.header[c]] = lines[i][c];
    }
    p.rows.push_back(std::move(m));
  }
  return p;
}

FocusReport sample_focus(FocusQuery q = {}) {
  testing::FakeStore store(testing::sample_ledger());
  q.filter = testing::sample_window();
  auto r = run_focus(store, q);
  EXPECT_TRUE(r);
  return *r;
}

TEST(FocusTest, HeaderHasEveryRequiredColumnInAStableOrder) {
  // FOCUS 1.0/1.1 mandatory columns, plus the conditional/recommended ones this export fills.
  const std::vector<std::string> required = {
      "BilledCost",       "BillingAccountId",  "BillingAccountName", "BillingCurrency",
      "BillingPeriodEnd", "BillingPeriodStart", "ChargeCategory",    "ChargeClass",
      "ChargeDescription", "ChargePeriodEnd",  "ChargePeriodStart",  "ContractedCost",
      "EffectiveCost",    "InvoiceIssuerName", "ListCost",           "PricingQuantity",
      "PricingUnit",      "ProviderName",      "PublisherName",      "ServiceCategory",
      "ServiceName",      "ChargeFrequency",   "ConsumedQuantity",   "ConsumedUnit",
      "SkuId",            "Tags",              "SubAccountId",       "SubAccountName",
      "RegionId",         "RegionName",        "PricingCategory",    "ServiceSubcategory"};
  const auto p = parse_focus(focus_csv(sample_focus()));
  const std::set<std::string> header(p.header.begin(), p.header.end());
  EXPECT_EQ(header.size(), p.header.size()) << "duplicate column";
  for (const auto& c : required) {
    EXPECT_TRUE(header.count(c)) << c;
  }
  static const std::regex focus_name("[A-Z][A-Za-z]+|x_[A-Z][A-Za-z]+");
  for (const auto& c : p.header) {
    EXPECT_TRUE(std::regex_match(c, focus_name)) << c;
  }
  EXPECT_EQ(p.header, focus_columns());
  EXPECT_EQ(p.header.front(), "BillingAccountId");
  EXPECT_EQ(p.header.back(), "x_UnpricedRequests");
}

TEST(FocusTest, OneRowPerGroupWithParsableValues) {
  const auto p = parse_focus(focus_csv(sample_focus()));
  // research/openai 03-10, default/openai 03-11, research/claude 03-11, research/local 03-11;
  // the request that reached no provider is not a charge.
  ASSERT_EQ(p.rows.size(), 4u);
  static const std::regex iso(R"(\d{4}-\d{2}-\d{2}T00:00:00Z)");
  std::set<std::string> groups;
  for (const auto& row : p.rows) {
    for (const char* c : {"BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart",
                          "ChargePeriodEnd"}) {
      EXPECT_TRUE(std::regex_match(row.at(c), iso)) << c << "=" << row.at(c);
    }
    const auto start = parse_time(row.at("ChargePeriodStart"), DateBound::Start);
    const auto end = parse_time(row.at("ChargePeriodEnd"), DateBound::Start);
    ASSERT_TRUE(start && end);
    EXPECT_EQ(*end - *start, kMsPerDay);
    EXPECT_EQ(row.at("BillingPeriodStart"), "2025-03-01T00:00:00Z");
    EXPECT_EQ(row.at("BillingPeriodEnd"), "2025-04-01T00:00:00Z");
    for (const char* c : {"BilledCost", "EffectiveCost", "ListCost", "ContractedCost"}) {
      EXPECT_GE(parse_decimal(row.at(c)), 0) << c << "=" << row.at(c);
      EXPECT_EQ(row.at(c), row.at("BilledCost"));
    }
    EXPECT_EQ(row.at("BillingCurrency"), "USD");
    EXPECT_EQ(row.at("ChargeCategory"), "Usage");
    EXPECT_EQ(row.at("ChargeClass"), "");
    EXPECT_EQ(row.at("ChargeFrequency"), "Usage-Based");
    EXPECT_EQ(row.at("ServiceCategory"), "AI and Machine Learning");
    EXPECT_EQ(row.at("ConsumedUnit"), "Tokens");
    EXPECT_EQ(row.at("PricingUnit"), "Tokens");
    EXPECT_TRUE(std::regex_match(row.at("ConsumedQuantity"), std::regex("[0-9]+")));
    EXPECT_EQ(row.at("PricingQuantity"), row.at("ConsumedQuantity"));
    EXPECT_EQ(std::stoll(row.at("ConsumedQuantity")),
              std::stoll(row.at("x_InputTokens")) + std::stoll(row.at("x_OutputTokens")));
    auto tags = boost::json::parse(row.at("Tags")).as_object();
    EXPECT_EQ(tags.size(), 2u);
    EXPECT_EQ(std::string(tags.at("tenant").as_string()), row.at("SubAccountId"));
    EXPECT_EQ(std::string(tags.at("route").as_string()), row.at("x_Route"));
    EXPECT_EQ(row.at("SkuId"), row.at("BillingAccountId") + "/" + row.at("x_Model"));
    EXPECT_TRUE(groups.insert(row.at("ChargePeriodStart") + row.at("SkuId") + row.at("Tags"))
                    .second);
  }
  const auto& first = p.rows[0];
  EXPECT_EQ(first.at("ChargePeriodStart"), "2025-03-10T00:00:00Z");
  EXPECT_EQ(first.at("SkuId"), "openai/gpt-4o");
  EXPECT_EQ(first.at("BilledCost"), "0.006000");
  EXPECT_EQ(first.at("ConsumedQuantity"), "750");
  EXPECT_EQ(first.at("x_Requests"), "5");
  EXPECT_EQ(first.at("Tags"), R"({"route":"chat","tenant":"research"})");
  EXPECT_EQ(first.at("ChargeDescription"),
            "gpt-4o tokens via openai (route chat, tenant research)");
}

TEST(FocusTest, TotalEqualsTheSpendReport) {
  const auto report = sample_focus();
  const auto p = parse_focus(focus_csv(report));
  ledger::Micros sum = 0;
  for (const auto& row : p.rows) {
    sum += parse_decimal(row.at("BilledCost"));
  }
  testing::FakeStore store(testing::sample_ledger());
  auto spend = run_spend(store, SpendQuery{testing::sample_window(), {}});
  ASSERT_TRUE(spend);
  EXPECT_EQ(sum, spend->total.cost_micros);
  EXPECT_EQ(report.total_cost_micros, spend->total.cost_micros);
  EXPECT_EQ(sum, 10'500);
}

TEST(FocusTest, ProviderNamesFromTheConfigType) {
  FocusQuery q;
  q.providers["openai"] = focus_provider_for_type("openai", "openai", "us");
  q.providers["claude"] = focus_provider_for_type("claude", "anthropic", "");
  const auto p = parse_focus(focus_csv(sample_focus(q)));
  for (const auto& row : p.rows) {
    if (row.at("BillingAccountId") == "openai") {
      EXPECT_EQ(row.at("ProviderName"), "OpenAI");
      EXPECT_EQ(row.at("ServiceName"), "OpenAI API");
      EXPECT_EQ(row.at("RegionId"), "us");
    } else if (row.at("BillingAccountId") == "claude") {
      EXPECT_EQ(row.at("PublisherName"), "Anthropic");
      EXPECT_EQ(row.at("RegionId"), "");
    } else {
      EXPECT_EQ(row.at("ProviderName"), "local");  // not in the map: its config name
      EXPECT_EQ(row.at("ServiceName"), "local");
    }
  }
  const auto azure = focus_provider_for_type("azure-eu", "azure-openai", "eu");
  EXPECT_EQ(azure.provider_name, "Microsoft");
  EXPECT_EQ(azure.publisher_name, "OpenAI");
  EXPECT_EQ(azure.service_name, "Azure OpenAI");
  EXPECT_EQ(focus_provider_for_type("b", "bedrock", "us-east-1").service_name, "Amazon Bedrock");
}

TEST(FocusTest, QuotesCommasAndQuotesInNames) {
  std::vector<ledger::UsageRecord> v;
  v.push_back(testing::record(testing::at("2025-03-10T08:00:00Z"), "acme \"labs\", inc",
                              "chat,eu", "openai", "gpt-4o", "core", 200, 3, 4, 999'999));
  v.push_back(testing::record(testing::at("2025-03-10T09:00:00Z"), "acme \"labs\", inc",
                              "chat,eu", "openai", "gpt-4o", "core", 200, 3, 4, 2));
  testing::FakeStore store(v);
  auto r = run_focus(store, FocusQuery{});
  ASSERT_TRUE(r);
  const std::string csv = focus_csv(*r);
  EXPECT_NE(csv.find("\"acme \"\"labs\"\", inc\""), std::string::npos) << csv;
  const auto p = parse_focus(csv);
  ASSERT_EQ(p.rows.size(), 1u);
  EXPECT_EQ(p.rows[0].at("SubAccountId"), "acme \"labs\", inc");
  EXPECT_EQ(p.rows[0].at("BilledCost"), "1.000001");
  auto tags = boost::json::parse(p.rows[0].at("Tags")).as_object();
  EXPECT_EQ(tags.at("tenant"), "acme \"labs\", inc");
  EXPECT_EQ(tags.at("route"), "chat,eu");
}

TEST(FocusTest, BillingPeriodIsTheCalendarMonth) {
  std::vector<ledger::UsageRecord> v;
  v.push_back(testing::record(testing::at("2024-12-31T23:59:59Z"), "t", "r", "p", "m", "core",
                              200, 1, 1, 1));
  v.push_back(testing::record(testing::at("2024-02-29T12:00:00Z"), "t", "r", "p", "m", "core",
                              200, 1, 1, 1));
  testing::FakeStore store(v);
  auto r = run_focus(store, FocusQuery{});
  ASSERT_TRUE(r);
  const auto p = parse_focus(focus_csv(*r));
  ASSERT_EQ(p.rows.size(), 2u);
  EXPECT_EQ(p.rows[0].at("ChargePeriodStart"), "2024-02-29T00:00:00Z");
  EXPECT_EQ(p.rows[0].at("ChargePeriodEnd"), "2024-03-01T00:00:00Z");
  EXPECT_EQ(p.rows[0].at("BillingPeriodStart"), "2024-02-01T00:00:00Z");
  EXPECT_EQ(p.rows[0].at("BillingPeriodEnd"), "2024-03-01T00:00:00Z");
  EXPECT_EQ(p.rows[1].at("ChargePeriodEnd"), "2025-01-01T00:00:00Z");
  EXPECT_EQ(p.rows[1].at("BillingPeriodStart"), "2024-12-01T00:00:00Z");
  EXPECT_EQ(p.rows[1].at("BillingPeriodEnd"), "2025-01-01T00:00:00Z");
}

TEST(FocusTest, JsonRows) {
  auto j = focus_to_json(sample_focus()).as_object();
  EXPECT_EQ(j["report"], "focus");
  EXPECT_EQ(j["total_billed_cost"], "0.010500");
  auto& rows = j["rows"].as_array();
  ASSERT_EQ(rows.size(), 4u);
  auto& first = rows[0].as_object();
  EXPECT_EQ(first.at("BilledCost"), "0.006000");
  EXPECT_TRUE(first.at("ChargeClass").is_null());
  EXPECT_EQ(first.at("Tags").as_object().at("tenant"), "research");
}

TEST(FocusTest, EmptyLedgerIsJustTheHeader) {
  testing::FakeStore store;
  auto r = run_focus(store, FocusQuery{});
  ASSERT_TRUE(r);
  const auto p = parse_focus(focus_csv(*r));
  EXPECT_EQ(p.header, focus_columns());
  EXPECT_TRUE(p.rows.empty());
}

}  // namespace
}  // namespace sy::reports
