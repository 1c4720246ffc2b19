#include "config/values.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

namespace sy::config {
namespace {

std::string quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

bool is_digit(char c) { return c >= '0' && c <= '9'; }

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return lower(x) == lower(y); });
}

// Splits "250ms" into the leading digits and the unit; digits may be empty.
std::pair<std::string_view, std::string_view> split_number(std::string_view text) {
  std::size_t n = 0;
  while (n < text.size() && is_digit(text[n])) {
    ++n;
  }
  return {text.substr(0, n), text.substr(n)};
}

// Multiplies without overflow; false when the product does not fit.
bool checked_mul(std::uint64_t a, std::uint64_t b, std::uint64_t& out) {
  if (a != 0 && b > std::numeric_limits<std::uint64_t>::max() / a) {
    return false;
  }
  out = a * b;
  return true;
}

}  // namespace

Parsed<std::uint64_t> parse_uint(std::string_view text) {
  Parsed<std::uint64_t> out;
  if (text.empty() || !std::all_of(text.begin(), text.end(), is_digit)) {
    out.error = "expected a non-negative integer, got " + quoted(text);
    return out;
  }
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out.value);
  if (ec != std::errc{} || end != text.data() + text.size()) {
    out.error = "integer " + quoted(text) + " is too large";
  }
  return out;
}

Parsed<Duration> parse_duration(std::string_view text) {
  Parsed<Duration> out;
  const auto [digits, unit] = split_number(text);
  std::uint64_t scale = 0;
  if (unit.empty() || unit == "ms") {
    scale = 1;
  } else if (unit == "s") {
    scale = 1'000;
  } else if (unit == "m") {
    scale = 60'000;
  } else if (unit == "h") {
    scale = 3'600'000;
  }
  if (digits.empty() || scale == 0) {
    out.error = "invalid duration " + quoted(text) +
                " (use an integer with ms, s, m or h, e.g. 250ms, 2s, 1m; a bare integer is "
                "milliseconds)";
    return out;
  }
  const Parsed<std::uint64_t> number = parse_uint(digits);
  std::uint64_t ms = 0;
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<Duration::rep>::max());
  if (!number.ok() || !checked_mul(number.value, scale, ms) || ms > kMax) {
    out.error = "duration " + quoted(text) + " is too large";
    return out;
  }
  out.value = Duration{static_cast<Duration::rep>(ms)};
  return out;
}

Parsed<std::uint64_t> parse_size(std::string_view text) {
  Parsed<std::uint64_t> out;
  const auto [digits, unit] = split_number(text);
  std::uint64_t scale = 0;
  if (unit.empty() || unit == "B") {
    scale = 1;
  } else if (unit == "KiB") {
    scale = 1ull << 10;
  } else if (unit == "MiB") {
    scale = 1ull << 20;
  } else if (unit == "GiB") {
    scale = 1ull << 30;
  } else if (unit == "KB") {
    scale = 1'000;
  } else if (unit == "MB") {
    scale = 1'000'000;
  } else if (unit == "GB") {
    scale = 1'000'000'000;
  }
  if (digits.empty() || scale == 0) {
    out.error = "invalid size " + quoted(text) +
                " (use an integer number of bytes, or with KiB, MiB, GiB, KB, MB or GB, e.g. "
                "8MiB)";
    return out;
  }
  const Parsed<std::uint64_t> number = parse_uint(digits);
  if (!number.ok() || !checked_mul(number.value, scale, out.value)) {
    out.error = "size " + quoted(text) + " is too large";
  }
  return out;
}

Parsed<double> parse_number(std::string_view text) {
  Parsed<double> out;
  const char* first = text.data();
  const char* last = text.data() + text.size();
  if (!text.empty() && text.front() == '+') {
    ++first;  // from_chars rejects a leading '+', YAML allows it
  }
  const auto [end, ec] = std::from_chars(first, last, out.value);
  if (text.empty() || ec != std::errc{} || end != last || !std::isfinite(out.value)) {
    out.error = "expected a number, got " + quoted(text);
  }
  return out;
}

Parsed<bool> parse_bool(std::string_view text) {
  Parsed<bool> out;
  if (iequals(text, "true")) {
    out.value = true;
  } else if (iequals(text, "false")) {
    out.value = false;
  } else {
    out.error = "expected true or false, got " + quoted(text);
  }
  return out;
}

