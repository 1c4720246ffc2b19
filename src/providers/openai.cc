#include "providers/openai.h"

#include <cstdint>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "codec/json_util.h"
#include "codec/sse.h"

namespace sy::providers {

namespace {

namespace json = boost::json;

// https://platform.openai.com/docs/api-reference/chat/create (appended to the base URL, which
// carries the /v1 prefix).
constexpr std::string_view kChatPath = "/chat/completions";

Error invalid(std::string message, std::string param = {}) {
  return make_error(ErrorKind::InvalidRequest, std::move(message), "invalid_request",
                    std::move(param));
}

// Tool parameters and response schemas are JSON text in the IR; OpenAI wants them embedded as
// JSON values, not as strings.
Result<json::value> parse_embedded(const std::string& text, const std::string& param) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) {
    return invalid("'" + param + "' is not valid JSON: " + ec.message(), param);
  }
  return v;
}

// ---------------------------------------------------------------------------------------------
// Encode: IR -> chat.completions request body

// "image_url" content part: https://platform.openai.com/docs/guides/images-vision (a URL or a
// base64 data: URL; "detail" is auto | low | high).
json::object image_part(const ir::ImagePart& img) {
  json::object url;
  if (!img.url.empty()) {
    url["url"] = img.url;
  } else {
    url["url"] = "data:" + img.media_type + ";base64," + img.data;
  }
  if (!img.detail.empty()) {
    url["detail"] = img.detail;
  }
  json::object part;
  part["type"] = "image_url";
  part["image_url"] = std::move(url);
  return part;
}

json::object text_part(const std::string& text) {
  json::object part;
  part["type"] = "text";
  part["text"] = text;
  return part;
}

// Tool results are separate messages with role "tool" that follow the assistant's tool_calls.
// OpenAI has no is_error flag; the result text already says what went wrong.
json::object tool_message(const ir::ToolResultPart& r) {
  json::object m;
  m["role"] = "tool";
  m["tool_call_id"] = r.tool_call_id;
  m["content"] = r.content;
  return m;
}

// A user (or a stray system) turn. Tool results in a user turn (Anthropic's shape) come out
// first as role "tool" messages, then the rest of the turn. A single text part is sent as a plain
// string (what the SDKs send), anything else as an array of content parts.
Result<void> encode_user(const ir::Message& msg, const char* role, json::array& out) {
  json::array parts;
  bool only_text = true;
  bool had_results = false;
  for (const auto& part : msg.content) {
    if (const auto* t = std::get_if<ir::TextPart>(&part)) {
      parts.push_back(text_part(t->text));
    } else if (const auto* img = std::get_if<ir::ImagePart>(&part)) {
      if (std::string_view(role) == "system") {
        return invalid("images are not allowed in system messages", "messages");
      }
      parts.push_back(image_part(*img));
      only_text = false;
    } else if (const auto* r = std::get_if<ir::ToolResultPart>(&part)) {
      out.push_back(tool_message(*r));
      had_results = true;
    } else {
      return invalid(std::string("a ") + role +
                         " message cannot carry tool calls or reasoning for an OpenAI upstream",
                     "messages");
    }
  }
  if (parts.empty() && had_results) {
    return {};
  }
  json::object m;
  m["role"] = role;
  if (only_text && parts.size() <= 1) {
    m["content"] = parts.empty() ? json::string() : parts[0].as_object().at("text").as_string();
  } else {
    m["content"] = std::move(parts);
  }
  if (!msg.name.empty()) {
    m["name"] = msg.name;
  }
  out.push_back(std::move(m));
  return {};
}

