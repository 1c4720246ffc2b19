#include "providers/openai_compat.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "codec/sse.h"

namespace sy::providers {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

const fs::path kFixtures = SY_FIXTURES_DIR;

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

Error error_of(std::string_view body) {
  const auto r = inspect_chat_request(body);
  EXPECT_FALSE(r) << body;
  return r ? Error{} : r.error();
}

// ---------------------------------------------------------------------------------------------
// inspect_chat_request on recorded requests

TEST(InspectChatRequest, OpenAiFixtureRequests) {
  const auto files = files_ending(kFixtures / "openai", ".request.json");
  ASSERT_GE(files.size(), 9U);
  for (const auto& path : files) {
    const std::string label = path.filename().string();
    const std::string body = read_file(path);
    const json::object expected = json::parse(body).as_object();
    const auto r = inspect_chat_request(body);
    if (label == "chat-no-messages.request.json") {
      ASSERT_FALSE(r) << label;
      // OpenAI's own answer to this request (chat-no-messages.response.json).
      const json::value recorded =
          json::parse(read_file(kFixtures / "openai" / "chat-no-messages.response.json"));
      const json::object& err = recorded.at("error").as_object();
      EXPECT_EQ(r.error().public_message, std::string_view(err.at("message").as_string()));
      EXPECT_EQ(r.error().code, std::string_view(err.at("code").as_string()));
      EXPECT_EQ(r.error().param, "messages");
      continue;
    }
    ASSERT_TRUE(r) << label << ": " << r.error().public_message;
    EXPECT_EQ(r->model, std::string_view(expected.at("model").as_string())) << label;
    EXPECT_EQ(r->stream, expected.contains("stream") && expected.at("stream").as_bool())
        << label;
    EXPECT_FALSE(r->include_usage) << label;
    EXPECT_EQ(r->has_tools, expected.contains("tools")) << label;
    EXPECT_EQ(r->scan.members.size(), expected.size()) << label;
  }
}

TEST(InspectChatRequest, SdkCapturedBodies) {
  std::vector<fs::path> files = files_ending(kFixtures / "sdk-requests" / "openai", ".json");
  const auto azure = files_ending(kFixtures / "sdk-requests" / "azure", ".json");
  files.insert(files.end(), azure.begin(), azure.end());
  ASSERT_GE(files.size(), 3U);
  int streaming = 0;
  for (const auto& path : files) {
    const std::string label = path.filename().string();
    const json::value capture = json::parse(read_file(path));
    const std::string body(capture.at("request").at("body_raw").as_string());
    const json::object expected = json::parse(body).as_object();
    const auto r = inspect_chat_request(body);
    ASSERT_TRUE(r) << label << ": " << r.error().public_message;
    EXPECT_EQ(r->model, std::string_view(expected.at("model").as_string())) << label;
    const bool stream = expected.contains("stream") && expected.at("stream").as_bool();
    EXPECT_EQ(r->stream, stream) << label;
    EXPECT_EQ(r->has_tools, expected.contains("tools")) << label;
    if (label == "openai.chat.stream_tools.json") {
      EXPECT_TRUE(r->stream);
      EXPECT_TRUE(r->include_usage);
      EXPECT_TRUE(r->has_tools);
      ++streaming;
    }
    // Rewriting only the model keeps every other byte.
    const std::string out = rewrite_chat_request(body, *r, "upstream-x", false);
    const codec::JsonMember* m = r->scan.find("model");
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(out, body.substr(0, m->value_offset) + "\"upstream-x\"" +
                       body.substr(m->value_offset + m->value_length))
        << label;
  }
  EXPECT_EQ(streaming, 1);
}

// ---------------------------------------------------------------------------------------------
// inspect_chat_request errors

TEST(InspectChatRequestErrors, MalformedJson) {
  for (std::string_view body : {"{\"model\":", "", "not json", "{\"model\":\"m\",}",
                                "{\"model\":\"m\",\"messages\":[{}]} trailing"}) {
    const Error e = error_of(body);
    EXPECT_EQ(e.kind, ErrorKind::InvalidRequest) << body;
    EXPECT_TRUE(e.public_message.starts_with("We could not parse the JSON body of your request"))
        << e.public_message;
    EXPECT_NE(e.public_message.find("at byte"), std::string::npos) << e.public_message;
    EXPECT_EQ(e.code, "invalid_json") << body;
    EXPECT_EQ(e.param, "") << body;
  }
  const std::string envelope = openai_error_body(error_of("{"));
  const json::value v = json::parse(envelope);
  EXPECT_EQ(v.at("error").at("code").as_string(), "invalid_json");
  EXPECT_TRUE(v.at("error").at("param").is_null());
  EXPECT_EQ(v.at("error").at("type").as_string(), "invalid_request_error");
  EXPECT_EQ(http_status(ErrorKind::InvalidRequest), 400);
}

TEST(InspectChatRequestErrors, BodyThatIsNotAnObject) {
  const Error e = error_of("[{\"model\":\"m\"}]");
  EXPECT_EQ(e.code, "invalid_type");
  EXPECT_EQ(e.public_message,
            "Invalid type for the request body: expected an object, but got an array instead.");
  EXPECT_EQ(error_of("\"hi\"").code, "invalid_type");
  EXPECT_EQ(error_of("null").code, "invalid_type");
}

TEST(InspectChatRequestErrors, MissingModel) {
  const Error e = error_of(R"({"messages":[{"role":"user","content":"hi"}]})");
  EXPECT_EQ(e.kind, ErrorKind::InvalidRequest);
  EXPECT_EQ(e.param, "model");
  EXPECT_EQ(e.code, "missing_required_parameter");
  EXPECT_EQ(e.public_message, "Missing required parameter: 'model'.");
  EXPECT_EQ(error_of("{}").param, "model");
}

TEST(InspectChatRequestErrors, MissingMessages) {
  const Error e = error_of(R"({"model":"gpt-4o"})");
  EXPECT_EQ(e.kind, ErrorKind::InvalidRequest);
  EXPECT_EQ(e.public_message, "'messages' is a required property");
  EXPECT_EQ(e.param, "messages");
  EXPECT_EQ(e.code, "missing_required_parameter");
}

TEST(InspectChatRequestErrors, WrongTypes) {
  struct Case {
    std::string body;
    std::string param;
    std::string message;
  };
  const std::string msgs = R"("messages":[{"role":"user","content":"hi"}])";
  const Case cases[] = {
      {R"({"model":42,)" + msgs + "}", "model",
       "Invalid type for 'model': expected a string, but got an integer instead."},
      {R"({"model":null,)" + msgs + "}", "model",
       "Invalid type for 'model': expected a string, but got null instead."},
      {R"({"model":["a"],)" + msgs + "}", "model",
       "Invalid type for 'model': expected a string, but got an array instead."},
      {R"({"model":"m","messages":"hi"})", "messages",
       "Invalid type for 'messages': expected an array of objects, but got a string instead."},
      {R"({"model":"m","messages":{"role":"user"}})", "messages",
       "Invalid type for 'messages': expected an array of objects, but got an object instead."},
      {R"({"model":"m",)" + msgs + R"(,"stream":"true"})", "stream",
       "Invalid type for 'stream': expected a boolean, but got a string instead."},
      {R"({"model":"m",)" + msgs + R"(,"stream":1})", "stream",
       "Invalid type for 'stream': expected a boolean, but got an integer instead."},
      {R"({"model":"m",)" + msgs + R"(,"stream":true,"stream_options":true})", "stream_options",
       "Invalid type for 'stream_options': expected an object, but got a boolean instead."},
      {R"({"model":"m",)" + msgs + R"(,"stream_options":[]})", "stream_options",
       "Invalid type for 'stream_options': expected an object, but got an array instead."},
      {R"({"model":"m",)" + msgs + R"(,"stream_options":{"include_usage":1.5}})",
       "stream_options.include_usage",
       "Invalid type for 'stream_options.include_usage': expected a boolean, but got a decimal "
       "instead."},
  };
  for (const auto& c : cases) {
    const Error e = error_of(c.body);
    EXPECT_EQ(e.kind, ErrorKind::InvalidRequest) << c.body;
    EXPECT_EQ(e.code, "invalid_type") << c.body;
    EXPECT_EQ(e.param, c.param) << c.body;
    EXPECT_EQ(e.public_message, c.message) << c.body;
  }
}

TEST(InspectChatRequestErrors, EmptyValues) {
  const Error empty_messages = error_of(R"({"model":"m","messages":[ ]})");
  EXPECT_EQ(empty_messages.code, "empty_array");
  EXPECT_EQ(empty_messages.param, "messages");
  const Error empty_model = error_of(R"({"model":"","messages":[{}]})");
  EXPECT_EQ(empty_model.code, "empty_string");
  EXPECT_EQ(empty_model.param, "model");
}

TEST(InspectChatRequestErrors, DuplicateKeysTheGatewayActsOn) {
  // With two "model" members a first-wins upstream parser would serve a different model than
  // the one the gateway routed and billed. An escaped key is the same key.
  const Error e = error_of(R"({"model":"cheap","messages":[{}],"mod\u0065l":"expensive"})");
  EXPECT_EQ(e.code, "duplicate_parameter");
  EXPECT_EQ(e.param, "model");
  EXPECT_EQ(error_of(R"({"model":"m","messages":[{}],"stream":true,"stream":false})").param,
            "stream");
  EXPECT_EQ(error_of(R"({"model":"m","messages":[{}],"stream":true,)"
                     R"("stream_options":{"include_usage":false,"include_usage":true}})")
                .param,
            "stream_options.include_usage");
  // Keys the gateway does not interpret are passed through untouched.
  EXPECT_TRUE(inspect_chat_request(R"({"model":"m","messages":[{}],"user":"a","user":"b"})"));
}

TEST(InspectChatRequest, OptionalFieldsAndFlags) {
  const auto r = inspect_chat_request(
      R"({"model":"gpt\u002d4o","messages":[{}],"stream":null,"stream_options":null,"tools":[]})");
  ASSERT_TRUE(r) << r.error().public_message;
  EXPECT_EQ(r->model, "gpt-4o");  // unescaped
  EXPECT_FALSE(r->stream);
  EXPECT_FALSE(r->include_usage);
  EXPECT_FALSE(r->has_tools);  // an empty tools array

  const auto s = inspect_chat_request(
      R"({"model":"m","messages":[{}],"stream":true,"stream_options":{"include_usage":true},)"
      R"("tools":[{"type":"function"}]})");
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->stream);
  EXPECT_TRUE(s->include_usage);
  EXPECT_TRUE(s->has_tools);

