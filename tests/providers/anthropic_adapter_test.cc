// The Anthropic Messages adapter against recorded traffic (SY_FIXTURES_DIR/anthropic) and the
// synthesized cases in tests/fixtures/providers/anthropic (see the README there).
//
// Goldens: set SY_UPDATE_GOLDENS=1 to rewrite them, then read the diff before keeping it.

#include "providers/anthropic.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "ir/debug_json.h"

namespace sy::providers {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------
// Helpers

fs::path shared_dir() { return fs::path(SY_FIXTURES_DIR) / "anthropic"; }
fs::path own_dir() { return fs::path(SY_TEST_FIXTURES_DIR) / "providers" / "anthropic"; }

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

json::value parse(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  EXPECT_FALSE(ec) << ec.message() << " in: " << text.substr(0, 300);
  return v;
}

// Compares `actual` with the golden file, or rewrites the golden under SY_UPDATE_GOLDENS=1.
void check_golden(const fs::path& golden, const std::string& actual) {
  const char* update = std::getenv("SY_UPDATE_GOLDENS");
  if (update != nullptr && std::string_view(update) == "1") {
    fs::create_directories(golden.parent_path());
    std::ofstream(golden, std::ios::binary) << actual;
    return;
  }
  ASSERT_TRUE(fs::exists(golden)) << golden << " missing; run with SY_UPDATE_GOLDENS=1";
  EXPECT_EQ(read_file(golden), actual) << "golden " << golden;
}

const config::ProviderConfig& provider() {
  static const config::ProviderConfig p = [] {
    config::ProviderConfig c;
    c.name = "anthropic";
    c.type = "anthropic";
    c.base_url = "https://api.anthropic.com";
    return c;
  }();
  return p;
}

Target target(std::string model) { return Target{&provider(), std::move(model)}; }

ir::ChatRequest ir_input(const std::string& name) {
  return ir::request_from_json(parse(read_file(own_dir() / name / "input.ir.json")));
}

json::value encode_ok(const ir::ChatRequest& req, const std::string& model) {
  auto up = anthropic_adapter().encode(req, target(model));
  EXPECT_TRUE(up.has_value()) << (up ? "" : up.error().public_message);
  if (!up) {
    return nullptr;
  }
  EXPECT_EQ(up->path, "/v1/messages");
  EXPECT_EQ(up->stream, req.stream);
  return parse(up->body);
}

Error encode_error(const ir::ChatRequest& req) {
  auto up = anthropic_adapter().encode(req, target("claude-sonnet-4-5"));
  EXPECT_FALSE(up.has_value()) << (up ? up->body : "");
  return up ? Error{} : up.error();
}

ir::ChatRequest simple_request() {
  ir::ChatRequest req;
  req.model = "chat-default";
  req.messages.push_back(ir::Message{ir::Role::User, {ir::TextPart{"Hi"}}, {}});
  return req;
}

// Events of `bytes` fed in chunks of `chunk` bytes (0 = whole), then finish().
struct Replay {
  std::vector<ir::StreamEvent> events;
  bool feed_ok = true;
  bool finish_ok = true;
  std::string error;
};

Replay replay(std::string_view bytes, std::size_t chunk) {
  Replay r;
  auto dec = anthropic_adapter().stream_decoder(simple_request());
  const std::size_t step = chunk == 0 ? std::max<std::size_t>(bytes.size(), 1) : chunk;
  for (std::size_t at = 0; at < bytes.size() && r.feed_ok; at += step) {
    auto fed = dec->feed(bytes.substr(at, step), r.events);
    r.feed_ok = fed.has_value();
    if (!fed) {
      r.error = fed.error().detail;
    }
  }
  auto fin = dec->finish(r.events);
  r.finish_ok = fin.has_value();
  if (!fin) {
    r.error = fin.error().detail;
  }
  return r;
}

std::string tool_arguments(const std::vector<ir::StreamEvent>& events, int index) {
  std::string out;
  for (const auto& e : events) {
    if (e.type == ir::StreamEvent::Type::ToolCallDelta && e.index == index) {
      out += e.text;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Encode: the IR equivalent of each recorded request encodes to that request.
//
// Tolerated differences, and only these: a recorded tool's `"description": ""` is dropped before
// comparing (the IR has no empty-versus-absent description and the adapter sends none when
// empty). The recorded URL's `?beta=true` comes from the Python SDK's beta client and is not a
// body difference. Everything else, `"stream": false` and `max_tokens` included, must be equal.

json::value normalized_recording(const std::string& file) {
  json::value v = parse(read_file(shared_dir() / file));
  if (json::value* tools = v.as_object().if_contains("tools")) {
    for (json::value& t : tools->as_array()) {
      if (const json::value* d = t.as_object().if_contains("description");
          d != nullptr && d->is_string() && d->as_string().empty()) {
        t.as_object().erase("description");
      }
    }
  }
  return v;
}

class EncodeRecorded : public ::testing::TestWithParam<std::string> {};

TEST_P(EncodeRecorded, MatchesRecordedRequest) {
  const std::string name = GetParam();
  const json::value recorded = normalized_recording(name + ".request.json");
  const ir::ChatRequest req = ir_input(name);
  const json::value body = encode_ok(req, std::string(recorded.at("model").as_string()));
  EXPECT_EQ(body, recorded) << "encoded:  " << json::serialize(body)
                            << "\nrecorded: " << json::serialize(recorded);
}

INSTANTIATE_TEST_SUITE_P(Anthropic, EncodeRecorded,
                         ::testing::Values("msg-text", "msg-tool-use.1", "msg-tool-use.2",
                                           "msg-thinking.1", "msg-thinking.2"));

TEST(AnthropicEncode, DefaultMaxTokensMatchesTheRecordings) {
  // msg-text's IR input has no max_tokens; the recording (pydantic-ai) sent 4096, our default.
  EXPECT_FALSE(ir_input("msg-text").max_tokens.has_value());
  EXPECT_EQ(kAnthropicDefaultMaxTokens, 4096);
}

TEST(AnthropicEncode, CountTokensRecordingHasTheSameModelAndMessages) {
  // count_tokens takes neither max_tokens nor stream; the rest of the body is the same shape.
  const json::value recorded = normalized_recording("count-tokens-404.request.json");
  json::value body = encode_ok(ir_input("count-tokens-404"), "claude-does-not-exist");
  body.as_object().erase("max_tokens");
  body.as_object().erase("stream");
  EXPECT_EQ(body, recorded);
}

TEST(AnthropicEncode, EffortRecordingIsNotExpressible) {
  // effort-400 sent output_config.effort "xhigh" (an Anthropic-only knob the IR lacks); the IR's
  // reasoning.effort maps to a thinking budget and "xhigh" has none.
  ir::ChatRequest req = simple_request();
  req.reasoning = ir::ReasoningConfig{"xhigh", std::nullopt};
  const Error e = encode_error(req);
  EXPECT_EQ(e.kind, ErrorKind::InvalidRequest);
  EXPECT_EQ(e.param, "reasoning.effort");
}

TEST(AnthropicEncode, MixedSynthesizedCase) {
  // System blocks, three image sources, merged user turns, unsigned reasoning dropped, redacted
  // thinking kept, empty text dropped, tool results of two tool turns in one user turn followed
  // by the user's text, tools, tool_choice with disable_parallel_tool_use, user -> metadata.
  const ir::ChatRequest req = ir_input("synth-encode-mixed");
  auto up = anthropic_adapter().encode(req, target("claude-sonnet-4-5"));
  ASSERT_TRUE(up.has_value()) << up.error().public_message;
  EXPECT_TRUE(up->stream);
  const json::value expected =
      parse(read_file(own_dir() / "synth-encode-mixed" / "expected.request.json"));
  EXPECT_EQ(parse(up->body), expected) << up->body;
  // Numbers keep their short form on the wire (not Boost's "7E-1").
  EXPECT_NE(up->body.find("\"temperature\":0.7"), std::string::npos) << up->body;
  EXPECT_NE(up->body.find("\"days\":1.5"), std::string::npos) << up->body;
}

TEST(AnthropicEncode, SingleAndNoSystem) {
  ir::ChatRequest req = simple_request();
  EXPECT_EQ(encode_ok(req, "m").as_object().if_contains("system"), nullptr);
  req.system = {"Be brief."};
  EXPECT_EQ(encode_ok(req, "m").at("system"), json::value("Be brief."));
  // A stray system turn in messages joins the system text in order.
  req.messages.insert(req.messages.begin(),
                      ir::Message{ir::Role::System, {ir::TextPart{"Be kind."}}, {}});
  EXPECT_EQ(encode_ok(req, "m").at("system"),
            parse(R"([{"type":"text","text":"Be brief."},{"type":"text","text":"Be kind."}])"));
}

TEST(AnthropicEncode, TargetModelWinsOverTheRouteName) {
  const ir::ChatRequest req = simple_request();
  EXPECT_EQ(encode_ok(req, "claude-haiku-4-5").at("model"), json::value("claude-haiku-4-5"));
  EXPECT_EQ(encode_ok(req, "").at("model"), json::value("chat-default"));
}

TEST(AnthropicEncode, ToolChoiceModes) {
  ir::ChatRequest req = simple_request();
  req.tools.push_back(ir::Tool{"f", "", "", false});
  const auto choice = [&](ir::ToolChoice tc, std::optional<bool> parallel) {
    req.tool_choice = tc;
    req.parallel_tool_calls = parallel;
    return encode_ok(req, "m").at("tool_choice");
  };
  using M = ir::ToolChoiceMode;
  EXPECT_EQ(choice({M::Auto, ""}, std::nullopt), parse(R"({"type":"auto"})"));
  EXPECT_EQ(choice({M::Required, ""}, std::nullopt), parse(R"({"type":"any"})"));
  EXPECT_EQ(choice({M::None, ""}, std::nullopt), parse(R"({"type":"none"})"));
  EXPECT_EQ(choice({M::Function, "f"}, false),
            parse(R"({"type":"tool","name":"f","disable_parallel_tool_use":true})"));
  EXPECT_EQ(choice({M::Required, ""}, true), parse(R"({"type":"any"})"));
  // disable_parallel_tool_use is not accepted with "none".
  EXPECT_EQ(choice({M::None, ""}, false), parse(R"({"type":"none"})"));
  // parallel_tool_calls=false alone still needs a tool_choice object to carry it.
  req.tool_choice.reset();
  req.parallel_tool_calls = false;
  EXPECT_EQ(encode_ok(req, "m").at("tool_choice"),
            parse(R"({"type":"auto","disable_parallel_tool_use":true})"));
  req.parallel_tool_calls.reset();
  EXPECT_EQ(encode_ok(req, "m").as_object().if_contains("tool_choice"), nullptr);
}

TEST(AnthropicEncode, ToolChoiceWithoutTools) {
  ir::ChatRequest req = simple_request();
  req.tool_choice = ir::ToolChoice{ir::ToolChoiceMode::None, ""};
  EXPECT_EQ(encode_ok(req, "m").as_object().if_contains("tool_choice"), nullptr);
  req.tool_choice = ir::ToolChoice{ir::ToolChoiceMode::Required, ""};
  EXPECT_EQ(encode_error(req).param, "tool_choice");
}

TEST(AnthropicEncode, ReasoningBudgets) {
  ir::ChatRequest req = simple_request();
  const auto encoded = [&](ir::ReasoningConfig rc) {
    req.reasoning = rc;
    return encode_ok(req, "m");
  };
  json::value b = encoded({"", 2048});
  EXPECT_EQ(b.at("thinking"), parse(R"({"type":"enabled","budget_tokens":2048})"));
  EXPECT_EQ(b.at("max_tokens"), json::value(4096));
  b = encoded({"low", std::nullopt});
  EXPECT_EQ(b.at("thinking").at("budget_tokens"), json::value(1024));
  b = encoded({"medium", std::nullopt});
  EXPECT_EQ(b.at("thinking").at("budget_tokens"), json::value(4096));
  // max_tokens must exceed the budget: the default grows past it.
  EXPECT_EQ(b.at("max_tokens"), json::value(4096 + 4096));
  b = encoded({"high", std::nullopt});
  EXPECT_EQ(b.at("thinking").at("budget_tokens"), json::value(16384));
  EXPECT_EQ(b.at("max_tokens"), json::value(16384 + 4096));
  // budget_tokens wins over effort; an explicit max_tokens is sent as given.
  req.max_tokens = 9000;
  b = encoded({"high", 3000});
  EXPECT_EQ(b.at("thinking").at("budget_tokens"), json::value(3000));
  EXPECT_EQ(b.at("max_tokens"), json::value(9000));
  for (const ir::ReasoningConfig& off :
       {ir::ReasoningConfig{"none", std::nullopt}, ir::ReasoningConfig{"", 0},
        ir::ReasoningConfig{"", std::nullopt}}) {
    EXPECT_EQ(encoded(off).as_object().if_contains("thinking"), nullptr);
  }
  req.reasoning = ir::ReasoningConfig{"", -1};
  EXPECT_EQ(encode_error(req).param, "reasoning.budget_tokens");
}

TEST(AnthropicEncode, UnsupportedParametersAreRefusedByName) {
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
         r.response_format = ir::ResponseFormat{ir::ResponseFormatType::JsonObject, "", "", false};
       }},
      {"response_format",
       [](ir::ChatRequest& r) {
         r.response_format =
             ir::ResponseFormat{ir::ResponseFormatType::JsonSchema, "x", "{}", true};
       }},
      {"seed", [](ir::ChatRequest& r) { r.seed = 7; }},
      {"presence_penalty", [](ir::ChatRequest& r) { r.presence_penalty = 0.5; }},
      {"frequency_penalty", [](ir::ChatRequest& r) { r.frequency_penalty = 0.5; }},
  };
  for (const Case& c : cases) {
    ir::ChatRequest req = simple_request();
    c.set(req);
    const Error e = encode_error(req);
    EXPECT_EQ(e.kind, ErrorKind::InvalidRequest) << c.param;
    EXPECT_EQ(e.param, c.param);
    EXPECT_EQ(e.code, "unsupported_parameter") << c.param;
    EXPECT_NE(e.public_message.find(c.param), std::string::npos) << e.public_message;
  }
  // n = 1 and a text response_format are no-ops Anthropic can honour.
  ir::ChatRequest req = simple_request();
  req.n = 1;
  req.response_format = ir::ResponseFormat{};
  EXPECT_TRUE(anthropic_adapter().encode(req, target("m")).has_value());
}

TEST(AnthropicEncode, InvalidJsonIsRefused) {
  ir::ChatRequest req = simple_request();
  req.messages.push_back(ir::Message{
      ir::Role::Assistant, {ir::ToolCallPart{"call_1", "f", "{\"a\":", ""}}, {}});
  Error e = encode_error(req);
  EXPECT_EQ(e.kind, ErrorKind::InvalidRequest);
  EXPECT_EQ(e.param, "messages[1].content[0].arguments");
  // tool_use.input must be an object.
  req.messages.back().content[0] = ir::ToolCallPart{"call_1", "f", "[1,2]", ""};
  EXPECT_EQ(encode_error(req).param, "messages[1].content[0].arguments");

  req = simple_request();
  req.tools.push_back(ir::Tool{"f", "", "not json", false});
  EXPECT_EQ(encode_error(req).param, "tools[0].parameters");
}

TEST(AnthropicEncode, BadImages) {
  ir::ChatRequest req = simple_request();
  req.messages[0].content.push_back(ir::ImagePart{"data:image/png,notbase64", "", "", ""});
  EXPECT_EQ(encode_error(req).param, "messages[0].content[1]");
  req.messages[0].content[1] = ir::ImagePart{"", "", "AAAA", ""};  // data without media type
  EXPECT_EQ(encode_error(req).param, "messages[0].content[1]");
  req.messages[0].content[1] = ir::ImagePart{};
  EXPECT_EQ(encode_error(req).param, "messages[0].content[1]");
}

TEST(AnthropicEncode, MessagesLeftEmptyAreSkippedAndNeighboursMerged) {
  // An assistant turn holding only unsigned reasoning sends nothing, so the user turns around it
  // merge (Anthropic requires alternation).
  ir::ChatRequest req = simple_request();
  req.messages.push_back(
      ir::Message{ir::Role::Assistant, {ir::ReasoningPart{"thought", "", ""}}, {}});
  req.messages.push_back(ir::Message{ir::Role::User, {ir::TextPart{"Again"}}, {}});
  EXPECT_EQ(encode_ok(req, "m").at("messages"),
            parse(R"([{"role":"user","content":[{"type":"text","text":"Hi"},
                                                {"type":"text","text":"Again"}]}])"));
}