// An assistant turn: text parts joined into "content" (they were produced in sequence by one
// model; compatible servers do not all take content arrays on assistant turns), tool calls into
// "tool_calls", reasoning as "reasoning_content" or dropped (see OpenAiBodyOptions).
Result<void> encode_assistant(const ir::Message& msg, const OpenAiBodyOptions& options,
                              json::array& out) {
  std::string text;
  bool has_text = false;
  std::string reasoning;
  json::array calls;
  for (const auto& part : msg.content) {
    if (const auto* t = std::get_if<ir::TextPart>(&part)) {
      text += t->text;
      has_text = true;
    } else if (const auto* c = std::get_if<ir::ToolCallPart>(&part)) {
      json::object fn;
      fn["name"] = c->name;
      // OpenAI requires the arguments string; "{}" is an empty argument object.
      fn["arguments"] = c->arguments.empty() ? std::string("{}") : c->arguments;
      json::object call;
      call["id"] = c->id;
      call["type"] = "function";
      call["function"] = std::move(fn);
      calls.push_back(std::move(call));
    } else if (const auto* z = std::get_if<ir::ReasoningPart>(&part)) {
      // Signatures and redacted data belong to the provider that made them (Anthropic, Gemini)
      // and have no OpenAI-protocol field; only the text can travel.
      reasoning += z->text;
    } else if (std::holds_alternative<ir::ImagePart>(part)) {
      return invalid("images are not allowed in assistant messages", "messages");
    } else {
      return invalid("tool results are not allowed in assistant messages", "messages");
    }
  }
  json::object m;
  m["role"] = "assistant";
  // "content" is optional when tool_calls is present.
  if (has_text || calls.empty()) {
    m["content"] = text;
  }
  if (!msg.name.empty()) {
    m["name"] = msg.name;
  }
  if (!calls.empty()) {
    m["tool_calls"] = std::move(calls);
  }
  if (!options.drop_reasoning_history && !reasoning.empty()) {
    m["reasoning_content"] = reasoning;
  }
  out.push_back(std::move(m));
  return {};
}

Result<void> encode_tool_turn(const ir::Message& msg, json::array& out) {
  for (const auto& part : msg.content) {
    const auto* r = std::get_if<ir::ToolResultPart>(&part);
    if (r == nullptr) {
      return invalid("a tool message may only carry tool results", "messages");
    }
    out.push_back(tool_message(*r));
  }
  return {};
}

Result<json::array> encode_tools(const std::vector<ir::Tool>& tools) {
  json::array out;
  for (std::size_t i = 0; i < tools.size(); ++i) {
    const ir::Tool& t = tools[i];
    json::object fn;
    fn["name"] = t.name;
    if (!t.description.empty()) {
      fn["description"] = t.description;
    }
    if (!t.parameters.empty()) {
      auto params =
          parse_embedded(t.parameters, "tools[" + std::to_string(i) + "].function.parameters");
      if (!params) {
        return params.error();
      }
      fn["parameters"] = std::move(*params);
    }
    if (t.strict) {
      fn["strict"] = true;
    }
    json::object tool;
    tool["type"] = "function";
    tool["function"] = std::move(fn);
    out.push_back(std::move(tool));
  }
  return out;
}

json::value encode_tool_choice(const ir::ToolChoice& choice) {
  switch (choice.mode) {
    case ir::ToolChoiceMode::Auto: return "auto";
    case ir::ToolChoiceMode::None: return "none";
    case ir::ToolChoiceMode::Required: return "required";
    case ir::ToolChoiceMode::Function: {
      json::object fn;
      fn["name"] = choice.function;
      json::object o;
      o["type"] = "function";
      o["function"] = std::move(fn);
      return o;
    }
  }
  return "auto";
}

// https://platform.openai.com/docs/guides/structured-outputs
Result<json::value> encode_response_format(const ir::ResponseFormat& rf) {
  json::object o;
  switch (rf.type) {
    case ir::ResponseFormatType::Text: o["type"] = "text"; break;
    case ir::ResponseFormatType::JsonObject: o["type"] = "json_object"; break;
    case ir::ResponseFormatType::JsonSchema: {
      json::object js;
      // "name" is required by OpenAI; protocols without one (Gemini) leave it empty.
      js["name"] = rf.name.empty() ? std::string("response") : rf.name;
      if (!rf.schema.empty()) {
        auto schema = parse_embedded(rf.schema, "response_format.json_schema.schema");
        if (!schema) {
          return schema.error();
        }
        js["schema"] = std::move(*schema);
      }
      if (rf.strict) {
        js["strict"] = true;
      }
      o["type"] = "json_schema";
      o["json_schema"] = std::move(js);
      break;
    }
  }
  return o;
}

