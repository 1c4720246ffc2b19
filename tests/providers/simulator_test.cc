#include "providers/simulator.h"

#include "providers/openai_compat.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

namespace sy::providers {
namespace {

namespace json = boost::json;

constexpr std::string_view kId = "chatcmpl-sim0123456789abcdefghijkl";
constexpr std::int64_t kCreated = 1755133833;

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::filesystem::path fixtures() { return std::filesystem::path(SY_FIXTURES_DIR); }

json::value parse(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  EXPECT_FALSE(ec) << ec.message() << " in: " << text;
  return v;
}

std::set<std::string> keys(const json::value& v) {
  std::set<std::string> out;
  for (const auto& kv : v.as_object()) {
    out.emplace(kv.key());
  }
  return out;
}

std::string str(const json::value& v) { return std::string(v.as_string()); }

SimRequest text_request(bool include_usage = false) {
  SimRequest req;
  req.model = "gpt-sim-1";
  req.stream = true;
  req.include_usage = include_usage;
  req.prompt_tokens = 7;
  return req;
}

SimRequest tool_request(bool include_usage = false) {
  SimRequest req = text_request(include_usage);
  req.tool_name = "get_weather";
  return req;
}

SimulatorScript script(SimulatorContent content = {}) {
  return SimulatorScript(std::move(content), std::string(kId), kCreated);
}

// The JSON data of one SSE event, checking the framing: "data: " + one line + "\n\n".
std::string_view event_data(std::string_view event) {
  EXPECT_TRUE(event.starts_with("data: ")) << event;
  EXPECT_TRUE(event.ends_with("\n\n")) << event;
  if (!event.starts_with("data: ") || !event.ends_with("\n\n")) {
    return {};
  }
  std::string_view data = event.substr(6, event.size() - 8);
  EXPECT_EQ(data.find('\n'), std::string_view::npos) << event;
  EXPECT_EQ(data.find('\r'), std::string_view::npos) << event;
  return data;
}

// Parses every event but the final [DONE], which it checks.
std::vector<json::value> parse_events(const std::vector<std::string>& events) {
  EXPECT_GE(events.size(), 3U);
  EXPECT_EQ(events.back(), "data: [DONE]\n\n");
  std::vector<json::value> chunks;
  for (std::size_t i = 0; i + 1 < events.size(); ++i) {
    chunks.push_back(parse(event_data(events[i])));
    EXPECT_TRUE(chunks.back().is_object()) << events[i];
  }
  return chunks;
}

// Checks the fields every chunk repeats.
void expect_chunk_header(const json::value& chunk, std::string_view model) {
  EXPECT_EQ(str(chunk.at("id")), kId);
  EXPECT_EQ(chunk.at("object"), "chat.completion.chunk");
  EXPECT_EQ(chunk.at("created"), kCreated);
  EXPECT_EQ(str(chunk.at("model")), model);
  EXPECT_EQ(chunk.at("service_tier"), "default");
  EXPECT_TRUE(chunk.at("system_fingerprint").is_null());
}

const json::object& only_choice(const json::value& chunk) {
  const json::array& choices = chunk.at("choices").as_array();
  EXPECT_EQ(choices.size(), 1U);
  EXPECT_EQ(choices.at(0).at("index"), 0);
  EXPECT_TRUE(choices.at(0).at("logprobs").is_null());
  return choices.at(0).as_object();
}

json::value expected_usage(std::int64_t prompt, std::int64_t completion) {
  return json::object{
      {"prompt_tokens", prompt},
      {"completion_tokens", completion},
      {"total_tokens", prompt + completion},
      {"prompt_tokens_details", {{"cached_tokens", 0}, {"audio_tokens", 0}}},
      {"completion_tokens_details",
       {{"reasoning_tokens", 0},
        {"audio_tokens", 0},
        {"accepted_prediction_tokens", 0},
        {"rejected_prediction_tokens", 0}}}};
}

std::size_t word_count(std::string_view text) {
  std::size_t n = 0;
  bool in_word = false;
  for (const char c : text) {
    if (c != ' ' && !in_word) {
      ++n;
    }
    in_word = c != ' ';
  }
  return n;
}

// What the client sees when it concatenates a stream's content deltas.
struct StreamedText {
  std::string content;
  std::size_t content_chunks = 0;
  std::string finish_reason;
};

StreamedText collect_text(const std::vector<json::value>& chunks) {
  StreamedText out;
  for (const json::value& chunk : chunks) {
    const json::array& choices = chunk.at("choices").as_array();
    if (choices.empty()) {
      continue;
    }
    const json::object& delta = choices.at(0).at("delta").as_object();
    if (const json::value* content = delta.if_contains("content")) {
      if (content->is_string() && !delta.contains("role")) {
        out.content += str(*content);
        ++out.content_chunks;
      }
    }
    if (!choices.at(0).at("finish_reason").is_null()) {
      out.finish_reason = str(choices.at(0).at("finish_reason"));
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// completion()

TEST(SimulatorCompletion, TextAnswerIsOpenAiShaped) {
  const std::string body = script().completion(text_request());
  const json::value v = parse(body);

  EXPECT_EQ(keys(v), (std::set<std::string>{"id", "object", "created", "model", "choices", "usage",
                                            "service_tier", "system_fingerprint"}));
  EXPECT_EQ(str(v.at("id")), kId);
  EXPECT_EQ(v.at("object"), "chat.completion");
  EXPECT_EQ(v.at("created"), kCreated);
  EXPECT_EQ(v.at("model"), "gpt-sim-1");
  EXPECT_EQ(v.at("service_tier"), "default");
  EXPECT_TRUE(v.at("system_fingerprint").is_null());

  const json::array& choices = v.at("choices").as_array();
  ASSERT_EQ(choices.size(), 1U);
  EXPECT_EQ(keys(choices[0]),
            (std::set<std::string>{"index", "message", "logprobs", "finish_reason"}));
  EXPECT_EQ(choices[0].at("index"), 0);
  EXPECT_TRUE(choices[0].at("logprobs").is_null());
  EXPECT_EQ(choices[0].at("finish_reason"), "stop");

  const json::value& message = choices[0].at("message");
  EXPECT_EQ(keys(message), (std::set<std::string>{"role", "content", "refusal", "annotations"}));
  EXPECT_EQ(message.at("role"), "assistant");
  EXPECT_TRUE(message.at("refusal").is_null());
  EXPECT_TRUE(message.at("annotations").as_array().empty());
  const std::string content = str(message.at("content"));
  EXPECT_EQ(word_count(content), 20U);
  EXPECT_TRUE(content.starts_with("The simulated upstream")) << content;
  EXPECT_TRUE(content.ends_with(".")) << content;  // the default is one whole sentence
  EXPECT_FALSE(content.ends_with(" "));
  EXPECT_EQ(content.find("  "), std::string::npos);

  EXPECT_EQ(v.at("usage"), expected_usage(7, 20));
}

TEST(SimulatorCompletion, KeysMatchTheRecordedFixture) {
  const json::value recorded =
      parse(read_file(fixtures() / "openai" / "chat-basic.response.json"));
  const json::value ours = parse(script().completion(text_request()));
  EXPECT_EQ(keys(ours), keys(recorded));
  EXPECT_EQ(keys(ours.at("usage")), keys(recorded.at("usage")));
  EXPECT_EQ(keys(ours.at("usage").at("prompt_tokens_details")),
            keys(recorded.at("usage").at("prompt_tokens_details")));
  EXPECT_EQ(keys(ours.at("usage").at("completion_tokens_details")),
            keys(recorded.at("usage").at("completion_tokens_details")));
  const json::value& our_choice = ours.at("choices").at(0);
  const json::value& recorded_choice = recorded.at("choices").at(0);
  EXPECT_EQ(keys(our_choice.at("message")), keys(recorded_choice.at("message")));
  for (const std::string& key : keys(recorded_choice)) {
    EXPECT_TRUE(our_choice.as_object().contains(key)) << key;
  }

  const json::value recorded_tool =
      parse(read_file(fixtures() / "openai" / "chat-tools.response.json"));
  const json::value ours_tool = parse(script().completion(tool_request()));
  const json::value& rm = recorded_tool.at("choices").at(0).at("message");
  const json::value& om = ours_tool.at("choices").at(0).at("message");
  EXPECT_EQ(keys(om), keys(rm));
  EXPECT_EQ(keys(om.at("tool_calls").at(0)), keys(rm.at("tool_calls").at(0)));
  EXPECT_EQ(keys(om.at("tool_calls").at(0).at("function")),
            keys(rm.at("tool_calls").at(0).at("function")));
  EXPECT_EQ(str(om.at("tool_calls").at(0).at("id")).size(),
            str(rm.at("tool_calls").at(0).at("id")).size());
}

TEST(SimulatorCompletion, TokenCountControlsGeneratedWords) {
  for (const std::uint32_t tokens : {0U, 1U, 2U, 37U, 500U}) {
    SimulatorContent content;
    content.tokens = tokens;
    const json::value v = parse(script(content).completion(text_request()));
    const std::string text = str(v.at("choices").at(0).at("message").at("content"));
    EXPECT_EQ(word_count(text), tokens);
    EXPECT_EQ(v.at("usage").at("completion_tokens"), tokens);
    EXPECT_EQ(v.at("choices").at(0).at("finish_reason"), "stop");
    if (tokens > 0) {
      EXPECT_FALSE(text.starts_with(" "));
      EXPECT_FALSE(text.ends_with(" "));
    }
  }
}

TEST(SimulatorCompletion, FixedTextIsVerbatimAndEscaped) {
  SimulatorContent content;
  content.text = "Say \"hi\" to C:\\path,\nthen\ttab \x01 and caf\xc3\xa9 \xe2\x9c\x93";
  const std::string body = script(content).completion(text_request());
  const json::value v = parse(body);
  EXPECT_EQ(str(v.at("choices").at(0).at("message").at("content")), content.text);
  EXPECT_EQ(v.at("usage").at("completion_tokens"), 8);  // "\n" and "\t" do not split words
  EXPECT_EQ(body.find('\n'), std::string::npos);
}

TEST(SimulatorCompletion, FixedTextKeepsIrregularSpacing) {
  SimulatorContent content;
  content.text = "  two  spaces   here ";
  const json::value v = parse(script(content).completion(text_request()));
  EXPECT_EQ(str(v.at("choices").at(0).at("message").at("content")), content.text);
  EXPECT_EQ(v.at("usage").at("completion_tokens"), 3);
}

TEST(SimulatorCompletion, ToolCall) {
  const json::value v = parse(script().completion(tool_request()));
  const json::value& choice = v.at("choices").at(0);
  EXPECT_EQ(choice.at("finish_reason"), "tool_calls");
  const json::value& message = choice.at("message");
  EXPECT_EQ(message.at("role"), "assistant");
  EXPECT_TRUE(message.at("content").is_null());
  EXPECT_TRUE(message.at("refusal").is_null());
  EXPECT_TRUE(message.at("annotations").as_array().empty());

  const json::array& calls = message.at("tool_calls").as_array();
  ASSERT_EQ(calls.size(), 1U);
  EXPECT_EQ(keys(calls[0]), (std::set<std::string>{"id", "type", "function"}));
  const std::string id = str(calls[0].at("id"));
  EXPECT_TRUE(id.starts_with("call_")) << id;
  EXPECT_EQ(id.size(), 29U);
  EXPECT_TRUE(std::all_of(id.begin() + 5, id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  })) << id;
  EXPECT_EQ(calls[0].at("type"), "function");
  EXPECT_EQ(calls[0].at("function").at("name"), "get_weather");
  const json::value args = parse(str(calls[0].at("function").at("arguments")));
  ASSERT_TRUE(args.is_object());
  EXPECT_EQ(args, (json::object{{"query", "simulated"}}));

  const std::int64_t fragments = v.at("usage").at("completion_tokens").as_int64();
  EXPECT_GE(fragments, 3);
  EXPECT_EQ(v.at("usage"), expected_usage(7, fragments));
}

TEST(SimulatorCompletion, ToolCallsDisabledAnswersWithText) {
  SimulatorContent content;
  content.tool_calls = false;
  const json::value v = parse(script(content).completion(tool_request()));
  const json::value& choice = v.at("choices").at(0);
  EXPECT_EQ(choice.at("finish_reason"), "stop");
  EXPECT_TRUE(choice.at("message").at("content").is_string());
  EXPECT_FALSE(choice.at("message").as_object().contains("tool_calls"));
}

TEST(SimulatorCompletion, MaxTokensTruncatesWithLength) {
  SimRequest req = text_request();
  req.max_tokens = 5;
  const json::value full = parse(script().completion(text_request()));
  const json::value cut = parse(script().completion(req));
  const std::string full_text = str(full.at("choices").at(0).at("message").at("content"));
  const std::string cut_text = str(cut.at("choices").at(0).at("message").at("content"));
  EXPECT_EQ(word_count(cut_text), 5U);
  EXPECT_TRUE(full_text.starts_with(cut_text));
  EXPECT_FALSE(cut_text.ends_with(" "));
  EXPECT_EQ(cut.at("choices").at(0).at("finish_reason"), "length");
  EXPECT_EQ(cut.at("usage"), expected_usage(7, 5));

  req.max_tokens = 20;  // exactly the answer's size: not truncated
  const json::value exact = parse(script().completion(req));
  EXPECT_EQ(exact.at("choices").at(0).at("finish_reason"), "stop");
  EXPECT_EQ(exact.at("usage").at("completion_tokens"), 20);

  req.max_tokens = 0;
  const json::value none = parse(script().completion(req));
  EXPECT_EQ(none.at("choices").at(0).at("message").at("content"), "");
  EXPECT_EQ(none.at("choices").at(0).at("finish_reason"), "length");
  EXPECT_EQ(none.at("usage").at("completion_tokens"), 0);
}

TEST(SimulatorCompletion, MaxTokensTruncatesToolArguments) {
  SimRequest req = tool_request();
  req.max_tokens = 2;
  const json::value v = parse(script().completion(req));
  const json::value& choice = v.at("choices").at(0);
  EXPECT_EQ(choice.at("finish_reason"), "length");
  EXPECT_EQ(choice.at("message").at("tool_calls").at(0).at("function").at("arguments"),
            "{\"query");
  EXPECT_EQ(v.at("usage").at("completion_tokens"), 2);
}

TEST(SimulatorCompletion, EscapesModelAndId) {
  SimRequest req = text_request();
  req.model = "we\"ird\\model";
  const SimulatorScript s(SimulatorContent{}, "id\"1", 1);
  const json::value v = parse(s.completion(req));
  EXPECT_EQ(v.at("model"), "we\"ird\\model");
  EXPECT_EQ(v.at("id"), "id\"1");
  const std::vector<json::value> chunks = parse_events(s.stream_events(req));
  EXPECT_EQ(chunks.front().at("model"), "we\"ird\\model");
  EXPECT_EQ(chunks.front().at("id"), "id\"1");
}

// ---------------------------------------------------------------------------------------------
// stream_events()

TEST(SimulatorStream, TextWithoutUsage) {
  const SimRequest req = text_request(false);
  const std::vector<std::string> events = script().stream_events(req);
  const std::vector<json::value> chunks = parse_events(events);
  // role + 20 words + finish, then [DONE].
  ASSERT_EQ(chunks.size(), 22U);

  for (const json::value& chunk : chunks) {
    expect_chunk_header(chunk, "gpt-sim-1");
    EXPECT_FALSE(chunk.as_object().contains("usage")) << chunk;
    EXPECT_EQ(keys(chunk), (std::set<std::string>{"id", "object", "created", "model",
                                                  "service_tier", "system_fingerprint",
                                                  "choices"}));
    const json::object& choice = only_choice(chunk);
    EXPECT_EQ(keys(choice),
              (std::set<std::string>{"index", "delta", "logprobs", "finish_reason"}));
  }

  EXPECT_EQ(only_choice(chunks.front()).at("delta"),
            (json::object{{"role", "assistant"}, {"content", ""}, {"refusal", nullptr}}));
  EXPECT_TRUE(only_choice(chunks.front()).at("finish_reason").is_null());
  for (std::size_t i = 1; i + 1 < chunks.size(); ++i) {
    const json::object& choice = only_choice(chunks[i]);
    EXPECT_EQ(keys(choice.at("delta")), (std::set<std::string>{"content"}));
    EXPECT_EQ(word_count(str(choice.at("delta").at("content"))), 1U);
    EXPECT_TRUE(choice.at("finish_reason").is_null());
  }
  const json::object& last = only_choice(chunks.back());
  EXPECT_TRUE(last.at("delta").as_object().empty());
  EXPECT_EQ(last.at("finish_reason"), "stop");

  const StreamedText streamed = collect_text(chunks);
  const json::value full = parse(script().completion(req));
  EXPECT_EQ(streamed.content, str(full.at("choices").at(0).at("message").at("content")));
  EXPECT_EQ(streamed.content_chunks, 20U);
  EXPECT_EQ(streamed.finish_reason, "stop");
}

TEST(SimulatorStream, TextWithUsage) {
  const SimRequest req = text_request(true);
  const std::vector<json::value> chunks = parse_events(script().stream_events(req));
  // role + 20 words + finish + usage.
  ASSERT_EQ(chunks.size(), 23U);
  for (std::size_t i = 0; i + 1 < chunks.size(); ++i) {
    expect_chunk_header(chunks[i], "gpt-sim-1");
    ASSERT_TRUE(chunks[i].as_object().contains("usage")) << chunks[i];
    EXPECT_TRUE(chunks[i].at("usage").is_null());
    only_choice(chunks[i]);
  }
  EXPECT_EQ(only_choice(chunks[chunks.size() - 2]).at("finish_reason"), "stop");

  const json::value& usage_chunk = chunks.back();
  expect_chunk_header(usage_chunk, "gpt-sim-1");
  EXPECT_TRUE(usage_chunk.at("choices").as_array().empty());
  const json::value full = parse(script().completion(req));
  EXPECT_EQ(usage_chunk.at("usage"), full.at("usage"));
  EXPECT_EQ(usage_chunk.at("usage"), expected_usage(7, 20));
}

TEST(SimulatorStream, ChunkKeysMatchTheRecordedStream) {
  const std::string recorded = read_file(fixtures() / "openai" / "chat-streaming.response.sse");
  const std::size_t end = recorded.find("\n\n");
  ASSERT_NE(end, std::string::npos);
  json::value first = parse(event_data(std::string_view(recorded).substr(0, end + 2)));
  first.as_object().erase("obfuscation");  // random padding we don't imitate
  const std::vector<json::value> ours = parse_events(script().stream_events(text_request()));
  EXPECT_EQ(keys(ours.front()), keys(first));
  EXPECT_EQ(only_choice(ours.front()).at("delta"), first.at("choices").at(0).at("delta"));
}

TEST(SimulatorStream, FixedTextConcatenatesToCompletion) {
  SimulatorContent content;
  content.text = "  Hello,  \"world\"\n ok  ";
  const SimRequest req = text_request(true);
  const std::vector<json::value> chunks = parse_events(script(content).stream_events(req));
  const StreamedText streamed = collect_text(chunks);
  EXPECT_EQ(streamed.content, content.text);
  EXPECT_EQ(streamed.content_chunks, 3U);
  EXPECT_EQ(chunks.back().at("usage").at("completion_tokens"), 3);
}

TEST(SimulatorStream, LengthTruncation) {
  SimRequest req = text_request(true);
  req.max_tokens = 4;
  const std::vector<json::value> chunks = parse_events(script().stream_events(req));
  const StreamedText streamed = collect_text(chunks);
  EXPECT_EQ(streamed.content_chunks, 4U);
  EXPECT_EQ(streamed.finish_reason, "length");
  const json::value full = parse(script().completion(req));
  EXPECT_EQ(streamed.content, str(full.at("choices").at(0).at("message").at("content")));
  EXPECT_EQ(chunks.back().at("usage"), expected_usage(7, 4));

  req.max_tokens = 0;
  const std::vector<json::value> empty = parse_events(script().stream_events(req));
  ASSERT_EQ(empty.size(), 3U);  // role, finish, usage
  EXPECT_EQ(collect_text(empty).finish_reason, "length");
}

TEST(SimulatorStream, ToolCall) {
  for (const bool include_usage : {false, true}) {
    SCOPED_TRACE(include_usage);
    const SimRequest req = tool_request(include_usage);
    const std::vector<json::value> chunks = parse_events(script().stream_events(req));
    const json::value full = parse(script().completion(req));
    const json::value& full_call = full.at("choices").at(0).at("message").at("tool_calls").at(0);
    const std::int64_t fragments = full.at("usage").at("completion_tokens").as_int64();
    // first + fragments + finish (+ usage).
    ASSERT_EQ(chunks.size(), static_cast<std::size_t>(fragments) + 2 + (include_usage ? 1 : 0));

    const json::object& first = only_choice(chunks.front());
    const json::value expected_first = {
        {"role", "assistant"},
        {"content", nullptr},
        {"tool_calls",
         json::array{json::object{
             {"index", 0},
             {"id", full_call.at("id")},
             {"type", "function"},
             {"function", {{"name", "get_weather"}, {"arguments", ""}}}}}},
        {"refusal", nullptr}};
    EXPECT_EQ(first.at("delta"), expected_first);

    std::string arguments;
    for (std::int64_t i = 1; i <= fragments; ++i) {
      const json::object& choice = only_choice(chunks[static_cast<std::size_t>(i)]);
      EXPECT_TRUE(choice.at("finish_reason").is_null());
      const json::array& calls = choice.at("delta").at("tool_calls").as_array();
      ASSERT_EQ(calls.size(), 1U);
      EXPECT_EQ(keys(calls[0]), (std::set<std::string>{"index", "function"}));
      EXPECT_EQ(calls[0].at("index"), 0);
      EXPECT_EQ(keys(calls[0].at("function")), (std::set<std::string>{"arguments"}));
      const std::string fragment = str(calls[0].at("function").at("arguments"));
      EXPECT_FALSE(fragment.empty());
      arguments += fragment;
    }
    EXPECT_EQ(arguments, str(full_call.at("function").at("arguments")));
    EXPECT_TRUE(parse(arguments).is_object());

    const json::object& finish = only_choice(chunks[static_cast<std::size_t>(fragments) + 1]);
    EXPECT_TRUE(finish.at("delta").as_object().empty());
    EXPECT_EQ(finish.at("finish_reason"), "tool_calls");

    for (std::size_t i = 0; i < chunks.size(); ++i) {
      expect_chunk_header(chunks[i], "gpt-sim-1");
      const bool is_usage_chunk = include_usage && i + 1 == chunks.size();
      if (is_usage_chunk) {
        EXPECT_TRUE(chunks[i].at("choices").as_array().empty());
        EXPECT_EQ(chunks[i].at("usage"), full.at("usage"));
      } else if (include_usage) {
        EXPECT_TRUE(chunks[i].at("usage").is_null());
      } else {
        EXPECT_FALSE(chunks[i].as_object().contains("usage"));
      }
    }
  }
}

// The gateway's own fast path reads the simulator's usage as it reads OpenAI's.
TEST(SimulatorStream, FastPathReadsUsage) {
  const SimRequest req = text_request(true);
  const std::optional<ir::Usage> body_usage = usage_from_openai(script().completion(req));
  ASSERT_TRUE(body_usage.has_value());
  EXPECT_EQ(body_usage->input_tokens, 7);
  EXPECT_EQ(body_usage->output_tokens, 20);

  const std::vector<std::string> events = script().stream_events(req);
  std::size_t usage_chunks = 0;
  for (const std::string& event : events) {
    const std::string_view data = event_data(event);
    const ChunkInfo info = inspect_chunk(data);
    EXPECT_FALSE(info.is_error) << data;
    EXPECT_EQ(info.done, data == "[DONE]") << data;
    if (info.usage_only) {
      ++usage_chunks;
      ASSERT_TRUE(info.usage.has_value());
      EXPECT_EQ(info.usage->input_tokens, 7);
      EXPECT_EQ(info.usage->output_tokens, 20);
    } else {
      EXPECT_FALSE(info.usage.has_value()) << data;
    }
  }
  EXPECT_EQ(usage_chunks, 1U);
}

// ---------------------------------------------------------------------------------------------
// determinism

TEST(SimulatorDeterminism, SameInputsSameBytes) {
  SimulatorContent content;
  content.tokens = 33;
  for (const SimRequest& req : {text_request(false), text_request(true), tool_request(true)}) {
    EXPECT_EQ(script(content).completion(req), script(content).completion(req));
    EXPECT_EQ(script(content).stream_events(req), script(content).stream_events(req));
  }
}

TEST(SimulatorDeterminism, ToolCallIdFollowsTheCompletionId) {
  const SimulatorScript a(SimulatorContent{}, "chatcmpl-a", kCreated);
  const SimulatorScript b(SimulatorContent{}, "chatcmpl-b", kCreated);
  const auto call_id = [](const SimulatorScript& s) {
    const json::value v = parse(s.completion(tool_request()));
    return str(v.at("choices").at(0).at("message").at("tool_calls").at(0).at("id"));
  };
  EXPECT_EQ(call_id(a), call_id(a));
  EXPECT_NE(call_id(a), call_id(b));
}

// ---------------------------------------------------------------------------------------------
// sim_request_from_body()

TEST(SimRequestFromBody, RecordedOpenAiRequests) {
  struct Expected {
    bool stream;
    std::string tool;
    std::int64_t max_tokens;
    std::int64_t prompt_tokens;
  };
  // prompt_tokens = ceil(characters of the messages' content / 4), at least 1.
  const std::map<std::string, Expected> expected = {
      {"chat-bad-request", {false, "", 0, 1}},
      {"chat-basic", {false, "", -1, 2}},
      {"chat-json-mode", {false, "", -1, 17}},
      {"chat-multiturn", {false, "", -1, 30}},
      {"chat-no-messages", {false, "", -1, 1}},
      {"chat-reasoning", {false, "", -1, 17}},
      {"chat-streaming", {true, "", -1, 2}},
      {"chat-tools", {false, "get_current_weather", -1, 11}},
      {"chat-unknown-model", {false, "", -1, 2}},
  };
  std::size_t seen = 0;
  for (const auto& entry : std::filesystem::directory_iterator(fixtures() / "openai")) {
    const std::string name = entry.path().filename().string();
    constexpr std::string_view kSuffix = ".request.json";
    if (!name.ends_with(kSuffix)) {
      continue;
    }
    const std::string fixture_case = name.substr(0, name.size() - kSuffix.size());
    SCOPED_TRACE(fixture_case);
    const SimRequest req = sim_request_from_body(read_file(entry.path()), "sim-model");
    EXPECT_EQ(req.model, "sim-model");
    EXPECT_FALSE(req.include_usage);
    EXPECT_GE(req.prompt_tokens, 1);
    const auto it = expected.find(fixture_case);
    if (it == expected.end()) {
      continue;  // a fixture added later: the generic checks above still ran
    }
    ++seen;
    EXPECT_EQ(req.stream, it->second.stream);
    EXPECT_EQ(req.tool_name, it->second.tool);
    EXPECT_EQ(req.max_tokens, it->second.max_tokens);
    EXPECT_EQ(req.prompt_tokens, it->second.prompt_tokens);
  }
  EXPECT_EQ(seen, expected.size());
}

TEST(SimRequestFromBody, SdkCaptures) {
  const auto body_of = [](const std::string& file) {
    const json::value capture =
        parse(read_file(fixtures() / "sdk-requests" / "openai" / file));
    return str(capture.at("request").at("body_raw"));
  };

  const SimRequest tools = sim_request_from_body(body_of("openai.chat.stream_tools.json"), "");
  EXPECT_EQ(tools.model, "gpt-4o-mini");  // no upstream model: the body's
  EXPECT_TRUE(tools.stream);
  EXPECT_TRUE(tools.include_usage);
  EXPECT_EQ(tools.tool_name, "get_weather");
  EXPECT_EQ(tools.max_tokens, -1);
  EXPECT_EQ(tools.prompt_tokens, 4);  // "weather in NYC?" is 15 characters

  const SimRequest plain = sim_request_from_body(body_of("openai.chat.nonstream.json"), "up");
  EXPECT_EQ(plain.model, "up");
  EXPECT_FALSE(plain.stream);
  EXPECT_FALSE(plain.include_usage);
  EXPECT_TRUE(plain.tool_name.empty());
  EXPECT_EQ(plain.prompt_tokens, 1);

  // The captured streaming request drives a stream the SDK would accept: the checks above.
  const std::vector<json::value> chunks =
      parse_events(script().stream_events(sim_request_from_body(
          body_of("openai.chat.stream_tools.json"), "gpt-4o-mini-2024-07-18")));
  EXPECT_EQ(chunks.front().at("model"), "gpt-4o-mini-2024-07-18");
  EXPECT_EQ(chunks.back().at("usage").at("prompt_tokens"), 4);
}

TEST(SimRequestFromBody, ContentPartsAndLimits) {
  const SimRequest req = sim_request_from_body(
      R"({"model":"m","messages":[
           {"role":"system","content":"abcd"},
           {"role":"user","content":[{"type":"text","text":"caf)"
      "\xc3\xa9"
      R"("},{"type":"image_url","image_url":{"url":"data:xyz"}},{"type":"text","text":"1"}]},
           {"role":"assistant","content":null,"tool_calls":[]}],
         "max_completion_tokens":12,"max_tokens":99})",
      "m2");
  // 4 + 4 ("café" is 4 characters, 5 bytes) + 1 = 9 characters -> 3 tokens.
  EXPECT_EQ(req.prompt_tokens, 3);
  EXPECT_EQ(req.max_tokens, 12);  // max_completion_tokens wins over the deprecated max_tokens