  const auto t = inspect_chat_request(
      R"({"model":"m","messages":[{}],"stream":false,"stream_options":{"include_usage":false}})");
  ASSERT_TRUE(t);
  EXPECT_FALSE(t->stream);
  EXPECT_FALSE(t->include_usage);
}

// ---------------------------------------------------------------------------------------------
// rewrite_chat_request

std::string rewrite(std::string_view body, std::string_view model, bool force) {
  const auto info = inspect_chat_request(body);
  EXPECT_TRUE(info) << body << ": " << (info ? "" : info.error().public_message);
  if (!info) {
    return {};
  }
  return rewrite_chat_request(body, *info, model, force);
}

TEST(RewriteChatRequest, ModelAnywhereKeepsEveryOtherByte) {
  struct Case {
    std::string body;
    std::string expected;
  };
  const Case cases[] = {
      {R"({"model":"route-a","messages":[{"role":"user","content":"hi"}]})",
       R"({"model":"up-1","messages":[{"role":"user","content":"hi"}]})"},
      {R"({"messages":[{"role":"user","content":"hi"}],"model":"route-a"})",
       R"({"messages":[{"role":"user","content":"hi"}],"model":"up-1"})"},
      {R"({"temperature":0.5,"model":"route-a","messages":[{"content":"\"model\":\"x\""}]})",
       R"({"temperature":0.5,"model":"up-1","messages":[{"content":"\"model\":\"x\""}]})"},
      {"{\n  \"messages\" : [ {\"role\": \"user\", \"content\": \"hi\"} ] ,\n"
       "  \"model\"\t:\r\n \"route-a\"  ,\n  \"n\" : 1\n}\n",
       "{\n  \"messages\" : [ {\"role\": \"user\", \"content\": \"hi\"} ] ,\n"
       "  \"model\"\t:\r\n \"up-1\"  ,\n  \"n\" : 1\n}\n"},
      {R"({"model":"r\u00e9oute","messages":[{"model":"nested stays"}],"metadata":{"model":"x"}})",
       R"({"model":"up-1","messages":[{"model":"nested stays"}],"metadata":{"model":"x"}})"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(rewrite(c.body, "up-1", false), c.expected);
    // force_include_usage has no effect on a non-streaming request.
    EXPECT_EQ(rewrite(c.body, "up-1", true), c.expected);
  }
}