// ---------------------------------------------------------------------------------------------
// Decode helpers (lenient: providers add fields, compatible servers omit some)

using codec::array_at;
using codec::object_at;
using codec::string_or_empty;

// Not codec::count_at: this one takes a possibly-null object and also accepts integral doubles
// and negative counts (Boost's to_number), which compatible servers send.
std::optional<std::int64_t> member_count(const json::object* o, std::string_view key) {
  if (o == nullptr) {
    return std::nullopt;
  }
  const auto it = o->find(key);
  if (it == o->end() || !it->value().is_number()) {
    return std::nullopt;
  }
  boost::system::error_code ec;
  const auto n = it->value().to_number<std::int64_t>(ec);
  return ec ? std::nullopt : std::optional<std::int64_t>(n);
}

// https://platform.openai.com/docs/api-reference/chat/object#chat/object-usage
// prompt_tokens counts ALL input, cached included (the IR's input_tokens rule);
// completion_tokens includes reasoning_tokens. xAI reports reasoning outside completion_tokens
// (total = prompt + completion + reasoning, openai-compatible/xai-tool-call.response.json); when
// the total proves that, the reasoning is added so output_tokens means the same everywhere.
ir::Usage usage_from(const json::object& u) {
  ir::Usage usage;
  usage.input_tokens = member_count(&u, "prompt_tokens");
  usage.output_tokens = member_count(&u, "completion_tokens");
  usage.cached_input_tokens = member_count(object_at(u, "prompt_tokens_details"),
                                           "cached_tokens");
  usage.reasoning_tokens = member_count(object_at(u, "completion_tokens_details"),
                                        "reasoning_tokens");
  const auto total = member_count(&u, "total_tokens");
  if (total && usage.input_tokens && usage.output_tokens && usage.reasoning_tokens &&
      *usage.reasoning_tokens > 0 &&
      *total != *usage.input_tokens + *usage.output_tokens &&
      *total == *usage.input_tokens + *usage.output_tokens + *usage.reasoning_tokens) {
    *usage.output_tokens += *usage.reasoning_tokens;
  }
  return usage;
}

// https://platform.openai.com/docs/api-reference/chat/object#chat/object-choices
// ("function_call" is the deprecated spelling of "tool_calls").
ir::FinishReason finish_from(std::string_view raw) {
  if (raw == "stop") {
    return ir::FinishReason::Stop;
  }
  if (raw == "length") {
    return ir::FinishReason::Length;
  }
  if (raw == "tool_calls" || raw == "function_call") {
    return ir::FinishReason::ToolCalls;
  }
  if (raw == "content_filter") {
    return ir::FinishReason::ContentFilter;
  }
  return ir::FinishReason::Other;
}

// "content" is a string in OpenAI's replies; some compatible servers send an array of
// {"type":"text","text":...} parts instead.
std::string content_text(const json::object& msg) {
  const auto it = msg.find("content");
  if (it == msg.end()) {
    return {};
  }
  if (it->value().is_string()) {
    return std::string(it->value().get_string());
  }
  std::string text;
  if (it->value().is_array()) {
    for (const auto& p : it->value().get_array()) {
      if (p.is_object()) {
        text += string_or_empty(p.get_object(), "text");
      }
    }
  }
  return text;
}

// Reasoning text: "reasoning_content" (DeepSeek, vLLM, xAI) or "reasoning" (OpenRouter, newer
// vLLM). OpenAI's own models do not return reasoning text on Chat Completions.
std::string reasoning_text(const json::object& o) {
  std::string text = string_or_empty(o, "reasoning_content");
  return text.empty() ? string_or_empty(o, "reasoning") : text;
}

