// The OpenAI outbound adapter against recorded traffic (shared/fixtures/openai,
// shared/fixtures/openai-compatible) and the synthetic cases in tests/fixtures/providers/openai
// (see the README there). Goldens are regenerated with SY_UPDATE_GOLDENS=1 and then reviewed.

#include "providers/openai.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "config/schema.h"
#include "ir/debug_json.h"

namespace sy::providers {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

const fs::path kShared = SY_FIXTURES_DIR;
const fs::path kOwn = fs::path(SY_TEST_FIXTURES_DIR) / "providers" / "openai";

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

std::string stem_before(const fs::path& p, std::string_view suffix) {
  const std::string name = p.filename().string();
  return name.substr(0, name.size() - suffix.size());
}

// With SY_UPDATE_GOLDENS=1 the golden is (re)written; otherwise it must match byte for byte.
void expect_golden(const fs::path& golden, const std::string& actual) {
  const char* update = std::getenv("SY_UPDATE_GOLDENS");
  if (update != nullptr && std::string_view(update) == "1") {
    std::ofstream(golden, std::ios::binary) << actual;
    return;
  }
  ASSERT_TRUE(fs::exists(golden)) << "missing golden " << golden
                                  << " (generate with SY_UPDATE_GOLDENS=1, then review it)";
  EXPECT_EQ(read_file(golden), actual) << golden;
}

// Semantic JSON equality: object member order is ignored and numbers compare by value (the
// recorder wrote `1` where the encoder writes the double 1.0). Returns "" when equal, else the
// first difference's path.
std::string json_diff(const json::value& a, const json::value& b, const std::string& at) {
  if (a.is_number() && b.is_number()) {
    return a.to_number<double>() == b.to_number<double>() ? "" : at + ": numbers differ";
  }
  if (a.kind() != b.kind()) {
    return at + ": " + json::serialize(a) + " vs " + json::serialize(b);
  }
  if (a.is_object()) {
    const auto& ao = a.get_object();
    const auto& bo = b.get_object();
    for (const auto& kv : ao) {
      if (!bo.contains(kv.key())) {
        return at + "." + std::string(kv.key()) + ": missing on the right";
      }
      if (auto d = json_diff(kv.value(), bo.at(kv.key()), at + "." + std::string(kv.key()));
          !d.empty()) {
        return d;
      }
    }
    for (const auto& kv : bo) {
      if (!ao.contains(kv.key())) {
        return at + "." + std::string(kv.key()) + ": missing on the left";
      }
    }
    return "";
  }
  if (a.is_array()) {
    const auto& aa = a.get_array();
    const auto& ba = b.get_array();
    if (aa.size() != ba.size()) {
      return at + ": array sizes differ";
    }
    for (std::size_t i = 0; i < aa.size(); ++i) {
      if (auto d = json_diff(aa[i], ba[i], at + "[" + std::to_string(i) + "]"); !d.empty()) {
        return d;
      }
    }
    return "";
  }
  return a == b ? "" : at + ": " + json::serialize(a) + " vs " + json::serialize(b);
}

config::ProviderConfig provider_of_type(const std::string& type) {
  config::ProviderConfig p;
  p.name = type;
  p.type = type;
  return p;
}

ir::ChatRequest load_ir(const fs::path& p) {
  return ir::request_from_json(json::parse(read_file(p)));
}

UpstreamReply reply_from(unsigned status, const fs::path& body) {
  UpstreamReply r;
  r.status = status;
  r.content_type = "application/json";
  r.body = read_file(body);
  return r;
}

// The recorded HTTP status of a shared fixture (meta.json "status"), 200 without a meta file.
unsigned recorded_status(const fs::path& response) {
  const fs::path meta =
      response.parent_path() / (stem_before(response, ".response.json") + ".meta.json");
  if (!fs::exists(meta)) {
    return 200;
  }
  return static_cast<unsigned>(json::parse(read_file(meta)).at("status").to_number<int>());
}

// Feeds `bytes` in pieces of `step` bytes (0 = whole), then finish().
std::vector<ir::StreamEvent> decode_stream(const std::string& bytes, std::size_t step) {
  auto decoder = openai_adapter().stream_decoder(ir::ChatRequest{});
  std::vector<ir::StreamEvent> out;
  if (step == 0) {
    EXPECT_TRUE(decoder->feed(bytes, out));
  } else {
    for (std::size_t i = 0; i < bytes.size(); i += step) {
      EXPECT_TRUE(decoder->feed(std::string_view(bytes).substr(i, step), out));
    }
  }
  EXPECT_TRUE(decoder->finish(out));
  return out;
}

std::map<int, std::string> tool_arguments(const std::vector<ir::StreamEvent>& events) {
  std::map<int, std::string> args;
  for (const auto& e : events) {
    if (e.type == ir::StreamEvent::Type::ToolCallDelta) {
      args[e.index] += e.text;
    }
  }
  return args;
}

// ---------------------------------------------------------------------------------------------
// encode

class OpenAiEncodeTest : public ::testing::Test {
 protected:
  config::ProviderConfig openai_ = provider_of_type("openai");
  config::ProviderConfig compatible_ = provider_of_type("openai-compatible");