TEST(RewriteChatRequest, UpstreamModelIsQuoted) {
  const std::string out = rewrite(R"({"model":"a","messages":[{}]})", "we\"ird\\name\n", false);
  EXPECT_EQ(out, R"({"model":"we\"ird\\name\n","messages":[{}]})");
  EXPECT_EQ(json::parse(out).at("model").as_string(), "we\"ird\\name\n");
}

TEST(RewriteChatRequest, FixtureRequestsOnlyChangeTheModelValue) {
  for (const auto& path : files_ending(kFixtures / "openai", ".request.json")) {
    const std::string body = read_file(path);
    const auto info = inspect_chat_request(body);
    if (!info) {
      continue;  // chat-no-messages
    }
    const std::string out = rewrite_chat_request(body, *info, "upstream-model", true);
    const codec::JsonMember* m = info->scan.find("model");
    ASSERT_NE(m, nullptr);
    const std::string prefix = body.substr(0, m->value_offset);
    const std::string suffix = body.substr(m->value_offset + m->value_length);
    if (!info->stream) {
      EXPECT_EQ(out, prefix + "\"upstream-model\"" + suffix) << path;
    }
    json::value expected = json::parse(body);
    expected.as_object()["model"] = "upstream-model";
    if (info->stream) {
      expected.as_object()["stream_options"] = json::object{{"include_usage", true}};
    }
    EXPECT_EQ(json::parse(out), expected) << path;
  }
}

