// Tests for providers/bedrock: every recorded Converse / ConverseStream exchange in
// shared/fixtures/bedrock. Requests are encoded from IR inputs on disk
// (tests/fixtures/providers/bedrock/<case>.input.json) and compared to the recorded bodies as
// JSON; responses and streams are decoded into goldens (<case>.expected.json / .expected.jsonl,
// rewritten with SY_UPDATE_GOLDENS=1); streams are replayed whole, in 1-byte and in 7-byte
// chunks.

#include "providers/bedrock.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "codec/aws_eventstream.h"
#include "ir/debug_json.h"

namespace sy::providers {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

const fs::path kRecorded = fs::path(SY_FIXTURES_DIR) / "bedrock";
const fs::path kOurs = fs::path(SY_TEST_FIXTURES_DIR) / "providers/bedrock";

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

bool update_goldens() {
  const char* v = std::getenv("SY_UPDATE_GOLDENS");
  return v != nullptr && std::string_view(v) == "1";
}

// Compares `actual` with the golden file, or rewrites the golden under SY_UPDATE_GOLDENS=1.
void expect_golden(const fs::path& golden, const std::string& actual) {
  if (update_goldens()) {
    std::ofstream(golden, std::ios::binary) << actual;
    return;
  }
  ASSERT_TRUE(fs::exists(golden)) << golden << " missing; run with SY_UPDATE_GOLDENS=1";
  EXPECT_EQ(read_file(golden), actual) << "golden " << golden;
}

// Files in the recorded folder ending in `suffix`, sorted, as case names (suffix removed).
std::vector<std::string> recorded_cases(std::string_view suffix) {
  std::vector<std::string> out;
  for (const auto& entry : fs::directory_iterator(kRecorded)) {
    const std::string name = entry.path().filename().string();
    if (name.size() > suffix.size() && name.substr(name.size() - suffix.size()) == suffix) {
      out.push_back(name.substr(0, name.size() - suffix.size()));
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

const config::ProviderConfig& provider() {
  static const config::ProviderConfig p = [] {
    config::ProviderConfig c;
    c.name = "aws";
    c.type = "bedrock";
    c.region = "us-east-1";
    return c;
  }();
  return p;
}

Target target(std::string model) { return Target{&provider(), std::move(model)}; }

std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// "https://bedrock-runtime.us-east-1.amazonaws.com/model/x%3A0/converse" -> the path.
std::string url_path(std::string_view url) {
  const std::size_t scheme = url.find("://");
  return std::string(url.substr(url.find('/', scheme + 3)));
}

// The model id of a recorded URL: the {modelId} label, percent-decoded.
std::string url_model(std::string_view url) {
  const std::string path = url_path(url);
  const std::size_t start = std::string_view("/model/").size();
  return percent_decode(path.substr(start, path.rfind('/') - start));
}

// JSON equality where numbers compare by value (the recorder wrote 0.0, we write 0).
bool same_json(const json::value& a, const json::value& b) {
  if (a.is_number() && b.is_number()) {
    return a.to_number<double>() == b.to_number<double>();
  }
  if (a.kind() != b.kind()) {
    return false;
  }
  if (a.is_object()) {
    const auto& ao = a.get_object();
    const auto& bo = b.get_object();
    if (ao.size() != bo.size()) {
      return false;
    }
    for (const auto& kv : ao) {
      const json::value* other = bo.if_contains(kv.key());
      if (other == nullptr || !same_json(kv.value(), *other)) {
        return false;
      }
    }
    return true;
  }
  if (a.is_array()) {
    const auto& aa = a.get_array();
    const auto& ba = b.get_array();
    if (aa.size() != ba.size()) {
      return false;
    }
    for (std::size_t i = 0; i < aa.size(); ++i) {
      if (!same_json(aa[i], ba[i])) {
        return false;
      }
    }
    return true;
  }
  return a == b;
}

// The differences from a recorded (pydantic-ai / boto3) body that we accept, each a choice
// documented in docs/providers.md:
//  1. "system": [] and "inferenceConfig": {} are left out when empty (same meaning to Converse).
//  2. toolResult "status": "success" is not sent: status is only sent for errors (AWS: the field
//     is supported by some models only; success is the default).
//  3. toolConfig.tools[].systemTool (Nova's built-in tools) has no IR form, so the IR input
//     cannot ask for it and it is removed from the expectation.
json::value tolerated(json::value body) {
  json::object& o = body.as_object();
  if (const auto* s = o.if_contains("system"); s != nullptr && s->as_array().empty()) {
    o.erase("system");
  }
  if (const auto* c = o.if_contains("inferenceConfig"); c != nullptr && c->as_object().empty()) {
    o.erase("inferenceConfig");
  }
  for (auto& m : o["messages"].as_array()) {
    for (auto& block : m.as_object()["content"].as_array()) {
      if (auto* r = block.as_object().if_contains("toolResult")) {
        auto& result = r->as_object();
        if (const auto* st = result.if_contains("status"); st != nullptr && *st == "success") {
          result.erase("status");
        }
      }
    }
  }
  if (auto* tc = o.if_contains("toolConfig")) {
    auto& tools = tc->as_object()["tools"].as_array();
    tools.erase(std::remove_if(tools.begin(), tools.end(),
                               [](const json::value& t) {
                                 return t.as_object().contains("systemTool");
                               }),
                tools.end());
  }
  return body;
}

ir::ChatRequest load_input(const std::string& name) {
  return ir::request_from_json(json::parse(read_file(kOurs / (name + ".input.json"))));
}

UpstreamRequest encode_ok(const ir::ChatRequest& req, const std::string& model = "m") {
  auto r = bedrock_adapter().encode(req, target(model));
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().public_message);
  return r ? r.value() : UpstreamRequest{};
}

json::object encode_body(const ir::ChatRequest& req) {
  return json::parse(encode_ok(req).body).as_object();
}

Error encode_error(const ir::ChatRequest& req) {
  auto r = bedrock_adapter().encode(req, target("m"));
  EXPECT_FALSE(r.has_value());
  return r ? Error{} : r.error();
}

// ----------------------------------------------------------------------------------------------
// Encode

TEST(BedrockEncode, EveryRecordedRequestFromItsIrInput) {
  const auto cases = recorded_cases(".request.json");
  ASSERT_EQ(cases.size(), 11u);
  for (const auto& name : cases) {
    SCOPED_TRACE(name);
    const json::value meta = json::parse(read_file(kRecorded / (name + ".meta.json")));
    const std::string url(meta.at("url").as_string());
    const ir::ChatRequest req = load_input(name);
    const UpstreamRequest up = encode_ok(req, url_model(url));
    EXPECT_EQ(up.path, url_path(url));
    EXPECT_EQ(up.stream, url_path(url).ends_with("/converse-stream"));
    EXPECT_EQ(up.headers, (Headers{{"content-type", "application/json"}}));
    const json::value expected =
        tolerated(json::parse(read_file(kRecorded / (name + ".request.json"))));
    const json::value actual = json::parse(up.body);
    EXPECT_TRUE(same_json(actual, expected))
        << "actual:\n" << ir::pretty(actual) << "expected:\n" << ir::pretty(expected);
  }
}

// fixtures/sdk-requests/bedrock: the AWS JS SDK's own body for the same request, byte for byte.
TEST(BedrockEncode, SdkCaptureBodyIsByteIdentical) {
  for (const char* file : {"bedrock.converse.json", "bedrock.converse.h2c-default-handler.json"}) {
    SCOPED_TRACE(file);
    const json::value capture =
        json::parse(read_file(fs::path(SY_FIXTURES_DIR) / "sdk-requests/bedrock" / file));
    const auto& request = capture.at("request");
    const UpstreamRequest up =
        encode_ok(load_input("sdk-converse"), "anthropic.claude-3-5-sonnet-20240620-v1:0");
    EXPECT_EQ(up.body, request.at("body_raw").as_string());
    EXPECT_EQ(up.path, request.at("raw_url").as_string());
  }
}

TEST(BedrockEncode, ModelIdIsOnePercentEncodedSegment) {
  EXPECT_EQ(bedrock_encode_model_id("us.amazon.nova-micro-v1:0"), "us.amazon.nova-micro-v1%3A0");
  EXPECT_EQ(bedrock_encode_model_id("arn:aws:bedrock:us-east-1:123456789012:inference-profile/"
                                    "us.anthropic.claude-3-5-sonnet-20240620-v1:0"),
            "arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2F"
            "us.anthropic.claude-3-5-sonnet-20240620-v1%3A0");
  EXPECT_EQ(bedrock_encode_model_id("a~b_c-d.e f+g"), "a~b_c-d.e%20f%2Bg");
  ir::ChatRequest req = load_input("converse-text");
  EXPECT_EQ(encode_ok(req, "arn:x/y").path, "/model/arn%3Ax%2Fy/converse");
  req.stream = true;
  EXPECT_EQ(encode_ok(req, "arn:x/y").path, "/model/arn%3Ax%2Fy/converse-stream");
}

ir::ChatRequest user_text(std::string text) {
  ir::ChatRequest req;
  req.messages.push_back(ir::Message{ir::Role::User, {ir::TextPart{std::move(text)}}, {}});
  return req;
}

TEST(BedrockEncode, InferenceConfigAndAdditionalFields) {
  ir::ChatRequest req = user_text("hi");
  req.max_tokens = 100;
  req.temperature = 0.7;
  req.top_p = 0.9;
  req.stop = {"END", "STOP"};
  req.top_k = 40;
  req.reasoning = ir::ReasoningConfig{"", 2048};
  const std::string body = encode_ok(req).body;
  EXPECT_NE(body.find("\"temperature\":0.7"), std::string::npos) << body;  // not "7E-1"
  EXPECT_TRUE(same_json(json::parse(body), json::parse(R"({
    "messages":[{"role":"user","content":[{"text":"hi"}]}],
    "inferenceConfig":{"maxTokens":100,"temperature":0.7,"topP":0.9,"stopSequences":["END","STOP"]},
    "additionalModelRequestFields":{"thinking":{"type":"enabled","budget_tokens":2048},"top_k":40}
  })"))) << body;
}

TEST(BedrockEncode, ReasoningWithoutBudgetSendsNoThinking) {
  ir::ChatRequest req = user_text("hi");
  req.reasoning = ir::ReasoningConfig{"high", std::nullopt};
  EXPECT_FALSE(encode_body(req).contains("additionalModelRequestFields"));
  req.reasoning = ir::ReasoningConfig{"", 0};
  EXPECT_FALSE(encode_body(req).contains("additionalModelRequestFields"));
}

TEST(BedrockEncode, ImagesInlineAndDataUrlAndRejectedUrl) {
  ir::ChatRequest req;
  req.messages.push_back(ir::Message{
      ir::Role::User,
      {ir::TextPart{"what is this?"}, ir::ImagePart{"", "image/png", "iVBORw0KGgo=", "high"},
       ir::ImagePart{"data:image/jpeg;base64,/9j/4AAQ", "", "", ""}},
      {}});
  EXPECT_TRUE(same_json(encode_body(req)["messages"], json::parse(R"([{"role":"user","content":[
    {"text":"what is this?"},
    {"image":{"format":"png","source":{"bytes":"iVBORw0KGgo="}}},
    {"image":{"format":"jpeg","source":{"bytes":"/9j/4AAQ"}}}]}])")));

  req.messages[0].content.push_back(ir::ImagePart{"https://example.com/cat.png", "", "", ""});
  const Error url = encode_error(req);
  EXPECT_EQ(url.kind, ErrorKind::InvalidRequest);
  EXPECT_NE(url.public_message.find("image URLs"), std::string::npos) << url.public_message;
  EXPECT_EQ(url.param, "messages");

  req.messages[0].content.back() = ir::ImagePart{"", "image/tiff", "AAAA", ""};
  const Error tiff = encode_error(req);
  EXPECT_EQ(tiff.kind, ErrorKind::InvalidRequest);
  EXPECT_NE(tiff.public_message.find("image/tiff"), std::string::npos);
}

TEST(BedrockEncode, ToolTurnsMergeIntoAlternatingMessages) {
  ir::ChatRequest req = user_text("weather in Paris and Rome?");
  req.tools.push_back(ir::Tool{"weather", "", R"({"type":"object"})", false});
  req.messages.push_back(ir::Message{
      ir::Role::Assistant,
      {ir::TextPart{""}, ir::ToolCallPart{"call_1", "weather", R"({"city":"Paris"})", ""},
       ir::ToolCallPart{"call_2", "weather", "", ""}},
      {}});
  req.messages.push_back(
      ir::Message{ir::Role::Tool, {ir::ToolResultPart{"call_1", "18C", false}}, {}});
  req.messages.push_back(
      ir::Message{ir::Role::Tool, {ir::ToolResultPart{"call_2", "no such city", true}}, {}});
  req.messages.push_back(ir::Message{ir::Role::User, {ir::TextPart{"thanks"}}, {}});
  const json::object body = encode_body(req);
  EXPECT_TRUE(same_json(body.at("messages"), json::parse(R"([
    {"role":"user","content":[{"text":"weather in Paris and Rome?"}]},
    {"role":"assistant","content":[
      {"toolUse":{"toolUseId":"call_1","name":"weather","input":{"city":"Paris"}}},
      {"toolUse":{"toolUseId":"call_2","name":"weather","input":{}}}]},
    {"role":"user","content":[
      {"toolResult":{"toolUseId":"call_1","content":[{"text":"18C"}]}},
      {"toolResult":{"toolUseId":"call_2","content":[{"text":"no such city"}],"status":"error"}},
      {"text":"thanks"}]}])")))
      << json::serialize(body);
  EXPECT_TRUE(same_json(body.at("toolConfig"), json::parse(R"(
    {"tools":[{"toolSpec":{"name":"weather","inputSchema":{"json":{"type":"object"}}}}]})")));
}

TEST(BedrockEncode, ToolChoiceModes) {
  ir::ChatRequest req = user_text("hi");
  req.tools.push_back(ir::Tool{"f", "does f", "", false});
  // No tool_choice: no toolChoice member (the model's default, auto).
  EXPECT_FALSE(encode_body(req).at("toolConfig").as_object().contains("toolChoice"));
  // An empty schema becomes an object schema without properties.
  EXPECT_TRUE(same_json(encode_body(req).at("toolConfig").at("tools"), json::parse(R"(
    [{"toolSpec":{"name":"f","description":"does f",
      "inputSchema":{"json":{"type":"object","properties":{}}}}}])")));

  req.tool_choice = ir::ToolChoice{ir::ToolChoiceMode::Auto, ""};
  EXPECT_TRUE(same_json(encode_body(req).at("toolConfig").at("toolChoice"),
                        json::parse(R"({"auto":{}})")));
  req.tool_choice = ir::ToolChoice{ir::ToolChoiceMode::Required, ""};
  EXPECT_TRUE(same_json(encode_body(req).at("toolConfig").at("toolChoice"),
                        json::parse(R"({"any":{}})")));
  req.tool_choice = ir::ToolChoice{ir::ToolChoiceMode::Function, "f"};
  EXPECT_TRUE(same_json(encode_body(req).at("toolConfig").at("toolChoice"),
                        json::parse(R"({"tool":{"name":"f"}})")));

  // none without tool history: no toolConfig at all (Converse has no "none").
  req.tool_choice = ir::ToolChoice{ir::ToolChoiceMode::None, ""};
  EXPECT_FALSE(encode_body(req).contains("toolConfig"));
  // none with toolUse/toolResult in the history: Converse requires toolConfig; sent without
  // toolChoice.
  req.messages.push_back(
      ir::Message{ir::Role::Assistant, {ir::ToolCallPart{"t1", "f", "{}", ""}}, {}});
  req.messages.push_back(ir::Message{ir::Role::Tool, {ir::ToolResultPart{"t1", "ok", false}}, {}});
  const json::object body = encode_body(req);
  ASSERT_TRUE(body.contains("toolConfig"));
  EXPECT_FALSE(body.at("toolConfig").as_object().contains("toolChoice"));
}

TEST(BedrockEncode, InvalidToolJsonIsInvalidRequest) {
  ir::ChatRequest req = user_text("hi");
  req.tools.push_back(ir::Tool{"f", "", "{not json", false});
  EXPECT_EQ(encode_error(req).param, "tools");
  req.tools[0].parameters = "[]";
  EXPECT_EQ(encode_error(req).param, "tools");
  req.tools.clear();
  req.messages.push_back(
      ir::Message{ir::Role::Assistant, {ir::ToolCallPart{"t1", "f", "{\"a\":", ""}}, {}});
  EXPECT_EQ(encode_error(req).kind, ErrorKind::InvalidRequest);
}

TEST(BedrockEncode, ReasoningPartsRoundTrip) {
  ir::ChatRequest req = user_text("hi");
  req.messages.push_back(ir::Message{ir::Role::Assistant,
                                     {ir::ReasoningPart{"thinking...", "sig", ""},
                                      ir::ReasoningPart{"", "", "cmVkYWN0ZWQ="},
                                      ir::ReasoningPart{"", "", ""}, ir::TextPart{"hello"}},
                                     {}});
  EXPECT_TRUE(same_json(encode_body(req).at("messages").at(1), json::parse(R"(
    {"role":"assistant","content":[
      {"reasoningContent":{"reasoningText":{"text":"thinking...","signature":"sig"}}},
      {"reasoningContent":{"redactedContent":"cmVkYWN0ZWQ="}},
      {"text":"hello"}]})")));
}

TEST(BedrockEncode, SystemRoleMessagesJoinSystemAndEmptyMessagesAreDropped) {
  ir::ChatRequest req = user_text("hi");
  req.system = {"be brief"};
  req.messages.insert(req.messages.begin(),
                      ir::Message{ir::Role::System, {ir::TextPart{"and kind"}}, {}});
  req.messages.push_back(ir::Message{ir::Role::Assistant, {ir::TextPart{""}}, {}});
  const json::object body = encode_body(req);
  EXPECT_TRUE(same_json(body.at("system"),
                        json::parse(R"([{"text":"be brief"},{"text":"and kind"}])")));
  EXPECT_EQ(body.at("messages").as_array().size(), 1u);
}

TEST(BedrockEncode, UnsupportedParametersAreInvalidRequest) {
  struct Case {
    const char* param;
    void (*set)(ir::ChatRequest&);
  };
  const Case cases[] = {
      {"n", [](ir::ChatRequest& r) { r.n = 2; }},
      {"logprobs", [](ir::ChatRequest& r) { r.logprobs = true; }},
      {"top_logprobs", [](ir::ChatRequest& r) { r.top_logprobs = 3; }},
      {"response_format",
       [](ir::ChatRequest& r) {
         r.response_format =
             ir::ResponseFormat{ir::ResponseFormatType::JsonSchema, "x", "{}", true};
       }},
      {"response_format",
       [](ir::ChatRequest& r) {
         r.response_format = ir::ResponseFormat{ir::ResponseFormatType::JsonObject, "", "", false};
       }},
      {"seed", [](ir::ChatRequest& r) { r.seed = 7; }},
      {"presence_penalty", [](ir::ChatRequest& r) { r.presence_penalty = 0.5; }},
      {"frequency_penalty", [](ir::ChatRequest& r) { r.frequency_penalty = -1.0; }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.param);
    ir::ChatRequest req = user_text("hi");
    c.set(req);
    const Error e = encode_error(req);
    EXPECT_EQ(e.kind, ErrorKind::InvalidRequest);
    EXPECT_EQ(e.param, c.param);
    EXPECT_EQ(e.code, "unsupported_parameter");
  }
  // Neutral values of the same parameters are accepted.
  ir::ChatRequest neutral = user_text("hi");
  neutral.n = 1;
  neutral.presence_penalty = 0.0;
  neutral.frequency_penalty = 0.0;
  neutral.top_logprobs = 0;
  neutral.response_format = ir::ResponseFormat{};
  EXPECT_TRUE(bedrock_adapter().encode(neutral, target("m")).has_value());
}

TEST(BedrockAdapter, TypeAndCapabilities) {
  const Adapter& a = bedrock_adapter();
  EXPECT_EQ(a.type(), "bedrock");
  const ir::Capabilities c = a.capabilities(target("m"));
  EXPECT_TRUE(c.tools);
  EXPECT_TRUE(c.parallel_tool_calls);
  EXPECT_TRUE(c.vision);
  EXPECT_TRUE(c.reasoning);
  EXPECT_FALSE(c.json_object);
  EXPECT_FALSE(c.json_schema);
  EXPECT_FALSE(c.logprobs);
  EXPECT_FALSE(c.multiple_choices);
}

// ----------------------------------------------------------------------------------------------
// Decode

TEST(BedrockDecode, EveryRecordedResponseMatchesItsGolden) {
  int decoded = 0;
  for (const auto& name : recorded_cases(".response.json")) {
    SCOPED_TRACE(name);
    const json::value meta = json::parse(read_file(kRecorded / (name + ".meta.json")));
    if (meta.at("status").as_int64() != 200) {
      continue;  // the 400s are map_error's
    }
    UpstreamReply reply{200, "application/json", read_file(kRecorded / (name + ".response.json")),
                        ""};
    auto r = bedrock_adapter().decode(reply);
    ASSERT_TRUE(r.has_value()) << r.error().detail;
    expect_golden(kOurs / (name + ".expected.json"), ir::pretty(ir::to_json(r.value())));
    ++decoded;
  }
  EXPECT_EQ(decoded, 6);
}

TEST(BedrockDecode, ToolUseInputBecomesArgumentsJson) {
  const std::string body = read_file(kRecorded / "converse-tool-use.3.response.json");
  auto r = bedrock_adapter().decode(UpstreamReply{200, "application/json", body, ""});
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->content.size(), 1u);
  const auto& call = std::get<ir::ToolCallPart>(r->content[0]);
  EXPECT_EQ(call.id, "tooluse_qVHAm8Q9QMGoJRkk06_TVA");
  EXPECT_EQ(call.name, "final_result");
  EXPECT_EQ(json::parse(call.arguments),
            json::parse(body).at("output").at("message").at("content").at(0).at("toolUse").at(
                "input"));
  EXPECT_EQ(r->finish, ir::FinishReason::ToolCalls);
  EXPECT_EQ(r->usage.input_tokens, 821);
  EXPECT_EQ(r->usage.output_tokens, 31);
}

TEST(BedrockDecode, CacheTokensAreAddedToInput) {
  // User Guide, prompt caching: total input = inputTokens + cacheRead + cacheWrite.
  const std::string body = R"({"output":{"message":{"role":"assistant","content":[{"text":"x"}]}},
    "stopReason":"max_tokens","usage":{"inputTokens":10,"outputTokens":5,"totalTokens":1515,
    "cacheReadInputTokens":1000,"cacheWriteInputTokens":500}})";
  auto r = bedrock_adapter().decode(UpstreamReply{200, "application/json", body, ""});
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->usage.input_tokens, 1510);
  EXPECT_EQ(r->usage.cached_input_tokens, 1000);
  EXPECT_EQ(r->usage.cache_write_tokens, 500);
  EXPECT_EQ(r->usage.output_tokens, 5);
  EXPECT_EQ(r->finish, ir::FinishReason::Length);
}

TEST(BedrockDecode, StopReasons) {
  const std::map<std::string, ir::FinishReason> cases = {
      {"end_turn", ir::FinishReason::Stop},
      {"stop_sequence", ir::FinishReason::StopSequence},
      {"max_tokens", ir::FinishReason::Length},
      {"model_context_window_exceeded", ir::FinishReason::Length},
      {"tool_use", ir::FinishReason::ToolCalls},
      {"guardrail_intervened", ir::FinishReason::ContentFilter},
      {"content_filtered", ir::FinishReason::ContentFilter},
      {"something_new", ir::FinishReason::Other},
  };
  for (const auto& [raw, finish] : cases) {
    SCOPED_TRACE(raw);
    const std::string body =
        R"({"output":{"message":{"role":"assistant","content":[]}},"stopReason":")" + raw + "\"}";
    auto r = bedrock_adapter().decode(UpstreamReply{200, "application/json", body, ""});
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->finish, finish);
    EXPECT_EQ(r->finish_raw, raw);
  }
}

TEST(BedrockDecode, RedactedReasoningAndServerToolsAndUnknownBlocks) {
  const std::string body = R"({"output":{"message":{"role":"assistant","content":[
    {"reasoningContent":{"redactedContent":"cmVk"}},
    {"toolUse":{"toolUseId":"s1","name":"nova_code_interpreter","type":"server_tool_use",
                "input":{"snippet":"1+1"}}},
    {"toolResult":{"toolUseId":"s1","content":[{"json":{"stdOut":"2"}}]}},
    {"image":{"format":"png","source":{"bytes":"AAAA"}}},
    {"text":"2"}]}},"stopReason":"end_turn"})";
  auto r = bedrock_adapter().decode(UpstreamReply{200, "application/json", body, ""});
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->content.size(), 2u);
  EXPECT_EQ(std::get<ir::ReasoningPart>(r->content[0]).redacted_data, "cmVk");
  EXPECT_EQ(std::get<ir::TextPart>(r->content[1]).text, "2");
  EXPECT_FALSE(r->usage.any());
}

