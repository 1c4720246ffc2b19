#include "codec/json_util.h"

#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <system_error>

#include <boost/json/parse.hpp>

#include "codec/json_scan.h"

namespace sy::codec {

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

namespace json = boost::json;

namespace {

template <typename Number>
void append_number(std::string& out, Number n) {
  // 32 bytes hold any int64/uint64 and the longest shortest-form double (24 characters).
  std::array<char, 32> buf{};
  const auto res = std::to_chars(buf.data(), buf.data() + buf.size(), n);
  out.append(buf.data(), res.ec == std::errc{} ? res.ptr : buf.data());
}

}  // namespace

void write_json(std::string& out, const json::value& v) {
  switch (v.kind()) {
    case json::kind::null: out += "null"; return;
    case json::kind::bool_: out += v.get_bool() ? "true" : "false"; return;
    case json::kind::int64: append_number(out, v.get_int64()); return;
    case json::kind::uint64: append_number(out, v.get_uint64()); return;
    case json::kind::double_: {
      const double d = v.get_double();
      if (!std::isfinite(d)) {
        out += "null";  // JSON has no NaN/Infinity
        return;
      }
      append_number(out, d);
      return;
    }
    case json::kind::string: out += json_quote(v.get_string()); return;
    case json::kind::array: {
      out += '[';
      bool first = true;
      for (const json::value& e : v.get_array()) {
        if (!first) {
          out += ',';
        }
        first = false;
        write_json(out, e);
      }
      out += ']';
      return;
    }
    case json::kind::object: {
      out += '{';
      bool first = true;
      for (const auto& kv : v.get_object()) {
        if (!first) {
          out += ',';
        }
        first = false;
        out += json_quote(kv.key());
        out += ':';
        write_json(out, kv.value());
      }
      out += '}';
      return;
    }
  }
}

std::string compact(const json::value& v) {
  std::string out;
  write_json(out, v);
  return out;
}

std::optional<json::value> parse_json(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) {
    return std::nullopt;
  }
  return v;
}

const json::object* object_at(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_object() ? &v->get_object() : nullptr;
}

const json::array* array_at(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_array() ? &v->get_array() : nullptr;
}

std::optional<std::string_view> string_at(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) {
    return std::nullopt;
  }
  return std::string_view(v->get_string());
}

std::string string_or_empty(const json::object& o, std::string_view key) {
  return std::string(string_at(o, key).value_or(std::string_view{}));
}

std::optional<std::int64_t> int_at(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) {
    return std::nullopt;
  }
  if (v->is_int64()) {
    return v->get_int64();
  }
  if (v->is_uint64() && v->get_uint64() <= std::numeric_limits<std::int64_t>::max()) {
    return static_cast<std::int64_t>(v->get_uint64());
  }
  return std::nullopt;
}

std::optional<std::int64_t> count_at(const json::object& o, std::string_view key) {
  const std::optional<std::int64_t> n = int_at(o, key);
  if (n && *n >= 0) {
    return n;
  }
  return std::nullopt;  // negative, fractional or not a number: not a usable count
}

}  // namespace sy::codec