  json::object encode_body(const ir::ChatRequest& req, const config::ProviderConfig& p,
                           const std::string& model, UpstreamRequest* out = nullptr) {
    const auto r = openai_adapter().encode(req, Target{&p, model});
    EXPECT_TRUE(r) << (r ? "" : r.error().public_message);
    if (!r) {
      return {};
    }
    if (out != nullptr) {
      *out = *r;
    }
    return json::parse(r->body).as_object();
  }
};

// The IR of each recorded request, encoded for OpenAI, gives the recorded body. Tolerated
// differences (applied to the recording before comparing, nothing else):
//  - chat-multiturn: the recording's first message has role "developer"; the IR has one system
//    kind and the encoder writes "system" (OpenAI treats the two alike).
//  - chat-streaming: the encoder always adds "stream_options":{"include_usage":true}.
//  - numbers compare by value (recorded `"temperature": 1`, encoded 1.0).
TEST_F(OpenAiEncodeTest, RecordedRequests) {
  for (const std::string name : {"chat-basic", "chat-multiturn", "chat-tools", "chat-json-mode",
                                 "chat-reasoning", "chat-streaming"}) {
    SCOPED_TRACE(name);
    const ir::ChatRequest req = load_ir(kOwn / "encode" / (name + ".ir.json"));
    json::value expected = json::parse(read_file(kShared / "openai" / (name + ".request.json")));
    auto& exp = expected.as_object();
    for (auto& m : exp.at("messages").as_array()) {
      if (m.at("role") == "developer") {
        m.as_object()["role"] = "system";
      }
    }
    if (exp.contains("stream")) {
      exp["stream_options"] = json::parse(R"({"include_usage":true})");
    }
    UpstreamRequest up;
    const json::object body = encode_body(req, openai_, "gpt-5-nano", &up);
    EXPECT_EQ(json_diff(body, expected, "$"), "");
    EXPECT_EQ(up.path, "/chat/completions");
    EXPECT_EQ(up.stream, req.stream);
  }
}

// Cases with no recording: goldens, plus the facts they must show checked here.
TEST_F(OpenAiEncodeTest, Goldens) {
  for (const std::string name : {"image", "agent-turn"}) {
    const ir::ChatRequest req = load_ir(kOwn / "encode" / (name + ".ir.json"));
    expect_golden(kOwn / "encode" / (name + ".openai.json"),
                  ir::pretty(encode_body(req, openai_, "gpt-4o")));
    expect_golden(kOwn / "encode" / (name + ".openai-compatible.json"),
                  ir::pretty(encode_body(req, compatible_, "llama-3.1-8b")));
  }
}

TEST_F(OpenAiEncodeTest, ImageBecomesImageUrlParts) {
  const ir::ChatRequest req = load_ir(kOwn / "encode" / "image.ir.json");
  const json::object body = encode_body(req, openai_, "gpt-4o");
  const auto& parts = body.at("messages").at(0).at("content").as_array();
  ASSERT_EQ(parts.size(), 3U);
  EXPECT_EQ(parts[0].at("type"), "text");
  EXPECT_EQ(parts[1].at("image_url").at("detail"), "low");
  EXPECT_EQ(parts[2].at("image_url").at("url").as_string().subview().substr(0, 22),
            "data:image/png;base64,");
  EXPECT_EQ(body.at("max_completion_tokens"), 300);
}

TEST_F(OpenAiEncodeTest, AgentTurnForOpenAi) {
  const ir::ChatRequest req = load_ir(kOwn / "encode" / "agent-turn.ir.json");
  const json::object body = encode_body(req, openai_, "gpt-4o");
  const auto& msgs = body.at("messages").as_array();
  // 2 system, user, assistant, 2 tool results, then the rest of the user turn.
  ASSERT_EQ(msgs.size(), 7U);
  EXPECT_EQ(msgs[0].at("role"), "system");
  EXPECT_EQ(msgs[1].at("content"), "Answer briefly.");
  const auto& assistant = msgs[3].as_object();
  EXPECT_EQ(assistant.at("content"), "Checking both.");
  EXPECT_FALSE(assistant.contains("reasoning_content"));  // OpenAI cannot take reasoning back
  EXPECT_EQ(assistant.at("tool_calls").at(1).at("function").at("arguments"), "{}");
  EXPECT_EQ(msgs[4].at("role"), "tool");
  EXPECT_EQ(msgs[5].at("tool_call_id"), "toolu_02");
  EXPECT_EQ(msgs[6].at("content"), "Also, which is warmer?");
  EXPECT_EQ(body.at("max_completion_tokens"), 1024);
  EXPECT_FALSE(body.contains("max_tokens"));
  EXPECT_FALSE(body.contains("top_k"));
  EXPECT_FALSE(body.contains("metadata"));
  EXPECT_EQ(body.at("reasoning_effort"), "low");
  EXPECT_EQ(body.at("stream_options").at("include_usage"), true);
  EXPECT_EQ(body.at("tool_choice").at("function").at("name"), "get_weather");
  EXPECT_TRUE(body.at("tools").at(0).at("function").at("parameters").is_object());
  EXPECT_EQ(body.at("response_format").at("json_schema").at("strict"), true);
  EXPECT_TRUE(body.at("response_format").at("json_schema").at("schema").is_object());
}

TEST_F(OpenAiEncodeTest, AgentTurnForCompatible) {
  const ir::ChatRequest req = load_ir(kOwn / "encode" / "agent-turn.ir.json");
  const json::object body = encode_body(req, compatible_, "llama-3.1-8b");
  EXPECT_EQ(body.at("model"), "llama-3.1-8b");
  EXPECT_EQ(body.at("max_tokens"), 1024);
  EXPECT_FALSE(body.contains("max_completion_tokens"));
  EXPECT_EQ(body.at("top_k"), 40);
  EXPECT_EQ(body.at("messages").at(3).at("reasoning_content"), "Two cities: call the tool twice.");
}

TEST_F(OpenAiEncodeTest, InvalidEmbeddedJsonIsInvalidRequest) {
  ir::ChatRequest req = load_ir(kOwn / "encode" / "chat-tools.ir.json");
  req.tools[0].parameters = "{\"type\":";
  const auto r = openai_adapter().encode(req, Target{&openai_, "gpt-4o"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::InvalidRequest);
  EXPECT_EQ(r.error().param, "tools[0].function.parameters");
}

TEST_F(OpenAiEncodeTest, NullProviderMeansOpenAi) {
  const ir::ChatRequest req = load_ir(kOwn / "encode" / "image.ir.json");
  const auto r = openai_adapter().encode(req, Target{nullptr, "gpt-4o"});
  ASSERT_TRUE(r);
  EXPECT_TRUE(json::parse(r->body).as_object().contains("max_completion_tokens"));
  EXPECT_EQ(r->headers, (Headers{{"accept", "application/json"}}));
}

// ---------------------------------------------------------------------------------------------
// decode

// Every recorded 2xx chat.completion (OpenAI and OpenAI-compatible) against its IR golden;
// recorded error replies must come out as the same Error map_error gives.
TEST(OpenAiDecode, RecordedResponses) {
  std::vector<fs::path> files = files_ending(kShared / "openai", ".response.json");
  for (const auto& f : files_ending(kShared / "openai-compatible", ".response.json")) {
    files.push_back(f);
  }
  ASSERT_GE(files.size(), 9U);
  int decoded = 0;
  for (const auto& path : files) {
    SCOPED_TRACE(path.string());
    const UpstreamReply reply = reply_from(recorded_status(path), path);
    const auto r = openai_adapter().decode(reply);
    if (reply.status >= 400) {
      ASSERT_FALSE(r);
      EXPECT_EQ(r.error().public_message, openai_adapter().map_error(reply).public_message);
      continue;
    }
    ASSERT_TRUE(r) << r.error().detail;
    expect_golden(kOwn / "decode" / (stem_before(path, ".response.json") + ".expected.json"),
                  ir::pretty(ir::to_json(*r)));
    ++decoded;
  }
  EXPECT_EQ(decoded, 6);
}

TEST(OpenAiDecode, UsageAndToolCalls) {
  const auto basic = openai_adapter().decode(
      reply_from(200, kShared / "openai" / "chat-basic.response.json"));
  ASSERT_TRUE(basic);
  EXPECT_EQ(basic->usage.input_tokens, 8);
  EXPECT_EQ(basic->usage.output_tokens, 377);
  EXPECT_EQ(basic->usage.reasoning_tokens, 320);
  EXPECT_EQ(basic->usage.cached_input_tokens, 0);
  EXPECT_EQ(basic->finish, ir::FinishReason::Stop);

  const auto tools = openai_adapter().decode(
      reply_from(200, kShared / "openai" / "chat-tools.response.json"));
  ASSERT_TRUE(tools);
  ASSERT_EQ(tools->content.size(), 1U);  // content null: no empty text part
  const auto& call = std::get<ir::ToolCallPart>(tools->content[0]);
  EXPECT_EQ(call.id, "call_8fxy20OEu9ulvvaa5b5CzVA4");
  EXPECT_EQ(call.arguments, R"({"location":"Boston, MA","unit":"fahrenheit"})");
  EXPECT_EQ(tools->finish, ir::FinishReason::ToolCalls);
}

// xAI: reasoning_content, cached tokens inside prompt_tokens, reasoning outside
// completion_tokens (total 588 = 307 + 26 + 255).
TEST(OpenAiDecode, XaiReasoningAndUsage) {
  const auto r = openai_adapter().decode(
      reply_from(200, kShared / "openai-compatible" / "xai-tool-call.response.json"));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->content.size(), 2U);  // content "" gives no text part
  EXPECT_TRUE(std::holds_alternative<ir::ReasoningPart>(r->content[0]));
  EXPECT_EQ(std::get<ir::ToolCallPart>(r->content[1]).name, "weather");
  EXPECT_EQ(r->usage.input_tokens, 307);
  EXPECT_EQ(r->usage.cached_input_tokens, 244);
  EXPECT_EQ(r->usage.output_tokens, 26 + 255);
  EXPECT_EQ(r->usage.reasoning_tokens, 255);
}

TEST(OpenAiDecode, MalformedBodyIsUpstreamUnavailable) {
  UpstreamReply reply;
  reply.status = 200;
  reply.body = "<html>502 Bad Gateway</html>";
  const auto r = openai_adapter().decode(reply);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::UpstreamUnavailable);
}

