#include "inbound/openai_chat.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "ir/debug_json.h"

namespace sy::inbound {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

const fs::path kShared = SY_FIXTURES_DIR;
const fs::path kOurs = fs::path(SY_TEST_FIXTURES_DIR) / "inbound" / "openai";

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<fs::path> files_ending(const fs::path& dir, std::string_view suffix) {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_regular_file() && entry.path().filename().string().ends_with(suffix)) {
      out.push_back(entry.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// SY_UPDATE_GOLDENS=1 rewrites goldens instead of comparing (each rewrite must be reviewed).
void expect_golden(const fs::path& path, const std::string& actual) {
  const char* update = std::getenv("SY_UPDATE_GOLDENS");
  if (update != nullptr && std::string_view(update) == "1") {
    std::ofstream(path, std::ios::binary) << actual;
    return;
  }
  ASSERT_TRUE(fs::exists(path)) << "missing golden " << path << " (run with SY_UPDATE_GOLDENS=1)";
  EXPECT_EQ(read_file(path), actual) << "golden " << path;
}

const Codec& codec() { return openai_chat_codec(); }

// The golden text for a parse: the canonical IR, or the error envelope the client would get.
std::string parse_golden(std::string_view body) {
  const auto r = codec().parse_request(body);
  if (r) {
    return ir::pretty(ir::to_json(*r));
  }
  return ir::pretty(json::parse(codec().render_error(r.error())));
}

Error error_of(std::string_view body) {
  const auto r = codec().parse_request(body);
  EXPECT_FALSE(r) << body;
  return r ? Error{} : r.error();
}

std::string stem_of(const fs::path& p, std::string_view suffix) {
  const std::string name = p.filename().string();
  return name.substr(0, name.size() - suffix.size());
}

// ---------------------------------------------------------------------------------------------
// parse_request on recorded and hand-written client bodies

TEST(OpenAiParse, SharedOpenAiFixtureRequests) {
  const auto files = files_ending(kShared / "openai", ".request.json");
  ASSERT_GE(files.size(), 9U);
  for (const auto& path : files) {
    const std::string stem = stem_of(path, ".request.json");
    SCOPED_TRACE(stem);
    const std::string body = read_file(path);
    expect_golden(kOurs / "parse" / ("shared.openai." + stem + ".ir.json"), parse_golden(body));
    const auto r = codec().parse_request(body);
    if (stem == "chat-no-messages") {
      // Byte-identical to what OpenAI answered for the same body.
      ASSERT_FALSE(r);
      const json::value expected =
          json::parse(read_file(kShared / "openai" / "chat-no-messages.response.json"));
      EXPECT_EQ(json::parse(codec().render_error(r.error())), expected);
    } else if (stem == "chat-bad-request") {
      ASSERT_FALSE(r);  // content null on a user message is rejected before anything else
      EXPECT_EQ(r.error().param, "messages[0].content");
      EXPECT_EQ(r.error().code, "invalid_type");
    } else {
      ASSERT_TRUE(r) << r.error().public_message;
      const json::object in = json::parse(body).as_object();
      EXPECT_EQ(r->model, in.at("model").as_string());
      EXPECT_EQ(r->stream, in.contains("stream"));
    }
  }
}

TEST(OpenAiParse, SdkCapturedRequests) {
  std::vector<fs::path> files = files_ending(kShared / "sdk-requests" / "openai", ".json");
  for (const auto& p : files_ending(kShared / "sdk-requests" / "azure", ".json")) {
    files.push_back(p);
  }
  ASSERT_GE(files.size(), 3U);
  for (const auto& path : files) {
    const std::string stem = stem_of(path, ".json");
    SCOPED_TRACE(stem);
    const json::value capture = json::parse(read_file(path));
    const std::string body(capture.at("request").at("body_raw").as_string());
    const auto r = codec().parse_request(body);
    ASSERT_TRUE(r) << r.error().public_message;
    expect_golden(kOurs / "parse" / ("sdk." + stem + ".ir.json"), parse_golden(body));
    if (stem == "openai.chat.stream_tools") {
      EXPECT_TRUE(r->stream);
      EXPECT_TRUE(r->include_usage);
      ASSERT_EQ(r->tools.size(), 1U);
      EXPECT_EQ(r->tools[0].parameters,
                R"({"type":"object","properties":{"city":{"type":"string"}},"required":["city"]})");
    }
  }
}

TEST(OpenAiParse, HandWrittenRequests) {
  const auto files = files_ending(kOurs / "parse", ".request.json");
  ASSERT_GE(files.size(), 3U);
  for (const auto& path : files) {
    const std::string stem = stem_of(path, ".request.json");
    SCOPED_TRACE(stem);
    expect_golden(kOurs / "parse" / (stem + ".ir.json"), parse_golden(read_file(path)));
  }
}

TEST(OpenAiParse, FullFeaturesFieldByField) {
  const auto r = codec().parse_request(read_file(kOurs / "parse" / "full-features.request.json"));
  ASSERT_TRUE(r) << r.error().public_message;
  const ir::ChatRequest& q = *r;
  EXPECT_EQ(q.system,
            (std::vector<std::string>{"You are terse.", "Prefer metric units.", "Never guess."}));
  ASSERT_EQ(q.messages.size(), 5U);

  const ir::Message& user = q.messages[0];
  EXPECT_EQ(user.role, ir::Role::User);
  EXPECT_EQ(user.name, "ann");
  ASSERT_EQ(user.content.size(), 3U);
  EXPECT_EQ(std::get<ir::ImagePart>(user.content[1]).url, "https://example.com/cat.png");
  const auto& inline_img = std::get<ir::ImagePart>(user.content[2]);
  EXPECT_EQ(inline_img.url, "");
  EXPECT_EQ(inline_img.media_type, "image/jpeg");
  EXPECT_EQ(inline_img.data, "/9j/4AAQSkZJRg==");
  EXPECT_EQ(inline_img.detail, "low");

  const ir::Message& asst = q.messages[1];
  ASSERT_EQ(asst.content.size(), 4U);
  EXPECT_EQ(std::get<ir::ReasoningPart>(asst.content[0]).text, "Two tools needed.");
  EXPECT_EQ(std::get<ir::TextPart>(asst.content[1]).text, "Checking.");
  const auto& call = std::get<ir::ToolCallPart>(asst.content[2]);
  EXPECT_EQ(call.id, "call_gem1");
  EXPECT_EQ(call.signature, "CiQBjz+/sig==");
  EXPECT_EQ(call.arguments, "{\"city\": \"Paris\"}");  // verbatim, spaces kept
  EXPECT_EQ(std::get<ir::ToolCallPart>(asst.content[3]).signature, "");

  EXPECT_EQ(q.messages[2].role, ir::Role::Tool);
  EXPECT_EQ(std::get<ir::ToolResultPart>(q.messages[2].content[0]),
            (ir::ToolResultPart{"call_gem1", "18C, sunny", false}));
  EXPECT_EQ(std::get<ir::ToolResultPart>(q.messages[3].content[0]).content, "a cat on a mat");

  ASSERT_EQ(q.tools.size(), 2U);
  EXPECT_TRUE(q.tools[0].strict);
  // Schema bytes kept (0.5 stays 0.5, escapes stay escaped), whitespace dropped.
  EXPECT_EQ(
      q.tools[0].parameters,
      R"({"type":"object","properties":{"city":{"type":"string","description":"a \"city\" name"},)"
      R"("min_confidence":{"type":"number","minimum":0.5}},"required":["city"],)"
      R"("additionalProperties":false})");
  EXPECT_EQ(q.tools[1].parameters, "");
  EXPECT_EQ(q.tool_choice, (ir::ToolChoice{ir::ToolChoiceMode::Function, "get_weather"}));
  EXPECT_EQ(q.parallel_tool_calls, false);
  EXPECT_EQ(q.max_tokens, 256);  // max_completion_tokens wins over max_tokens
  EXPECT_EQ(q.stop, (std::vector<std::string>{"\n\n", "END"}));
  EXPECT_EQ(q.seed, 42);
  EXPECT_EQ(q.frequency_penalty, -0.25);
  EXPECT_TRUE(q.logprobs);
  EXPECT_EQ(q.top_logprobs, 3);
  ASSERT_TRUE(q.response_format);
  EXPECT_EQ(q.response_format->type, ir::ResponseFormatType::JsonSchema);
  EXPECT_EQ(q.response_format->name, "answer");
  EXPECT_TRUE(q.response_format->strict);
  EXPECT_EQ(q.response_format->schema,
            R"({"type":"object","properties":{"text":{"type":"string"}},"required":["text"]})");
  ASSERT_TRUE(q.reasoning);
  EXPECT_EQ(q.reasoning->effort, "low");
  EXPECT_TRUE(q.stream);
  EXPECT_TRUE(q.include_usage);
  EXPECT_EQ(q.user, "user-123");
  EXPECT_EQ(q.metadata,
            (std::map<std::string, std::string>{{"team", "search"}, {"ticket", "T-1"}}));
}

// ---------------------------------------------------------------------------------------------
// Validation: exact messages, params and codes

struct ErrorCase {
  const char* body;
  const char* message;
  const char* param;
  const char* code;
};

class OpenAiParseErrors : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(OpenAiParseErrors, MessageParamAndCode) {
  const ErrorCase& c = GetParam();
  const Error e = error_of(c.body);
  EXPECT_EQ(e.kind, ErrorKind::InvalidRequest);
  EXPECT_EQ(e.public_message, c.message);
  EXPECT_EQ(e.param, c.param);
  EXPECT_EQ(e.code, c.code);
}

#define U R"("messages":[{"role":"user","content":"hi"}])"

INSTANTIATE_TEST_SUITE_P(
    Cases, OpenAiParseErrors,
    ::testing::Values(
        ErrorCase{R"({"messages":[{"role":"user","content":"hi"}]})",
                  "Missing required parameter: 'model'.", "model", "missing_required_parameter"},
        ErrorCase{R"({"model":"m"})", "Missing required parameter: 'messages'.", "messages",
                  "missing_required_parameter"},
        ErrorCase{R"({"model":"","messages":[]})",
                  "Invalid 'model': empty string. Expected a string with minimum length 1, but "
                  "got an empty string instead.",
                  "model", "empty_string"},
        ErrorCase{R"({"model":"m","messages":{}})",
                  "Invalid type for 'messages': expected an array of objects, but got an object "
                  "instead.",
                  "messages", "invalid_type"},
        ErrorCase{R"({"model":"m","messages":[{"content":"hi"}]})",
                  "Missing required parameter: 'messages[0].role'.", "messages[0].role",
                  "missing_required_parameter"},
        ErrorCase{R"({"model":"m","messages":[{"role":"user","content":"a"},{"role":"bot"}]})",
                  "Invalid value: 'bot'. Supported values are: 'system', 'assistant', 'user', "
                  "'function', 'tool', and 'developer'.",
                  "messages[1].role", "invalid_value"},
        ErrorCase{R"({"model":"m","messages":[{"role":"function","name":"f","content":"x"}]})",
                  "Unsupported value: 'messages[0].role' does not support 'function' with this "
                  "model.",
                  "messages[0].role", "unsupported_value"},
        ErrorCase{R"({"model":"m","messages":[{"role":"user","content":7}]})",
                  "Invalid type for 'messages[0].content': expected one of a string or array of "
                  "objects, but got an integer instead.",
                  "messages[0].content", "invalid_type"},
        ErrorCase{R"({"model":"m","messages":[{"role":"user","content":[]}]})",
                  "Invalid 'messages[0].content': empty array. Expected an array with minimum "
                  "length 1, but got an empty array instead.",
                  "messages[0].content", "empty_array"},
        ErrorCase{R"({"model":"m","messages":[{"role":"user","content":[{"type":"video"}]}]})",
                  "Invalid value: 'video'. Supported values are: 'text', 'image_url', "
                  "'input_audio', and 'file'.",
                  "messages[0].content[0].type", "invalid_value"},
        ErrorCase{R"({"model":"m","messages":[{"role":"user","content":[{"type":"input_audio",)"
                  R"("input_audio":{"data":"AAA","format":"wav"}}]}]})",
                  "Unsupported value: 'messages[0].content[0].type' does not support "
                  "'input_audio' with this model.",
                  "messages[0].content[0].type", "unsupported_value"},
        ErrorCase{R"({"model":"m","messages":[{"role":"user","content":[{"type":"image_url",)"
                  R"("image_url":{"url":"data:image/png,abc"}}]}]})",
                  "Invalid 'messages[0].content[0].image_url.url': expected a base64-encoded "
                  "data URL with an image MIME type (e.g. "
                  "'data:image/png;base64,aW1nIGJ5dGVzIGhlcmU=').",
                  "messages[0].content[0].image_url.url", "invalid_value"},
        ErrorCase{R"({"model":"m","messages":[{"role":"user","content":[{"type":"image_url",)"
                  R"("image_url":{"url":"https://x/y.png","detail":"max"}}]}]})",
                  "Invalid value: 'max'. Supported values are: 'auto', 'low', and 'high'.",
                  "messages[0].content[0].image_url.detail", "invalid_value"},
        ErrorCase{R"({"model":"m","messages":[{"role":"user","content":"a"},)"
                  R"({"role":"assistant"}]})",
                  "Missing required parameter: 'messages[1].content' (messages with role "
                  "'assistant' must have either 'content' or 'tool_calls').",
                  "messages[1].content", "missing_required_parameter"},
        ErrorCase{R"({"model":"m","messages":[{"role":"user","content":"a"},{"role":"assistant",)"
                  R"("tool_calls":[{"id":"c1","type":"function","function":{"name":"f"}}]}]})",
                  "Missing required parameter: 'messages[1].tool_calls[0].function.arguments'.",
                  "messages[1].tool_calls[0].function.arguments", "missing_required_parameter"},
        ErrorCase{R"({"model":"m","messages":[{"role":"user","content":"a"},)"
                  R"({"role":"tool","tool_call_id":"c1","content":"r"}]})",
                  "Invalid parameter: messages with role 'tool' must be a response to a "
                  "preceding message with 'tool_calls'.",
                  "messages[1].role", "invalid_value"},
        ErrorCase{R"({"model":"m","messages":[{"role":"user","content":"a"},{"role":"assistant",)"
                  R"("tool_calls":[{"id":"c1","type":"function","function":{"name":"f",)"
                  R"("arguments":"{}"}}]},{"role":"tool","content":"r"}]})",
                  "Missing required parameter: 'messages[2].tool_call_id'.",
                  "messages[2].tool_call_id", "missing_required_parameter"},
        ErrorCase{"{\"model\":\"m\"," U ",\"temperature\":2.5}",
                  "Invalid 'temperature': decimal above maximum value. Expected a value <= 2, "
                  "but got 2.5 instead.",
                  "temperature", "decimal_above_max_value"},
        ErrorCase{"{\"model\":\"m\"," U ",\"top_p\":-0.1}",
                  "Invalid 'top_p': decimal below minimum value. Expected a value >= 0, but got "
                  "-0.1 instead.",
                  "top_p", "decimal_below_min_value"},
        ErrorCase{"{\"model\":\"m\"," U ",\"max_tokens\":0}",
                  "Invalid 'max_tokens': integer below minimum value. Expected a value >= 1, but "
                  "got 0 instead.",
                  "max_tokens", "integer_below_min_value"},
        ErrorCase{"{\"model\":\"m\"," U ",\"max_completion_tokens\":10.5}",
                  "Invalid type for 'max_completion_tokens': expected an integer, but got a "
                  "decimal instead.",
                  "max_completion_tokens", "invalid_type"},
        ErrorCase{"{\"model\":\"m\"," U ",\"n\":0}",
                  "Invalid 'n': integer below minimum value. Expected a value >= 1, but got 0 "
                  "instead.",
                  "n", "integer_below_min_value"},
        ErrorCase{"{\"model\":\"m\"," U ",\"stop\":[\"a\",1]}",
                  "Invalid type for 'stop[1]': expected a string, but got an integer instead.",
                  "stop[1]", "invalid_type"},
        ErrorCase{"{\"model\":\"m\"," U ",\"tool_choice\":\"any\"}",
                  "Invalid value: 'any'. Supported values are: 'none', 'auto', and 'required'.",
                  "tool_choice", "invalid_value"},
        ErrorCase{"{\"model\":\"m\"," U ",\"tools\":[{\"type\":\"function\",\"function\":{}}]}",
                  "Missing required parameter: 'tools[0].function.name'.", "tools[0].function.name",
                  "missing_required_parameter"},
        ErrorCase{"{\"model\":\"m\"," U
                  ",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"a b\"}}]}",
                  "Invalid 'tools[0].function.name': string does not match pattern. Expected a "
                  "string that matches the pattern '^[a-zA-Z0-9_-]+$'.",
                  "tools[0].function.name", "invalid_value"},
        ErrorCase{"{\"model\":\"m\"," U
                  ",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\","
                  "\"parameters\":\"{}\"}}]}",
                  "Invalid type for 'tools[0].function.parameters': expected an object, but got "
                  "a string instead.",
                  "tools[0].function.parameters", "invalid_type"},
        ErrorCase{"{\"model\":\"m\"," U ",\"response_format\":{\"type\":\"json_schema\"}}",
                  "Missing required parameter: 'response_format.json_schema'.",
                  "response_format.json_schema", "missing_required_parameter"},
        ErrorCase{"{\"model\":\"m\"," U ",\"response_format\":{\"type\":\"yaml\"}}",
                  "Invalid value: 'yaml'. Supported values are: 'text', 'json_object', and "
                  "'json_schema'.",
                  "response_format.type", "invalid_value"},
        ErrorCase{"{\"model\":\"m\"," U ",\"reasoning_effort\":\"max\"}",
                  "Invalid value: 'max'. Supported values are: 'none', 'minimal', 'low', "
                  "'medium', 'high', and 'xhigh'.",
                  "reasoning_effort", "invalid_value"},
        ErrorCase{"{\"model\":\"m\"," U ",\"stream\":\"yes\"}",
                  "Invalid type for 'stream': expected a boolean, but got a string instead.",
                  "stream", "invalid_type"},
        ErrorCase{"{\"model\":\"m\"," U ",\"stream_options\":{\"include_usage\":true}}",
                  "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
                  "stream_options", "invalid_value"},
        ErrorCase{"{\"model\":\"m\"," U ",\"metadata\":{\"k\":1}}",
                  "Invalid type for 'metadata.k': expected a string, but got an integer instead.",
                  "metadata.k", "invalid_type"},
        // Parameters that change the answer and that the IR cannot carry.
        ErrorCase{"{\"model\":\"m\"," U ",\"audio\":{\"voice\":\"alloy\",\"format\":\"wav\"}}",
                  "Unsupported parameter: 'audio' is not supported with this model.", "audio",
                  "unsupported_parameter"},
        ErrorCase{"{\"model\":\"m\"," U ",\"modalities\":[\"text\",\"audio\"]}",
                  "Unsupported value: 'modalities' does not support 'audio' with this model.",
                  "modalities", "unsupported_value"},
        ErrorCase{"{\"model\":\"m\"," U ",\"prediction\":{\"type\":\"content\",\"content\":\"x\"}}",
                  "Unsupported parameter: 'prediction' is not supported with this model.",
                  "prediction", "unsupported_parameter"},
        ErrorCase{"{\"model\":\"m\"," U ",\"web_search_options\":{}}",
                  "Unsupported parameter: 'web_search_options' is not supported with this model.",
                  "web_search_options", "unsupported_parameter"},
        ErrorCase{"{\"model\":\"m\"," U ",\"logit_bias\":{\"50256\":-100}}",
                  "Unsupported parameter: 'logit_bias' is not supported with this model.",
                  "logit_bias", "unsupported_parameter"},
        ErrorCase{"{\"model\":\"m\"," U ",\"functions\":[{\"name\":\"f\"}]}",
                  "Unsupported parameter: 'functions' is not supported with this model.",
                  "functions", "unsupported_parameter"},
        ErrorCase{R"({"model":"m","model":"n",)" U "}",
                  "Duplicate parameter 'model': it may appear only once.", "model",
                  "duplicate_parameter"},
        ErrorCase{"[1,2]",
                  "Invalid type for the request body: expected an object, but got an array "
                  "instead.",
                  "", "invalid_type"}));

#undef U

TEST(OpenAiParse, MalformedJsonIsInvalidJson) {
  for (const std::string_view body : {"", "{", "{\"model\":\"m\",}", "not json", "{\"a\":1} x"}) {
    const Error e = error_of(body);
    EXPECT_EQ(e.kind, ErrorKind::InvalidRequest) << body;
    EXPECT_EQ(e.code, "invalid_json") << body;
    EXPECT_TRUE(e.public_message.starts_with("We could not parse the JSON body of your request."))
        << e.public_message;
    EXPECT_EQ(e.param, "") << body;
  }
}

TEST(OpenAiParse, EveryTruncationIsAnErrorNotACrash) {
  const std::string body = read_file(kOurs / "parse" / "full-features.request.json");
  const std::size_t end = body.find_last_of('}');
  for (std::size_t n = 0; n < end; ++n) {
    const auto r = codec().parse_request(std::string_view(body).substr(0, n));
    ASSERT_FALSE(r) << n;
    EXPECT_EQ(r.error().code, "invalid_json") << n;
  }
}

TEST(OpenAiParse, DeepSchemaIsAccepted) {
  std::string schema = "{\"type\":\"string\"}";
  for (int i = 0; i < 60; ++i) {
    schema = "{\"type\":\"array\",\"items\":" + schema + "}";
  }
  const std::string body = R"({"model":"m","messages":[{"role":"user","content":"hi"}],)"
                           R"("tools":[{"type":"function","function":{"name":"f","parameters":)" +
                           schema + "}}]}";
  const auto r = codec().parse_request(body);
  ASSERT_TRUE(r) << r.error().public_message;
  EXPECT_EQ(r->tools[0].parameters, schema);
}

TEST(OpenAiParse, NullOptionalParametersAreAbsent) {
  const auto r = codec().parse_request(
      R"({"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":null,)"
      R"("tools":null,"tool_choice":null,"stop":null,"stream":null,"audio":null,"user":null})");
  ASSERT_TRUE(r) << r.error().public_message;
  ir::ChatRequest want;
  want.model = "m";
  want.messages.push_back(ir::Message{ir::Role::User, {ir::TextPart{"hi"}}, ""});
  EXPECT_EQ(*r, want);
}

// ---------------------------------------------------------------------------------------------
// thoughtSignature travels in the tool call id

TEST(OpenAiToolCallId, SignatureRoundTrips) {
  const std::vector<std::string> sigs = {"a",
                                         "ab",
                                         "abc",
                                         "abcd",
                                         "CiQBjz+/sig==",
                                         std::string("\0\xff\x80", 3),
                                         std::string(300, 'x')};
  for (const std::string& sig : sigs) {
    const std::string wire = encode_tool_call_id("call_1", sig);
    EXPECT_TRUE(wire.starts_with("call_1~ts~")) << wire;
    EXPECT_EQ(wire.find_first_of("+/="), std::string::npos) << wire;
    const DecodedToolCallId back = decode_tool_call_id(wire);
    EXPECT_EQ(back.id, "call_1");
    EXPECT_EQ(back.signature, sig);
  }
  EXPECT_EQ(encode_tool_call_id("call_1", ""), "call_1");
  EXPECT_EQ(encode_tool_call_id("call_gem1", "CiQBjz+/sig=="), "call_gem1~ts~Q2lRQmp6Ky9zaWc9PQ");
}

TEST(OpenAiToolCallId, ForeignIdsComeBackWhole) {
  for (const std::string_view id :
       {"call_abc", "toolu_01A~ts~", "x~ts~not base64!", "x~ts~A", "x~ts~Q2=", "x~ts~QB"}) {
    const DecodedToolCallId d = decode_tool_call_id(id);
    EXPECT_EQ(d.id, id);
    EXPECT_EQ(d.signature, "");
  }
}

TEST(OpenAiToolCallId, ResponseToRequestRoundTrip) {
  // The gateway renders a Gemini call with its signature; the client sends the conversation back.
  ir::ChatResponse resp;
  resp.id = "r1";
  resp.model = "gemini-3";
  resp.created = 1;
  resp.content = {ir::ToolCallPart{"call_0", "get_weather", "{\"city\":\"Oslo\"}", "sig/+=\x01"}};
  resp.finish = ir::FinishReason::ToolCalls;
  const json::value out = json::parse(codec().render_response(resp, {}));
  const json::value& call = out.at("choices").at(0).at("message").at("tool_calls").at(0);
  const std::string wire_id(call.at("id").as_string());

  json::object body;
  body["model"] = "gemini-route";
  json::array msgs;
  msgs.push_back(json::object{{"role", "user"}, {"content", "weather?"}});
  msgs.push_back(
      json::object{{"role", "assistant"}, {"content", nullptr}, {"tool_calls", json::array{call}}});
  msgs.push_back(json::object{{"role", "tool"}, {"tool_call_id", wire_id}, {"content", "cold"}});
  body["messages"] = std::move(msgs);
  const auto req = codec().parse_request(json::serialize(body));
  ASSERT_TRUE(req) << req.error().public_message;
  EXPECT_EQ(std::get<ir::ToolCallPart>(req->messages[1].content[0]),
            std::get<ir::ToolCallPart>(resp.content[0]));
  EXPECT_EQ(std::get<ir::ToolResultPart>(req->messages[2].content[0]).tool_call_id, "call_0");
}

// ---------------------------------------------------------------------------------------------
// render_response

std::set<std::string> keys_of(const json::value& v) {
  std::set<std::string> out;
  for (const auto& kv : v.as_object()) {
    out.emplace(kv.key());
  }
  return out;
}

ir::ChatResponse text_response() {
  ir::ChatResponse r;
  r.id = "msg_01XFDUDYJgAACzvnptvVoYEL";
  r.model = "claude-sonnet-4-5";
  r.created = 1755133833;
  r.content = {ir::TextPart{"Hi there"}, ir::TextPart{"!"}};
  r.finish = ir::FinishReason::Stop;
  r.finish_raw = "end_turn";
  r.usage.input_tokens = 120;  // all input, cached included (the IR rule)
  r.usage.output_tokens = 7;
  r.usage.cached_input_tokens = 100;
  r.usage.cache_write_tokens = 20;
  return r;
}

TEST(OpenAiRender, TextAnswer) {
  const std::string body = codec().render_response(text_response(), {});
  expect_golden(kOurs / "response" / "text.json", ir::pretty(json::parse(body)));
  const json::value v = json::parse(body);
  EXPECT_EQ(v.at("id"), "msg_01XFDUDYJgAACzvnptvVoYEL");
  EXPECT_EQ(v.at("object"), "chat.completion");
  EXPECT_EQ(v.at("created"), 1755133833);
  EXPECT_EQ(v.at("model"), "claude-sonnet-4-5");
  ASSERT_EQ(v.at("choices").as_array().size(), 1U);
  const json::value& choice = v.at("choices").at(0);
  EXPECT_EQ(choice.at("index"), 0);
  EXPECT_EQ(choice.at("finish_reason"), "stop");
  EXPECT_TRUE(choice.at("logprobs").is_null());
  const json::value& msg = choice.at("message");
  EXPECT_EQ(msg.at("role"), "assistant");
  EXPECT_EQ(msg.at("content"), "Hi there!");
  EXPECT_TRUE(msg.at("refusal").is_null());
  EXPECT_FALSE(msg.as_object().contains("tool_calls"));
  EXPECT_FALSE(msg.as_object().contains("reasoning_content"));
  const json::value& usage = v.at("usage");
  EXPECT_EQ(usage.at("prompt_tokens"), 120);
  EXPECT_EQ(usage.at("completion_tokens"), 7);
  EXPECT_EQ(usage.at("total_tokens"), 127);
  EXPECT_EQ(usage.at("prompt_tokens_details").at("cached_tokens"), 100);
  EXPECT_FALSE(usage.as_object().contains("completion_tokens_details"));
}

TEST(OpenAiRender, ToolCallsAnswer) {
  ir::ChatResponse r;
  r.id = "chatcmpl-1";
  r.model = "gemini-3-pro";
  r.created = 1700000000;
  r.content = {ir::ToolCallPart{"call_a", "get_weather", "{\"city\":\"Paris\"}", "c2ln"},
               ir::ToolCallPart{"call_b", "get_time", "{}", ""}};
  r.finish = ir::FinishReason::ToolCalls;
  r.usage.input_tokens = 10;
  r.usage.output_tokens = 20;
  const std::string body = codec().render_response(r, {});
  expect_golden(kOurs / "response" / "tool-calls.json", ir::pretty(json::parse(body)));
  const json::value v = json::parse(body);
  const json::value& choice = v.at("choices").at(0);
  EXPECT_EQ(choice.at("finish_reason"), "tool_calls");
  const json::value& msg = choice.at("message");
  EXPECT_TRUE(msg.at("content").is_null());
  const json::array& calls = msg.at("tool_calls").as_array();
  ASSERT_EQ(calls.size(), 2U);
  EXPECT_EQ(calls[0].at("id"), json::value(encode_tool_call_id("call_a", "c2ln")));
  EXPECT_EQ(calls[0].at("type"), "function");
  EXPECT_EQ(calls[0].at("function").at("name"), "get_weather");
  EXPECT_EQ(calls[0].at("function").at("arguments"), "{\"city\":\"Paris\"}");
  EXPECT_EQ(calls[1].at("id"), "call_b");
  EXPECT_EQ(calls[1].at("function").at("arguments"), "{}");
  EXPECT_FALSE(v.at("usage").as_object().contains("prompt_tokens_details"));
}

TEST(OpenAiRender, ReasoningAndLength) {
  ir::ChatResponse r;
  r.id = "resp-9";
  r.model = "claude-opus";
  r.created = 5;
  r.content = {ir::ReasoningPart{"Think ", "sig-anthropic", ""}, ir::ReasoningPart{"", "", "RED"},
               ir::ReasoningPart{"more.", "", ""}, ir::TextPart{"Partial answ"}};
  r.finish = ir::FinishReason::Length;
  r.usage.input_tokens = 3;
  r.usage.output_tokens = 50;
  r.usage.reasoning_tokens = 40;
  const std::string body = codec().render_response(r, {});
  expect_golden(kOurs / "response" / "reasoning-length.json", ir::pretty(json::parse(body)));
  const json::value v = json::parse(body);
  EXPECT_EQ(v.at("choices").at(0).at("finish_reason"), "length");
  const json::value& msg = v.at("choices").at(0).at("message");
  EXPECT_EQ(msg.at("reasoning_content"), "Think more.");
  EXPECT_EQ(msg.at("content"), "Partial answ");
  EXPECT_EQ(v.at("usage").at("completion_tokens_details").at("reasoning_tokens"), 40);
  EXPECT_EQ(body.find("sig-anthropic"), std::string::npos);
  EXPECT_EQ(body.find("RED"), std::string::npos);
}

TEST(OpenAiRender, FinishReasonMapping) {
  EXPECT_EQ(openai_finish_reason(ir::FinishReason::Stop), "stop");
  EXPECT_EQ(openai_finish_reason(ir::FinishReason::StopSequence), "stop");
  EXPECT_EQ(openai_finish_reason(ir::FinishReason::Length), "length");
  EXPECT_EQ(openai_finish_reason(ir::FinishReason::ToolCalls), "tool_calls");
  EXPECT_EQ(openai_finish_reason(ir::FinishReason::ContentFilter), "content_filter");
  EXPECT_EQ(openai_finish_reason(ir::FinishReason::Other), "stop");
}

TEST(OpenAiRender, EmptyIdGetsDeterministicChatcmplId) {
  ir::ChatResponse r = text_response();
  r.id.clear();
  r.finish.reset();
  const json::value a = json::parse(codec().render_response(r, {}));
  const json::value b = json::parse(codec().render_response(r, {}));
  const std::string id(a.at("id").as_string());
  EXPECT_TRUE(id.starts_with("chatcmpl-")) << id;
  EXPECT_EQ(id.size(), 9U + 16U);
  EXPECT_EQ(a.at("id"), b.at("id"));
  EXPECT_EQ(a.at("choices").at(0).at("finish_reason"), "stop");
  r.content = {ir::ToolCallPart{"", "f", "{}", ""}};
  const json::value c = json::parse(codec().render_response(r, {}));
  EXPECT_NE(c.at("id"), a.at("id"));
  EXPECT_EQ(c.at("choices").at(0).at("finish_reason"), "tool_calls");
  // A call without an id still gets one the client can answer with.
  EXPECT_EQ(c.at("choices").at(0).at("message").at("tool_calls").at(0).at("id"), "call_0");
}

TEST(OpenAiRender, ShapeMatchesRecordedOpenAiResponses) {
  // The recorded answers have two top-level members the gateway does not know and leaves out:
  // service_tier (OpenAI's billing tier) and system_fingerprint (OpenAI's backend build).
  const std::set<std::string> gateway_omits = {"service_tier", "system_fingerprint"};
  struct Case {
    const char* fixture;
    ir::ChatResponse resp;
  };
  ir::ChatResponse tools;
  tools.id = "x";
  tools.model = "m";
  tools.created = 1;
  tools.content = {ir::ToolCallPart{"call_1", "f", "{}", ""}};
  tools.finish = ir::FinishReason::ToolCalls;
  for (const Case& c : {Case{"chat-basic.response.json", text_response()},
                        Case{"chat-tools.response.json", tools}}) {
    SCOPED_TRACE(c.fixture);
    const json::value want = json::parse(read_file(kShared / "openai" / c.fixture));
    const json::value got = json::parse(codec().render_response(c.resp, {}));
    std::set<std::string> want_top = keys_of(want);
    for (const auto& k : gateway_omits) {
      want_top.erase(k);
    }
    EXPECT_EQ(keys_of(got), want_top);
    // logprobs: null is what older OpenAI models send and what the SDK types declare; the
    // recorded gpt-5 answers leave it out. It is the only member we add.
    std::set<std::string> want_choice = keys_of(want.at("choices").at(0));
    want_choice.insert("logprobs");
    EXPECT_EQ(keys_of(got.at("choices").at(0)), want_choice);
    EXPECT_EQ(keys_of(got.at("choices").at(0).at("message")),
              keys_of(want.at("choices").at(0).at("message")));
    const json::value& want_msg = want.at("choices").at(0).at("message");
    const json::value& got_msg = got.at("choices").at(0).at("message");
    EXPECT_EQ(got_msg.at("content").kind(), want_msg.at("content").kind());
    if (want_msg.as_object().contains("tool_calls")) {
      EXPECT_EQ(keys_of(got_msg.at("tool_calls").at(0)), keys_of(want_msg.at("tool_calls").at(0)));
      EXPECT_EQ(keys_of(got_msg.at("tool_calls").at(0).at("function")),
                keys_of(want_msg.at("tool_calls").at(0).at("function")));
    }
    // Usage: the required counts, and the detail members the gateway can fill.
    for (const char* k : {"prompt_tokens", "completion_tokens", "total_tokens"}) {
      EXPECT_TRUE(got.at("usage").as_object().contains(k)) << k;
    }
  }
}

TEST(OpenAiRender, ErrorEnvelope) {
  Error e = make_error(ErrorKind::RateLimited, "Slow down.", "rate_limit_exceeded");
  EXPECT_EQ(codec().render_error(e), openai_error_body(e));
  const json::value v = json::parse(codec().render_error(e));
  EXPECT_EQ(v.at("error").at("message"), "Slow down.");
  EXPECT_EQ(v.at("error").at("type"), "rate_limit_error");
  EXPECT_TRUE(v.at("error").at("param").is_null());
  EXPECT_EQ(v.at("error").at("code"), "rate_limit_exceeded");
  EXPECT_EQ(codec().name(), "openai-chat");
  EXPECT_EQ(codec().error_content_type(), "application/json");
}

// ---------------------------------------------------------------------------------------------
// stream_encoder

ir::StreamEvent ev(ir::StreamEvent::Type type) {
  ir::StreamEvent e;
  e.type = type;
  return e;
}
ir::StreamEvent start(std::string id, std::string model) {
  ir::StreamEvent e = ev(ir::StreamEvent::Type::Start);
  e.id = std::move(id);
  e.model = std::move(model);
  return e;
}
ir::StreamEvent text(std::string t) {
  ir::StreamEvent e = ev(ir::StreamEvent::Type::TextDelta);
  e.text = std::move(t);
  return e;
}
ir::StreamEvent reasoning(std::string t, std::string sig = {}) {
  ir::StreamEvent e = ev(ir::StreamEvent::Type::ReasoningDelta);
  e.text = std::move(t);
  e.signature = std::move(sig);
  return e;
}
ir::StreamEvent call_start(int index, std::string id, std::string name, std::string sig = {}) {
  ir::StreamEvent e = ev(ir::StreamEvent::Type::ToolCallStart);
  e.index = index;
  e.id = std::move(id);
  e.name = std::move(name);
  e.signature = std::move(sig);
  return e;
}
ir::StreamEvent call_delta(int index, std::string args) {
  ir::StreamEvent e = ev(ir::StreamEvent::Type::ToolCallDelta);
  e.index = index;
  e.text = std::move(args);
  return e;
}
ir::StreamEvent finish_ev(ir::FinishReason r) {
  ir::StreamEvent e = ev(ir::StreamEvent::Type::Finish);
  e.finish = r;
  return e;
}
ir::StreamEvent usage_ev(std::optional<std::int64_t> in, std::optional<std::int64_t> out) {
  ir::StreamEvent e = ev(ir::StreamEvent::Type::Usage);
  e.usage.input_tokens = in;
  e.usage.output_tokens = out;
  return e;
}

std::string encode(const std::vector<ir::StreamEvent>& events, bool include_usage,
                   bool call_finish = true) {
  ir::ChatRequest req;
  req.stream = true;
  req.include_usage = include_usage;
  auto enc = make_openai_stream_encoder(req, 1755137933);
  std::string out;
  for (const auto& e : events) {
    enc->on_event(e, out);
  }
  if (call_finish) {
    enc->finish(out);
  }
  return out;
}

// Splits SSE bytes into data payloads, checking the framing as it goes.
std::vector<std::string> data_lines(const std::string& sse) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < sse.size()) {
    const std::size_t end = sse.find("\n\n", pos);
    EXPECT_NE(end, std::string::npos) << "unterminated event at " << pos;
    if (end == std::string::npos) {
      break;
    }
    const std::string event = sse.substr(pos, end - pos);
    EXPECT_TRUE(event.starts_with("data: ")) << event;
    EXPECT_EQ(event.find('\n'), std::string::npos) << event;
    out.push_back(event.substr(6));
    pos = end + 2;
  }
  return out;
}