constexpr std::string_view kMsgs = R"("messages":[{"role":"user","content":"hi"}])";

std::string body_with(std::string_view middle) {
  return "{\"model\":\"r\"," + std::string(kMsgs) + std::string(middle) + "}";
}

TEST(RewriteChatRequest, StreamOptionsAbsentIsAppended) {
  const std::string body = "{\"model\":\"r\", " + std::string(kMsgs) + ",\"stream\":true \n}";
  EXPECT_EQ(rewrite(body, "u", true),
            "{\"model\":\"u\", " + std::string(kMsgs) +
                ",\"stream\":true,\"stream_options\":{\"include_usage\":true} \n}");
  // Not forced: untouched apart from the model.
  EXPECT_EQ(rewrite(body, "u", false),
            "{\"model\":\"u\", " + std::string(kMsgs) + ",\"stream\":true \n}");
}

TEST(RewriteChatRequest, StreamOptionsAppendedAfterModelWhenModelIsLast) {
  const std::string body = "{" + std::string(kMsgs) + ",\"stream\":true,\"model\":\"r\"}";
  EXPECT_EQ(rewrite(body, "u", true), "{" + std::string(kMsgs) +
                                          ",\"stream\":true,\"model\":\"u\","
                                          "\"stream_options\":{\"include_usage\":true}}");
}