// The fields of an error reply. OpenAI: {"error":{"message","type","param","code"}}; Azure's
// code may be a number; some compatible servers send {"error":"text"} or a top-level message.
struct ErrorFields {
  std::string message;
  std::string type;
  std::string code;
  std::string param;
  bool found = false;
};

std::string scalar_text(const json::object& o, std::string_view key) {
  const auto it = o.find(key);
  if (it == o.end()) {
    return {};
  }
  if (it->value().is_string()) {
    return std::string(it->value().get_string());
  }
  if (it->value().is_int64() || it->value().is_uint64()) {
    return json::serialize(it->value());
  }
  return {};
}

ErrorFields error_fields(const json::object& body) {
  ErrorFields f;
  const auto it = body.find("error");
  if (it != body.end() && it->value().is_object()) {
    const json::object& e = it->value().get_object();
    f.message = string_or_empty(e, "message");
    f.type = string_or_empty(e, "type");
    f.code = scalar_text(e, "code");
    f.param = string_or_empty(e, "param");
    f.found = true;
  } else if (it != body.end() && it->value().is_string()) {
    f.message = std::string(it->value().get_string());
    f.found = true;
  } else if (body.contains("message")) {
    f.message = string_or_empty(body, "message");
    f.type = string_or_empty(body, "type");
    f.code = scalar_text(body, "code");
    f.found = true;
  }
  return f;
}

// The kind of an error that came without a telling HTTP status (a mid-stream error event, or an
// error body on a 2xx reply): read from the error type / code.
ErrorKind kind_from_type(const ErrorFields& f) {
  const auto has = [&](std::string_view word) {
    return f.type.find(word) != std::string::npos || f.code.find(word) != std::string::npos;
  };
  if (has("rate_limit") || has("insufficient_quota")) {
    return ErrorKind::RateLimited;
  }
  if (has("authentication") || has("invalid_api_key") || has("permission")) {
    return ErrorKind::UpstreamAuth;
  }
  if (has("invalid_request") || has("content_filter")) {
    return ErrorKind::InvalidRequest;
  }
  if (has("timeout")) {
    return ErrorKind::UpstreamTimeout;
  }
  return ErrorKind::UpstreamUnavailable;
}

ErrorKind kind_from_status(unsigned status, const ErrorFields& f) {
  if (status == 429) {
    return ErrorKind::RateLimited;
  }
  if (status == 408 || status == 504) {
    return ErrorKind::UpstreamTimeout;
  }
  if (status >= 500) {
    return ErrorKind::UpstreamUnavailable;
  }
  if (status == 401 || status == 403) {
    return ErrorKind::UpstreamAuth;
  }
  if (status == 404) {
    return ErrorKind::NotFound;
  }
  if (status == 413) {
    return ErrorKind::PayloadTooLarge;
  }
  if (status >= 400) {
    return ErrorKind::InvalidRequest;
  }
  return kind_from_type(f);
}

Error error_from(const ErrorFields& f, unsigned status) {
  Error e;
  e.kind = kind_from_status(status, f);
  e.code = f.code;
  e.param = f.param;
  e.detail = "openai upstream";
  if (status != 0) {
    e.detail += " HTTP " + std::to_string(status);
  }
  if (!f.type.empty()) {
    e.detail += " type=" + f.type;
  }
  if (!f.code.empty()) {
    e.detail += " code=" + f.code;
  }
  if (e.kind == ErrorKind::UpstreamAuth) {
    // OpenAI's 401 message echoes part of the key ("Incorrect API key provided: sk-abc***xyz");
    // the client must not see anything about the gateway's credential.
    e.public_message = "The upstream provider rejected the gateway's credentials.";
    e.code.clear();
    e.param.clear();
    return e;
  }
  if ((e.kind == ErrorKind::InvalidRequest || e.kind == ErrorKind::NotFound ||
       e.kind == ErrorKind::PayloadTooLarge) &&
      status >= 400 && status < 500) {
    e.status = static_cast<int>(status);  // the upstream's own 4xx, passed on
  }
  e.public_message = !f.message.empty() ? f.message
                     : status != 0      ? "The upstream provider answered HTTP " +
                                         std::to_string(status) + "."
                                        : "The upstream provider reported an error.";
  return e;
}