// What the openai SDK's stream accumulator would build from the chunks.
struct Accumulated {
  std::string role;
  std::string content;
  std::string reasoning;
  std::map<int, json::object> calls;  // index -> {id, name, arguments}
  std::string finish_reason;
  std::optional<json::object> usage;
  bool done = false;
  std::optional<json::object> error;
  int chunks = 0;
};

Accumulated accumulate(const std::string& sse, bool include_usage) {
  Accumulated acc;
  for (const std::string& data : data_lines(sse)) {
    EXPECT_FALSE(acc.done) << "event after [DONE]";
    if (data == "[DONE]") {
      acc.done = true;
      continue;
    }
    const json::value v = json::parse(data);
    if (v.as_object().contains("error")) {
      acc.error = v.at("error").as_object();
      continue;
    }
    ++acc.chunks;
    EXPECT_EQ(v.at("id"), "msg_stream_1");
    EXPECT_EQ(v.at("object"), "chat.completion.chunk");
    EXPECT_EQ(v.at("created"), 1755137933);
    EXPECT_EQ(v.at("model"), "claude-haiku");
    EXPECT_EQ(v.as_object().contains("usage"), include_usage) << data;
    const json::array& choices = v.at("choices").as_array();
    if (choices.empty()) {
      EXPECT_TRUE(include_usage);
      acc.usage = v.at("usage").as_object();
      continue;
    }
    if (include_usage) {
      EXPECT_TRUE(v.at("usage").is_null());
    }
    EXPECT_EQ(choices.size(), 1U);
    EXPECT_EQ(choices[0].at("index"), 0);
    EXPECT_TRUE(choices[0].at("logprobs").is_null());
    const json::object& delta = choices[0].at("delta").as_object();
    if (const auto* r = delta.if_contains("role")) {
      acc.role += r->as_string();
    }
    if (const auto* c = delta.if_contains("content")) {
      acc.content += c->as_string();
    }
    if (const auto* c = delta.if_contains("reasoning_content")) {
      acc.reasoning += c->as_string();
    }
    if (const auto* tcs = delta.if_contains("tool_calls")) {
      for (const auto& tc : tcs->as_array()) {
        const int index = static_cast<int>(tc.at("index").as_int64());
        json::object& call = acc.calls[index];
        if (const auto* id = tc.as_object().if_contains("id")) {
          EXPECT_FALSE(call.contains("id")) << "id sent twice for call " << index;
          call["id"] = *id;
          call["name"] = tc.at("function").at("name");
          EXPECT_EQ(tc.at("type"), "function");
        }
        EXPECT_TRUE(call.contains("id")) << "arguments before the call started";
        std::string args(call.contains("arguments") ? call["arguments"].as_string() : "");
        args += tc.at("function").at("arguments").as_string();
        call["arguments"] = args;
      }
    }
    if (!choices[0].at("finish_reason").is_null()) {
      EXPECT_TRUE(acc.finish_reason.empty()) << "second finish_reason";
      acc.finish_reason = std::string(choices[0].at("finish_reason").as_string());
    }
  }
  return acc;
}