// ---------------------------------------------------------------------------------------------
// stream

std::vector<fs::path> stream_fixtures() {
  std::vector<fs::path> files = files_ending(kShared / "openai", ".sse");
  for (const auto& f : files_ending(kOwn / "stream", ".sse")) {
    files.push_back(f);
  }
  return files;
}

TEST(OpenAiStream, AnySplitGivesTheGoldenEvents) {
  const auto files = stream_fixtures();
  ASSERT_EQ(files.size(), 10U);  // 7 recorded (incl. chat-streaming.response.sse) + 3 synthetic
  for (const auto& path : files) {
    SCOPED_TRACE(path.string());
    const std::string bytes = read_file(path);
    const auto whole = decode_stream(bytes, 0);
    const std::string jsonl = ir::events_to_jsonl(whole);
    EXPECT_EQ(ir::events_to_jsonl(decode_stream(bytes, 1)), jsonl);
    EXPECT_EQ(ir::events_to_jsonl(decode_stream(bytes, 7)), jsonl);
    ASSERT_FALSE(whole.empty());
    EXPECT_EQ(whole.front().type, ir::StreamEvent::Type::Start);
    std::string name = path.filename().string();
    name = name.substr(0, name.size() - std::string_view(".sse").size());
    expect_golden(kOwn / "stream" / (name + ".jsonl"), jsonl);
  }
}