TEST(BedrockDecode, MalformedBodiesAreUpstreamUnavailable) {
  for (const char* body : {"", "not json", "[]", "{}", R"({"output":{}})",
                           R"({"output":{"message":{"content":{}}}})"}) {
    SCOPED_TRACE(body);
    auto r = bedrock_adapter().decode(UpstreamReply{200, "application/json", body, ""});
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().kind, ErrorKind::UpstreamUnavailable);
  }
}

// ----------------------------------------------------------------------------------------------
// Stream

struct Replay {
  std::vector<ir::StreamEvent> events;
  bool feed_ok = true;
  bool finish_ok = true;
};

Replay replay(std::string_view bytes, std::size_t chunk) {
  Replay out;
  auto decoder = bedrock_adapter().stream_decoder(ir::ChatRequest{});
  for (std::size_t at = 0; at < bytes.size(); at += chunk) {
    if (!decoder->feed(bytes.substr(at, chunk), out.events)) {
      out.feed_ok = false;
    }
  }
  out.finish_ok = decoder->finish(out.events).has_value();
  return out;
}

TEST(BedrockStream, EveryRecordedStreamInAnyChunkingMatchesItsGolden) {
  const auto cases = recorded_cases(".response.eventstream");
  ASSERT_EQ(cases.size(), 3u);
  for (const auto& name : cases) {
    SCOPED_TRACE(name);
    const std::string bytes = read_file(kRecorded / (name + ".response.eventstream"));
    const Replay whole = replay(bytes, bytes.size());
    ASSERT_TRUE(whole.feed_ok);
    ASSERT_TRUE(whole.finish_ok);
    const std::string jsonl = ir::events_to_jsonl(whole.events);
    for (const std::size_t chunk : {std::size_t{1}, std::size_t{7}}) {
      SCOPED_TRACE(chunk);
      const Replay split = replay(bytes, chunk);
      EXPECT_TRUE(split.feed_ok);
      EXPECT_TRUE(split.finish_ok);
      EXPECT_EQ(ir::events_to_jsonl(split.events), jsonl);
    }
    expect_golden(kOurs / (name + ".expected.jsonl"), jsonl);

    // Cross-check with the decoded frames: the text deltas, the client tool's input fragments
    // and the order start ... finish, usage.
    const json::value frames = json::parse(read_file(kRecorded / (name + ".response.frames.json")));
    std::string frame_text;
    std::map<std::int64_t, std::string> frame_tool_input;  // client tools, by block
    for (const auto& f : frames.as_array()) {
      const auto& payload = f.at("payload").as_object();
      if (f.at("headers").at(":event-type") == "contentBlockStart") {
        const json::value* tool_use = payload.at("start").as_object().if_contains("toolUse");
        const json::value* type =
            tool_use != nullptr ? tool_use->as_object().if_contains("type") : nullptr;
        if (tool_use != nullptr && (type == nullptr || *type != "server_tool_use")) {
          frame_tool_input[payload.at("contentBlockIndex").as_int64()];
        }
      }
      if (f.at("headers").at(":event-type") == "contentBlockDelta") {
        const auto& delta = payload.at("delta").as_object();
        if (const auto* t = delta.if_contains("text")) {
          frame_text += t->as_string();
        }
        if (const auto* u = delta.if_contains("toolUse")) {
          const auto block = payload.at("contentBlockIndex").as_int64();
          if (frame_tool_input.count(block) != 0) {
            frame_tool_input[block] += u->at("input").as_string();
          }
        }
      }
    }
    std::string text;
    std::map<int, std::string> arguments;
    for (const auto& e : whole.events) {
      if (e.type == ir::StreamEvent::Type::TextDelta) {
        text += e.text;
      } else if (e.type == ir::StreamEvent::Type::ToolCallDelta) {
        arguments[e.index] += e.text;
      }
    }
    EXPECT_EQ(text, frame_text);
    ASSERT_EQ(arguments.size(), frame_tool_input.size());
    int index = 0;
    for (const auto& [block, input] : frame_tool_input) {
      EXPECT_EQ(arguments[index], input);
      EXPECT_TRUE(json::parse(arguments[index]).is_object());
      ++index;
    }
    ASSERT_GE(whole.events.size(), 3u);
    EXPECT_EQ(whole.events.front().type, ir::StreamEvent::Type::Start);
    EXPECT_EQ(whole.events[whole.events.size() - 2].type, ir::StreamEvent::Type::Finish);
    EXPECT_EQ(whole.events.back().type, ir::StreamEvent::Type::Usage);
  }
}

