#include "policy/redact.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "ir/chat.h"

namespace sy::policy {
namespace {

const std::vector<PiiKind> kAll = {PiiKind::Email, PiiKind::Phone, PiiKind::Card,
                                   PiiKind::Iban,  PiiKind::Ipv4,  PiiKind::Ssn};

std::string redact_all(std::string_view text) {
  Redactor r(kAll);
  RedactionState st;
  return r.redact(text, st).text;
}

// Each case: the input, and what a redactor with every kind turns it into.
struct Case {
  const char* in;
  const char* out;
};

class Corpus : public ::testing::TestWithParam<Case> {};

TEST_P(Corpus, Redacts) { EXPECT_EQ(redact_all(GetParam().in), GetParam().out); }

INSTANTIATE_TEST_SUITE_P(
    TruePositives, Corpus,
    ::testing::Values(
        Case{"mail alice@example.com now", "mail [EMAIL_1] now"},
        Case{"Bob.Smith+tag@Mail.Example.co.uk.", "[EMAIL_1]."},
        Case{"<first_last-1@sub.example-host.org>", "<[EMAIL_1]>"},
        Case{"mailto:alice@example.com", "mailto:[EMAIL_1]"},
        Case{"https://x.test/?email=alice@example.com&y=1", "https://x.test/?email=[EMAIL_1]&y=1"},
        Case{"call +1 415 555 2671 today", "call [PHONE_1] today"},
        Case{"call (415) 555-2671.", "call [PHONE_1]."},
        Case{"+44 (0)20 7946 0958", "[PHONE_1]"},
        Case{"Tel: 030 1234567", "Tel: [PHONE_1]"},
        Case{"415.555.2671", "[PHONE_1]"},
        Case{"+4915112345678", "[PHONE_1]"},
        Case{"01 23 45 67 89", "[PHONE_1]"},
        Case{"Contact:alice@example.com, 555-1234", "Contact:[EMAIL_1], [PHONE_1]"},
        Case{"+1-800-555-0199", "[PHONE_1]"},
        Case{"call 555-123-4567 2 times", "call [PHONE_1] 2 times"},
        Case{"(555-123-4567)", "([PHONE_1])"},
        Case{"card 4111 1111 1111 1111 exp", "card [CARD_1] exp"},
        Case{"4111-1111-1111-1111", "[CARD_1]"},
        Case{"4111111111111111", "[CARD_1]"},
        Case{"amex 3782 822463 10005", "amex [CARD_1]"},
        Case{"5500000000000004 2", "[CARD_1] 2"},
        Case{"IBAN DE89 3704 0044 0532 0130 00, thanks", "IBAN [IBAN_1], thanks"},
        Case{"GB82WEST12345698765432", "[IBAN_1]"},
        Case{"FR14 2004 1010 0505 0001 3M02 606", "[IBAN_1]"},
        Case{"host 192.168.1.20:8080", "host [IPV4_1]:8080"},
        Case{"ssn 123-45-6789.", "ssn [SSN_1]."}));

INSTANTIATE_TEST_SUITE_P(
    TrickyNegatives, Corpus,
    ::testing::Values(
        Case{"version 1.2.3 and 10.0.19041.1234", "version 1.2.3 and 10.0.19041.1234"},
        Case{"v1.2.3.4 and 1.2.3.4.5 and 256.1.1.1", "v1.2.3.4 and 1.2.3.4.5 and 256.1.1.1"},
        Case{"on 2024-01-15 or 15.01.2024 or 15-01-2024", "on 2024-01-15 or 15.01.2024 or 15-01-2024"},
        Case{"from 1999-2024, ports 8080-8090", "from 1999-2024, ports 8080-8090"},
        Case{"build 20240115.3, RFC 5322 section 3.4.1", "build 20240115.3, RFC 5322 section 3.4.1"},
        Case{"invoice INV-2024-000123", "invoice INV-2024-000123"},
        Case{"order 123456789 and #A-55512", "order 123456789 and #A-55512"},
        Case{"order 4111111111111111234", "order 4111111111111111234"},  // 19 digits, no Luhn
        Case{"id 41111111111111110000", "id 41111111111111110000"},      // longer digit run
        Case{"total $1,234,567.89 or 1 000 000 EUR", "total $1,234,567.89 or 1 000 000 EUR"},
        Case{"price $ 555 123 4567", "price $ 555 123 4567"},
        Case{"pi 3.1415926535", "pi 3.1415926535"},
        Case{"isbn 978-3-16-148410-0", "isbn 978-3-16-148410-0"},
        Case{"4111 1111 1111 1112", "4111 1111 1111 1112"},  // 16 digits, Luhn fails
        Case{"1234567812345678", "1234567812345678"},
        Case{"DE88 3704 0044 0532 0130 00", "DE88 3704 0044 0532 0130 00"},  // bad check digits
        Case{"DE89370400440532013000X", "DE89370400440532013000X"},          // glued to more
        Case{"https://medium.com/@alice/post", "https://medium.com/@alice/post"},
        Case{"https://alice@git.example.com/repo", "https://alice@git.example.com/repo"},
        Case{"https://bob:secret@db.example.com/x", "https://bob:secret@db.example.com/x"},
        Case{"a@b.c and name@localhost and @handle", "a@b.c and name@localhost and @handle"},
        Case{"000-12-3456 666-12-3456 900-12-3456", "000-12-3456 666-12-3456 900-12-3456"},
        Case{"10:30 - 11:45", "10:30 - 11:45"}));

TEST(Redact, Luhn) {
  EXPECT_TRUE(luhn_valid("4111111111111111"));
  EXPECT_TRUE(luhn_valid("378282246310005"));
  EXPECT_FALSE(luhn_valid("4111111111111112"));
  EXPECT_FALSE(luhn_valid("41x1"));
  EXPECT_FALSE(luhn_valid(""));
}

TEST(Redact, IbanMod97) {
  EXPECT_TRUE(iban_valid("DE89370400440532013000"));
  EXPECT_TRUE(iban_valid("NO9386011117947"));
  EXPECT_FALSE(iban_valid("DE88370400440532013000"));
  EXPECT_FALSE(iban_valid("DE8937040044053201300"));  // wrong length for DE
  EXPECT_FALSE(iban_valid("ZZ89370400440532013000"));  // unknown country
  EXPECT_EQ(iban_length("CH"), 21u);
}

TEST(Redact, OnlyEnabledKinds) {
  Redactor r({PiiKind::Email});
  RedactionState st;
  auto res = r.redact("alice@example.com +1 415 555 2671 4111111111111111", st);
  EXPECT_EQ(res.text, "[EMAIL_1] +1 415 555 2671 4111111111111111");
  EXPECT_EQ(res.replacements, 1u);
  EXPECT_FALSE(r.enabled(PiiKind::Card));
  EXPECT_TRUE(Redactor({}).empty());
}

TEST(Redact, FindReportsSpans) {
  Redactor r(kAll);
  auto m = r.find("x alice@example.com y 4111111111111111");
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0], (PiiMatch{PiiKind::Email, 2, 19}));
  EXPECT_EQ(m[1], (PiiMatch{PiiKind::Card, 22, 38}));
}

