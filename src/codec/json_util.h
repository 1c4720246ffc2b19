#pragma once
// Small Boost.JSON helpers shared by the protocol codecs: a compact writer whose doubles read as
// written, a non-throwing parse, and lenient member accessors for decoding provider replies.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

namespace sy::codec {

// Appends `v` as compact JSON: no whitespace, object members in stored order, strings through
// json_quote, integers in decimal, and doubles in their shortest round-trip form via
// std::to_chars ("0.7", "1e-07", "1e+21", "-0", "2"; Boost.JSON 1.81 would write "7E-1").
// Non-finite doubles, which parsed JSON cannot hold, are written as null.
// Appends the UTF-8 encoding of code point `cp` (callers pass valid scalar values).
void append_utf8(std::string& out, std::uint32_t cp);

void write_json(std::string& out, const boost::json::value& v);

// write_json into a fresh string.
std::string compact(const boost::json::value& v);

// The parsed value, or nullopt when `text` is not exactly one JSON value.
std::optional<boost::json::value> parse_json(std::string_view text);

// Member `key` when it is an object (an array), else nullptr.
const boost::json::object* object_at(const boost::json::object& o, std::string_view key);
const boost::json::array* array_at(const boost::json::object& o, std::string_view key);

// Member `key` when it is a string, else nullopt. The view points into `o`.
std::optional<std::string_view> string_at(const boost::json::object& o, std::string_view key);

// Member `key` when it is a string, else "" (absent, null and other types alike).
std::string string_or_empty(const boost::json::object& o, std::string_view key);

// Member `key` when it is an integer that fits int64 (negatives included), else nullopt.
// Doubles, even integral ones, are not integers here.
std::optional<std::int64_t> int_at(const boost::json::object& o, std::string_view key);

// A token count: member `key` when it is a non-negative integer that fits int64, else nullopt
// ("not reported").
std::optional<std::int64_t> count_at(const boost::json::object& o, std::string_view key);

}  // namespace sy::codec