Error malformed(std::string what) {
  Error e = make_error(ErrorKind::UpstreamUnavailable,
                       "The upstream provider sent a malformed reply.");
  e.detail = "openai upstream: " + std::move(what);
  return e;
}

// ---------------------------------------------------------------------------------------------
// Streaming: chat.completion.chunk events
// (https://platform.openai.com/docs/api-reference/chat-streaming/streaming)

class OpenAiStreamDecoder final : public StreamDecoder {
 public:
  Result<void> feed(std::string_view bytes, std::vector<ir::StreamEvent>& out) override {
    sse_.clear();
    parser_.feed(bytes, sse_);
    return handle_events(out);
  }

  Result<void> finish(std::vector<ir::StreamEvent>& out) override {
    sse_.clear();
    parser_.finish(sse_);
    return handle_events(out);
  }

 private:
  Result<void> handle_events(std::vector<ir::StreamEvent>& out) {
    for (const auto& ev : sse_) {
      if (done_ || !ev.has_data) {
        continue;
      }
      auto r = on_data(ev.data, out);
      if (!r) {
        return r;
      }
    }
    return {};
  }

  Result<void> on_data(std::string_view data, std::vector<ir::StreamEvent>& out) {
    const auto first = data.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) {
      return {};
    }
    data.remove_prefix(first);
    if (data.starts_with("[DONE]")) {
      done_ = true;  // the stream's end marker; nothing after it is data
      return {};
    }
    boost::system::error_code ec;
    const json::value v = json::parse(data, ec);
    if (ec || !v.is_object()) {
      return malformed("stream chunk is not a JSON object");
    }
    const json::object& chunk = v.get_object();
    // A mid-stream failure is a bare {"error":{...}} with no [DONE] after it.
    if (const auto it = chunk.find("error"); it != chunk.end() && !it->value().is_null()) {
      ir::StreamEvent e;
      e.type = ir::StreamEvent::Type::Error;
      e.error = error_from(error_fields(chunk), 0);
      out.push_back(std::move(e));
      return {};
    }
    if (!started_) {
      started_ = true;
      ir::StreamEvent e;
      e.type = ir::StreamEvent::Type::Start;
      e.id = string_or_empty(chunk, "id");
      e.model = string_or_empty(chunk, "model");
      out.push_back(std::move(e));
    }
    if (const json::array* choices = array_at(chunk, "choices")) {
      for (const auto& c : *choices) {
        if (c.is_object()) {
          on_choice(c.get_object(), out);
        }
      }
    }
    // With stream_options.include_usage the last chunk has "choices":[] and the usage; every
    // other chunk has "usage":null. Some compatible servers put it on the finish chunk.
    if (const json::object* usage = object_at(chunk, "usage")) {
      ir::StreamEvent e;
      e.type = ir::StreamEvent::Type::Usage;
      e.usage = usage_from(*usage);
      out.push_back(std::move(e));
    }
    return {};
  }

  void on_choice(const json::object& choice, std::vector<ir::StreamEvent>& out) {
    // The IR has one answer: choices other than index 0 (n > 1) are not decoded.
    if (member_count(&choice, "index").value_or(0) != 0) {
      return;
    }
    if (const json::object* delta = object_at(choice, "delta")) {
      if (std::string text = reasoning_text(*delta); !text.empty()) {
        ir::StreamEvent e;
        e.type = ir::StreamEvent::Type::ReasoningDelta;
        e.text = std::move(text);
        out.push_back(std::move(e));
      }
      for (const char* key : {"content", "refusal"}) {
        // A refusal is the model's answer text (see docs/providers.md).
        if (std::string text = string_or_empty(*delta, key); !text.empty()) {
          ir::StreamEvent e;
          e.type = ir::StreamEvent::Type::TextDelta;
          e.text = std::move(text);
          out.push_back(std::move(e));
        }
      }
      if (const json::array* calls = array_at(*delta, "tool_calls")) {
        for (const auto& call : *calls) {
          if (call.is_object()) {
            on_tool_call(call.get_object(), out);
          }
        }
      }
    }
    const auto finish = choice.find("finish_reason");
    if (finish != choice.end() && finish->value().is_string()) {
      ir::StreamEvent e;
      e.type = ir::StreamEvent::Type::Finish;
      e.finish_raw = std::string(finish->value().get_string());
      e.finish = finish_from(e.finish_raw);
      out.push_back(std::move(e));
    }
  }

  // The first delta of a call carries index, id, type and function.name (arguments ""); later
  // ones carry index and an arguments fragment. Provider indices need not start at 0 (Anthropic's
  // compat endpoint starts at 1): calls are numbered 0, 1, ... in order of appearance.
  void on_tool_call(const json::object& call, std::vector<ir::StreamEvent>& out) {
    const std::string id = string_or_empty(call, "id");
    const json::object* fn = object_at(call, "function");
    int index = -1;
    if (const auto provider_index = member_count(&call, "index")) {
      if (const auto it = by_provider_index_.find(*provider_index);
          it != by_provider_index_.end()) {
        index = it->second;
      } else {
        index = next_index_++;
        by_provider_index_.emplace(*provider_index, index);
        start_tool_call(index, id, fn, out);
      }
    } else if (!id.empty() && !by_id_.contains(id)) {
      // No index (Gemini's compat endpoint sends whole calls): a new id is a new call.
      index = next_index_++;
      by_id_.emplace(id, index);
      start_tool_call(index, id, fn, out);
    } else if (!id.empty()) {
      index = by_id_.at(id);
    } else if (next_index_ > 0) {
      index = last_index_;
    } else {
      index = next_index_++;
      start_tool_call(index, id, fn, out);
    }
    last_index_ = index;
    if (fn != nullptr) {
      if (std::string args = string_or_empty(*fn, "arguments"); !args.empty()) {
        ir::StreamEvent e;
        e.type = ir::StreamEvent::Type::ToolCallDelta;
        e.index = index;
        e.text = std::move(args);
        out.push_back(std::move(e));
      }
    }
  }

  void start_tool_call(int index, const std::string& id, const json::object* fn,
                       std::vector<ir::StreamEvent>& out) {
    if (!id.empty()) {
      by_id_.emplace(id, index);
    }
    ir::StreamEvent e;
    e.type = ir::StreamEvent::Type::ToolCallStart;
    e.index = index;
    e.id = id;
    e.name = fn != nullptr ? string_or_empty(*fn, "name") : std::string();
    out.push_back(std::move(e));
  }

  codec::SseParser parser_;
  std::vector<codec::SseEvent> sse_;
  bool started_ = false;
  bool done_ = false;
  std::map<std::int64_t, int> by_provider_index_;  // provider's tool index -> ours
  std::map<std::string, int> by_id_;               // tool call id -> ours
  int next_index_ = 0;
  int last_index_ = 0;
};