std::vector<ir::StreamEvent> parallel_tools_events() {
  return {start("msg_stream_1", "claude-haiku"),
          reasoning("Need two "),
          reasoning("lookups.", "sig-abc"),
          text("Let me check "),
          text("\"both\".\n"),
          call_start(0, "call_A", "get_weather", "thought/sig+1"),
          call_delta(0, "{\""),
          call_delta(0, "city\":\"Pa"),
          call_start(1, "call_B", "get_time"),
          call_delta(1, "{\"tz\":"),
          call_delta(0, "ris\"}"),
          call_delta(1, "\"CET\"}"),
          finish_ev(ir::FinishReason::ToolCalls),
          usage_ev(11, std::nullopt),
          usage_ev(std::nullopt, 42)};
}

TEST(OpenAiStream, ParallelToolCallsWithUsage) {
  const std::string sse = encode(parallel_tools_events(), true);
  expect_golden(kOurs / "stream" / "parallel-tools.include-usage.sse", sse);
  const Accumulated acc = accumulate(sse, true);
  EXPECT_EQ(acc.role, "assistant");
  EXPECT_EQ(acc.reasoning, "Need two lookups.");
  EXPECT_EQ(acc.content, "Let me check \"both\".\n");
  ASSERT_EQ(acc.calls.size(), 2U);
  EXPECT_EQ(acc.calls.at(0).at("id"), json::value(encode_tool_call_id("call_A", "thought/sig+1")));
  EXPECT_EQ(acc.calls.at(0).at("name"), "get_weather");
  EXPECT_EQ(acc.calls.at(0).at("arguments"), "{\"city\":\"Paris\"}");
  EXPECT_EQ(acc.calls.at(1).at("id"), "call_B");
  EXPECT_EQ(acc.calls.at(1).at("arguments"), "{\"tz\":\"CET\"}");
  EXPECT_EQ(acc.finish_reason, "tool_calls");
  ASSERT_TRUE(acc.usage);
  EXPECT_EQ(acc.usage->at("prompt_tokens"), 11);
  EXPECT_EQ(acc.usage->at("completion_tokens"), 42);
  EXPECT_EQ(acc.usage->at("total_tokens"), 53);
  EXPECT_TRUE(acc.done);
  EXPECT_FALSE(acc.error);
  // Usage chunk comes right before [DONE], after the finish chunk.
  const auto lines = data_lines(sse);
  ASSERT_GE(lines.size(), 3U);
  EXPECT_EQ(lines[lines.size() - 1], "[DONE]");
  EXPECT_NE(lines[lines.size() - 2].find("\"choices\":[]"), std::string::npos);
  EXPECT_NE(lines[lines.size() - 3].find("\"finish_reason\":\"tool_calls\""), std::string::npos);
  EXPECT_EQ(sse.find("sig-abc"), std::string::npos);  // reasoning signatures are not rendered
}

