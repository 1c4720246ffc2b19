#pragma once
// Prices and cost. Money is integer micro-dollars end to end: prices are parsed from decimal
// text without a binary double, and a record's cost is computed with 128-bit integers and one
// final round-half-even (see cost()). docs/ledger.md has the rules and a worked example.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/schema.h"
#include "core/result.h"
#include "ir/usage.h"
#include "ledger/usage_record.h"

namespace sy::ledger {

// Micro-dollars per million tokens ("2.50 USD per 1M tokens" = 2'500'000).
struct Price {
  Micros input = 0;
  Micros output = 0;
  Micros cached_input = 0;  // cache reads; defaults to input
  Micros cache_write = 0;   // defaults to input
  Micros reasoning = 0;     // defaults to output

  // Fills the defaults above for the prices that are not given.
  static Price make(Micros input, Micros output, std::optional<Micros> cached_input = {},
                    std::optional<Micros> cache_write = {}, std::optional<Micros> reasoning = {});
  static Price from(const config::CatalogPrice& p) {
    return make(p.input, p.output, p.cached_input, p.cache_write, p.reasoning);
  }
  friend bool operator==(const Price&, const Price&) = default;
};

// "2.50" -> 2'500'000: an exact decimal with at most 6 fractional digits (zeros beyond are
// accepted), no sign or exponent, at most 1,000,000. Never goes through a double.
Result<Micros> parse_price(std::string_view text);

// The cost of one request in micro-dollars. The IR counts ALL input in input_tokens (cache
// reads and cache writes included) and reasoning inside output_tokens, so
//   sum = (input - cached - cache_write) * price.input + cached * price.cached_input
//       + cache_write * price.cache_write + (output - reasoning) * price.output
//       + reasoning * price.reasoning
//   cost = round_half_even(sum / 1'000'000)            (one rounding, at the very end)
// computed exactly in __int128. Missing cached/cache_write/reasoning counts mean 0.
// nullopt when input_tokens or output_tokens was not reported (no guess). An error when the
// counts contradict each other (negative, cached + cache_write > input, reasoning > output)
// or the result does not fit in 64 bits.
Result<std::optional<Micros>> cost(const Price& price, const ir::Usage& usage);

// A provider-independent or provider-specific price, as the default catalog lists it.
struct CatalogPriceEntry {
  std::string provider;  // "" = any provider serving `model`
  std::string model;
  Price price;
};

// Which price applies to provider/model. Lookup order: a config `catalog` entry for exactly
// provider/model, then a default-catalog entry for that provider and model, then a
// provider-independent default entry for model. Model names match exactly (no prefixes: dated
// snapshots of a model have been priced differently). Immutable; safe to share across threads.
class PriceTable {
 public:
  PriceTable() = default;

  // Parses a default catalog (the format of catalog/default_prices.yaml) and applies the
  // config's priced catalog entries on top. Errors name the offending entry.
  static Result<PriceTable> build(std::string_view default_catalog_yaml,
                                  const std::vector<config::CatalogEntry>& config_catalog);
  // The same with the default catalog compiled into the binary.
  static Result<PriceTable> with_shipped_defaults(
      const std::vector<config::CatalogEntry>& config_catalog);

  // "<default version>" or "<default version>+config:<12 hex digits>" when the config sets
  // prices; records keep it so that a report can tell which prices a cost came from.
  const std::string& version() const { return version_; }
  std::optional<Price> find(std::string_view provider, std::string_view model) const;
  std::size_t size() const { return exact_.size() + any_provider_.size(); }

 private:
  std::string version_;
  std::map<std::string, Price, std::less<>> exact_;         // "provider/model"
  std::map<std::string, Price, std::less<>> any_provider_;  // "model"
};

// The text of catalog/default_prices.yaml as compiled into the binary.
std::string_view shipped_default_catalog();

}  // namespace sy::ledger
