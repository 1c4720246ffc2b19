#include "codec/json_scan.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace sy::codec {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Boost.JSON with the same depth limit as the scanner: the reference for "is this valid".
struct BoostVerdict {
  bool valid = false;
  bool implementation_limit = false;  // rejected for a limit, not for the grammar
  boost::json::kind kind = boost::json::kind::null;
};

BoostVerdict boost_verdict(std::string_view text) {
  boost::json::parse_options opts;
  opts.max_depth = 128;
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(text, ec, {}, opts);
  BoostVerdict r;
  r.valid = !ec;
  // Boost refuses an exponent whose digits overflow its accumulator (1e99999999999999999999);
  // RFC 8259 allows it and so does the scanner, which never converts numbers.
  r.implementation_limit = ec == boost::json::error::exponent_overflow;
  if (r.valid) {
    r.kind = v.kind();
  }
  return r;
}

JsonType expected_type(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::object: return JsonType::Object;
    case boost::json::kind::array: return JsonType::Array;
    case boost::json::kind::string: return JsonType::String;
    case boost::json::kind::bool_: return v.get_bool() ? JsonType::True : JsonType::False;
    case boost::json::kind::null: return JsonType::Null;
    default: return JsonType::Number;
  }
}

std::string nested(int depth) {
  return std::string(static_cast<std::size_t>(depth), '[') +
         std::string(static_cast<std::size_t>(depth), ']');
}

// ---------------------------------------------------------------------------------------------
// Corpus

struct Case {
  std::string text;
  bool valid;
};

std::vector<Case> corpus() {
  using namespace std::string_literals;
  return {
      // valid
      {"{}", true},
      {"[]", true},
      {"0", true},
      {"-0", true},
      {"-0.0e-0", true},
      {"1.5E+10", true},
      {"123456789012345678901234567890", true},
      {"1e400", true},
      {"true", true},
      {"false", true},
      {"null", true},
      {" \t\r\n{ \"a\" : [ 1 , 2 ] }\n", true},
      {R"("\"\\\/\b\f\n\r\t")", true},
      {R"("\u0000\u00e9\u20AC")", true},
      {R"("\ud83d\ude00")", true},
      {"\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF\"", true},
      {"\"\x7F\"", true},
      {R"({"a":1,"a":2})", true},  // duplicate keys are valid JSON
      {R"({"":{"":[]}})", true},
      {nested(128), true},
      // invalid
      {"", false},
      {"   ", false},
      {"\xEF\xBB\xBF{}", false},  // BOM: RFC 8259 says a parser MAY ignore it; we do not
      {R"("\ud800")", false},     // lone high surrogate
      {R"("\udc00")", false},     // lone low surrogate
      {R"("\ud800\u0041")", false},
      {R"("\ud800\n")", false},
      {R"("\udc00\ud800")", false},  // reversed pair
      {"\"\xFF\"", false},
      {"\"\x80\"", false},            // stray continuation byte
      {"\"\xC0\x80\"", false},        // overlong NUL
      {"\"\xC1\xBF\"", false},        // overlong
      {"\"\xE0\x80\x80\"", false},    // overlong 3-byte
      {"\"\xF0\x80\x80\x80\"", false},  // overlong 4-byte
      {"\"\xED\xA0\x80\"", false},    // UTF-16 surrogate encoded in UTF-8
      {"\"\xF4\x90\x80\x80\"", false},  // above U+10FFFF
      {"\"\xF5\x80\x80\x80\"", false},
      {"\"\xE2\x82\"", false},        // truncated sequence
      {"\"\xE2\x82", false},
      {"01", false},
      {"-01", false},
      {"00", false},
      {"1.", false},
      {"1.e5", false},
      {".5", false},
      {"-", false},
      {"+1", false},
      {"1e", false},
      {"1e+", false},
      {"0x10", false},
      {"NaN", false},
      {"Infinity", false},
      {"-Infinity", false},
      {"[1,]", false},
      {R"({"a":1,})", false},
      {"[,1]", false},
      {"{,}", false},
      {"[1 2]", false},
      {R"({"a":1 "b":2})", false},
      {R"({"a" 1})", false},
      {"{1:2}", false},
      {"{'a':1}", false},
      {"{a:1}", false},
      {nested(129), false},
      {"\"a\tb\"", false},  // unescaped control character
      {"\"a\nb\"", false},
      {"\"\x01\"", false},
      {"\"a\0b\""s, false},
      {"\"\\x41\"", false},
      {"\"\\u12\"", false},
      {"\"\\u12G4\"", false},
      {"\"\\U0041\"", false},
      {"\"abc", false},
      {"\"\\", false},
      {"{} x", false},
      {"{}{}", false},
      {"[1]]", false},
      {"{\"a\":1}}", false},
      {"1 2", false},
      {"tru", false},
      {"nul", false},
      {"True", false},
      {"truex", false},
      {"[", false},
      {"{", false},
      {"{\"a\"", false},
      {"{\"a\":", false},
      {"// c\n{}", false},
      {"/* c */ {}", false},
      {"\f{}", false},  // form feed is not JSON whitespace
      {"{}\0"s, false},
      {"\xC2\xA0{}", false},  // NBSP is not JSON whitespace
  };
}

