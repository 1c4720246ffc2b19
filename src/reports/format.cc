#include "reports/format.h"

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>

namespace sy::reports {

namespace {

using std::chrono::days;
using std::chrono::sys_days;
using std::chrono::year_month_day;

// Floor division for negative timestamps (before 1970).
std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) {
    --q;
  }
  return q;
}

std::string two(unsigned v) {
  std::string s(2, '0');
  s[0] = static_cast<char>('0' + (v / 10) % 10);
  s[1] = static_cast<char>('0' + v % 10);
  return s;
}

std::string civil(std::int64_t day_number) {
  const year_month_day ymd{sys_days{days{day_number}}};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buf;
}

// Parses exactly n decimal digits at text[pos...]; advances pos.
std::optional<int> digits(std::string_view text, std::size_t& pos, std::size_t n) {
  if (pos + n > text.size()) {
    return std::nullopt;
  }
  int v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const char c = text[pos + i];
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    v = v * 10 + (c - '0');
  }
  pos += n;
  return v;
}

bool expect(std::string_view text, std::size_t& pos, char c) {
  if (pos < text.size() && text[pos] == c) {
    ++pos;
    return true;
  }
  return false;
}

// "YYYY-MM-DD" at the start of text -> day number since the epoch; advances pos.
std::optional<std::int64_t> parse_date_part(std::string_view text, std::size_t& pos) {
  auto y = digits(text, pos, 4);
  if (!y || !expect(text, pos, '-')) {
    return std::nullopt;
  }
  auto m = digits(text, pos, 2);
  if (!m || !expect(text, pos, '-')) {
    return std::nullopt;
  }
  auto d = digits(text, pos, 2);
  if (!d) {
    return std::nullopt;
  }
  const year_month_day ymd{std::chrono::year{*y}, std::chrono::month{static_cast<unsigned>(*m)},
                           std::chrono::day{static_cast<unsigned>(*d)}};
  if (!ymd.ok()) {
    return std::nullopt;
  }
  return sys_days{ymd}.time_since_epoch().count();
}

std::size_t display_width(std::string_view s) {
  std::size_t n = 0;
  for (char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) {
      ++n;
    }
  }
  return n;
}

void append_padded(std::string& out, std::string_view cell, std::size_t width, Align align) {
  const std::size_t w = display_width(cell);
  const std::size_t pad = width > w ? width - w : 0;
  if (align == Align::Right) {
    out.append(pad, ' ');
    out.append(cell);
  } else {
    out.append(cell);
    out.append(pad, ' ');
  }
}

void append_line(std::string& out, const std::vector<std::string>& cells,
                 const std::vector<std::size_t>& widths, const std::vector<Align>& align) {
  std::string line;
  for (std::size_t i = 0; i < widths.size(); ++i) {
    if (i > 0) {
      line.append("  ");
    }
    const std::string_view cell = i < cells.size() ? std::string_view(cells[i]) : "";
    append_padded(line, cell, widths[i], i < align.size() ? align[i] : Align::Left);
  }
  while (!line.empty() && line.back() == ' ') {
    line.pop_back();
  }
  out.append(line);
  out.push_back('\n');
}

void append_double(std::string& out, double d) {
  if (!std::isfinite(d)) {
    out.append("null");
    return;
  }
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, d);
  out.append(buf, r.ptr);
}

void write_json(std::string& out, const boost::json::value& v, bool pretty, int depth) {
  auto newline = [&](int d) {
    if (pretty) {
      out.push_back('\n');
      out.append(static_cast<std::size_t>(d) * 2, ' ');
    }
  };
  switch (v.kind()) {
    case boost::json::kind::null:
      out.append("null");
      break;
    case boost::json::kind::bool_:
      out.append(v.get_bool() ? "true" : "false");
      break;
    case boost::json::kind::int64:
      out.append(std::to_string(v.get_int64()));
      break;
    case boost::json::kind::uint64:
      out.append(std::to_string(v.get_uint64()));
      break;
    case boost::json::kind::double_:
      append_double(out, v.get_double());
      break;
    case boost::json::kind::string:
      out.append(boost::json::serialize(v));
      break;
    case boost::json::kind::array: {
      const auto& a = v.get_array();
      out.push_back('[');
      bool first = true;
      for (const auto& e : a) {
        if (!first) {
          out.push_back(',');
        }
        first = false;
        newline(depth + 1);
        write_json(out, e, pretty, depth + 1);
      }
      if (!a.empty()) {
        newline(depth);
      }
      out.push_back(']');
      break;
    }
    case boost::json::kind::object: {
      const auto& o = v.get_object();
      out.push_back('{');
      bool first = true;
      for (const auto& kv : o) {
        if (!first) {
          out.push_back(',');
        }
        first = false;
        newline(depth + 1);
        out.append(boost::json::serialize(boost::json::value(kv.key())));
        out.append(pretty ? ": " : ":");
        write_json(out, kv.value(), pretty, depth + 1);
      }
      if (!o.empty()) {
        newline(depth);
      }
      out.push_back('}');
      break;
    }
  }
}

}  // namespace