Parsed<std::int64_t> parse_decimal_micros(std::string_view text) {
  Parsed<std::int64_t> out;
  const std::string bad = "expected a decimal number such as 2.50 (at most 6 decimals), got " +
                          quoted(text);
  const std::size_t dot = text.find('.');
  const std::string_view whole = text.substr(0, dot);
  const std::string_view fraction =
      dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1);
  const auto all_digits = [](std::string_view s) {
    return std::all_of(s.begin(), s.end(), is_digit);
  };
  if (whole.empty() || !all_digits(whole) || !all_digits(fraction) ||
      (dot != std::string_view::npos && fraction.empty())) {
    out.error = bad;
    return out;
  }
  // Digits past the sixth decimal would need rounding; only zeros are exact.
  if (fraction.size() > 6 &&
      !std::all_of(fraction.begin() + 6, fraction.end(), [](char c) { return c == '0'; })) {
    out.error = "more than 6 decimals in " + quoted(text) + " (prices are exact micro-units)";
    return out;
  }
  // Plain integer arithmetic: every step is checked against the limit before it could overflow.
  std::int64_t value = 0;
  for (const char c : whole) {
    value = value * 10 + (c - '0');
    if (value > kMaxDecimalMicros / 1'000'000) {
      out.error = quoted(text) + " is too large (at most 1000000)";
      return out;
    }
  }
  std::int64_t micros = 0;
  for (std::size_t i = 0; i < 6; ++i) {
    micros = micros * 10 + (i < fraction.size() ? fraction[i] - '0' : 0);
  }
  out.value = value * 1'000'000 + micros;
  if (out.value > kMaxDecimalMicros) {
    out.error = quoted(text) + " is too large (at most 1000000)";
  }
  return out;
}

Parsed<ListenAddress> parse_listen(std::string_view text) {
  Parsed<ListenAddress> out;
  const std::string bad = "invalid listen address " + quoted(text);
  std::string_view host;
  std::string_view rest;
  if (!text.empty() && text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos) {
      out.error = bad + " (missing ']')";
      return out;
    }
    host = text.substr(1, close - 1);
    rest = text.substr(close + 1);
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      out.error = bad + " (expected host:port or [ipv6]:port)";
      return out;
    }
    host = text.substr(0, colon);
    rest = text.substr(colon);
    if (host.find(':') != std::string_view::npos) {
      out.error = bad + " (write an IPv6 host in brackets, e.g. [::1]:8080)";
      return out;
    }
  }
  if (host.empty() || rest.size() < 2 || rest.front() != ':') {
    out.error = bad + " (expected host:port or [ipv6]:port)";
    return out;
  }
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  if (std::any_of(host.begin(), host.end(), is_space)) {
    out.error = bad + " (the host contains a space)";
    return out;
  }
  const Parsed<std::uint64_t> port = parse_uint(rest.substr(1));
  if (!port.ok() || port.value > 65535) {
    out.error = bad + " (port must be an integer 0..65535)";
    return out;
  }
  out.value.host = std::string(host);
  out.value.port = static_cast<std::uint16_t>(port.value);
  return out;
}

Parsed<std::string> parse_base_url(std::string_view text) {
  Parsed<std::string> out;
  std::size_t scheme_len = 0;
  if (text.size() >= 7 && iequals(text.substr(0, 7), "http://")) {
    scheme_len = 7;
  } else if (text.size() >= 8 && iequals(text.substr(0, 8), "https://")) {
    scheme_len = 8;
  }
  if (scheme_len == 0) {
    out.error = "must start with http:// or https://";
    return out;
  }
  const auto is_bad = [](char c) { return static_cast<unsigned char>(c) <= ' ' || c == 0x7f; };
  if (std::any_of(text.begin(), text.end(), is_bad)) {
    out.error = "must not contain spaces or control characters";
    return out;
  }
  const std::string_view after = text.substr(scheme_len);
  const std::string_view authority = after.substr(0, after.find_first_of("/?#"));
  // The host is what follows any "user:pass@"; a bare ":port" has no host.
  const std::size_t at = authority.rfind('@');
  const std::string_view host_port =
      at == std::string_view::npos ? authority : authority.substr(at + 1);
  if (host_port.empty() || host_port.front() == ':') {
    out.error = "must name a host (e.g. https://api.example.com/v1)";
    return out;
  }
  out.value = std::string(text);
  if (out.value.size() > scheme_len + host_port.size() && out.value.back() == '/') {
    out.value.pop_back();
  }
  return out;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  // d[i][j] = distance between a[0..i) and b[0..j); three rows suffice for transpositions.
  const std::size_t m = b.size();
  std::vector<std::size_t> prev2(m + 1);
  std::vector<std::size_t> prev(m + 1);
  std::vector<std::size_t> cur(m + 1);
  for (std::size_t j = 0; j <= m; ++j) {
    prev[j] = j;
  }
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        cur[j] = std::min(cur[j], prev2[j - 2] + 1);
      }
    }
    std::swap(prev2, prev);
    std::swap(prev, cur);
  }
  return prev[m];
}

std::string closest_key(std::string_view key, const std::vector<std::string_view>& candidates) {
  std::string best;
  std::size_t best_distance = 3;
  for (const std::string_view candidate : candidates) {
    const std::size_t d = edit_distance(key, candidate);
    // A one-letter key is "close" to every two-letter one; require some overlap.
    if (d < best_distance && d < key.size()) {
      best_distance = d;
      best = std::string(candidate);
    }
  }
  return best;
}

}  // namespace sy::config