TEST(JsonScan, CorpusVerdicts) {
  for (const auto& c : corpus()) {
    const auto r = validate_json(c.text);
    EXPECT_EQ(r.has_value(), c.valid) << "text: " << c.text;
    if (!r) {
      EXPECT_EQ(r.error().kind, ErrorKind::InvalidRequest);
      EXPECT_NE(r.error().public_message.find(" at byte "), std::string::npos)
          << r.error().public_message;
    }
  }
}

TEST(JsonScan, CorpusAgreesWithBoostJson) {
  for (const auto& c : corpus()) {
    const BoostVerdict b = boost_verdict(c.text);
    ASSERT_FALSE(b.implementation_limit) << c.text;
    EXPECT_EQ(b.valid, c.valid) << "boost disagrees with the corpus on: " << c.text;
  }
}

TEST(JsonScan, ReturnsTheValueType) {
  EXPECT_EQ(validate_json(" {} ").value(), JsonType::Object);
  EXPECT_EQ(validate_json("[1]").value(), JsonType::Array);
  EXPECT_EQ(validate_json("\"s\"").value(), JsonType::String);
  EXPECT_EQ(validate_json("-1.5").value(), JsonType::Number);
  EXPECT_EQ(validate_json("true").value(), JsonType::True);
  EXPECT_EQ(validate_json("false").value(), JsonType::False);
  EXPECT_EQ(validate_json("null").value(), JsonType::Null);
}

std::string message_of(std::string_view text) {
  const auto r = validate_json(text);
  return r ? std::string("OK") : r.error().public_message;
}

TEST(JsonScan, ErrorsNameTheByteOffset) {
  EXPECT_EQ(message_of("[1,]"), "trailing comma in an array at byte 3");
  EXPECT_EQ(message_of(R"({"a":1,})"), "trailing comma in an object at byte 7");
  EXPECT_EQ(message_of(R"({"a":01})"), "leading zero in a number at byte 6");
  EXPECT_EQ(message_of("{\"a\":"), "unexpected end of input, expected a value at byte 5");
  EXPECT_EQ(message_of("{} x"), "unexpected data after the JSON value at byte 3");
  EXPECT_EQ(message_of(R"(["\ud800"])"), "lone high surrogate \\u escape in a string at byte 2");
  EXPECT_EQ(message_of("[\"\xC0\x80\"]"), "invalid UTF-8 in a string at byte 2");
  EXPECT_EQ(message_of("[tru]"), "invalid literal at byte 4");
  EXPECT_EQ(message_of(nested(129)), "nesting deeper than 128 levels at byte 128");
  EXPECT_EQ(message_of("\xEF\xBB\xBF{}"), "unexpected character, expected a value at byte 0");
}