TEST(Redact, KindNames) {
  for (PiiKind k : kAll) {
    EXPECT_EQ(parse_pii_kind(pii_kind_name(k)), k);
  }
  EXPECT_FALSE(parse_pii_kind("passport"));
}

TEST(Redact, ConsistentPlaceholdersAcrossTexts) {
  Redactor r(kAll);
  RedactionState st;
  EXPECT_EQ(r.redact("alice@example.com wrote to bob@example.com", st).text,
            "[EMAIL_1] wrote to [EMAIL_2]");
  // Same value, other case and other text: the same placeholder.
  EXPECT_EQ(r.redact("reply to ALICE@Example.com, card 4111-1111-1111-1111", st).text,
            "reply to [EMAIL_1], card [CARD_1]");
  EXPECT_EQ(r.redact("same card 4111 1111 1111 1111, new 5500000000000004", st).text,
            "same card [CARD_1], new [CARD_2]");
  EXPECT_EQ(st.counts()[PiiKind::Email], 3u);
  EXPECT_EQ(st.counts()[PiiKind::Card], 3u);
  EXPECT_EQ(st.distinct(PiiKind::Email), 2u);
  EXPECT_EQ(st.distinct(PiiKind::Card), 2u);
  EXPECT_EQ(st.counts().total(), 6u);
  // A new request starts again at 1.
  RedactionState other;
  EXPECT_EQ(r.redact("bob@example.com", other).text, "[EMAIL_1]");
}

