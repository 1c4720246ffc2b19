#include "ledger/pricing.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>

namespace sy::ledger {
namespace {

using ::testing::HasSubstr;

ir::Usage usage(std::optional<std::int64_t> in, std::optional<std::int64_t> out,
                std::optional<std::int64_t> cached = {}, std::optional<std::int64_t> cw = {},
                std::optional<std::int64_t> reasoning = {}) {
  ir::Usage u;
  u.input_tokens = in;
  u.output_tokens = out;
  u.cached_input_tokens = cached;
  u.cache_write_tokens = cw;
  u.reasoning_tokens = reasoning;
  return u;
}

Micros cost_of(const Price& p, const ir::Usage& u) {
  const auto r = cost(p, u);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().detail);
  EXPECT_TRUE(r && r->has_value());
  return r && *r ? **r : -1;
}

// ---------------------------------------------------------------------------------------------
// cost

TEST(Cost, PlainInputAndOutput) {
  // gpt-4o-like: 2.50 / 10.00 USD per million. 1000 in, 500 out:
  // 1000 * 2.5 + 500 * 10 = 2500 + 5000 micro-dollars.
  EXPECT_EQ(cost_of(Price::make(2'500'000, 10'000'000), usage(1000, 500)), 7'500);
}

TEST(Cost, CachedInputIsPartOfInputAndPricedAsCacheRead) {
  // 1000 input of which 200 cached: 800 * 2.50 + 200 * 1.25 + 500 * 10.00 = 2000 + 250 + 5000.
  EXPECT_EQ(cost_of(Price::make(2'500'000, 10'000'000, 1'250'000), usage(1000, 500, 200)), 7'250);
}

TEST(Cost, CacheReadsAndWritesAnthropicStyle) {
  // Sonnet-like 3 / 15, cache read 0.30, cache write 3.75; 10,000 input tokens in all, of which
  // 6,000 cache reads and 2,000 cache writes; 1,000 output:
  // 2000 * 3 + 6000 * 0.30 + 2000 * 3.75 + 1000 * 15 = 6000 + 1800 + 7500 + 15000.
  const Price p = Price::make(3'000'000, 15'000'000, 300'000, 3'750'000);
  EXPECT_EQ(cost_of(p, usage(10'000, 1'000, 6'000, 2'000)), 30'300);
}

TEST(Cost, ReasoningIsPartOfOutputAndMayHaveItsOwnPrice) {
  // input 1, output 4, reasoning 2 USD/M; 100 in, 300 out of which 200 reasoning:
  // 100 * 1 + 100 * 4 + 200 * 2 = 900.
  const Price p = Price::make(1'000'000, 4'000'000, {}, {}, 2'000'000);
  EXPECT_EQ(cost_of(p, usage(100, 300, {}, {}, 200)), 900);
  // Without a reasoning price, reasoning costs the output price: 100 + 300 * 4.
  EXPECT_EQ(cost_of(Price::make(1'000'000, 4'000'000), usage(100, 300, {}, {}, 200)), 1'300);
}

TEST(Cost, DefaultsFillFromInputAndOutput) {
  const Price p = Price::make(5, 7);
  EXPECT_EQ(p.cached_input, 5);
  EXPECT_EQ(p.cache_write, 5);
  EXPECT_EQ(p.reasoning, 7);
}

TEST(Cost, OneFinalRoundHalfEven) {
  const Price half = Price::make(500'000, 500'000);  // 0.50 USD per million: 0.5 micro a token
  EXPECT_EQ(cost_of(half, usage(1, 0)), 0);  // 0.5 -> 0 (even)
  EXPECT_EQ(cost_of(half, usage(3, 0)), 2);  // 1.5 -> 2
  EXPECT_EQ(cost_of(half, usage(5, 0)), 2);  // 2.5 -> 2
  EXPECT_EQ(cost_of(half, usage(7, 0)), 4);  // 3.5 -> 4
  // Rounded once over the whole sum, not per part: 0.5 + 0.5 = 1 (per part it would be 0).
  EXPECT_EQ(cost_of(half, usage(1, 1)), 1);
  const Price mini = Price::make(150'000, 600'000);  // gpt-4o-mini-like
  EXPECT_EQ(cost_of(mini, usage(3, 0)), 0);  // 0.45
  EXPECT_EQ(cost_of(mini, usage(4, 0)), 1);  // 0.60
  EXPECT_EQ(cost_of(mini, usage(7, 1)), 2);  // 1.05 + 0.60 = 1.65
  EXPECT_EQ(cost_of(Price::make(1, 1), usage(1'500'000, 0)), 2);  // 1.5 -> 2
  EXPECT_EQ(cost_of(Price::make(1, 1), usage(2'500'000, 0)), 2);  // 2.5 -> 2
  EXPECT_EQ(cost_of(Price::make(1, 1), usage(2'500'001, 0)), 3);  // just above half
}

TEST(Cost, UnreportedInputOrOutputMeansNoCost) {
  const Price p = Price::make(1'000'000, 1'000'000);
  for (const ir::Usage& u : {usage({}, 10), usage(10, {}), usage({}, {}, 5, 5, 5)}) {
    const auto r = cost(p, u);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(*r, std::nullopt);
  }
  EXPECT_EQ(cost_of(p, usage(0, 0)), 0);  // reported zero is a cost of zero
}

TEST(Cost, ContradictoryCountsAreErrors) {
  const Price p = Price::make(1'000'000, 1'000'000);
  EXPECT_THAT(cost(p, usage(10, 10, 6, 5)).error().detail, HasSubstr("exceed input"));
  EXPECT_THAT(cost(p, usage(10, 10, {}, {}, 11)).error().detail, HasSubstr("exceed output"));
  EXPECT_THAT(cost(p, usage(-1, 10)).error().detail, HasSubstr("negative"));
  EXPECT_FALSE(cost(p, usage(10, 10, -1)).has_value());
}

TEST(Cost, LargeValuesAreExactAndOverflowIsAnError) {
  const Price max = Price::make(1'000'000'000'000, 1'000'000'000'000);  // 1M USD per M tokens
  // 10^12 tokens at 10^12 micro per million: 10^18 micro-dollars, exact.
  EXPECT_EQ(cost_of(max, usage(1'000'000'000'000, 0)), 1'000'000'000'000'000'000);
  EXPECT_THAT(cost(max, usage(10'000'000'000'000, 0)).error().detail, HasSubstr("overflow"));
  // Odd prices at scale: 123,456,789 tokens at 0.075 USD/M = 9,259,259.175 -> 9,259,259.
  EXPECT_EQ(cost_of(Price::make(75'000, 0), usage(123'456'789, 0)), 9'259'259);
}

// ---------------------------------------------------------------------------------------------
// parse_price

TEST(ParsePrice, ExactDecimals) {
  EXPECT_EQ(parse_price("2.50").value(), 2'500'000);
  EXPECT_EQ(parse_price("2.5").value(), 2'500'000);
  EXPECT_EQ(parse_price("10").value(), 10'000'000);
  EXPECT_EQ(parse_price("0.075").value(), 75'000);
  EXPECT_EQ(parse_price("0.000001").value(), 1);
  EXPECT_EQ(parse_price("0").value(), 0);
  EXPECT_EQ(parse_price("18.75").value(), 18'750'000);
  // A double would read 0.1 + 0.2 style values inexactly; these are exact by construction.
  EXPECT_EQ(parse_price("0.1").value() + parse_price("0.2").value(), parse_price("0.3").value());
  EXPECT_EQ(parse_price("1.100000000").value(), 1'100'000);  // zeros past 6 decimals are exact
  EXPECT_EQ(parse_price("1000000").value(), 1'000'000'000'000);
}

TEST(ParsePrice, RejectsWhatIsNotAnExactSmallDecimal) {
  for (const char* text : {"", ".", ".5", "5.", "-1", "+1", "1e3", "1E-3", "0x10", " 1", "1 ",
                           "1,5", "1.2.3", "nan", "inf", "1.0000001", "0.0000005",
                           "1000000.000001", "1000001", "99999999999999999999999999"}) {
    EXPECT_FALSE(parse_price(text).has_value()) << text;
  }
  EXPECT_THAT(parse_price("1.0000001").error().detail, HasSubstr("more than 6 decimals"));
}

// ---------------------------------------------------------------------------------------------
// PriceTable

config::CatalogEntry priced(std::string target, std::int64_t in, std::int64_t out,
                            std::string version = {}) {
  config::CatalogEntry e;
  e.target = std::move(target);
  e.price = config::CatalogPrice{in, out, std::nullopt, std::nullopt, std::nullopt};
  e.price_version = std::move(version);
  return e;
}

TEST(PriceTable, ShippedDefaultsParseAndMatchByModel) {
  const auto table = PriceTable::with_shipped_defaults({});
  ASSERT_TRUE(table.has_value()) << table.error().detail;
  EXPECT_EQ(table->version(), "default-2026-11");
  EXPECT_GT(table->size(), 40u);

  const auto gpt4o = table->find("openai", "gpt-4o");
  ASSERT_TRUE(gpt4o.has_value());
  EXPECT_EQ(*gpt4o, Price::make(2'500'000, 10'000'000, 1'250'000));
  // Provider-independent: any provider serving gpt-4o (an Azure deployment, a proxy).
  EXPECT_EQ(table->find("azure-eu", "gpt-4o"), gpt4o);
  // Exact names only: a dated snapshot that is not listed has no price.
  EXPECT_EQ(table->find("openai", "gpt-4o-2024-05-13"), std::nullopt);
  EXPECT_EQ(table->find("openai", "no-such-model"), std::nullopt);

  const auto sonnet = table->find("claude", "claude-sonnet-4-5");
  ASSERT_TRUE(sonnet.has_value());
  EXPECT_EQ(sonnet->cached_input, 300'000);
  EXPECT_EQ(sonnet->cache_write, 3'750'000);
  EXPECT_EQ(sonnet->reasoning, sonnet->output);

  // Bedrock ids are provider-specific entries.
  EXPECT_EQ(table->find("bedrock", "anthropic.claude-sonnet-4-5-20250929-v1:0"), sonnet);
  EXPECT_EQ(table->find("other", "anthropic.claude-sonnet-4-5-20250929-v1:0"), std::nullopt);
  EXPECT_TRUE(table->find("gemini", "gemini-2.5-pro").has_value());
}

TEST(PriceTable, ConfigEntriesWinAndChangeTheVersion) {
  const auto table = PriceTable::with_shipped_defaults(
      {priced("openai/gpt-4o", 2'000'000, 8'000'000), priced("local/llama", 0, 0)});
  ASSERT_TRUE(table.has_value());
  EXPECT_EQ(table->find("openai", "gpt-4o"), Price::make(2'000'000, 8'000'000));
  EXPECT_EQ(table->find("azure", "gpt-4o"), Price::make(2'500'000, 10'000'000, 1'250'000));
  EXPECT_EQ(table->find("local", "llama"), Price::make(0, 0));
  const std::regex versioned("default-2026-11\\+config:[0-9a-f]{12}");
  EXPECT_TRUE(std::regex_match(table->version(), versioned)) << table->version();

  // Same prices in another order: same version. Another price or price_version: another.
  const auto reordered = PriceTable::with_shipped_defaults(
      {priced("local/llama", 0, 0), priced("openai/gpt-4o", 2'000'000, 8'000'000)});
  EXPECT_EQ(reordered->version(), table->version());
  const auto changed = PriceTable::with_shipped_defaults(
      {priced("openai/gpt-4o", 2'000'001, 8'000'000), priced("local/llama", 0, 0)});
  EXPECT_NE(changed->version(), table->version());
  const auto relabelled = PriceTable::with_shipped_defaults(
      {priced("openai/gpt-4o", 2'000'000, 8'000'000, "v2"), priced("local/llama", 0, 0)});
  EXPECT_NE(relabelled->version(), table->version());

  // Entries without a price (capabilities only) leave prices and version alone.
  config::CatalogEntry caps;
  caps.target = "openai/gpt-4o";
  caps.has_capabilities = true;
  EXPECT_EQ(PriceTable::with_shipped_defaults({caps})->version(), "default-2026-11");
}

TEST(PriceTable, ProviderSpecificDefaultsBeatProviderIndependentOnes) {
  const auto table = PriceTable::build(
      "version: t1\n"
      "prices:\n"
      "  - {model: m, input: 1, output: 2}\n"
      "  - {provider: p, model: [m, n], input: 3, output: 4, cached_input: 0.5, reasoning: 5}\n",
      {});
  ASSERT_TRUE(table.has_value()) << table.error().detail;
  EXPECT_EQ(table->find("p", "m"), Price::make(3'000'000, 4'000'000, 500'000, {}, 5'000'000));
  EXPECT_EQ(table->find("q", "m"), Price::make(1'000'000, 2'000'000));
  EXPECT_EQ(table->find("p", "n"), table->find("p", "m"));
  EXPECT_EQ(table->find("q", "n"), std::nullopt);
}

TEST(PriceTable, BadCatalogsAreErrorsNamingTheEntry) {
  const std::pair<const char*, const char*> cases[] = {
      {"prices: []", "version: required"},
      {"version: v\nprices: {}", "prices: expected a list"},
      {"version: v\nprices: [{model: m, input: 1e-3, output: 1}]", "prices[0].input"},
      {"version: v\nprices: [{model: m, input: 1}]", "prices[0].output: required"},
      {"version: v\nprices: [{input: 1, output: 1}]", "prices[0].model: required"},
      {"version: v\nprices: [{model: m, input: 1, output: 1, cachd_input: 1}]",
       "prices[0].cachd_input: unknown key"},
      {"version: v\nprices: [{model: m, input: 1, output: 1}, {model: m, input: 2, output: 2}]",
       "duplicate entry for m"},
      {"version: v\nprices: [", "YAML"},
  };
  for (const auto& [yaml, message] : cases) {
    const auto table = PriceTable::build(yaml, {});
    ASSERT_FALSE(table.has_value()) << yaml;
    EXPECT_THAT(table.error().detail, HasSubstr(message)) << yaml;
  }
}

}  // namespace
}  // namespace sy::ledger