TEST(JsonScan, DeepNestingDoesNotOverflowTheStack) {
  // Far beyond the limit: rejected at the limit, not by recursing 100000 frames.
  const std::string deep(100000, '[');
  EXPECT_FALSE(validate_json(deep));
  EXPECT_FALSE(scan_object(std::string(100000, '{')));
  std::string objects;
  for (int i = 0; i < 128; ++i) {
    objects += "{\"a\":";
  }
  objects += "1" + std::string(128, '}');
  EXPECT_TRUE(scan_object(objects));
  EXPECT_FALSE(scan_object("{\"a\":" + objects + "}"));  // 129
}

// ---------------------------------------------------------------------------------------------
// scan_object

TEST(JsonScanObject, RecordsTopLevelMembersWithSpans) {
  const std::string text =
      " {\n  \"model\" : \"gpt-4o\",\"n\":-1.5e3, \"messages\":[{\"role\":\"user\"}],"
      "\"k\\u00e9y\\n\":{\"model\":\"inner\"},\"t\":true,\"f\":false,\"z\":null } ";
  const auto r = scan_object(text);
  ASSERT_TRUE(r) << r.error().public_message;
  const JsonObjectScan& s = r.value();
  EXPECT_EQ(s.open_brace, 1U);
  EXPECT_EQ(s.close_brace, text.size() - 2);
  ASSERT_EQ(s.members.size(), 7U);  // nested "model" is not a top-level member

  EXPECT_EQ(s.members[0].key, "model");
  EXPECT_EQ(s.members[0].member_offset, text.find("\"model\""));
  EXPECT_EQ(s.members[0].raw(text), "\"gpt-4o\"");
  EXPECT_EQ(s.members[0].type, JsonType::String);
  EXPECT_EQ(s.members[1].raw(text), "-1.5e3");
  EXPECT_EQ(s.members[1].type, JsonType::Number);
  EXPECT_EQ(s.members[2].raw(text), "[{\"role\":\"user\"}]");
  EXPECT_EQ(s.members[2].type, JsonType::Array);
  EXPECT_EQ(s.members[3].key, "k\xC3\xA9y\n");  // keys are unescaped
  EXPECT_EQ(s.members[3].raw(text), "{\"model\":\"inner\"}");
  EXPECT_EQ(s.members[3].type, JsonType::Object);
  EXPECT_EQ(s.members[4].type, JsonType::True);
  EXPECT_EQ(s.members[5].type, JsonType::False);
  EXPECT_EQ(s.members[6].type, JsonType::Null);
  EXPECT_EQ(s.members[6].raw(text), "null");

  ASSERT_NE(s.find("model"), nullptr);
  EXPECT_EQ(s.find("model")->raw(text), "\"gpt-4o\"");
  EXPECT_EQ(s.find("absent"), nullptr);
}

TEST(JsonScanObject, DuplicateKeysAreKeptAndFindReturnsTheLast) {
  const std::string text = R"({"a":1,"b":2,"a":3})";
  const auto r = scan_object(text);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->members.size(), 3U);
  EXPECT_EQ(r->find("a")->raw(text), "3");
  EXPECT_EQ(r->members[0].raw(text), "1");
}

TEST(JsonScanObject, EmptyObject) {
  const auto r = scan_object("{ }");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->members.empty());
  EXPECT_EQ(r->open_brace, 0U);
  EXPECT_EQ(r->close_brace, 2U);
}

TEST(JsonScanObject, RejectsNonObjectsAndInvalidText) {
  for (std::string_view text : {"[]", "\"s\"", "1", "null", "", " ", "{\"a\":1,}", "{} {}"}) {
    const auto r = scan_object(text);
    ASSERT_FALSE(r) << text;
    EXPECT_EQ(r.error().kind, ErrorKind::InvalidRequest);
    EXPECT_NE(r.error().public_message.find(" at byte "), std::string::npos);
  }
  EXPECT_EQ(scan_object("[]").error().public_message, "expected a JSON object at byte 0");
}

// ---------------------------------------------------------------------------------------------
// json_unescape / json_quote