TEST(AnthropicCapabilities, Flags) {
  const ir::Capabilities c = anthropic_adapter().capabilities(target("m"));
  EXPECT_TRUE(c.tools);
  EXPECT_TRUE(c.parallel_tool_calls);
  EXPECT_TRUE(c.vision);
  EXPECT_TRUE(c.reasoning);
  EXPECT_FALSE(c.json_object);
  EXPECT_FALSE(c.json_schema);
  EXPECT_FALSE(c.logprobs);
  EXPECT_FALSE(c.multiple_choices);
  EXPECT_EQ(anthropic_adapter().type(), "anthropic");
}

// ---------------------------------------------------------------------------------------------
// Decode

class DecodeRecorded : public ::testing::TestWithParam<std::string> {};

TEST_P(DecodeRecorded, MatchesGolden) {
  const std::string name = GetParam();
  const bool synth = name.rfind("synth-", 0) == 0;
  UpstreamReply reply;
  reply.status = 200;
  reply.content_type = "application/json";
  reply.body = read_file(synth ? own_dir() / name / "response.json"
                               : shared_dir() / (name + ".response.json"));
  auto r = anthropic_adapter().decode(reply);
  ASSERT_TRUE(r.has_value()) << r.error().detail;
  check_golden(own_dir() / name / "response.ir.json", ir::pretty(ir::to_json(*r)));
}