TEST(OpenAiStream, ToolCallArgumentsConcatenate) {
  const auto single =
      decode_stream(read_file(kShared / "openai" / "stream-tool-call-single.sse"), 1);
  using Args = std::map<int, std::string>;
  EXPECT_EQ(tool_arguments(single), (Args{{0, R"({"city":"New York City"})"}}));
  const auto strict =
      decode_stream(read_file(kShared / "openai" / "stream-tool-call-strict-pydantic.sse"), 7);
  EXPECT_EQ(tool_arguments(strict),
            (Args{{0, R"({"city":"Edinburgh","country":"UK","units":"c"})"}}));
  const auto start = std::find_if(single.begin(), single.end(), [](const ir::StreamEvent& e) {
    return e.type == ir::StreamEvent::Type::ToolCallStart;
  });
  ASSERT_NE(start, single.end());
  EXPECT_EQ(start->id, "call_4XzlGBLtUe9dy3GVNV4jhq7h");
  EXPECT_EQ(start->name, "get_weather");
  EXPECT_EQ(single.back().type, ir::StreamEvent::Type::Usage);
}

// Anthropic's OpenAI-compatible endpoint numbers tool calls from 1; the IR numbers them 0, 1, ...
TEST(OpenAiStream, ToolIndexStartingAtOneBecomesZero) {
  const auto events = decode_stream(read_file(kOwn / "stream" / "tool-index-from-1.sse"), 1);
  std::vector<int> starts;
  for (const auto& e : events) {
    if (e.type == ir::StreamEvent::Type::ToolCallStart) {
      starts.push_back(e.index);
    }
  }
  EXPECT_EQ(starts, (std::vector<int>{0, 1}));
  EXPECT_EQ(tool_arguments(events), (std::map<int, std::string>{{0, R"({"city": "Paris"})"},
                                                                {1, R"({"city": "Rome"})"}}));
}