TEST(Redact, JsonArgumentsStayValid) {
  Redactor r(kAll);
  RedactionState st;
  std::string args =
      R"({"to": "alice@example.com", "alice@example.com": 1, "note": "call +1 415 555 2671\nthanks \"x\"",)"
      R"( "n": 4111111111111111, "list": ["\u0061lice@example.com", "plain"], "ok": true})";
  auto res = r.redact_json(args, st);
  EXPECT_EQ(res.replacements, 3u);
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(res.text, ec);
  ASSERT_FALSE(ec) << res.text;
  const auto& o = v.as_object();
  EXPECT_EQ(o.at("to").as_string(), "[EMAIL_1]");
  EXPECT_TRUE(o.contains("alice@example.com"));  // keys are kept
  EXPECT_EQ(o.at("note").as_string(), "call [PHONE_1]\nthanks \"x\"");
  EXPECT_EQ(o.at("n").as_int64(), 4111111111111111);  // numbers are kept
  EXPECT_EQ(o.at("list").as_array().at(0).as_string(), "[EMAIL_1]");
  EXPECT_EQ(o.at("list").as_array().at(1).as_string(), "plain");
  // Untouched strings keep their original bytes.
  EXPECT_NE(res.text.find(R"("plain")"), std::string::npos);
  EXPECT_EQ(st.counts()[PiiKind::Email], 2u);
}

TEST(Redact, InvalidJsonFallsBackToText) {
  Redactor r({PiiKind::Email});
  RedactionState st;
  auto res = r.redact_json(R"({"to": "alice@example.com)", st);
  EXPECT_EQ(res.text, R"({"to": "[EMAIL_1])");
  EXPECT_EQ(st.counts()[PiiKind::Email], 1u);  // counted once, not twice
}

TEST(Redact, RequestWalker) {
  ir::ChatRequest req;
  req.system = {"Operator: ops@example.com"};
  ir::Message u;
  u.role = ir::Role::User;
  u.content.push_back(ir::TextPart{"I am alice@example.com, card 4111 1111 1111 1111"});
  ir::Message a;
  a.role = ir::Role::Assistant;
  a.content.push_back(
      ir::ToolCallPart{"c1", "pay", R"({"email":"alice@example.com","iban":"DE89370400440532013000"})", ""});
  a.content.push_back(ir::ReasoningPart{"alice@example.com", "sig", ""});
  ir::Message t;
  t.role = ir::Role::Tool;
  t.content.push_back(ir::ToolResultPart{"c1", R"({"status":"ok","receipt_to":"alice@example.com"})", false});
  t.content.push_back(ir::ToolResultPart{"c2", "sent to +1 415 555 2671", false});
  req.messages = {u, a, t};

  RedactionCounts counts;
  redact_request(req, Redactor({PiiKind::Email, PiiKind::Card, PiiKind::Iban, PiiKind::Phone}), counts);
  EXPECT_EQ(req.system[0], "Operator: [EMAIL_1]");
  EXPECT_EQ(std::get<ir::TextPart>(req.messages[0].content[0]).text,
            "I am [EMAIL_2], card [CARD_1]");
  EXPECT_EQ(std::get<ir::ToolCallPart>(req.messages[1].content[0]).arguments,
            R"({"email":"[EMAIL_2]","iban":"[IBAN_1]"})");
  // Reasoning is signed by the provider: untouched.
  EXPECT_EQ(std::get<ir::ReasoningPart>(req.messages[1].content[1]).text, "alice@example.com");
  EXPECT_EQ(std::get<ir::ToolResultPart>(req.messages[2].content[0]).content,
            R"({"status":"ok","receipt_to":"[EMAIL_2]"})");
  EXPECT_EQ(std::get<ir::ToolResultPart>(req.messages[2].content[1]).content, "sent to [PHONE_1]");
  EXPECT_EQ(counts[PiiKind::Email], 4u);
  EXPECT_EQ(counts[PiiKind::Card], 1u);
  EXPECT_EQ(counts[PiiKind::Iban], 1u);
  EXPECT_EQ(counts[PiiKind::Phone], 1u);
  EXPECT_EQ(counts.total(), 7u);
}