TEST(BedrockStream, ServerToolIsNotAClientToolCall) {
  const std::string bytes =
      read_file(kRecorded / "converse-stream-tool-use-server-tool.response.eventstream");
  const Replay r = replay(bytes, bytes.size());
  std::vector<const ir::StreamEvent*> starts;
  for (const auto& e : r.events) {
    if (e.type == ir::StreamEvent::Type::ToolCallStart) {
      starts.push_back(&e);
    }
  }
  ASSERT_EQ(starts.size(), 1u);
  EXPECT_EQ(starts[0]->index, 0);
  EXPECT_EQ(starts[0]->id, "tooluse_ptgCcZ0uQu-UUMz0abqoWw");
  EXPECT_EQ(starts[0]->name, "final_result");
  EXPECT_EQ(r.events.back().usage.input_tokens, 1002);
  EXPECT_EQ(r.events.back().usage.output_tokens, 59);
}

codec::EventMessage event_frame(std::string event_type, std::string payload) {
  codec::EventMessage m;
  m.headers.push_back({":event-type", std::move(event_type)});
  m.headers.push_back({":content-type", std::string("application/json")});
  m.headers.push_back({":message-type", std::string("event")});
  m.payload = std::move(payload);
  return m;
}

codec::EventMessage exception_frame(std::string type, std::string payload) {
  codec::EventMessage m;
  m.headers.push_back({":exception-type", std::move(type)});
  m.headers.push_back({":content-type", std::string("application/json")});
  m.headers.push_back({":message-type", std::string("exception")});
  m.payload = std::move(payload);
  return m;
}