TEST(RewriteChatRequest, IncludeUsageFalseIsFlippedInPlace) {
  EXPECT_EQ(rewrite(body_with(R"(,"stream":true,"stream_options":{ "include_usage" : false })"),
                    "u", true),
            R"({"model":"u",)" + std::string(kMsgs) +
                R"(,"stream":true,"stream_options":{ "include_usage" : true }})");
  EXPECT_EQ(rewrite(body_with(R"(,"stream_options":{"include_usage":null},"stream":true)"), "u",
                    true),
            R"({"model":"u",)" + std::string(kMsgs) +
                R"(,"stream_options":{"include_usage":true},"stream":true})");
}

TEST(RewriteChatRequest, IncludeUsageAddedToExistingStreamOptions) {
  EXPECT_EQ(rewrite(body_with(R"(,"stream":true,"stream_options":{"x":1})"), "u", true),
            R"({"model":"u",)" + std::string(kMsgs) +
                R"(,"stream":true,"stream_options":{"include_usage":true,"x":1}})");
  EXPECT_EQ(rewrite(body_with(R"(,"stream":true,"stream_options":{ })"), "u", true),
            R"({"model":"u",)" + std::string(kMsgs) +
                R"(,"stream":true,"stream_options":{"include_usage":true }})");
  EXPECT_EQ(rewrite(body_with(R"(,"stream":true,"stream_options":null)"), "u", true),
            R"({"model":"u",)" + std::string(kMsgs) +
                R"(,"stream":true,"stream_options":{"include_usage":true}})");
}

TEST(RewriteChatRequest, IncludeUsageTrueOrNotStreamingIsLeftAlone) {
  const std::string already =
      body_with(R"(,"stream":true,"stream_options":{"include_usage":true})");
  EXPECT_EQ(rewrite(already, "r", true), already);
  const std::string not_streaming =
      body_with(R"(,"stream":false,"stream_options":{"include_usage":false})");
  EXPECT_EQ(rewrite(not_streaming, "r", true), not_streaming);
  EXPECT_EQ(rewrite(body_with(""), "r", true), body_with(""));
}

TEST(RewriteChatRequest, ForcedOutputsAreValidAndAskForUsage) {
  for (std::string_view extra :
       {R"(,"stream":true)", R"(,"stream":true,"stream_options":{"include_usage":false})",
        R"(,"stream":true,"stream_options":{})", R"(,"stream":true,"stream_options":null)",
        R"(,"stream":true,"stream_options":{"a":[1,{"include_usage":false}]})"}) {
    const std::string out = rewrite(body_with(extra), "u", true);
    const auto info = inspect_chat_request(out);
    ASSERT_TRUE(info) << out;
    EXPECT_TRUE(info->include_usage) << out;
    EXPECT_TRUE(info->stream) << out;
    EXPECT_EQ(info->model, "u");
  }
}

// ---------------------------------------------------------------------------------------------
// usage_from_openai

TEST(UsageFromOpenAi, ChatBasic) {
  const auto u = usage_from_openai(read_file(kFixtures / "openai" / "chat-basic.response.json"));
  ASSERT_TRUE(u);
  EXPECT_EQ(u->input_tokens, 8);
  EXPECT_EQ(u->output_tokens, 377);
  EXPECT_EQ(u->cached_input_tokens, 0);
  EXPECT_EQ(u->reasoning_tokens, 320);
  EXPECT_EQ(u->cache_write_tokens, std::nullopt);  // OpenAI does not report cache writes
}