// ---------------------------------------------------------------------------------------------

class OpenAiAdapter final : public Adapter {
 public:
  std::string_view type() const override { return "openai"; }

  Result<UpstreamRequest> encode(const ir::ChatRequest& req,
                                 const Target& target) const override {
    auto body = encode_openai_chat_body(req, openai_body_options(target));
    if (!body) {
      return body.error();
    }
    UpstreamRequest out;
    out.path = std::string(kChatPath);
    out.headers.emplace_back("accept", req.stream ? "text/event-stream" : "application/json");
    out.body = std::move(*body);
    out.stream = req.stream;
    return out;
  }

  Result<ir::ChatResponse> decode(const UpstreamReply& reply) const override {
    if (reply.status >= 300) {
      return map_openai_error(reply);
    }
    return decode_openai_chat_body(reply.body);
  }

  std::unique_ptr<StreamDecoder> stream_decoder(const ir::ChatRequest&) const override {
    return make_openai_stream_decoder();
  }

  Error map_error(const UpstreamReply& reply) const override { return map_openai_error(reply); }

  ir::Capabilities capabilities(const Target& target) const override {
    if (target.provider != nullptr && target.provider->type == "openai-compatible") {
      return openai_compatible_capabilities();
    }
    return openai_capabilities();
  }
};

}  // namespace