std::string encode_frames(const std::vector<codec::EventMessage>& frames) {
  std::string out;
  for (const auto& f : frames) {
    auto bytes = codec::encode_event_message(f);
    EXPECT_TRUE(bytes.has_value());
    out += bytes.value();
  }
  return out;
}

TEST(BedrockStream, GeneratedThrottlingExceptionIsAnErrorEvent) {
  const std::string bytes = read_file(kRecorded / "generated/throttlingException.eventstream");
  for (const std::size_t chunk : {bytes.size(), std::size_t{1}, std::size_t{7}}) {
    const Replay r = replay(bytes, chunk);
    EXPECT_TRUE(r.feed_ok);
    EXPECT_TRUE(r.finish_ok);
    ASSERT_EQ(r.events.size(), 1u);
    EXPECT_EQ(r.events[0].type, ir::StreamEvent::Type::Error);
    EXPECT_EQ(r.events[0].error.kind, ErrorKind::RateLimited);
    EXPECT_EQ(r.events[0].error.public_message,
              "Too many requests, please wait before trying again.");
  }
}

TEST(BedrockStream, ExceptionTypesMapToErrorKinds) {
  const std::map<std::string, ErrorKind> cases = {
      {"throttlingException", ErrorKind::RateLimited},
      {"serviceUnavailableException", ErrorKind::UpstreamUnavailable},
      {"internalServerException", ErrorKind::UpstreamUnavailable},
      {"modelStreamErrorException", ErrorKind::UpstreamUnavailable},
      {"modelTimeoutException", ErrorKind::UpstreamTimeout},
      {"validationException", ErrorKind::InvalidRequest},
      {"accessDeniedException", ErrorKind::UpstreamAuth},
      {"someFutureException", ErrorKind::UpstreamUnavailable},
  };
  for (const auto& [type, kind] : cases) {
    SCOPED_TRACE(type);
    // Mid-stream: after some text, as the service would send it.
    const std::string bytes = encode_frames(
        {event_frame("messageStart", R"({"p":"abc","role":"assistant"})"),
         event_frame("contentBlockDelta",
                     R"({"contentBlockIndex":0,"delta":{"text":"Hi"},"p":"x"})"),
         exception_frame(type, R"({"message":"upstream said no"})")});
    const Replay r = replay(bytes, 5);
    EXPECT_TRUE(r.feed_ok);
    ASSERT_EQ(r.events.size(), 3u);
    const ir::StreamEvent& e = r.events.back();
    EXPECT_EQ(e.type, ir::StreamEvent::Type::Error);
    EXPECT_EQ(e.error.kind, kind);
    if (kind == ErrorKind::UpstreamAuth) {
      EXPECT_EQ(e.error.public_message.find("upstream said no"), std::string::npos);
    } else {
      EXPECT_EQ(e.error.public_message, "upstream said no");
    }
    EXPECT_EQ(e.error.status, kind == ErrorKind::InvalidRequest ? 400 : 0);
  }
}

