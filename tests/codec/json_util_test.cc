#include "codec/json_util.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <limits>
#include <string>

namespace sy::codec {
namespace {

namespace json = boost::json;

std::string of_double(double d) { return compact(json::value(d)); }

// ---------------------------------------------------------------------------------------------
// Writer: numbers

TEST(JsonUtilWrite, DoublesInShortestRoundTripForm) {
  EXPECT_EQ(of_double(0.5), "0.5");
  EXPECT_EQ(of_double(0.7), "0.7");  // Boost.JSON 1.81's serializer: "7E-1"
  EXPECT_EQ(of_double(21.5), "21.5");
  EXPECT_EQ(of_double(-1.25), "-1.25");
  EXPECT_EQ(of_double(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(of_double(1e-7), "1e-07");
  EXPECT_EQ(of_double(1e21), "1e+21");
  EXPECT_EQ(of_double(1.7976931348623157e308), "1.7976931348623157e+308");
  EXPECT_EQ(of_double(5e-324), "5e-324");
}

TEST(JsonUtilWrite, ZeroesAndIntegralDoublesHaveNoFraction) {
  EXPECT_EQ(of_double(0.0), "0");
  EXPECT_EQ(of_double(-0.0), "-0");
  EXPECT_EQ(of_double(1.0), "1");
  EXPECT_EQ(of_double(-3.0), "-3");
  EXPECT_EQ(of_double(100.0), "100");
  EXPECT_EQ(of_double(1e20), "1e+20");  // shortest form: exponent when shorter than the digits
  // A parsed "2.0" is a double and is written back without its fraction.
  EXPECT_EQ(compact(json::parse("[2.0,2]")), "[2,2]");
}

TEST(JsonUtilWrite, NonFiniteDoublesBecomeNull) {
  EXPECT_EQ(of_double(std::numeric_limits<double>::infinity()), "null");
  EXPECT_EQ(of_double(-std::numeric_limits<double>::infinity()), "null");
  EXPECT_EQ(of_double(std::numeric_limits<double>::quiet_NaN()), "null");
}

TEST(JsonUtilWrite, Integers) {
  EXPECT_EQ(compact(json::value(std::int64_t{0})), "0");
  EXPECT_EQ(compact(json::value(std::int64_t{-42})), "-42");
  EXPECT_EQ(compact(json::value(std::numeric_limits<std::int64_t>::max())),
            "9223372036854775807");
  EXPECT_EQ(compact(json::value(std::numeric_limits<std::int64_t>::min())),
            "-9223372036854775808");
  EXPECT_EQ(compact(json::value(std::numeric_limits<std::uint64_t>::max())),
            "18446744073709551615");
  EXPECT_EQ(compact(json::value(std::uint64_t{7})), "7");
  // Parsed: beyond int64 becomes uint64, beyond uint64 a double (2^64 exactly, shortest in
  // plain digits).
  const json::value big = json::parse("[9223372036854775808,18446744073709551616]");
  EXPECT_TRUE(big.as_array()[0].is_uint64());
  EXPECT_TRUE(big.as_array()[1].is_double());
  EXPECT_EQ(compact(big), "[9223372036854775808,18446744073709551616]");
}

TEST(JsonUtilWrite, Literals) {
  EXPECT_EQ(compact(json::value(nullptr)), "null");
  EXPECT_EQ(compact(json::value(true)), "true");
  EXPECT_EQ(compact(json::value(false)), "false");
}

// ---------------------------------------------------------------------------------------------
// Writer: strings and nesting

TEST(JsonUtilWrite, StringEscaping) {
  EXPECT_EQ(compact(json::value("plain")), "\"plain\"");
  EXPECT_EQ(compact(json::value("q\"b\\s/")), "\"q\\\"b\\\\s/\"");  // '/' is not escaped
  EXPECT_EQ(compact(json::value("\b\f\n\r\t")), "\"\\b\\f\\n\\r\\t\"");
  EXPECT_EQ(compact(json::value(std::string("\x01\x1f\0", 3))), "\"\\u0001\\u001f\\u0000\"");
  EXPECT_EQ(compact(json::value("\x7f")), "\"\x7f\"");
  // Well-formed UTF-8 passes through; a malformed byte becomes U+FFFD.
  EXPECT_EQ(compact(json::value("h\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80")),
            "\"h\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"");
  EXPECT_EQ(compact(json::value("a\xFFz")), "\"a\xEF\xBF\xBDz\"");
}

TEST(JsonUtilWrite, KeysAreEscapedToo) {
  json::object o;
  o["k\"\n"] = 1;
  EXPECT_EQ(compact(o), "{\"k\\\"\\n\":1}");
}

TEST(JsonUtilWrite, NestingIsCompactAndKeepsMemberOrder) {
  const json::value v = json::parse(
      R"({ "z": [1, 0.5, {"b": null, "a": [true, false]}], "y": {}, "x": [], "w": "s" })");
  EXPECT_EQ(compact(v), R"({"z":[1,0.5,{"b":null,"a":[true,false]}],"y":{},"x":[],"w":"s"})");
  EXPECT_EQ(compact(json::parse("[[[[]]]]")), "[[[[]]]]");
}

TEST(JsonUtilWrite, WriteJsonAppends) {
  std::string out = "body=";
  write_json(out, json::parse(R"({"temperature":0.7})"));
  EXPECT_EQ(out, R"(body={"temperature":0.7})");
}

TEST(JsonUtilWrite, RoundTripsThroughParse) {
  const std::string text = R"({"a":[1,-2,0.25,1e-07,"\u0001x"],"b":{"c":18446744073709551615}})";
  const auto v = parse_json(text);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(compact(*v), text);
}

// ---------------------------------------------------------------------------------------------
// parse_json

TEST(JsonUtilParse, ValidAndInvalid) {
  const auto v = parse_json(R"( {"a": 1} )");
  ASSERT_TRUE(v.has_value());
  ASSERT_TRUE(v->is_object());
  EXPECT_EQ(v->get_object().at("a").as_int64(), 1);

  ASSERT_TRUE(parse_json("\"s\"").has_value());
  EXPECT_TRUE(parse_json("null").has_value());
  EXPECT_FALSE(parse_json("").has_value());
  EXPECT_FALSE(parse_json("{").has_value());
  EXPECT_FALSE(parse_json("{} {}").has_value());
  EXPECT_FALSE(parse_json("[1,]").has_value());
  EXPECT_FALSE(parse_json("nul").has_value());
}

// ---------------------------------------------------------------------------------------------
// Accessors

json::object sample() {
  return json::parse(R"({
    "obj": {"k": "v"}, "arr": [1, 2], "str": "text", "empty": "", "nul": null,
    "pos": 5, "zero": 0, "neg": -3, "big": 18446744073709551615, "dbl": 2.0, "t": true,
    "max": 9223372036854775807
  })").as_object();
}

TEST(JsonUtilAccess, ObjectAt) {
  const json::object o = sample();
  const json::object* obj = object_at(o, "obj");
  ASSERT_NE(obj, nullptr);
  EXPECT_EQ(obj->at("k").as_string(), "v");
  EXPECT_EQ(object_at(o, "arr"), nullptr);
  EXPECT_EQ(object_at(o, "nul"), nullptr);
  EXPECT_EQ(object_at(o, "missing"), nullptr);
}

TEST(JsonUtilAccess, ArrayAt) {
  const json::object o = sample();
  const json::array* arr = array_at(o, "arr");
  ASSERT_NE(arr, nullptr);
  EXPECT_EQ(arr->size(), 2u);
  EXPECT_EQ(array_at(o, "obj"), nullptr);
  EXPECT_EQ(array_at(o, "nul"), nullptr);
  EXPECT_EQ(array_at(o, "missing"), nullptr);
}

TEST(JsonUtilAccess, StringAtAndStringOrEmpty) {
  const json::object o = sample();
  EXPECT_EQ(string_at(o, "str"), std::optional<std::string_view>("text"));
  EXPECT_EQ(string_at(o, "empty"), std::optional<std::string_view>(""));
  EXPECT_EQ(string_at(o, "nul"), std::nullopt);
  EXPECT_EQ(string_at(o, "pos"), std::nullopt);
  EXPECT_EQ(string_at(o, "missing"), std::nullopt);

  EXPECT_EQ(string_or_empty(o, "str"), "text");
  EXPECT_EQ(string_or_empty(o, "empty"), "");
  EXPECT_EQ(string_or_empty(o, "nul"), "");
  EXPECT_EQ(string_or_empty(o, "obj"), "");
  EXPECT_EQ(string_or_empty(o, "missing"), "");
}

TEST(JsonUtilAccess, IntAt) {
  const json::object o = sample();
  EXPECT_EQ(int_at(o, "pos"), 5);
  EXPECT_EQ(int_at(o, "zero"), 0);
  EXPECT_EQ(int_at(o, "neg"), -3);
  EXPECT_EQ(int_at(o, "max"), std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(int_at(o, "big"), std::nullopt);  // uint64 beyond int64
  EXPECT_EQ(int_at(o, "dbl"), std::nullopt);  // doubles are not integers, even 2.0
  EXPECT_EQ(int_at(o, "str"), std::nullopt);
  EXPECT_EQ(int_at(o, "t"), std::nullopt);
  EXPECT_EQ(int_at(o, "nul"), std::nullopt);
  EXPECT_EQ(int_at(o, "missing"), std::nullopt);

  json::object u;
  u["small"] = std::uint64_t{12};
  EXPECT_EQ(int_at(u, "small"), 12);
}

TEST(JsonUtilAccess, CountAt) {
  const json::object o = sample();
  EXPECT_EQ(count_at(o, "pos"), 5);
  EXPECT_EQ(count_at(o, "zero"), 0);
  EXPECT_EQ(count_at(o, "max"), std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(count_at(o, "neg"), std::nullopt);
  EXPECT_EQ(count_at(o, "big"), std::nullopt);
  EXPECT_EQ(count_at(o, "dbl"), std::nullopt);
  EXPECT_EQ(count_at(o, "str"), std::nullopt);
  EXPECT_EQ(count_at(o, "nul"), std::nullopt);
  EXPECT_EQ(count_at(o, "missing"), std::nullopt);

  json::object u;
  u["small"] = std::uint64_t{12};
  EXPECT_EQ(count_at(u, "small"), 12);
}

}  // namespace
}  // namespace sy::codec