INSTANTIATE_TEST_SUITE_P(Anthropic, DecodeRecorded,
                         ::testing::Values("msg-text", "msg-tool-use.1", "msg-tool-use.2",
                                           "msg-thinking.1", "msg-thinking.2",
                                           "synth-decode-mixed"));

TEST(AnthropicDecode, UsageCountsAllInput) {
  UpstreamReply reply{200, "application/json",
                      read_file(own_dir() / "synth-decode-mixed" / "response.json"), ""};
  auto r = anthropic_adapter().decode(reply);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->usage.input_tokens, 12 + 2000 + 100);
  EXPECT_EQ(r->usage.cached_input_tokens, 2000);
  EXPECT_EQ(r->usage.cache_write_tokens, 100);
  EXPECT_EQ(r->usage.output_tokens, 30);
  EXPECT_FALSE(r->usage.reasoning_tokens.has_value());  // Anthropic does not report it apart
}

TEST(AnthropicDecode, StopReasons) {
  const std::pair<const char*, std::optional<ir::FinishReason>> cases[] = {
      {R"("end_turn")", ir::FinishReason::Stop},
      {R"("stop_sequence")", ir::FinishReason::StopSequence},
      {R"("max_tokens")", ir::FinishReason::Length},
      {R"("model_context_window_exceeded")", ir::FinishReason::Length},
      {R"("tool_use")", ir::FinishReason::ToolCalls},
      {R"("refusal")", ir::FinishReason::ContentFilter},
      {R"("pause_turn")", ir::FinishReason::Other},
      {R"("something_new")", ir::FinishReason::Other},
      {"null", std::nullopt},
  };
  for (const auto& [raw, expected] : cases) {
    UpstreamReply reply;
    reply.status = 200;
    reply.body = std::string(R"({"type":"message","id":"m","model":"c","content":[],)") +
                 R"("stop_reason":)" + raw + R"(,"stop_sequence":"##","usage":{}})";
    auto r = anthropic_adapter().decode(reply);
    ASSERT_TRUE(r.has_value()) << raw;
    EXPECT_EQ(r->finish, expected) << raw;
    const std::string raw_word = expected ? std::string(parse(raw).as_string()) : std::string();
    EXPECT_EQ(r->finish_raw, raw_word) << raw;
    EXPECT_EQ(r->stop_sequence, "##");
    EXPECT_FALSE(r->usage.any());
  }
}