TEST(BedrockStream, ReasoningDeltasAndRedactedContent) {
  const std::string bytes = encode_frames({
      event_frame("messageStart", R"({"role":"assistant"})"),
      event_frame("contentBlockDelta",
                  R"({"contentBlockIndex":0,"delta":{"reasoningContent":{"text":"hmm"}}})"),
      event_frame("contentBlockDelta",
                  R"({"contentBlockIndex":0,"delta":{"reasoningContent":{"signature":"c2ln"}}})"),
      event_frame("contentBlockStop", R"({"contentBlockIndex":0})"),
      event_frame(
          "contentBlockDelta",
          R"({"contentBlockIndex":1,"delta":{"reasoningContent":{"redactedContent":"cmVk"}}})"),
      event_frame("contentBlockStart",
                  R"({"contentBlockIndex":2,"start":{"toolUse":{"toolUseId":"t1","name":"f"}}})"),
      event_frame("contentBlockDelta",
                  R"({"contentBlockIndex":2,"delta":{"toolUse":{"input":""}}})"),
      event_frame("contentBlockDelta",
                  R"({"contentBlockIndex":2,"delta":{"toolUse":{"input":"{\"a\":1}"}}})"),
      event_frame("contentBlockStart",
                  R"({"contentBlockIndex":3,"start":{"toolUse":{"toolUseId":"t2","name":"g"}}})"),
      event_frame("contentBlockDelta",
                  R"({"contentBlockIndex":3,"delta":{"toolUse":{"input":"{}"}}})"),
      event_frame("messageStop", R"({"stopReason":"tool_use"})"),
      event_frame("metadata", R"({"usage":{"inputTokens":3,"outputTokens":4,"totalTokens":7}})"),
  });
  const Replay r = replay(bytes, 1);
  ASSERT_TRUE(r.feed_ok);
  EXPECT_EQ(ir::events_to_jsonl(r.events),
            R"({"type":"start"}
{"type":"reasoning","text":"hmm"}
{"type":"reasoning","signature":"c2ln"}
{"type":"reasoning","redacted_data":"cmVk"}
{"type":"tool_call_start","index":0,"id":"t1","name":"f"}
{"type":"tool_call_delta","index":0,"arguments":"{\"a\":1}"}
{"type":"tool_call_start","index":1,"id":"t2","name":"g"}
{"type":"tool_call_delta","index":1,"arguments":"{}"}
{"type":"finish","finish":"tool_calls","finish_raw":"tool_use"}
{"type":"usage","usage":{"input":3,"output":4}}
)");
}