TEST(JsonUnescape, Escapes) {
  EXPECT_EQ(json_unescape(R"("plain")"), "plain");
  EXPECT_EQ(json_unescape(R"("")"), "");
  EXPECT_EQ(json_unescape(R"("a\"b\\c\/d\b\f\n\r\t")"), "a\"b\\c/d\b\f\n\r\t");
  EXPECT_EQ(json_unescape(R"("\u00e9\u20AC")"), "\xC3\xA9\xE2\x82\xAC");
  EXPECT_EQ(json_unescape(R"("\ud83d\ude00!")"), "\xF0\x9F\x98\x80!");
  EXPECT_EQ(json_unescape(R"("\uDBFF\uDFFF")"), "\xF4\x8F\xBF\xBF");
  EXPECT_EQ(json_unescape(R"("x\u0000y")"), std::string("x\0y", 3));
  EXPECT_EQ(json_unescape("\"caf\xC3\xA9\""), "caf\xC3\xA9");
}

TEST(JsonUnescape, AgreesWithBoostOnValidStrings) {
  for (const auto& c : corpus()) {
    if (!c.valid || c.text.empty() || c.text.front() != '"') {
      continue;
    }
    const boost::json::value v = boost::json::parse(c.text);
    EXPECT_EQ(json_unescape(c.text), std::string_view(v.as_string())) << c.text;
  }
}

TEST(JsonUnescape, StaysMemorySafeOnInputThatBreaksThePrecondition) {
  // Not valid JSON strings; the result is unspecified, but there must be no over-read.
  for (std::string_view text : {"\"\\\"", "\"\\u12\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\",
                                "\\u", "\"\\ud800\\u\"", "x"}) {
    (void)json_unescape(text);
  }
  EXPECT_EQ(json_unescape(R"("\ud800")"), "\xEF\xBF\xBD");
}