TEST(UsageFromOpenAi, ChatReasoning) {
  const auto u =
      usage_from_openai(read_file(kFixtures / "openai" / "chat-reasoning.response.json"));
  ASSERT_TRUE(u);
  EXPECT_EQ(u->input_tokens, 27);
  EXPECT_EQ(u->output_tokens, 267);
  EXPECT_EQ(u->cached_input_tokens, 0);
  EXPECT_EQ(u->reasoning_tokens, 192);
}

TEST(UsageFromOpenAi, AbsentNullOrMalformed) {
  EXPECT_EQ(usage_from_openai(R"({"id":"x"})"), std::nullopt);
  EXPECT_EQ(usage_from_openai(R"({"usage":null})"), std::nullopt);
  EXPECT_EQ(usage_from_openai(R"({"usage":[1]})"), std::nullopt);
  EXPECT_EQ(usage_from_openai(R"({"usage":{"prompt_tokens":1})"), std::nullopt);  // truncated
  EXPECT_EQ(usage_from_openai("[]"), std::nullopt);
  EXPECT_EQ(usage_from_openai(R"({"choices":[{"usage":{"prompt_tokens":1}}]})"), std::nullopt);

  const auto partial = usage_from_openai(
      R"({"usage":{"prompt_tokens":5,"completion_tokens":-1,"prompt_tokens_details":null}})");
  ASSERT_TRUE(partial);
  EXPECT_EQ(partial->input_tokens, 5);
  EXPECT_EQ(partial->output_tokens, std::nullopt);  // a negative count is not a count
  EXPECT_EQ(partial->cached_input_tokens, std::nullopt);

  const auto cached = usage_from_openai(
      R"({"usage":{"prompt_tokens":2006,"completion_tokens":300,)"
      R"("prompt_tokens_details":{"cached_tokens":1920},)"
      R"("completion_tokens_details":{"reasoning_tokens":64}}})");
  ASSERT_TRUE(cached);
  EXPECT_EQ(cached->cached_input_tokens, 1920);
  EXPECT_EQ(cached->reasoning_tokens, 64);
}

// ---------------------------------------------------------------------------------------------
// inspect_chunk

std::vector<codec::SseEvent> events_of(const fs::path& path) {
  codec::SseParser parser;
  std::vector<codec::SseEvent> events;
  parser.feed(read_file(path), events);
  parser.finish(events);
  return events;
}

TEST(InspectChunk, IncludeUsageStream) {
  const auto events = events_of(kFixtures / "openai" / "stream-text-include-usage.sse");
  ASSERT_GE(events.size(), 3U);
  std::size_t usage_only = 0;
  std::size_t usage_index = 0;
  for (std::size_t i = 0; i < events.size(); ++i) {
    const ChunkInfo c = inspect_chunk(events[i].data);
    EXPECT_FALSE(c.is_error) << i;
    EXPECT_EQ(c.done, i + 1 == events.size()) << i;
    if (c.usage_only) {
      ++usage_only;
      usage_index = i;
      ASSERT_TRUE(c.usage);
      EXPECT_EQ(c.usage->input_tokens, 14);
      EXPECT_EQ(c.usage->output_tokens, 30);
      EXPECT_EQ(c.usage->reasoning_tokens, 0);
      EXPECT_EQ(c.usage->cached_input_tokens, std::nullopt);
    } else {
      EXPECT_FALSE(c.usage) << i;
    }
  }
  EXPECT_EQ(usage_only, 1U);
  EXPECT_EQ(usage_index + 2, events.size());  // the last chunk before [DONE]
}