TEST(BedrockStream, EveryCorruptByteIsAFeedErrorAndStaysOne) {
  const std::string bytes =
      read_file(kRecorded / "converse-stream-tool-use-server-tool.response.eventstream");
  for (std::size_t at = 0; at < bytes.size(); ++at) {
    std::string corrupt = bytes;
    corrupt[at] = static_cast<char>(corrupt[at] ^ 0x5A);
    auto decoder = bedrock_adapter().stream_decoder(ir::ChatRequest{});
    std::vector<ir::StreamEvent> events;
    const bool ok = decoder->feed(corrupt, events).has_value();
    // A changed byte breaks a CRC (or, in a length, the prelude CRC): the stream is unusable.
    ASSERT_FALSE(ok) << "byte " << at;
    const auto again = decoder->feed("more", events);
    ASSERT_FALSE(again.has_value());
    EXPECT_EQ(again.error().kind, ErrorKind::UpstreamUnavailable);
    EXPECT_FALSE(decoder->finish(events).has_value());
  }
}

TEST(BedrockStream, TruncatedStreamFailsAtFinish) {
  const std::string bytes = read_file(kRecorded / "converse-stream-text.response.eventstream");
  const Replay r = replay(std::string_view(bytes).substr(0, bytes.size() - 10), 7);
  EXPECT_TRUE(r.feed_ok);
  EXPECT_FALSE(r.finish_ok);
  EXPECT_NE(r.events.back().type, ir::StreamEvent::Type::Usage);
}

