#include "ir/chat.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "ir/debug_json.h"

namespace sy::ir {
namespace {

ChatRequest sample() {
  ChatRequest r;
  r.model = "chat";
  r.system = {"be brief"};
  Message u;
  u.role = Role::User;
  u.content = {TextPart{"hi"}, ImagePart{"https://x/y.png", "", "", "low"}};
  Message a;
  a.role = Role::Assistant;
  a.content = {ReasoningPart{"hmm", "sig", ""}, ToolCallPart{"c1", "f", R"({"a":1})", "ts"}};
  Message t;
  t.role = Role::Tool;
  t.content = {ToolResultPart{"c1", "42", true}};
  r.messages = {u, a, t};
  r.tools = {Tool{"f", "does f", R"({"type":"object"})", true}};
  r.tool_choice = ToolChoice{ToolChoiceMode::Function, "f"};
  r.parallel_tool_calls = true;
  r.temperature = 0.5;
  r.max_tokens = 100;
  r.stop = {"END"};
  r.n = 2;
  r.logprobs = true;
  r.response_format = ResponseFormat{ResponseFormatType::JsonSchema, "s", R"({"type":"object"})", true};
  r.reasoning = ReasoningConfig{"high", 1024};
  r.stream = true;
  r.include_usage = true;
  r.user = "u1";
  r.metadata = {{"k", "v"}};
  return r;
}

TEST(IrTest, RequestJsonRoundTrips) {
  auto r = sample();
  EXPECT_EQ(request_from_json(to_json(r)), r);
}

TEST(IrTest, RequiredFeaturesFollowTheRequest) {
  auto f = required_features(sample());
  std::vector<Feature> want = {Feature::Tools,      Feature::ParallelToolCalls,
                               Feature::Vision,     Feature::JsonSchema,
                               Feature::Logprobs,   Feature::MultipleChoices,
                               Feature::Reasoning};
  EXPECT_EQ(f, want);
  ChatRequest plain;
  EXPECT_TRUE(required_features(plain).empty());
}

TEST(IrTest, FirstMissingCapabilityIsNamed) {
  Capabilities c;
  c.tools = true;
  auto missing = c.first_missing({Feature::Tools, Feature::Vision});
  ASSERT_TRUE(missing.has_value());
  EXPECT_EQ(feature_name(*missing), "vision");
  c.vision = true;
  EXPECT_FALSE(c.first_missing({Feature::Tools, Feature::Vision}).has_value());
}

TEST(IrTest, MalformedJsonNamesTheField) {
  auto v = boost::json::parse(R"({"model":"m","messages":[{"role":"robot","content":[]}]})");
  EXPECT_THROW((void)request_from_json(v), std::invalid_argument);
}

}  // namespace
}  // namespace sy::ir