const Adapter& openai_adapter() {
  static const OpenAiAdapter adapter;
  return adapter;
}

OpenAiBodyOptions openai_body_options(const Target& target) {
  OpenAiBodyOptions options;
  options.model = target.model;
  if (target.provider != nullptr && target.provider->type == "openai-compatible") {
    options.max_completion_tokens = false;
    options.drop_reasoning_history = false;
    options.send_top_k = true;
  }
  return options;
}

Result<std::string> encode_openai_chat_body(const ir::ChatRequest& req,
                                            const OpenAiBodyOptions& options) {
  json::object body;
  body["model"] = options.model;

  json::array messages;
  // System prompts lead as "system" messages (OpenAI also reads them as "developer").
  for (const auto& text : req.system) {
    json::object m;
    m["role"] = "system";
    m["content"] = text;
    messages.push_back(std::move(m));
  }
  for (const auto& msg : req.messages) {
    Result<void> r;
    switch (msg.role) {
      case ir::Role::System: r = encode_user(msg, "system", messages); break;
      case ir::Role::User: r = encode_user(msg, "user", messages); break;
      case ir::Role::Assistant: r = encode_assistant(msg, options, messages); break;
      case ir::Role::Tool: r = encode_tool_turn(msg, messages); break;
    }
    if (!r) {
      return r.error();
    }
  }
  body["messages"] = std::move(messages);

  if (!req.tools.empty()) {
    auto tools = encode_tools(req.tools);
    if (!tools) {
      return tools.error();
    }
    body["tools"] = std::move(*tools);
    // OpenAI rejects parallel_tool_calls without tools.
    if (req.parallel_tool_calls) {
      body["parallel_tool_calls"] = *req.parallel_tool_calls;
    }
  }
  if (req.tool_choice) {
    body["tool_choice"] = encode_tool_choice(*req.tool_choice);
  }
  if (req.temperature) {
    body["temperature"] = *req.temperature;
  }
  if (req.top_p) {
    body["top_p"] = *req.top_p;
  }
  if (req.top_k && options.send_top_k) {
    body["top_k"] = *req.top_k;
  }
  if (req.max_tokens) {
    // max_tokens is deprecated on OpenAI and rejected by its reasoning models
    // (openai/chat-bad-request.response.json: "Use 'max_completion_tokens' instead").
    body[options.max_completion_tokens ? "max_completion_tokens" : "max_tokens"] =
        *req.max_tokens;
  }
  if (!req.stop.empty()) {
    json::array stop;
    for (const auto& s : req.stop) {
      stop.push_back(json::string(s));
    }
    body["stop"] = std::move(stop);
  }
  if (req.seed) {
    body["seed"] = *req.seed;
  }
  if (req.presence_penalty) {
    body["presence_penalty"] = *req.presence_penalty;
  }
  if (req.frequency_penalty) {
    body["frequency_penalty"] = *req.frequency_penalty;
  }
  if (req.n) {
    body["n"] = *req.n;
  }
  if (req.logprobs) {
    body["logprobs"] = true;
  }
  if (req.top_logprobs) {
    body["top_logprobs"] = *req.top_logprobs;
  }
  if (req.response_format) {
    auto rf = encode_response_format(*req.response_format);
    if (!rf) {
      return rf.error();
    }
    body["response_format"] = std::move(*rf);
  }
  // https://platform.openai.com/docs/api-reference/chat/create#chat-create-reasoning_effort
  // OpenAI has no token budget for reasoning; budget_tokens is not sent.
  if (req.reasoning && !req.reasoning->effort.empty()) {
    body["reasoning_effort"] = req.reasoning->effort;
  }
  if (req.stream) {
    body["stream"] = true;
    // Always ask for the usage chunk: the gateway meters every stream.
    json::object so;
    so["include_usage"] = true;
    body["stream_options"] = std::move(so);
  }
  if (!req.user.empty()) {
    body["user"] = req.user;
  }
  return json::serialize(body);
}