TEST(InspectChunk, AgreesWithAFullParseOnEveryOpenAiStream) {
  for (const auto& path : files_ending(kFixtures / "openai", ".sse")) {
    for (const auto& ev : events_of(path)) {
      const ChunkInfo c = inspect_chunk(ev.data);
      if (ev.data == "[DONE]") {
        EXPECT_TRUE(c.done);
        continue;
      }
      const json::object obj = json::parse(ev.data).as_object();
      const json::value* usage = obj.if_contains("usage");
      const bool has_usage = usage != nullptr && usage->is_object();
      EXPECT_EQ(c.usage.has_value(), has_usage) << path;
      const json::value* choices = obj.if_contains("choices");
      EXPECT_EQ(c.usage_only,
                has_usage && choices != nullptr && choices->is_array() &&
                    choices->as_array().empty())
          << path;
      if (has_usage) {
        EXPECT_EQ(c.usage->input_tokens, usage->at("prompt_tokens").as_int64()) << path;
        EXPECT_EQ(c.usage->output_tokens, usage->at("completion_tokens").as_int64()) << path;
      }
      EXPECT_FALSE(c.is_error);
      EXPECT_FALSE(c.done);
    }
  }
}

TEST(InspectChunk, BareErrorObject) {
  const ChunkInfo c = inspect_chunk(
      R"({"error":{"message":"The server had an error while processing your request.",)"
      R"("type":"server_error","param":null,"code":null}})");
  EXPECT_TRUE(c.is_error);
  EXPECT_FALSE(c.done);
  EXPECT_FALSE(c.usage_only);
  EXPECT_FALSE(c.usage);
}

TEST(InspectChunk, OrdinaryChunksAndLookAlikes) {
  // "usage": null on every chunk when include_usage is on.
  const ChunkInfo nulls = inspect_chunk(
      R"({"id":"c","choices":[{"index":0,"delta":{"content":"Hi"}}],"usage":null})");
  EXPECT_FALSE(nulls.usage);
  EXPECT_FALSE(nulls.usage_only);
  // The words inside content are not members.
  const ChunkInfo words = inspect_chunk(
      R"({"choices":[{"delta":{"content":"\"usage\": {\"error\": {}}"}}]})");
  EXPECT_FALSE(words.usage);
  EXPECT_FALSE(words.is_error);
  // Nested objects named usage/error are not the top-level ones.
  const ChunkInfo nested = inspect_chunk(
      R"({"choices":[{"delta":{"tool_calls":[{"function":{"arguments":""}}]},)"
      R"("usage":{"prompt_tokens":1},"error":{"x":1}}]})");
  EXPECT_FALSE(nested.usage);
  EXPECT_FALSE(nested.is_error);
  EXPECT_FALSE(inspect_chunk(R"({"error":null,"choices":[]})").is_error);
  // Usage on a chunk that still has choices: reported, but not usage_only.
  const ChunkInfo with_choices = inspect_chunk(
      R"({"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],)"
      R"("usage":{"prompt_tokens":3,"completion_tokens":4}})");
  ASSERT_TRUE(with_choices.usage);
  EXPECT_EQ(with_choices.usage->output_tokens, 4);
  EXPECT_FALSE(with_choices.usage_only);
  // Usage without a choices member at all is not the include_usage chunk either.
  EXPECT_FALSE(inspect_chunk(R"({"usage":{"prompt_tokens":3}})").usage_only);
  EXPECT_TRUE(inspect_chunk(R"({"choices": [ ] ,"usage" : {"prompt_tokens":3}})").usage_only);
}

TEST(InspectChunk, DoneAndDegenerateData) {
  EXPECT_TRUE(inspect_chunk("[DONE]").done);
  EXPECT_TRUE(inspect_chunk(" [DONE]  ").done);
  EXPECT_FALSE(inspect_chunk("[DONE] x").done);
  const ChunkInfo empty = inspect_chunk("");
  EXPECT_FALSE(empty.done || empty.is_error || empty.usage_only || empty.usage);
  const ChunkInfo garbage = inspect_chunk(R"({"usage":{"prompt_tokens":1})");  // truncated
  EXPECT_FALSE(garbage.usage);
  EXPECT_FALSE(inspect_chunk(R"({"error":{)").is_error);
}

}  // namespace
}  // namespace sy::providers