TEST(OpenAiStream, WithoutIncludeUsage) {
  const std::string sse = encode(parallel_tools_events(), false);
  expect_golden(kOurs / "stream" / "parallel-tools.sse", sse);
  const Accumulated acc = accumulate(sse, false);
  EXPECT_FALSE(acc.usage);
  EXPECT_EQ(acc.calls.size(), 2U);
  EXPECT_TRUE(acc.done);
  EXPECT_EQ(sse.find("usage"), std::string::npos);
}

TEST(OpenAiStream, TextOnlyFirstChunkIsRoleChunk) {
  const std::string sse =
      encode({start("msg_stream_1", "claude-haiku"), text("Hello"), text(" world"),
              finish_ev(ir::FinishReason::StopSequence), usage_ev(5, 2)},
             true);
  expect_golden(kOurs / "stream" / "text.include-usage.sse", sse);
  const auto lines = data_lines(sse);
  ASSERT_EQ(lines.size(), 6U);
  const json::value first = json::parse(lines[0]);
  EXPECT_EQ(first.at("choices").at(0).at("delta"),
            (json::object{{"role", "assistant"}, {"content", ""}}));
  const json::value fin = json::parse(lines[3]);
  EXPECT_EQ(fin.at("choices").at(0).at("delta"), json::object{});
  EXPECT_EQ(fin.at("choices").at(0).at("finish_reason"), "stop");
  const Accumulated acc = accumulate(sse, true);
  EXPECT_EQ(acc.content, "Hello world");
}