TEST(OpenAiStream, UsageChunkGivesUsageEvent) {
  const auto events =
      decode_stream(read_file(kShared / "openai" / "stream-text-include-usage.sse"), 0);
  ASSERT_GE(events.size(), 3U);
  EXPECT_EQ(events[events.size() - 2].type, ir::StreamEvent::Type::Finish);
  const auto& usage = events.back();
  ASSERT_EQ(usage.type, ir::StreamEvent::Type::Usage);
  EXPECT_TRUE(usage.usage.input_tokens.has_value());
  EXPECT_TRUE(usage.usage.output_tokens.has_value());
}

TEST(OpenAiStream, BareErrorDataGivesErrorEvent) {
  const auto events = decode_stream(read_file(kOwn / "stream" / "mid-stream-error.sse"), 7);
  ASSERT_FALSE(events.empty());
  const auto& e = events.back();
  ASSERT_EQ(e.type, ir::StreamEvent::Type::Error);
  EXPECT_EQ(e.error.kind, ErrorKind::UpstreamUnavailable);
  EXPECT_EQ(e.error.public_message,
            "The server had an error while processing your request. Sorry about that!");
}

TEST(OpenAiStream, MalformedChunkFailsTheStream) {
  auto decoder = openai_adapter().stream_decoder(ir::ChatRequest{});
  std::vector<ir::StreamEvent> out;
  const auto r = decoder->feed("data: {\"id\":\n\n", out);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::UpstreamUnavailable);
}

// ---------------------------------------------------------------------------------------------
// map_error

TEST(OpenAiMapError, RecordedErrors) {
  struct Case {
    const char* name;
    unsigned status;
    ErrorKind kind;
    const char* code;
    const char* param;
  };
  for (const Case& c : {Case{"chat-bad-request", 400, ErrorKind::InvalidRequest,
                             "unsupported_parameter", "max_tokens"},
                        Case{"chat-unknown-model", 404, ErrorKind::NotFound, "model_not_found", ""},
                        Case{"chat-no-messages", 400, ErrorKind::InvalidRequest, "empty_array",
                             "messages"}}) {
    SCOPED_TRACE(c.name);
    const fs::path path = kShared / "openai" / (std::string(c.name) + ".response.json");
    ASSERT_EQ(recorded_status(path), c.status);
    const Error e = openai_adapter().map_error(reply_from(c.status, path));
    const json::value recorded = json::parse(read_file(path));
    EXPECT_EQ(e.kind, c.kind);
    EXPECT_EQ(e.status, static_cast<int>(c.status));
    EXPECT_EQ(e.public_message, recorded.at("error").at("message").as_string());
    EXPECT_EQ(e.code, c.code);
    EXPECT_EQ(e.param, c.param);
  }
}