std::string format_micros(ledger::Micros micros) {
  // Magnitude as unsigned so that INT64_MIN works too.
  const bool negative = micros < 0;
  const std::uint64_t mag =
      negative ? std::uint64_t{0} - static_cast<std::uint64_t>(micros)
               : static_cast<std::uint64_t>(micros);
  std::string frac = std::to_string(mag % 1'000'000);
  frac.insert(0, 6 - frac.size(), '0');
  std::string out = negative ? "-" : "";
  out += std::to_string(mag / 1'000'000);
  out += '.';
  out += frac;
  return out;
}

std::string format_day(std::int64_t ms) { return civil(floor_div(ms, kMsPerDay)); }

std::string format_utc(std::int64_t ms) {
  const std::int64_t day = floor_div(ms, kMsPerDay);
  const std::int64_t in_day = ms - day * kMsPerDay;
  const auto secs = static_cast<unsigned>(in_day / 1000);
  const auto millis = static_cast<unsigned>(in_day % 1000);
  std::string out = civil(day);
  out += 'T';
  out += two(secs / 3600);
  out += ':';
  out += two((secs / 60) % 60);
  out += ':';
  out += two(secs % 60);
  if (millis != 0) {
    char buf[16];
    std::snprintf(buf, sizeof buf, ".%03u", millis);
    out += buf;
  }
  out += 'Z';
  return out;
}

std::optional<std::int64_t> parse_day(std::string_view text) {
  std::size_t pos = 0;
  auto day = parse_date_part(text, pos);
  if (!day || pos != text.size()) {
    return std::nullopt;
  }
  return *day * kMsPerDay;
}

std::optional<std::int64_t> parse_time(std::string_view text, DateBound bound) {
  std::size_t pos = 0;
  auto day = parse_date_part(text, pos);
  if (!day) {
    return std::nullopt;
  }
  if (pos == text.size()) {
    return (*day + (bound == DateBound::End ? 1 : 0)) * kMsPerDay;
  }
  if (!expect(text, pos, 'T') && !expect(text, pos, 't') && !expect(text, pos, ' ')) {
    return std::nullopt;
  }
  auto hh = digits(text, pos, 2);
  if (!hh || !expect(text, pos, ':')) {
    return std::nullopt;
  }
  auto mm = digits(text, pos, 2);
  if (!mm || !expect(text, pos, ':')) {
    return std::nullopt;
  }
  auto ss = digits(text, pos, 2);
  if (!ss || *hh > 23 || *mm > 59 || *ss > 60) {
    return std::nullopt;
  }
  std::int64_t millis = 0;
  if (expect(text, pos, '.')) {
    std::size_t n = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (n < 3) {
        millis = millis * 10 + (text[pos] - '0');
      }
      ++n;
      ++pos;
    }
    if (n == 0) {
      return std::nullopt;
    }
    for (std::size_t i = n; i < 3; ++i) {
      millis *= 10;
    }
  }
  std::int64_t offset_min = 0;
  if (expect(text, pos, 'Z') || expect(text, pos, 'z')) {
    // UTC
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    const int sign = text[pos] == '-' ? -1 : 1;
    ++pos;
    auto oh = digits(text, pos, 2);
    if (!oh || !expect(text, pos, ':')) {
      return std::nullopt;
    }
    auto om = digits(text, pos, 2);
    if (!om || *oh > 23 || *om > 59) {
      return std::nullopt;
    }
    offset_min = sign * (*oh * 60 + *om);
  } else {
    return std::nullopt;  // RFC 3339 requires an offset
  }
  if (pos != text.size()) {
    return std::nullopt;
  }
  const std::int64_t secs = *hh * 3600 + *mm * 60 + *ss - offset_min * 60;
  return *day * kMsPerDay + secs * 1000 + millis;
}