TEST(BedrockStream, WellFramedButMalformedPayloadIsAFeedError) {
  for (const auto& frame : {event_frame("contentBlockDelta", "{not json"),
                            event_frame("messageStop", "[1,2]")}) {
    const Replay r = replay(encode_frames({event_frame("messageStart", "{}"), frame}), 64);
    EXPECT_FALSE(r.feed_ok);
    EXPECT_FALSE(r.finish_ok);
    EXPECT_EQ(r.events.size(), 1u);  // the start that came before
  }
  codec::EventMessage untyped;
  untyped.payload = "{}";
  EXPECT_FALSE(replay(encode_frames({untyped}), 64).feed_ok);
}

// ----------------------------------------------------------------------------------------------
// map_error

TEST(BedrockMapError, RecordedInvalidModel400s) {
  for (const char* name : {"converse-400-invalid-model", "converse-stream-400-invalid-model"}) {
    SCOPED_TRACE(name);
    const std::string body = read_file(kRecorded / (std::string(name) + ".response.json"));
    const Error e = bedrock_adapter().map_error(UpstreamReply{400, "application/json", body, ""});
    EXPECT_EQ(e.kind, ErrorKind::InvalidRequest);
    EXPECT_EQ(e.status, 400);
    EXPECT_EQ(e.public_message, "The provided model identifier is invalid.");
  }
}