TEST(AnthropicDecode, MalformedBodies) {
  for (const char* body : {"", "not json", "[]", R"({"type":"message","id":"m"})"}) {
    auto r = anthropic_adapter().decode(UpstreamReply{200, "application/json", body, ""});
    ASSERT_FALSE(r.has_value()) << body;
    EXPECT_EQ(r.error().kind, ErrorKind::UpstreamUnavailable) << body;
  }
  // A 200 whose body is Anthropic's error envelope is that error.
  auto r = anthropic_adapter().decode(UpstreamReply{
      200, "application/json",
      R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})", ""});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().kind, ErrorKind::UpstreamUnavailable);
  EXPECT_EQ(r.error().code, "overloaded");
}

// ---------------------------------------------------------------------------------------------
// map_error

// Anthropic's error envelope.
std::string envelope(const std::string& type, const std::string& message) {
  return json::serialize(json::object{{"type", "error"},
                                      {"error", json::object{{"type", type}, {"message", message}}},
                                      {"request_id", "req_1"}});
}

Error map(unsigned status, const std::string& body, const std::string& retry_after = "") {
  return anthropic_adapter().map_error(
      UpstreamReply{status, "application/json", body, retry_after});
}

TEST(AnthropicMapError, Recorded400) {
  const Error e = map(400, read_file(shared_dir() / "effort-400.response.json"));
  EXPECT_EQ(e.kind, ErrorKind::InvalidRequest);
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.code, "invalid_request_error");
  EXPECT_EQ(e.public_message,
            "This model does not support effort level 'xhigh'. Supported levels: high, low, max, "
            "medium.");
  EXPECT_FALSE(retryable(e.kind));
}

