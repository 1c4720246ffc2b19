// The attempt planner and the retry timing helpers (see docs/routing.md).

#include "routing/router.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <limits>
#include <string_view>

namespace sy::routing {
namespace {

using std::chrono::milliseconds;

// A uniform integer in [0, bound) from the 64-bit generator, without modulo
// bias.
std::uint64_t uniform_below(std::uint64_t bound, std::mt19937_64 &rng) {
  if (bound <= 1) {
    return 0;
  }
  const std::uint64_t limit =
      std::numeric_limits<std::uint64_t>::max() -
      (std::numeric_limits<std::uint64_t>::max() % bound);
  std::uint64_t x = rng();
  while (x >= limit) {
    x = rng();
  }
  return x % bound;
}

// A uniform double in [0, 1) from the top 53 bits.
double uniform_unit(std::mt19937_64 &rng) {
  return static_cast<double>(rng() >> 11) * 0x1.0p-53;
}

// Picks one entry of `candidates` by weight (indices into `targets`); weight 0
// counts as never chosen while any positive weight is left, then they go in
// list order.
std::size_t pick_weighted(const std::vector<std::size_t> &candidates,
                          const std::vector<TargetView> &targets,
                          std::mt19937_64 &rng) {
  std::uint64_t total = 0;
  for (const std::size_t i : candidates) {
    total += targets[i].weight;
  }
  if (total == 0) {
    return 0;
  }
  std::uint64_t r = uniform_below(total, rng);
  for (std::size_t k = 0; k < candidates.size(); ++k) {
    const std::uint64_t w = targets[candidates[k]].weight;
    if (r < w) {
      return k;
    }
    r -= w;
  }
  return candidates.size() - 1; // not reached
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(),
                                   [](char c) { return c >= '0' && c <= '9'; });
}

// Retry-After values beyond a day are clamped: nobody waits that long, and it
// avoids overflow.
constexpr std::int64_t kMaxRetryAfterMs = 86'400'000;

std::optional<std::int64_t> parse_digits(std::string_view s) {
  if (!all_digits(s)) {
    return std::nullopt;
  }
  std::int64_t v = 0;
  for (const char c : s) {
    v = v * 10 + (c - '0');
    if (v > kMaxRetryAfterMs) {
      return kMaxRetryAfterMs;
    }
  }
  return v;
}

// "1", "1.5", "0.25": delay-seconds, leniently with a fraction (rounded up to
// whole ms).
std::optional<milliseconds> parse_seconds(std::string_view s) {
  const std::size_t dot = s.find('.');
  const std::string_view whole = s.substr(0, dot);
  const auto secs = parse_digits(whole);
  if (!secs) {
    return std::nullopt;
  }
  std::int64_t ms = std::min(*secs * 1000, kMaxRetryAfterMs);
  if (dot != std::string_view::npos) {
    const std::string_view frac = s.substr(dot + 1);
    if (!all_digits(frac)) {
      return std::nullopt;
    }
    std::int64_t part = 0; // the fraction in ms, rounded up
    std::int64_t scale = 100;
    bool rest = false;
    for (const char c : frac) {
      if (scale > 0) {
        part += (c - '0') * scale;
        scale /= 10;
      } else if (c != '0') {
        rest = true;
      }
    }
    ms = std::min(ms + part + (rest ? 1 : 0), kMaxRetryAfterMs);
  }
  return milliseconds{ms};
}

int month_number(std::string_view name) {
  static constexpr std::array<std::string_view, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun",
      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (std::size_t i = 0; i < kMonths.size(); ++i) {
    if (kMonths[i] == name) {
      return static_cast<int>(i) + 1;
    }
  }
  return 0;
}

bool is_day_name(std::string_view name, bool long_form) {
  static constexpr std::array<std::string_view, 7> kShort = {
      "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
  static constexpr std::array<std::string_view, 7> kLong = {
      "Monday", "Tuesday",  "Wednesday", "Thursday",
      "Friday", "Saturday", "Sunday"};
  const auto &names = long_form ? kLong : kShort;
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      if (i > start) {
        out.push_back(s.substr(start, i - start));
      }
      start = i + 1;
    }
  }
  return out;
}