  EXPECT_EQ(sim_request_from_body(R"({"messages":[],"max_tokens":7})", "m").max_tokens, 7);
  EXPECT_EQ(sim_request_from_body(R"({"messages":[],"max_tokens":7.0})", "m").max_tokens, 7);
  EXPECT_EQ(sim_request_from_body(R"({"messages":[],"max_tokens":-2})", "m").max_tokens, -1);
  EXPECT_EQ(sim_request_from_body(R"({"messages":[],"max_tokens":2.5})", "m").max_tokens, -1);
}

TEST(SimRequestFromBody, ToolChoice) {
  constexpr std::string_view kTools =
      R"("tools":[{"type":"function","function":{"name":"first"}},)"
      R"({"type":"function","function":{"name":"second"}}])";
  const auto tool_for = [&](std::string_view choice) {
    std::string body = "{\"messages\":[]," + std::string(kTools);
    if (!choice.empty()) {
      body += ",\"tool_choice\":" + std::string(choice);
    }
    body += "}";
    return sim_request_from_body(body, "m").tool_name;
  };
  EXPECT_EQ(tool_for(""), "first");
  EXPECT_EQ(tool_for(R"("auto")"), "first");
  EXPECT_EQ(tool_for(R"("required")"), "first");
  EXPECT_EQ(tool_for(R"("none")"), "");
  EXPECT_EQ(tool_for(R"({"type":"function","function":{"name":"second"}})"), "second");
  // A tool without a function name (e.g. a custom tool) is skipped.
  EXPECT_EQ(sim_request_from_body(
                R"({"tools":[{"type":"custom","custom":{"name":"x"}},)"
                R"({"type":"function","function":{"name":"f"}}]})",
                "m")
                .tool_name,
            "f");
}

TEST(SimRequestFromBody, NeverThrowsOnOddShapes) {
  const std::vector<std::string> bodies = {
      "",
      "not json",
      "[]",
      "null",
      "{\"messages\":",
      R"({"messages":"x","tools":{},"stream":"yes","stream_options":true,"max_tokens":"9"})",
      R"({"messages":[1,null,[],{"content":7},{"content":[1,{"text":3}]}],"tools":[1,{}]})",
      R"({"stream_options":{"include_usage":1},"tools":[{"function":{"name":5}}],"model":3})",
      R"({"max_tokens":1e300,"max_completion_tokens":18446744073709551615})",
  };
  for (const std::string& body : bodies) {
    SCOPED_TRACE(body);
    SimRequest req;
    EXPECT_NO_THROW(req = sim_request_from_body(body, "m"));
    EXPECT_EQ(req.model, "m");
    EXPECT_FALSE(req.stream);
    EXPECT_FALSE(req.include_usage);
    EXPECT_TRUE(req.tool_name.empty());
    EXPECT_EQ(req.prompt_tokens, 1);
  }
  const SimRequest huge = sim_request_from_body(bodies.back(), "m");
  EXPECT_EQ(huge.max_tokens, std::numeric_limits<std::int64_t>::max());
}

TEST(SimRequestFromBody, LargeBodySpillsPastTheStackBuffer) {
  std::string body = R"({"messages":[)";
  for (int i = 0; i < 500; ++i) {
    body += std::string(i == 0 ? "" : ",") + R"({"role":"user","content":"0123456789abcdef"})";
  }
  body += "]}";
  EXPECT_EQ(sim_request_from_body(body, "m").prompt_tokens, 500 * 16 / 4);
}

}  // namespace
}  // namespace sy::providers
