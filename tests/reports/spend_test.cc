#include "reports/spend.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "fakes/fake_store.h"
#include "reports/sample_ledger.h"

namespace sy::reports {
namespace {

using ledger::Dim;

SpendReport run(std::vector<Dim> dims) {
  testing::FakeStore store(testing::sample_ledger());
  auto report = run_spend(store, SpendQuery{testing::sample_window(), std::move(dims)});
  EXPECT_TRUE(report);
  return *report;
}

void expect_rows_sum_to_total(const SpendReport& r) {
  ledger::AggregateRow sum;
  for (const auto& row : r.rows) {
    sum.requests += row.requests;
    sum.errors += row.errors;
    sum.input_tokens += row.input_tokens;
    sum.output_tokens += row.output_tokens;
    sum.cost_micros += row.cost_micros;
    sum.unpriced += row.unpriced;
  }
  EXPECT_EQ(sum.requests, r.total.requests);
  EXPECT_EQ(sum.errors, r.total.errors);
  EXPECT_EQ(sum.input_tokens, r.total.input_tokens);
  EXPECT_EQ(sum.output_tokens, r.total.output_tokens);
  EXPECT_EQ(sum.cost_micros, r.total.cost_micros);
  EXPECT_EQ(sum.unpriced, r.total.unpriced);
}

TEST(SpendTest, TotalsOfTheWindow) {
  auto r = run({});
  ASSERT_EQ(r.rows.size(), 1u);
  EXPECT_EQ(r.total.requests, 15);  // the February record is outside the window
  EXPECT_EQ(r.total.errors, 3);
  EXPECT_EQ(r.total.input_tokens, 5 * 100 + 3 * 200 + 4 * 10);
  EXPECT_EQ(r.total.output_tokens, 5 * 50 + 3 * 100 + 4 * 5);
  EXPECT_EQ(total_tokens(r.total), 1140 + 570);
  EXPECT_EQ(r.total.cost_micros, 10'500);
  EXPECT_EQ(r.total.unpriced, 3);
  EXPECT_EQ(format_micros(r.total.cost_micros), "0.010500");
}

TEST(SpendTest, GroupsAreSortedAndSumToTheTotal) {
  auto r = run({Dim::Tenant, Dim::Provider});
  ASSERT_EQ(r.rows.size(), 5u);
  EXPECT_EQ(r.rows[0].keys, (std::vector<std::string>{"default", ""}));
  EXPECT_EQ(r.rows[1].keys, (std::vector<std::string>{"default", "openai"}));
  EXPECT_EQ(r.rows[1].cost_micros, 500);
  EXPECT_EQ(r.rows[2].keys, (std::vector<std::string>{"research", "claude"}));
  EXPECT_EQ(r.rows[2].cost_micros, 4000);
  EXPECT_EQ(r.rows[3].keys, (std::vector<std::string>{"research", "local"}));
  EXPECT_EQ(r.rows[3].unpriced, 2);
  EXPECT_EQ(r.rows[3].errors, 2);
  EXPECT_EQ(r.rows[4].keys, (std::vector<std::string>{"research", "openai"}));
  EXPECT_EQ(r.rows[4].requests, 5);
  expect_rows_sum_to_total(r);
}

TEST(SpendTest, EveryCombinationSumsExactly) {
  const std::vector<Dim> all = {Dim::Tenant, Dim::Provider, Dim::Model, Dim::Route, Dim::Day};
  for (unsigned mask = 0; mask < (1u << all.size()); ++mask) {
    std::vector<Dim> dims;
    for (std::size_t i = 0; i < all.size(); ++i) {
      if (mask & (1u << i)) {
        dims.push_back(all[i]);
      }
    }
    auto r = run(dims);
    expect_rows_sum_to_total(r);
    EXPECT_EQ(r.total.cost_micros, 10'500) << mask;
    for (const auto& row : r.rows) {
      EXPECT_EQ(row.keys.size(), dims.size());
    }
  }
}

TEST(SpendTest, ByDay) {
  auto r = run({Dim::Day});
  ASSERT_EQ(r.rows.size(), 2u);
  EXPECT_EQ(r.rows[0].keys[0], "2025-03-10");
  EXPECT_EQ(r.rows[0].cost_micros, 6000);
  EXPECT_EQ(r.rows[1].keys[0], "2025-03-11");
  EXPECT_EQ(r.rows[1].cost_micros, 4500);
}

TEST(SpendTest, RenderingsAgree) {
  auto r = run({Dim::Tenant});
  const Table t = spend_table(r);
  EXPECT_EQ(t.columns.front(), "tenant");
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.totals.front(), "total");
  EXPECT_EQ(t.totals[7], "0.010500");
  const std::string text = render_table(t);
  EXPECT_NE(text.find("research"), std::string::npos);
  const std::string csv = render_csv(t);
  EXPECT_EQ(csv.substr(0, csv.find("\r\n")),
            "tenant,requests,errors,input_tokens,output_tokens,cached_input_tokens,"
            "total_tokens,cost_usd,unpriced");
  EXPECT_EQ(csv.find("total,"), std::string::npos);  // no totals line in CSV

  auto j = boost::json::parse(render_json(spend_to_json(r), true)).as_object();
  EXPECT_EQ(j["report"], "spend");
  EXPECT_EQ(j["period"].as_object()["since"], "2025-03-01T00:00:00Z");
  EXPECT_EQ(j["period"].as_object()["until"], "2025-03-12T00:00:00Z");
  auto& rows = j["rows"].as_array();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].as_object().at("tenant"), "research");
  EXPECT_EQ(rows[1].as_object().at("cost_usd"), "0.010000");
  EXPECT_EQ(rows[1].as_object().at("cost_micros"), 10'000);
  EXPECT_EQ(j["total"].as_object()["cost_usd"], "0.010500");
  EXPECT_EQ(j["total"].as_object()["requests"], 15);
}

TEST(SpendTest, StoreErrorsPropagate) {
  testing::FakeStore store;
  store.fail_with("database is locked");
  auto r = spend_json(store, SpendQuery{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().public_message, "database is locked");
}

TEST(SpendTest, EmptyLedger) {
  testing::FakeStore store;
  auto r = run_spend(store, SpendQuery{{}, {Dim::Tenant}});
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->rows.empty());
  EXPECT_EQ(r->total.requests, 0);
  EXPECT_EQ(spend_table(*r).totals[7], "0.000000");
}

}  // namespace
}  // namespace sy::reports