TEST(AnthropicMapError, Recorded404) {
  const Error e = map(404, read_file(shared_dir() / "count-tokens-404.response.json"));
  EXPECT_EQ(e.kind, ErrorKind::NotFound);
  EXPECT_EQ(e.status, 404);
  EXPECT_EQ(e.code, "not_found_error");
  EXPECT_EQ(e.public_message, "model: claude-does-not-exist");
  EXPECT_NE(e.detail.find("not_found_error"), std::string::npos);
}

// No authentic 429/529 bodies were recorded (fixtures README); these follow the documented
// envelope (https://docs.anthropic.com/en/api/errors).
TEST(AnthropicMapError, RateLimited) {
  const Error e = map(429,
                      envelope("rate_limit_error",
                               "Number of request tokens has exceeded your per-minute rate limit"),
                      "17");
  EXPECT_EQ(e.kind, ErrorKind::RateLimited);
  EXPECT_EQ(e.retry_after, "17");
  EXPECT_EQ(e.code, "rate_limit_error");
  EXPECT_EQ(e.status, 0);
  EXPECT_TRUE(retryable(e.kind));
}

TEST(AnthropicMapError, Overloaded) {
  const Error e = map(529, envelope("overloaded_error", "Overloaded"), "3");
  EXPECT_EQ(e.kind, ErrorKind::UpstreamUnavailable);
  EXPECT_EQ(e.status, 0);  // the gateway, not Anthropic's 529, decides the client's status
  EXPECT_EQ(e.code, "overloaded");
  EXPECT_EQ(e.public_message, "Overloaded");
  EXPECT_EQ(e.retry_after, "3");
  EXPECT_TRUE(retryable(e.kind));
  // A 529 without a JSON body is still "overloaded".
  EXPECT_EQ(map(529, "").code, "overloaded");
}