TEST(OpenAiStream, FinishWithoutFinishEventStillClosesTheChoice) {
  const std::string sse = encode({start("msg_stream_1", "claude-haiku"), text("cut")}, false);
  const Accumulated acc = accumulate(sse, false);
  EXPECT_EQ(acc.finish_reason, "stop");
  EXPECT_TRUE(acc.done);
  const std::string tools =
      encode({start("msg_stream_1", "claude-haiku"), call_start(0, "c", "f")}, false);
  EXPECT_EQ(accumulate(tools, false).finish_reason, "tool_calls");
}

TEST(OpenAiStream, UsageChunkWhenNothingReported) {
  const std::string sse =
      encode({start("msg_stream_1", "claude-haiku"), finish_ev(ir::FinishReason::Length)}, true);
  const Accumulated acc = accumulate(sse, true);
  ASSERT_TRUE(acc.usage);
  EXPECT_EQ(acc.usage->at("total_tokens"), 0);
  EXPECT_EQ(acc.finish_reason, "length");
}

TEST(OpenAiStream, FailEmitsErrorAndNoDone) {
  ir::ChatRequest req;
  req.include_usage = true;
  auto enc = make_openai_stream_encoder(req, 1755137933);
  std::string out;
  enc->on_event(start("msg_stream_1", "claude-haiku"), out);
  enc->on_event(text("partial"), out);
  Error err = make_error(ErrorKind::UpstreamUnavailable, "The upstream connection was reset.");
  enc->fail(err, out);
  enc->finish(out);  // after a failure nothing more may be written
  enc->on_event(text("late"), out);
  expect_golden(kOurs / "stream" / "fail.sse", out);
  const Accumulated acc = accumulate(out, true);
  EXPECT_FALSE(acc.done);
  ASSERT_TRUE(acc.error);
  EXPECT_EQ(acc.error->at("message"), "The upstream connection was reset.");
  EXPECT_EQ(acc.error->at("type"), "upstream_error");
  EXPECT_TRUE(acc.error->at("param").is_null());
  EXPECT_EQ(acc.error->at("code"), "upstream_unavailable");
  EXPECT_EQ(acc.content, "partial");
  EXPECT_TRUE(out.ends_with("\"code\":\"upstream_unavailable\"}}\n\n")) << out;
}