Result<ir::ChatResponse> decode_openai_chat_body(std::string_view body) {
  boost::system::error_code ec;
  const json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) {
    return malformed("reply body is not a JSON object");
  }
  const json::object& o = v.get_object();
  if (const auto it = o.find("error"); it != o.end() && !it->value().is_null()) {
    return error_from(error_fields(o), 0);
  }
  const json::array* choices = array_at(o, "choices");
  if (choices == nullptr) {
    return malformed("reply has no choices array");
  }
  ir::ChatResponse resp;
  resp.id = string_or_empty(o, "id");
  resp.model = string_or_empty(o, "model");
  resp.created = member_count(&o, "created").value_or(0);
  if (const json::object* usage = object_at(o, "usage")) {
    resp.usage = usage_from(*usage);
  }
  const json::object* choice = nullptr;
  for (const auto& c : *choices) {
    if (c.is_object() && member_count(&c.get_object(), "index").value_or(0) == 0) {
      choice = &c.get_object();
      break;
    }
  }
  if (choice == nullptr) {
    return resp;  // no answer (e.g. every choice filtered); usage still counts
  }
  if (const json::object* msg = object_at(*choice, "message")) {
    if (std::string reasoning = reasoning_text(*msg); !reasoning.empty()) {
      resp.content.emplace_back(ir::ReasoningPart{std::move(reasoning), {}, {}});
    }
    if (std::string text = content_text(*msg); !text.empty()) {
      resp.content.emplace_back(ir::TextPart{std::move(text)});
    }
    // A refusal (structured outputs) is the model's answer text; other protocols have no
    // separate field for it, and dropping it would leave the client an empty answer.
    if (std::string refusal = string_or_empty(*msg, "refusal"); !refusal.empty()) {
      resp.content.emplace_back(ir::TextPart{std::move(refusal)});
    }
    if (const json::array* calls = array_at(*msg, "tool_calls")) {
      for (const auto& c : *calls) {
        if (!c.is_object()) {
          continue;
        }
        ir::ToolCallPart call;
        call.id = string_or_empty(c.get_object(), "id");
        if (const json::object* fn = object_at(c.get_object(), "function")) {
          call.name = string_or_empty(*fn, "name");
          call.arguments = string_or_empty(*fn, "arguments");
        }
        resp.content.emplace_back(std::move(call));
      }
    }
  }
  if (const auto it = choice->find("finish_reason"); it != choice->end() &&
                                                     it->value().is_string()) {
    resp.finish_raw = std::string(it->value().get_string());
    resp.finish = finish_from(resp.finish_raw);
  }
  return resp;
}

std::unique_ptr<StreamDecoder> make_openai_stream_decoder() {
  return std::make_unique<OpenAiStreamDecoder>();
}

Error map_openai_error(const UpstreamReply& reply) {
  ErrorFields fields;
  boost::system::error_code ec;
  const json::value v = json::parse(reply.body, ec);
  if (!ec && v.is_object()) {
    fields = error_fields(v.get_object());
  }
  Error e = error_from(fields, reply.status);
  // https://platform.openai.com/docs/guides/rate-limits: honour Retry-After when sent.
  e.retry_after = reply.retry_after;
  return e;
}

ir::Capabilities openai_capabilities() {
  ir::Capabilities c;
  c.tools = true;
  c.parallel_tool_calls = true;
  c.vision = true;
  c.json_object = true;
  c.json_schema = true;
  c.logprobs = true;
  c.multiple_choices = true;
  c.reasoning = true;
  return c;
}

ir::Capabilities openai_compatible_capabilities() {
  ir::Capabilities c;
  c.tools = true;
  c.json_object = true;
  return c;
}

}  // namespace sy::providers
