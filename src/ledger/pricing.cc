#include "ledger/pricing.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <limits>

#include "config/values.h"

namespace sy::ledger {
namespace {

constexpr std::int64_t kTokensPerUnit = 1'000'000;  // prices are per million tokens

// GCC and Clang's 128-bit integer; __extension__ keeps -Wpedantic quiet about the non-ISO type.
__extension__ typedef __int128 Wide;

Error catalog_error(std::string message) {
  Error e = make_error(ErrorKind::Internal, "invalid price catalog");
  e.detail = std::move(message);
  return e;
}

// 64-bit FNV-1a: a short, stable fingerprint of the config's prices for the table version
// (not a security boundary, only "did the prices change").
std::uint64_t fnv1a(std::string_view text) {
  std::uint64_t h = 14695981039346656037ull;
  for (const char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

std::string hex12(std::uint64_t v) {
  std::array<char, 17> buf{};
  std::snprintf(buf.data(), buf.size(), "%016llx", static_cast<unsigned long long>(v));
  return std::string(buf.data(), 12);
}

std::string price_text(const Price& p) {
  return std::to_string(p.input) + "," + std::to_string(p.output) + "," +
         std::to_string(p.cached_input) + "," + std::to_string(p.cache_write) + "," +
         std::to_string(p.reasoning);
}

constexpr std::string_view kEntryKeys[] = {"provider", "model",       "input",    "output",
                                           "cached_input", "cache_write", "reasoning", "note"};

// One entry of the default catalog: {model: name | [names], provider?, input, output, ...}.
Result<void> parse_entry(const YAML::Node& node, std::size_t index,
                         std::vector<CatalogPriceEntry>& out) {
  const std::string where = "prices[" + std::to_string(index) + "]";
  if (!node.IsMap()) {
    return catalog_error(where + ": expected a map");
  }
  for (const auto& kv : node) {
    const std::string key = kv.first.Scalar();
    if (std::find(std::begin(kEntryKeys), std::end(kEntryKeys), key) == std::end(kEntryKeys)) {
      return catalog_error(where + "." + key + ": unknown key");
    }
  }
  const auto read_price = [&](const char* key, bool required) -> Result<std::optional<Micros>> {
    const YAML::Node v = node[key];
    if (!v || v.IsNull()) {
      if (required) {
        return catalog_error(where + "." + key + ": required");
      }
      return std::optional<Micros>{};
    }
    if (!v.IsScalar()) {
      return catalog_error(where + "." + key + ": expected a number");
    }
    auto parsed = parse_price(v.Scalar());
    if (!parsed) {
      return catalog_error(where + "." + key + ": " + parsed.error().detail);
    }
    return std::optional<Micros>{*parsed};
  };
  auto input = read_price("input", true);
  auto output = read_price("output", true);
  auto cached = read_price("cached_input", false);
  auto cache_write = read_price("cache_write", false);
  auto reasoning = read_price("reasoning", false);
  for (const auto* r : {&input, &output, &cached, &cache_write, &reasoning}) {
    if (!*r) {
      return r->error();
    }
  }
  const Price price = Price::make(**input, **output, *cached, *cache_write, *reasoning);

  std::string provider;
  if (const YAML::Node p = node["provider"]; p && !p.IsNull()) {
    if (!p.IsScalar() || p.Scalar().empty()) {
      return catalog_error(where + ".provider: expected a provider name");
    }
    provider = p.Scalar();
  }
  const YAML::Node models = node["model"];
  std::vector<std::string> names;
  if (models && models.IsScalar()) {
    names.push_back(models.Scalar());
  } else if (models && models.IsSequence()) {
    for (const auto& m : models) {
      if (!m.IsScalar()) {
        return catalog_error(where + ".model: expected names");
      }
      names.push_back(m.Scalar());
    }
  }
  if (names.empty() ||
      std::any_of(names.begin(), names.end(), [](const std::string& n) { return n.empty(); })) {
    return catalog_error(where + ".model: required (a name or a list of names)");
  }
  for (std::string& name : names) {
    out.push_back(CatalogPriceEntry{provider, std::move(name), price});
  }
  return {};
}

}  // namespace

Price Price::make(Micros input, Micros output, std::optional<Micros> cached_input,
                  std::optional<Micros> cache_write, std::optional<Micros> reasoning) {
  Price p;
  p.input = input;
  p.output = output;
  p.cached_input = cached_input.value_or(input);
  p.cache_write = cache_write.value_or(input);
  p.reasoning = reasoning.value_or(output);
  return p;
}

Result<Micros> parse_price(std::string_view text) {
  // One exact parser for the config and the default catalog (config/values.cc).
  const config::Parsed<std::int64_t> parsed = config::parse_decimal_micros(text);
  if (!parsed.ok()) {
    Error e = make_error(ErrorKind::InvalidRequest, "invalid price");
    e.detail = parsed.error;
    return e;
  }
  return parsed.value;
}

Result<std::optional<Micros>> cost(const Price& price, const ir::Usage& usage) {
  if (!usage.input_tokens || !usage.output_tokens) {
    return std::optional<Micros>{};
  }
  const std::int64_t input = *usage.input_tokens;
  const std::int64_t output = *usage.output_tokens;
  const std::int64_t cached = usage.cached_input_tokens.value_or(0);
  const std::int64_t cache_write = usage.cache_write_tokens.value_or(0);
  const std::int64_t reasoning = usage.reasoning_tokens.value_or(0);
  const auto bad = [](std::string detail) {
    Error e = make_error(ErrorKind::Internal, "inconsistent token usage");
    e.detail = std::move(detail);
    return e;
  };
  if (input < 0 || output < 0 || cached < 0 || cache_write < 0 || reasoning < 0) {
    return bad("negative token count");
  }
  // Each count is below 2^63 and each price at most 10^12 < 2^40, so each product is below
  // 2^103 and the sum of five below 2^106: __int128 cannot overflow.
  if (Wide{cached} + cache_write > input) {
    return bad("cached + cache-write tokens exceed input tokens");
  }
  if (reasoning > output) {
    return bad("reasoning tokens exceed output tokens");
  }
  for (const Micros p : {price.input, price.output, price.cached_input, price.cache_write,
                         price.reasoning}) {
    if (p < 0 || p > config::kMaxDecimalMicros) {
      return bad("price out of range");
    }
  }
  const Wide sum = Wide{input - cached - cache_write} * price.input +
                   Wide{cached} * price.cached_input + Wide{cache_write} * price.cache_write +
                   Wide{output - reasoning} * price.output + Wide{reasoning} * price.reasoning;
  // One rounding, half to even, of sum / 10^6 (sum >= 0).
  Wide quotient = sum / kTokensPerUnit;
  const Wide remainder = sum % kTokensPerUnit;
  constexpr Wide kHalf = kTokensPerUnit / 2;
  if (remainder > kHalf || (remainder == kHalf && quotient % 2 != 0)) {
    ++quotient;
  }
  if (quotient > std::numeric_limits<Micros>::max()) {
    return bad("cost overflows 64 bits");
  }
  return std::optional<Micros>{static_cast<Micros>(quotient)};
}

Result<PriceTable> PriceTable::build(std::string_view default_catalog_yaml,
                                     const std::vector<config::CatalogEntry>& config_catalog) {
  PriceTable table;
  YAML::Node root;
  try {
    root = YAML::Load(std::string(default_catalog_yaml));
  } catch (const YAML::Exception& e) {
    return catalog_error(std::string("YAML: ") + e.what());
  }
  if (!root.IsMap()) {
    return catalog_error("expected a map with version and prices");
  }
  const YAML::Node version = root["version"];
  if (!version || !version.IsScalar() || version.Scalar().empty()) {
    return catalog_error("version: required");
  }
  table.version_ = version.Scalar();
  const YAML::Node prices = root["prices"];
  if (!prices || !prices.IsSequence()) {
    return catalog_error("prices: expected a list");
  }
  std::vector<CatalogPriceEntry> entries;
  for (std::size_t i = 0; i < prices.size(); ++i) {
    if (auto r = parse_entry(prices[i], i, entries); !r) {
      return r.error();
    }
  }
  for (CatalogPriceEntry& e : entries) {
    auto& into = e.provider.empty() ? table.any_provider_ : table.exact_;
    const std::string key = e.provider.empty() ? e.model : e.provider + "/" + e.model;
    if (!into.emplace(key, e.price).second) {
      return catalog_error("duplicate entry for " + key);
    }
  }

  // Config entries win. Their prices (sorted by target, so file order does not matter) are
  // hashed into the version: records priced by a changed config carry a different version.
  std::vector<std::string> lines;
  for (const config::CatalogEntry& entry : config_catalog) {
    if (!entry.price) {
      continue;
    }
    const Price price = Price::from(*entry.price);
    table.exact_.insert_or_assign(entry.target, price);
    lines.push_back(entry.target + "=" + price_text(price) + ";" + entry.price_version);
  }
  if (!lines.empty()) {
    std::sort(lines.begin(), lines.end());
    std::string all;
    for (const std::string& line : lines) {
      all += line;
      all += '\n';
    }
    table.version_ += "+config:" + hex12(fnv1a(all));
  }
  return table;
}

Result<PriceTable> PriceTable::with_shipped_defaults(
    const std::vector<config::CatalogEntry>& config_catalog) {
  return build(shipped_default_catalog(), config_catalog);
}

std::optional<Price> PriceTable::find(std::string_view provider, std::string_view model) const {
  std::string key;
  key.reserve(provider.size() + 1 + model.size());
  key.append(provider).append("/").append(model);
  if (const auto it = exact_.find(key); it != exact_.end()) {
    return it->second;
  }
  if (const auto it = any_provider_.find(model); it != any_provider_.end()) {
    return it->second;
  }
  return std::nullopt;
}

}  // namespace sy::ledger