TEST(OpenAiStream, ErrorEventActsLikeFail) {
  ir::StreamEvent e = ev(ir::StreamEvent::Type::Error);
  e.error = make_error(ErrorKind::RateLimited, "Overloaded.", "overloaded");
  const std::string sse = encode({start("msg_stream_1", "claude-haiku"), text("a"), e}, false);
  const Accumulated acc = accumulate(sse, false);
  EXPECT_FALSE(acc.done);
  ASSERT_TRUE(acc.error);
  EXPECT_EQ(acc.error->at("code"), "overloaded");
}

TEST(OpenAiStream, MissingStartStillProducesValidChunks) {
  ir::ChatRequest req;
  auto enc = make_openai_stream_encoder(req, 7);
  std::string out;
  enc->on_event(text("x"), out);
  enc->finish(out);
  const auto lines = data_lines(out);
  ASSERT_EQ(lines.size(), 4U);
  const json::value first = json::parse(lines[0]);
  EXPECT_TRUE(std::string(first.at("id").as_string()).starts_with("chatcmpl-"));
  EXPECT_EQ(first.at("model"), "");
  EXPECT_EQ(json::parse(lines[1]).at("id"), first.at("id"));
}

TEST(OpenAiStream, CodecFactoryUsesRequestIncludeUsage) {
  ir::ChatRequest req;
  req.include_usage = true;
  auto enc = codec().stream_encoder(req);
  std::string out;
  enc->on_event(start("i", "m"), out);
  enc->finish(out);
  EXPECT_NE(out.find("\"choices\":[],\"usage\":{"), std::string::npos) << out;
  EXPECT_GT(json::parse(data_lines(out)[0]).at("created").as_int64(), 1700000000);
}

}  // namespace
}  // namespace sy::inbound