TEST(JsonQuote, EscapesAndRoundTrips) {
  EXPECT_EQ(json_quote("gpt-4o"), "\"gpt-4o\"");
  EXPECT_EQ(json_quote("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(json_quote("\n\t\x01\x1f"), R"("\n\t\u0001\u001f")");
  EXPECT_EQ(json_quote("/"), "\"/\"");
  EXPECT_EQ(json_quote("\xC3\xA9\xF0\x9F\x98\x80"), "\"\xC3\xA9\xF0\x9F\x98\x80\"");
  const std::string samples[] = {"", "plain", "quote\" back\\ slash", std::string("nul\0", 4),
                                 "ctl\b\f\r\x7f", "\xE2\x82\xAC uni \xF4\x8F\xBF\xBF"};
  for (const auto& s : samples) {
    const std::string q = json_quote(s);
    ASSERT_TRUE(validate_json(q)) << q;
    EXPECT_EQ(json_unescape(q), s);
    EXPECT_EQ(std::string_view(boost::json::parse(q).as_string()), s);
  }
}

TEST(JsonQuote, InvalidUtf8BecomesReplacementCharacter) {
  const std::string q = json_quote("a\xFF" "b\xC0\x80" "c\xED\xA0\x80");
  EXPECT_TRUE(validate_json(q));
  EXPECT_EQ(json_unescape(q), "a\xEF\xBF\xBD" "b\xEF\xBF\xBD\xEF\xBF\xBD" "c\xEF\xBF\xBD"
                              "\xEF\xBF\xBD\xEF\xBF\xBD");
}

// ---------------------------------------------------------------------------------------------
// Cross-checks against Boost.JSON on the shared fixtures

const fs::path kFixtures = SY_FIXTURES_DIR;

// Every *.json under the fixtures, plus the raw request bodies the SDK captures carry.
std::vector<std::pair<std::string, std::string>> fixture_documents() {
  std::vector<std::pair<std::string, std::string>> docs;
  for (const auto& entry : fs::recursive_directory_iterator(kFixtures)) {
    if (entry.is_regular_file() && entry.path().extension() == ".json") {
      docs.emplace_back(entry.path().string(), read_file(entry.path()));
    }
  }
  std::sort(docs.begin(), docs.end());
  return docs;
}

TEST(JsonScanFixtures, AgreesWithBoostOnEveryFixture) {
  const auto docs = fixture_documents();
  ASSERT_GE(docs.size(), 50U);
  std::size_t bodies = 0;
  for (const auto& [name, text] : docs) {
    const BoostVerdict b = boost_verdict(text);
    const auto r = validate_json(text);
    ASSERT_EQ(r.has_value(), b.valid) << name << ": "
                                      << (r ? "" : r.error().public_message);
    const auto s = scan_object(text);
    EXPECT_EQ(s.has_value(), b.valid && b.kind == boost::json::kind::object) << name;
    if (!b.valid) {
      continue;
    }
    const boost::json::value v = boost::json::parse(text);
    EXPECT_EQ(r.value(), expected_type(v)) << name;
    if (s) {
      // The recorded members are exactly Boost's keys, and each span parses to the same value.
      const auto& obj = v.as_object();
      EXPECT_EQ(s->members.size(), obj.size()) << name;
      for (const auto& m : s->members) {
        const auto* expected = obj.if_contains(m.key);
        ASSERT_NE(expected, nullptr) << name << " key " << m.key;
        EXPECT_EQ(boost::json::parse(m.raw(text)), *expected) << name << " key " << m.key;
      }
      // SDK captures: the exact body bytes a client sent.
      if (const auto* req = obj.if_contains("request"); req != nullptr && req->is_object()) {
        if (const auto* raw = req->as_object().if_contains("body_raw");
            raw != nullptr && raw->is_string()) {
          const std::string_view body = raw->as_string();
          EXPECT_EQ(validate_json(body).has_value(), boost_verdict(body).valid) << name;
          ++bodies;
        }
      }
    }
  }
  EXPECT_GE(bodies, 5U);
}

std::string mutate(std::string text, std::mt19937& rng) {
  static constexpr std::string_view kInteresting = "{}[]:,\"\\ \t\n0123456789.eE+-tfnu\x7f\xC3";
  auto pick = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n)(rng); };
  const int edits = 1 + static_cast<int>(pick(2));
  for (int k = 0; k < edits && !text.empty(); ++k) {
    const std::size_t at = pick(text.size() - 1);
    switch (pick(5)) {
      case 0: text.resize(at); break;  // truncation
      case 1: text[at] = static_cast<char>(pick(255)); break;  // random byte
      case 2: text[at] = kInteresting[pick(kInteresting.size() - 1)]; break;
      case 3: text.erase(at, 1); break;
      case 4: text.insert(at, 1, kInteresting[pick(kInteresting.size() - 1)]); break;
      default: text[at] = static_cast<char>(text[at] ^ (1 << pick(7))); break;  // bit flip
    }
  }
  return text;
}

TEST(JsonScanFixtures, RandomMutationsAgreeWithBoost) {
  std::vector<std::string> seeds;
  for (const auto& [name, text] : fixture_documents()) {
    if (text.size() <= 16384 && boost_verdict(text).valid) {
      seeds.push_back(text);
    }
  }
  ASSERT_FALSE(seeds.empty());
  std::mt19937 rng(20240917);  // fixed: a failure must reproduce
  std::size_t valid = 0;
  std::size_t invalid = 0;
  for (int i = 0; i < 4000; ++i) {
    const std::string& seed = seeds[static_cast<std::size_t>(i) % seeds.size()];
    const std::string text = mutate(seed, rng);
    const BoostVerdict b = boost_verdict(text);
    if (b.implementation_limit) {
      continue;
    }
    const auto r = validate_json(text);
    ASSERT_EQ(r.has_value(), b.valid)
        << "mutation " << i << ": " << (r ? "" : r.error().public_message) << "\n"
        << text;
    const auto s = scan_object(text);
    ASSERT_EQ(s.has_value(), b.valid && b.kind == boost::json::kind::object) << i;
    (b.valid ? valid : invalid) += 1;
  }
  // Both verdicts must actually be exercised for the agreement to mean something.
  EXPECT_GT(valid, 100U);
  EXPECT_GT(invalid, 1000U);
}

}  // namespace
}  // namespace sy::codec