TEST(AnthropicMapError, ServerErrors) {
  for (unsigned status : {500U, 502U, 503U}) {
    const Error e = map(status, envelope("api_error", "Internal server error"));
    EXPECT_EQ(e.kind, ErrorKind::UpstreamUnavailable) << status;
    EXPECT_EQ(e.status, 0) << status;
  }
  EXPECT_EQ(map(504, envelope("timeout_error", "Timeout")).kind, ErrorKind::UpstreamTimeout);
  // A proxy's HTML page: kind by status, a generic message.
  const Error html = map(502, "<html>Bad Gateway</html>");
  EXPECT_EQ(html.kind, ErrorKind::UpstreamUnavailable);
  EXPECT_EQ(html.public_message, "Anthropic returned HTTP 502");
}

TEST(AnthropicMapError, OtherClientErrors) {
  Error e = map(413, envelope("request_too_large",
                              "Request exceeds the maximum allowed number of bytes."));
  EXPECT_EQ(e.kind, ErrorKind::PayloadTooLarge);
  EXPECT_EQ(e.status, 413);
  EXPECT_EQ(e.code, "request_too_large");
  e = map(422, envelope("invalid_request_error", "odd"));
  EXPECT_EQ(e.kind, ErrorKind::InvalidRequest);
  EXPECT_EQ(e.status, 422);
}

TEST(AnthropicMapError, AuthFailuresNeverPassTheUpstreamText) {
  for (unsigned status : {401U, 403U}) {
    const Error e = map(status, envelope("authentication_error", "invalid x-api-key sk-ant-123"));
    EXPECT_EQ(e.kind, ErrorKind::UpstreamAuth) << status;
    EXPECT_EQ(e.public_message.find("sk-ant"), std::string::npos);
    EXPECT_EQ(e.public_message.find("x-api-key"), std::string::npos);
    EXPECT_TRUE(e.code.empty());  // the default upstream_auth_failed
    EXPECT_NE(e.detail.find("authentication_error"), std::string::npos);  // for the logs
  }
}

// ---------------------------------------------------------------------------------------------
// Streams

struct StreamCase {
  std::string name;  // golden folder
  fs::path sse;
};

void PrintTo(const StreamCase& c, std::ostream* os) { *os << c.name; }

std::vector<StreamCase> stream_cases() {
  return {
      {"stream-basic-text", shared_dir() / "stream-basic-text.sse"},
      {"stream-tool-use-long-json", shared_dir() / "stream-tool-use-long-json.sse"},
      {"synth-stream-thinking", own_dir() / "synth-stream-thinking" / "stream.sse"},
      {"synth-stream-parallel-tools", own_dir() / "synth-stream-parallel-tools" / "stream.sse"},
      {"synth-stream-error", own_dir() / "synth-stream-error" / "stream.sse"},
  };
}

class StreamReplay : public ::testing::TestWithParam<StreamCase> {};