struct DateParts {
  int year = 0;
  int month = 0;
  int day = 0;
  int hour = 0;
  int minute = 0;
  int second = 0;
};

bool parse_clock(std::string_view text, DateParts &d) {
  if (text.size() != 8 || text[2] != ':' || text[5] != ':') {
    return false;
  }
  const auto h = parse_digits(text.substr(0, 2));
  const auto m = parse_digits(text.substr(3, 2));
  const auto s = parse_digits(text.substr(6, 2));
  if (!h || !m || !s || *h > 23 || *m > 59 || *s > 60) {
    return false;
  }
  d.hour = static_cast<int>(*h);
  d.minute = static_cast<int>(*m);
  d.second = static_cast<int>(*s);
  return true;
}

bool set_day_year(std::string_view day, std::string_view year, DateParts &d) {
  const auto dd = parse_digits(day);
  const auto yy = parse_digits(year);
  if (!dd || !yy || day.size() > 2 || *dd < 1 || *dd > 31) {
    return false;
  }
  d.day = static_cast<int>(*dd);
  d.year = static_cast<int>(*yy);
  return true;
}

// The three HTTP-date forms a recipient must accept (RFC 9110, section 5.6.7):
//   IMF-fixdate  "Sun, 06 Nov 1994 08:49:37 GMT"
//   RFC 850      "Sunday, 06-Nov-94 08:49:37 GMT"
//   asctime      "Sun Nov  6 08:49:37 1994"
std::optional<WallClock::time_point> parse_http_date(std::string_view s) {
  const std::vector<std::string_view> words = split(s, ' ');
  DateParts d;
  if (words.size() == 6 && words[0].size() == 4 && words[0].back() == ',' &&
      is_day_name(words[0].substr(0, 3), false) && words[5] == "GMT") {
    d.month = month_number(words[2]);
    if (words[3].size() != 4 || !set_day_year(words[1], words[3], d) ||
        !parse_clock(words[4], d)) {
      return std::nullopt;
    }
  } else if (words.size() == 4 && words[0].size() > 1 &&
             words[0].back() == ',' &&
             is_day_name(words[0].substr(0, words[0].size() - 1), true) &&
             words[3] == "GMT") {
    const std::vector<std::string_view> parts = split(words[1], '-');
    if (parts.size() != 3 || parts[2].size() != 2 ||
        !set_day_year(parts[0], parts[2], d) || !parse_clock(words[2], d)) {
      return std::nullopt;
    }
    d.month = month_number(parts[1]);
    // RFC 9110: a two-digit year more than 50 years in the future is in the
    // past century; read 70..99 as 19xx and 00..69 as 20xx.
    d.year += d.year >= 70 ? 1900 : 2000;
  } else if (words.size() == 5 && is_day_name(words[0], false)) {
    d.month = month_number(words[1]);
    if (words[4].size() != 4 || !set_day_year(words[2], words[4], d) ||
        !parse_clock(words[3], d)) {
      return std::nullopt;
    }
  } else {
    return std::nullopt;
  }
  if (d.month == 0) {
    return std::nullopt;
  }
  const std::chrono::year_month_day date{
      std::chrono::year{d.year},
      std::chrono::month{static_cast<unsigned>(d.month)},
      std::chrono::day{static_cast<unsigned>(d.day)}};
  if (!date.ok()) {
    return std::nullopt;
  }
  const auto time = std::chrono::sys_days{date} + std::chrono::hours{d.hour} +
                    std::chrono::minutes{d.minute} +
                    std::chrono::seconds{d.second};
  return std::chrono::time_point_cast<WallClock::duration>(time);
}

} // namespace