TEST(BedrockMapError, StatusesToKinds) {
  struct Case {
    unsigned status;
    ErrorKind kind;
    int passed_status;
  };
  const Case cases[] = {
      {400, ErrorKind::InvalidRequest, 400},     {404, ErrorKind::NotFound, 404},
      {413, ErrorKind::InvalidRequest, 413},     {429, ErrorKind::RateLimited, 0},
      {408, ErrorKind::UpstreamTimeout, 0},      {504, ErrorKind::UpstreamTimeout, 0},
      {424, ErrorKind::UpstreamUnavailable, 0},  {500, ErrorKind::UpstreamUnavailable, 0},
      {502, ErrorKind::UpstreamUnavailable, 0},  {503, ErrorKind::UpstreamUnavailable, 0},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.status);
    const Error e = bedrock_adapter().map_error(
        UpstreamReply{c.status, "application/json", R"({"message":"nope"})", "12"});
    EXPECT_EQ(e.kind, c.kind);
    EXPECT_EQ(e.status, c.passed_status);
    EXPECT_EQ(e.public_message, "nope");
    EXPECT_EQ(e.retry_after, "12");
  }
}

TEST(BedrockMapError, AuthFailuresAreGenericAndKeepNoCanonicalRequest) {
  for (const unsigned status : {401u, 403u}) {
    const Error e = bedrock_adapter().map_error(UpstreamReply{
        status, "application/json",
        R"({"message":"The request signature we calculated does not match the signature )"
        R"(you provided.\n\nThe Canonical String for this request should have been\n'POST)"
        R"(\n/model/x/converse\n\nx-amz-security-token:SECRET'"})",
        ""});
    EXPECT_EQ(e.kind, ErrorKind::UpstreamAuth);
    EXPECT_EQ(e.public_message.find("signature"), std::string::npos);
    EXPECT_NE(e.detail.find("does not match"), std::string::npos);
    EXPECT_EQ(e.detail.find("SECRET"), std::string::npos);
  }
}

TEST(BedrockMapError, NonJsonBodyGivesAGenericMessage) {
  const Error e = bedrock_adapter().map_error(UpstreamReply{503, "text/html", "<html>", ""});
  EXPECT_EQ(e.kind, ErrorKind::UpstreamUnavailable);
  EXPECT_EQ(e.public_message, "Amazon Bedrock answered HTTP 503.");
  const Error upper =
      bedrock_adapter().map_error(UpstreamReply{400, "", R"({"Message":"Bad"})", ""});
  EXPECT_EQ(upper.public_message, "Bad");
}

}  // namespace
}  // namespace sy::providers