TEST_P(StreamReplay, AnySplitGivesTheGoldenEvents) {
  const StreamCase& c = GetParam();
  const std::string bytes = read_file(c.sse);
  const Replay whole = replay(bytes, 0);
  ASSERT_TRUE(whole.feed_ok && whole.finish_ok) << whole.error;
  const std::string jsonl = ir::events_to_jsonl(whole.events);
  for (std::size_t chunk : {1U, 7U}) {
    const Replay split = replay(bytes, chunk);
    ASSERT_TRUE(split.feed_ok && split.finish_ok) << split.error;
    EXPECT_EQ(ir::events_to_jsonl(split.events), jsonl) << chunk << "-byte chunks";
  }
  // With the blank line the SDK fixtures lack, nothing changes.
  EXPECT_EQ(ir::events_to_jsonl(replay(bytes + "\n\n", 0).events), jsonl);
  check_golden(own_dir() / c.name / "expected.events.jsonl", jsonl);
}

INSTANTIATE_TEST_SUITE_P(Anthropic, StreamReplay, ::testing::ValuesIn(stream_cases()),
                         [](const ::testing::TestParamInfo<StreamCase>& p) {
                           std::string n = p.param.name;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

TEST(AnthropicStream, LongToolArgumentsConcatenate) {
  const Replay r = replay(read_file(shared_dir() / "stream-tool-use-long-json.sse"), 1);
  ASSERT_TRUE(r.finish_ok) << r.error;
  // The fragments as sent (the stream stops at max_tokens inside the JSON, so it is unfinished).
  EXPECT_EQ(tool_arguments(r.events, 0),
            "{\"filename\": \"taxes.txt\", \"lines_of_text\": [\n"
            "\"# COMPREHENSIVE TAX GUIDE FOR INDIVIDUALS WITH MULTIPLE W-2s\",\n\"\",\n"
            "\"## INTRODUCTION\",\n\"\",\n\"Filing taxes");
  ASSERT_FALSE(r.events.empty());
  EXPECT_EQ(r.events.back().type, ir::StreamEvent::Type::Finish);
  EXPECT_EQ(r.events.back().finish, ir::FinishReason::Length);
}

TEST(AnthropicStream, ParallelToolCallsAndCacheUsage) {
  const Replay r =
      replay(read_file(own_dir() / "synth-stream-parallel-tools" / "stream.sse"), 3);
  ASSERT_TRUE(r.finish_ok) << r.error;
  EXPECT_EQ(parse(tool_arguments(r.events, 0)), parse(R"({"city":"Paris"})"));
  EXPECT_EQ(parse(tool_arguments(r.events, 1)), parse(R"({"tz":"Europe/Paris"})"));
  std::vector<ir::Usage> usages;
  for (const auto& e : r.events) {
    if (e.type == ir::StreamEvent::Type::Usage) {
      usages.push_back(e.usage);
    }
  }
  ASSERT_EQ(usages.size(), 2U);
  EXPECT_EQ(usages[0].input_tokens, 20 + 1000 + 300);
  EXPECT_EQ(usages[0].cached_input_tokens, 1000);
  EXPECT_EQ(usages[0].cache_write_tokens, 300);
  EXPECT_EQ(usages[1].input_tokens, 20 + 1000 + 300);
  EXPECT_EQ(usages[1].output_tokens, 89);
}

TEST(AnthropicStream, PartialInputUsageKeepsTheTotal) {
  // A message_delta repeating only input_tokens still reports the total with cached tokens.
  const std::string sse =
      "event: message_start\n"
      R"(data: {"type":"message_start","message":{"id":"m","model":"c","usage":)"
      R"({"input_tokens":5,"cache_read_input_tokens":50,"output_tokens":1}}})"
      "\n\nevent: message_delta\n"
      R"(data: {"type":"message_delta","delta":{"stop_reason":"end_turn"},)"
      R"("usage":{"input_tokens":6,"output_tokens":9}})"
      "\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
  const Replay r = replay(sse, 0);
  ASSERT_TRUE(r.finish_ok) << r.error;
  EXPECT_EQ(ir::events_to_jsonl(r.events),
            "{\"type\":\"start\",\"id\":\"m\",\"model\":\"c\"}\n"
            "{\"type\":\"usage\",\"usage\":{\"input\":55,\"output\":1,\"cached_input\":50}}\n"
            "{\"type\":\"usage\",\"usage\":{\"input\":56,\"output\":9}}\n"
            "{\"type\":\"finish\",\"finish\":\"stop\",\"finish_raw\":\"end_turn\"}\n");
}

TEST(AnthropicStream, ThinkingAndSignature) {
  const Replay r = replay(read_file(own_dir() / "synth-stream-thinking" / "stream.sse"), 7);
  ASSERT_TRUE(r.finish_ok) << r.error;
  std::string thinking;
  std::string signature;
  std::string redacted;
  for (const auto& e : r.events) {
    if (e.type == ir::StreamEvent::Type::ReasoningDelta) {
      thinking += e.text;
      signature += e.signature;
      redacted += e.redacted_data;
    }
  }
  EXPECT_EQ(thinking, "Look left, then right.");
  EXPECT_EQ(signature, "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds");
  EXPECT_EQ(redacted, "EmwKAhgBEgy3va3pzix");
  EXPECT_EQ(r.events.back().finish, ir::FinishReason::StopSequence);
  EXPECT_EQ(r.events.back().stop_sequence, "\n\nDone");
}

TEST(AnthropicStream, MidStreamErrorEvent) {
  const Replay r = replay(read_file(own_dir() / "synth-stream-error" / "stream.sse"), 1);
  ASSERT_TRUE(r.finish_ok) << r.error;  // the error event ends the stream; no message_stop
  ASSERT_FALSE(r.events.empty());
  const ir::StreamEvent& e = r.events.back();
  ASSERT_EQ(e.type, ir::StreamEvent::Type::Error);
  EXPECT_EQ(e.error.kind, ErrorKind::UpstreamUnavailable);
  EXPECT_EQ(e.error.code, "overloaded");
  EXPECT_EQ(e.error.status, 0);
  EXPECT_EQ(e.error.public_message, "Overloaded");

  const auto kind_of = [](const std::string& type) {
    const Replay x = replay("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"" +
                                type + "\",\"message\":\"m\"}}\n\n",
                            0);
    EXPECT_EQ(x.events.size(), 1U);
    return x.events.empty() ? ErrorKind::Internal : x.events[0].error.kind;
  };
  EXPECT_EQ(kind_of("rate_limit_error"), ErrorKind::RateLimited);
  EXPECT_EQ(kind_of("api_error"), ErrorKind::UpstreamUnavailable);
  EXPECT_EQ(kind_of("invalid_request_error"), ErrorKind::InvalidRequest);
  EXPECT_EQ(kind_of("something_new"), ErrorKind::InvalidRequest);
}

TEST(AnthropicStream, UnterminatedLastEventIsFlushedByFinish) {
  // stream-basic-text.sse ends "data: {...message_stop...}" with no newline at all: feed() alone
  // cannot dispatch it; finish() does (else it would report the stream as cut short).
  const std::string bytes = read_file(shared_dir() / "stream-basic-text.sse");
  ASSERT_NE(bytes.substr(bytes.size() - 2), "\n\n");
  auto dec = anthropic_adapter().stream_decoder(simple_request());
  std::vector<ir::StreamEvent> out;
  ASSERT_TRUE(dec->feed(bytes, out).has_value());
  EXPECT_TRUE(dec->finish(out).has_value());

  // When the unterminated event carries content, finish() emits it.
  const std::string cut =
      "event: message_start\n"
      R"(data: {"type":"message_start","message":{"id":"m","model":"c"}})"
      "\n\nevent: message_delta\n"
      R"(data: {"type":"message_delta","delta":{"stop_reason":"max_tokens"}}   )";
  dec = anthropic_adapter().stream_decoder(simple_request());
  out.clear();
  ASSERT_TRUE(dec->feed(cut, out).has_value());
  ASSERT_EQ(out.size(), 1U);  // the Start event
  const auto fin = dec->finish(out);
  ASSERT_EQ(out.size(), 2U);
  EXPECT_EQ(out[1].type, ir::StreamEvent::Type::Finish);
  EXPECT_EQ(out[1].finish, ir::FinishReason::Length);
  // ... and, with no message_stop ever seen, reports the truncation.
  ASSERT_FALSE(fin.has_value());
  EXPECT_EQ(fin.error().kind, ErrorKind::UpstreamUnavailable);
}

TEST(AnthropicStream, MalformedData) {
  EXPECT_FALSE(replay("event: message_start\ndata: {not json\n\n", 0).feed_ok);
  // input_json_delta for a block that never started.
  EXPECT_FALSE(
      replay("event: content_block_delta\n"
             R"(data: {"type":"content_block_delta","index":4,)"
             R"("delta":{"type":"input_json_delta","partial_json":"{"}})"
             "\n\n",
             0)
          .feed_ok);
  // Unknown event types are ignored (Anthropic's versioning policy allows new ones).
  const Replay r = replay(
      "event: brand_new\ndata: {\"type\":\"brand_new\",\"x\":1}\n\n"
      "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
      0);
  EXPECT_TRUE(r.feed_ok && r.finish_ok) << r.error;
  EXPECT_TRUE(r.events.empty());
}

}  // namespace
}  // namespace sy::providers