std::string_view dim_name(ledger::Dim dim) {
  switch (dim) {
    case ledger::Dim::Tenant:
      return "tenant";
    case ledger::Dim::Provider:
      return "provider";
    case ledger::Dim::Model:
      return "model";
    case ledger::Dim::Route:
      return "route";
    case ledger::Dim::Day:
      return "day";
    case ledger::Dim::Tier:
      return "tier";
    case ledger::Dim::Key:
      return "key";
  }
  return "?";
}

std::optional<ledger::Dim> parse_dim(std::string_view name) {
  for (auto d : {ledger::Dim::Tenant, ledger::Dim::Provider, ledger::Dim::Model,
                 ledger::Dim::Route, ledger::Dim::Day, ledger::Dim::Tier, ledger::Dim::Key}) {
    if (dim_name(d) == name) {
      return d;
    }
  }
  return std::nullopt;
}

Result<std::vector<ledger::Dim>> parse_group_by(std::string_view text) {
  std::vector<ledger::Dim> out;
  if (text.empty()) {
    return out;
  }
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = text.find(',', start);
    std::string_view part = text.substr(start, comma == std::string_view::npos
                                                   ? std::string_view::npos
                                                   : comma - start);
    while (!part.empty() && part.front() == ' ') {
      part.remove_prefix(1);
    }
    while (!part.empty() && part.back() == ' ') {
      part.remove_suffix(1);
    }
    auto dim = parse_dim(part);
    if (!dim) {
      return make_error(ErrorKind::InvalidRequest,
                        "unknown group-by dimension \"" + std::string(part) +
                            "\" (expected tenant, provider, model, route, day, tier or key)",
                        "invalid_group_by", "group_by");
    }
    if (std::find(out.begin(), out.end(), *dim) != out.end()) {
      return make_error(ErrorKind::InvalidRequest,
                        "group-by dimension \"" + std::string(part) + "\" is repeated",
                        "invalid_group_by", "group_by");
    }
    out.push_back(*dim);
    if (comma == std::string_view::npos) {
      break;
    }
    start = comma + 1;
  }
  return out;
}

std::string render_table(const Table& table) {
  std::vector<std::size_t> widths(table.columns.size(), 0);
  auto measure = [&](const std::vector<std::string>& cells) {
    for (std::size_t i = 0; i < cells.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], display_width(cells[i]));
    }
  };
  measure(table.columns);
  for (const auto& row : table.rows) {
    measure(row);
  }
  measure(table.totals);
  std::size_t total_width = 0;
  for (std::size_t i = 0; i < widths.size(); ++i) {
    total_width += widths[i] + (i > 0 ? 2 : 0);
  }
  const std::string rule = std::string(total_width, '-') + "\n";
  std::string out;
  append_line(out, table.columns, widths, table.align);
  out += rule;
  for (const auto& row : table.rows) {
    append_line(out, row, widths, table.align);
  }
  if (!table.totals.empty()) {
    out += rule;
    append_line(out, table.totals, widths, table.align);
  }
  return out;
}

std::string csv_field(std::string_view value) {
  const bool quote = value.find_first_of(",\"\r\n") != std::string_view::npos ||
                     (!value.empty() && (value.front() == ' ' || value.back() == ' '));
  if (!quote) {
    return std::string(value);
  }
  std::string out = "\"";
  for (char c : value) {
    if (c == '"') {
      out += '"';
    }
    out += c;
  }
  out += '"';
  return out;
}

std::string render_csv(const Table& table) {
  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    for (std::size_t i = 0; i < cells.size(); ++i) {
      if (i > 0) {
        out += ',';
      }
      out += csv_field(cells[i]);
    }
    out += "\r\n";
  };
  line(table.columns);
  for (const auto& row : table.rows) {
    line(row);
  }
  return out;
}

std::string render_json(const boost::json::value& value, bool pretty) {
  std::string out;
  write_json(out, value, pretty, 0);
  if (pretty) {
    out.push_back('\n');
  }
  return out;
}

double round_to(double value, int decimals) {
  const double scale = std::pow(10.0, decimals);
  return std::round(value * scale) / scale;
}

std::optional<OutputFormat> parse_format(std::string_view name) {
  if (name == "table") {
    return OutputFormat::Table;
  }
  if (name == "csv") {
    return OutputFormat::Csv;
  }
  if (name == "json") {
    return OutputFormat::Json;
  }
  return std::nullopt;
}

}  // namespace sy::reports