const char *tier_name(Tier t) {
  switch (t) {
  case Tier::Core:
    return "core";
  case Tier::Secondary:
    return "secondary";
  case Tier::Fallback:
    return "fallback";
  }
  return "unknown";
}

std::vector<Attempt> plan(const std::vector<TargetView> &targets, double canary,
                          HealthTracker &health, Clock::time_point now,
                          std::mt19937_64 &rng) {
  // Admitted, eligible targets per tier, in list order. A key listed twice (the
  // same target in two tiers) is only asked once and kept where it first
  // appears.
  std::array<std::vector<std::size_t>, 3> tiers;
  std::vector<std::string_view> seen;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    const TargetView &t = targets[i];
    if (!t.eligible) {
      continue;
    }
    if (std::find(seen.begin(), seen.end(), t.key) != seen.end()) {
      continue;
    }
    seen.push_back(t.key);
    if (!health.admit(t.key, now)) {
      continue;
    }
    tiers[static_cast<std::size_t>(t.tier)].push_back(i);
  }

  std::vector<Attempt> out;
  out.reserve(tiers[0].size() + tiers[1].size() + tiers[2].size());

  // The canary draw is made on every plan (when canary > 0) so that the random
  // sequence does not depend on health; it only takes effect when a lower tier
  // has a target to prove.
  if (canary > 0.0) {
    const bool draw = uniform_unit(rng) < canary;
    std::vector<std::size_t> lower = tiers[1];
    lower.insert(lower.end(), tiers[2].begin(), tiers[2].end());
    if (draw && !lower.empty()) {
      const std::size_t k = pick_weighted(lower, targets, rng);
      const std::size_t chosen = lower[k];
      out.push_back({chosen, true});
      auto &tier = tiers[static_cast<std::size_t>(targets[chosen].tier)];
      tier.erase(std::find(tier.begin(), tier.end(), chosen));
    }
  }

  for (auto &tier : tiers) {
    while (!tier.empty()) {
      const std::size_t k = pick_weighted(tier, targets, rng);
      out.push_back({tier[k], false});
      tier.erase(tier.begin() + static_cast<std::ptrdiff_t>(k));
    }
  }
  return out;
}

std::chrono::milliseconds backoff(unsigned retry, std::mt19937_64 &rng,
                                  milliseconds base, milliseconds cap) {
  const std::int64_t cap_ms = std::max<std::int64_t>(cap.count(), 0);
  std::int64_t ceiling = std::max<std::int64_t>(base.count(), 0);
  for (unsigned i = 0; i < retry && ceiling < cap_ms; ++i) {
    ceiling *= 2;
  }
  ceiling = std::min(ceiling, cap_ms);
  // Full jitter: anywhere in [0, ceiling], so that clients that failed together
  // spread out.
  return milliseconds{static_cast<std::int64_t>(
      uniform_below(static_cast<std::uint64_t>(ceiling) + 1, rng))};
}

std::optional<std::chrono::milliseconds>
retry_wait(unsigned retry, std::mt19937_64 &rng,
           std::optional<milliseconds> retry_after, milliseconds max_wait,
           milliseconds base, milliseconds cap) {
  const milliseconds wait = backoff(retry, rng, base, cap);
  if (!retry_after) {
    return wait;
  }
  if (*retry_after > max_wait) {
    return std::nullopt;
  }
  return std::max(wait, *retry_after);
}

std::optional<std::chrono::milliseconds>
parse_retry_after(const std::string &value, WallClock::time_point wall_now) {
  const std::string_view v = trim(value);
  if (v.empty()) {
    return std::nullopt;
  }
  if (v.front() >= '0' && v.front() <= '9') {
    return parse_seconds(v);
  }
  const auto when = parse_http_date(v);
  if (!when) {
    return std::nullopt;
  }
  if (*when <= wall_now) {
    return milliseconds{0};
  }
  const auto diff = std::chrono::ceil<milliseconds>(*when - wall_now);
  return std::min(diff, milliseconds{kMaxRetryAfterMs});
}

} // namespace sy::routing
