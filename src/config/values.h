#pragma once
// Parsers for the scalar value kinds of the configuration: durations, sizes, addresses, URLs.
// Pure functions; each failure carries a message that the loader prefixes with the key's path.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/schema.h"

namespace sy::config {

template <typename T>
struct Parsed {
  T value{};
  std::string error;  // empty on success
  bool ok() const { return error.empty(); }
};

// "250ms", "2s", "1m", "1h", or a bare integer meaning milliseconds. Integers only, no sign.
Parsed<Duration> parse_duration(std::string_view text);

// "1000" (bytes), "100B", binary "512KiB"/"8MiB"/"1GiB", decimal "8KB"/"8MB"/"1GB".
Parsed<std::uint64_t> parse_size(std::string_view text);

// A non-negative decimal integer ("0", "42"); no sign, no fraction, no exponent.
Parsed<std::uint64_t> parse_uint(std::string_view text);

// A finite decimal number ("0.25", "1", "1e-3").
Parsed<double> parse_number(std::string_view text);

// "true" or "false" (any letter case).
Parsed<bool> parse_bool(std::string_view text);

// The largest price parse_decimal_micros accepts: 1,000,000.000000 (in whatever unit the caller
// prices in; for the catalog, US dollars per million tokens).
inline constexpr std::int64_t kMaxDecimalMicros = 1'000'000'000'000;

// An exact non-negative decimal ("2.50", "0.075", "15") scaled by 10^6 WITHOUT going through a
// binary double: "2.50" gives 2'500'000. At most 6 fractional digits (further digits must be
// zeros); no sign, exponent, leading or trailing '.'; at most kMaxDecimalMicros.
Parsed<std::int64_t> parse_decimal_micros(std::string_view text);

struct ListenAddress {
  std::string host;  // without brackets: "[::1]:80" gives "::1"
  std::uint16_t port = 0;
};
// "host:port" or "[ipv6]:port"; port 0..65535 (0 = any free port).
Parsed<ListenAddress> parse_listen(std::string_view text);

// An http:// or https:// URL with a host; one trailing '/' is removed. The message never repeats
// the URL, which may carry credentials or come from the environment.
Parsed<std::string> parse_base_url(std::string_view text);

// Optimal string alignment distance (Levenshtein plus adjacent transpositions).
std::size_t edit_distance(std::string_view a, std::string_view b);

// The closest candidate within distance 2 of `key` (first in list order on a tie), else "".
std::string closest_key(std::string_view key, const std::vector<std::string_view>& candidates);

}  // namespace sy::config