TEST(OpenAiMapError, RateLimitedKeepsRetryAfter) {
  UpstreamReply reply = reply_from(429, kOwn / "errors" / "rate-limited.error.json");
  reply.retry_after = "20";
  const Error e = openai_adapter().map_error(reply);
  EXPECT_EQ(e.kind, ErrorKind::RateLimited);
  EXPECT_EQ(e.retry_after, "20");
  EXPECT_EQ(e.code, "rate_limit_exceeded");
  EXPECT_TRUE(retryable(e.kind));
}

// OpenAI's 401 message quotes part of the key: nothing of it may reach the client.
TEST(OpenAiMapError, AuthFailureNeverLeaksTheMessage) {
  for (unsigned status : {401U, 403U}) {
    const Error e =
        openai_adapter().map_error(reply_from(status, kOwn / "errors" / "auth-failed.error.json"));
    EXPECT_EQ(e.kind, ErrorKind::UpstreamAuth);
    EXPECT_EQ(e.public_message.find("sk-"), std::string::npos);
    EXPECT_EQ(e.public_message.find("Incorrect API key"), std::string::npos);
    const std::string client_body = openai_error_body(e);
    EXPECT_EQ(client_body.find("sk-proj"), std::string::npos) << client_body;
    EXPECT_EQ(client_body.find("invalid_api_key"), std::string::npos) << client_body;
    EXPECT_EQ(e.detail.find("sk-"), std::string::npos);
  }
}

TEST(OpenAiMapError, StatusTable) {
  const fs::path body = kOwn / "errors" / "server-error.error.json";
  const std::vector<std::pair<unsigned, ErrorKind>> table = {
      {500, ErrorKind::UpstreamUnavailable}, {502, ErrorKind::UpstreamUnavailable},
      {503, ErrorKind::UpstreamUnavailable}, {408, ErrorKind::UpstreamTimeout},
      {504, ErrorKind::UpstreamTimeout},     {413, ErrorKind::PayloadTooLarge},
      {422, ErrorKind::InvalidRequest},      {409, ErrorKind::InvalidRequest}};
  for (const auto& [status, kind] : table) {
    SCOPED_TRACE(status);
    const Error e = openai_adapter().map_error(reply_from(status, body));
    EXPECT_EQ(e.kind, kind);
    EXPECT_EQ(e.public_message,
              "The server had an error while processing your request. Sorry about that!");
    if (status < 500 && status != 408) {
      EXPECT_EQ(e.status, static_cast<int>(status));
    } else {
      EXPECT_EQ(e.status, 0);
    }
  }
  UpstreamReply not_json;
  not_json.status = 502;
  not_json.body = "<html>Bad gateway</html>";
  const Error e = openai_adapter().map_error(not_json);
  EXPECT_EQ(e.kind, ErrorKind::UpstreamUnavailable);
  EXPECT_EQ(e.public_message, "The upstream provider answered HTTP 502.");
}

// ---------------------------------------------------------------------------------------------
// capabilities

TEST(OpenAiAdapter, TypeAndCapabilities) {
  EXPECT_EQ(openai_adapter().type(), "openai");
  const config::ProviderConfig openai = provider_of_type("openai");
  const config::ProviderConfig compatible = provider_of_type("openai-compatible");
  const ir::Capabilities full = openai_adapter().capabilities(Target{&openai, "gpt-4o"});
  EXPECT_TRUE(full.tools && full.parallel_tool_calls && full.vision && full.json_object &&
              full.json_schema && full.logprobs && full.multiple_choices && full.reasoning);
  const ir::Capabilities compat = openai_adapter().capabilities(Target{&compatible, "m"});
  EXPECT_TRUE(compat.tools);
  EXPECT_TRUE(compat.json_object);
  EXPECT_FALSE(compat.parallel_tool_calls || compat.vision || compat.json_schema ||
               compat.logprobs || compat.multiple_choices || compat.reasoning);
}

}  // namespace
}  // namespace sy::providers