TEST(Redact, LinearOnAdversarialInput) {
  // Inputs that make naive scanners quadratic: many '@', long digit/separator runs, dots.
  std::string text;
  for (int i = 0; i < 100'000; ++i) {
    text += "a@";
  }
  for (int i = 0; i < 100'000; ++i) {
    text += "1 ";
  }
  for (int i = 0; i < 100'000; ++i) {
    text += "1.";
  }
  for (int i = 0; i < 50'000; ++i) {
    text += "DE89";
  }
  text += std::string(200'000, '.') + "x@example.com";
  Redactor r(kAll);
  RedactionState st;
  auto t0 = std::chrono::steady_clock::now();
  auto res = r.redact(text, st);
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(st.counts()[PiiKind::Email], 1u);
  EXPECT_LT(std::chrono::duration_cast<std::chrono::milliseconds>(took).count(), 3000);
  EXPECT_EQ(res.replacements, 1u);
}

TEST(RedactOpenAiMessages, TextPartsToolCallsAndToolResultsWithOneState) {
  const Redactor r({PiiKind::Email, PiiKind::Card});
  const std::string messages =
      R"([{"role":"system","content":"Escalate to ops@example.com."},)"
      R"({"role":"user","content":[{"type":"text","text":"I am jo@example.com, card 4111 1111 1111 1111"},)"
      R"({"type":"image_url","image_url":{"url":"https://x.example/jo@example.com.png"}}]},)"
      R"({"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function",)"
      R"("function":{"name":"lookup","arguments":"{\"email\":\"JO@example.com\",\"n\":1.50}"}}]},)"
      R"({"role":"tool","tool_call_id":"c1","content":"{\"owner\":\"ops@example.com\"}"}])";
  RedactionCounts counts;
  const auto out = redact_openai_messages(messages, r, counts);
  ASSERT_TRUE(out);
  EXPECT_EQ(*out,
            R"([{"role":"system","content":"Escalate to [EMAIL_1]."},)"
            R"({"role":"user","content":[{"type":"text","text":"I am [EMAIL_2], card [CARD_1]"},)"
            R"({"type":"image_url","image_url":{"url":"https://x.example/jo@example.com.png"}}]},)"
            R"({"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function",)"
            R"("function":{"name":"lookup","arguments":"{\"email\":\"[EMAIL_2]\",\"n\":1.50}"}}]},)"
            R"({"role":"tool","tool_call_id":"c1","content":"{\"owner\":\"[EMAIL_1]\"}"}])");
  EXPECT_EQ(counts[PiiKind::Email], 4u);
  EXPECT_EQ(counts[PiiKind::Card], 1u);
}

TEST(RedactOpenAiMessages, NothingToReplaceOrNotAnArrayGivesNothing) {
  const Redactor r({PiiKind::Email});
  RedactionCounts counts;
  EXPECT_EQ(redact_openai_messages(R"([{"role":"user","content":"hello"}])", r, counts),
            std::nullopt);
  EXPECT_EQ(redact_openai_messages(R"({"role":"user"})", r, counts), std::nullopt);
  EXPECT_EQ(redact_openai_messages("[", r, counts), std::nullopt);
  EXPECT_EQ(counts.total(), 0u);
  const Redactor none({});
  EXPECT_EQ(redact_openai_messages(R"([{"role":"user","content":"a@example.com"}])", none, counts),
            std::nullopt);
}

}  // namespace
}  // namespace sy::policy
