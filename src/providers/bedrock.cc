// Amazon Bedrock Runtime Converse / ConverseStream <-> IR. References below are to the "Amazon
// Bedrock API Reference" (actions Converse, ConverseStream and their data types) and the
// "Amazon Bedrock User Guide" (Converse API, tool use, prompt caching, extended thinking).
// Decisions that are ours rather than AWS's are listed in docs/providers.md.

#include "providers/bedrock.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "codec/aws_eventstream.h"
#include "codec/json_scan.h"
#include "codec/json_util.h"

namespace sy::providers {

namespace {

namespace json = boost::json;

// ---------------------------------------------------------------------------------------------
// JSON helpers (codec/json_util.h: write_json writes 0.7 as "0.7", not Boost 1.81's "7E-1", so
// the body of a simple request is byte-identical to the AWS SDK's)

using codec::array_at;
using codec::compact;
using codec::count_at;
using codec::object_at;
using codec::parse_json;
using codec::string_at;
using codec::string_or_empty;
using codec::write_json;

Error malformed_reply(std::string detail) {
  Error e = make_error(ErrorKind::UpstreamUnavailable, "The upstream returned a malformed reply.");
  e.detail = "bedrock: " + std::move(detail);
  return e;
}

// ---------------------------------------------------------------------------------------------
// Request

Error unsupported(std::string_view param, std::string_view what) {
  return make_error(ErrorKind::InvalidRequest,
                    "Amazon Bedrock (Converse API) does not support " + std::string(what) + ".",
                    "unsupported_parameter", std::string(param));
}

// Parameters Converse has no field for. The router skips Bedrock targets for the features the
// capabilities deny (n > 1, logprobs, response_format); these checks catch what still reaches us.
std::optional<Error> check_unsupported(const ir::ChatRequest& req) {
  if (req.n && *req.n > 1) {
    return unsupported("n", "more than one choice ('n' > 1)");
  }
  if (req.logprobs || (req.top_logprobs && *req.top_logprobs > 0)) {
    return unsupported(req.logprobs ? "logprobs" : "top_logprobs", "log probabilities");
  }
  if (req.response_format && req.response_format->type != ir::ResponseFormatType::Text) {
    return unsupported("response_format", "'response_format' (JSON mode / structured outputs)");
  }
  if (req.seed) {
    return unsupported("seed", "'seed'");
  }
  // 0 is the OpenAI default that many clients send explicitly: it asks for nothing.
  if (req.presence_penalty && *req.presence_penalty != 0.0) {
    return unsupported("presence_penalty", "'presence_penalty'");
  }
  if (req.frequency_penalty && *req.frequency_penalty != 0.0) {
    return unsupported("frequency_penalty", "'frequency_penalty'");
  }
  return std::nullopt;
}

// ImageBlock.format: png | jpeg | gif | webp.
std::optional<std::string_view> image_format(std::string_view media_type) {
  if (media_type == "image/png") {
    return "png";
  }
  if (media_type == "image/jpeg" || media_type == "image/jpg") {
    return "jpeg";
  }
  if (media_type == "image/gif") {
    return "gif";
  }
  if (media_type == "image/webp") {
    return "webp";
  }
  return std::nullopt;
}

// ImageBlock {format, source: {bytes}}: the bytes go as base64 in JSON (a blob in restJson1).
// Converse takes no image URLs (only bytes or an S3 location), so an https:// image cannot be
// forwarded; a data: URL is inline data and is unpacked.
Result<json::value> encode_image(const ir::ImagePart& image) {
  std::string media_type = image.media_type;
  std::string_view data = image.data;
  if (data.empty() && !image.url.empty()) {
    constexpr std::string_view kData = "data:";
    constexpr std::string_view kBase64 = ";base64,";
    const std::string_view url = image.url;
    const std::size_t marker = url.find(kBase64);
    if (url.substr(0, kData.size()) != kData || marker == std::string_view::npos) {
      return make_error(ErrorKind::InvalidRequest,
                        "Amazon Bedrock does not accept image URLs; send the image inline as "
                        "base64 data instead.",
                        "unsupported_image_url", "messages");
    }
    media_type = std::string(url.substr(kData.size(), marker - kData.size()));
    data = url.substr(marker + kBase64.size());
  }
  const auto format = image_format(media_type);
  if (!format) {
    return make_error(ErrorKind::InvalidRequest,
                      "Amazon Bedrock accepts png, jpeg, gif and webp images, not '" + media_type +
                          "'.",
                      "unsupported_image_type", "messages");
  }
  return json::value{{"image", {{"format", *format}, {"source", {{"bytes", data}}}}}};
}

// One IR part as a Converse ContentBlock; nullopt when it is dropped (empty text: Converse
// rejects a blank text block, and OpenAI clients send content "" next to tool calls).
Result<std::optional<json::value>> encode_part(const ir::Part& part) {
  if (const auto* t = std::get_if<ir::TextPart>(&part)) {
    if (t->text.empty()) {
      return std::optional<json::value>();
    }
    return std::optional<json::value>(json::value{{"text", t->text}});
  }
  if (const auto* i = std::get_if<ir::ImagePart>(&part)) {
    auto image = encode_image(*i);
    if (!image) {
      return image.error();
    }
    return std::optional<json::value>(std::move(image.value()));
  }
  if (const auto* c = std::get_if<ir::ToolCallPart>(&part)) {
    // ToolUseBlock.input is a JSON document, not text: parse the model's arguments.
    json::value input = json::object();
    if (!c->arguments.empty()) {
      auto parsed = parse_json(c->arguments);
      if (!parsed) {
        return make_error(ErrorKind::InvalidRequest,
                          "The arguments of tool call '" + c->id + "' are not valid JSON.",
                          "invalid_tool_arguments", "messages");
      }
      input = std::move(*parsed);
    }
    json::object tool_use;
    tool_use["toolUseId"] = c->id;
    tool_use["name"] = c->name;
    tool_use["input"] = std::move(input);
    return std::optional<json::value>(json::value{{"toolUse", std::move(tool_use)}});
  }
  if (const auto* r = std::get_if<ir::ToolResultPart>(&part)) {
    // ToolResultBlock {toolUseId, content: [ToolResultContentBlock], status}. status is only
    // sent for errors: AWS documents it as supported by some models only (Claude, Nova).
    json::object result;
    result["toolUseId"] = r->tool_call_id;
    json::array content;
    if (!r->content.empty()) {
      content.push_back(json::object{{"text", r->content}});
    }
    result["content"] = std::move(content);
    if (r->is_error) {
      result["status"] = "error";
    }
    return std::optional<json::value>(json::value{{"toolResult", std::move(result)}});
  }
  if (const auto* z = std::get_if<ir::ReasoningPart>(&part)) {
    // ReasoningContentBlock is a union: reasoningText {text, signature} | redactedContent (blob,
    // base64 in JSON). Both must go back unchanged for Claude's extended thinking.
    if (!z->redacted_data.empty()) {
      return std::optional<json::value>(
          json::value{{"reasoningContent", {{"redactedContent", z->redacted_data}}}});
    }
    if (z->text.empty() && z->signature.empty()) {
      return std::optional<json::value>();
    }
    json::object text;
    text["text"] = z->text;
    if (!z->signature.empty()) {
      text["signature"] = z->signature;
    }
    return std::optional<json::value>(
        json::value{{"reasoningContent", {{"reasoningText", std::move(text)}}}});
  }
  return std::optional<json::value>();
}

// Message.role is user | assistant. Tool results go in a user message, and consecutive messages
// of one role are merged (Converse wants the roles to alternate). System-role messages (the IR
// keeps system text in ChatRequest::system, but a client may still put one in the list) join
// the system blocks.
Result<json::array> encode_messages(const ir::ChatRequest& req, json::array& system) {
  json::array messages;
  std::string_view last_role;
  for (const auto& m : req.messages) {
    if (m.role == ir::Role::System) {
      for (const auto& p : m.content) {
        if (const auto* t = std::get_if<ir::TextPart>(&p); t != nullptr && !t->text.empty()) {
          system.push_back(json::object{{"text", t->text}});
        }
      }
      continue;
    }
    const std::string_view role = m.role == ir::Role::Assistant ? "assistant" : "user";
    json::array content;
    for (const auto& p : m.content) {
      auto block = encode_part(p);
      if (!block) {
        return block.error();
      }
      if (block.value()) {
        content.push_back(std::move(*block.value()));
      }
    }
    if (content.empty()) {
      continue;
    }
    if (role == last_role) {
      json::array& previous = messages.back().get_object()["content"].get_array();
      for (auto& block : content) {
        previous.push_back(std::move(block));
      }
      continue;
    }
    json::object message;
    message["role"] = role;
    message["content"] = std::move(content);
    messages.push_back(std::move(message));
    last_role = role;
  }
  return messages;
}

bool has_tool_history(const ir::ChatRequest& req) {
  for (const auto& m : req.messages) {
    for (const auto& p : m.content) {
      if (std::holds_alternative<ir::ToolCallPart>(p) ||
          std::holds_alternative<ir::ToolResultPart>(p)) {
        return true;
      }
    }
  }
  return false;
}

// ToolConfiguration {tools: [{toolSpec: {name, description, inputSchema: {json}}}],
// toolChoice: {auto: {}} | {any: {}} | {tool: {name}}}. Converse has no "none": with
// tool_choice none the tools are left out, unless the history holds toolUse/toolResult blocks,
// for which Converse requires a toolConfig; then they are sent without a toolChoice (the model
// may still call one).
Result<std::optional<json::object>> encode_tool_config(const ir::ChatRequest& req) {
  const bool choice_none = req.tool_choice && req.tool_choice->mode == ir::ToolChoiceMode::None;
  if (req.tools.empty() || (choice_none && !has_tool_history(req))) {
    return std::optional<json::object>();
  }
  json::array tools;
  for (const auto& tool : req.tools) {
    json::value schema = json::object{{"type", "object"}, {"properties", json::object()}};
    if (!tool.parameters.empty()) {
      auto parsed = parse_json(tool.parameters);
      if (!parsed || !parsed->is_object()) {
        return make_error(ErrorKind::InvalidRequest,
                          "The parameters of tool '" + tool.name + "' are not a JSON object.",
                          "invalid_tool_schema", "tools");
      }
      schema = std::move(*parsed);
    }
    json::object spec;
    spec["name"] = tool.name;
    if (!tool.description.empty()) {
      spec["description"] = tool.description;
    }
    spec["inputSchema"] = json::object{{"json", std::move(schema)}};
    tools.push_back(json::object{{"toolSpec", std::move(spec)}});
  }
  json::object config;
  config["tools"] = std::move(tools);
  if (req.tool_choice && !choice_none) {
    switch (req.tool_choice->mode) {
      case ir::ToolChoiceMode::Auto:
        config["toolChoice"] = json::object{{"auto", json::object()}};
        break;
      case ir::ToolChoiceMode::Required:
        config["toolChoice"] = json::object{{"any", json::object()}};
        break;
      case ir::ToolChoiceMode::Function:
        if (req.tool_choice->function.empty()) {
          return make_error(ErrorKind::InvalidRequest, "tool_choice names no function.",
                            "invalid_tool_choice", "tool_choice");
        }
        config["toolChoice"] = json::object{{"tool", {{"name", req.tool_choice->function}}}};
        break;
      case ir::ToolChoiceMode::None:
        break;
    }
  }
  return std::optional<json::object>(std::move(config));
}

// ---------------------------------------------------------------------------------------------
// Response

// StopReason: end_turn | tool_use | max_tokens | stop_sequence | guardrail_intervened |
// content_filtered | model_context_window_exceeded (ConverseOutput / MessageStopEvent).
ir::FinishReason finish_from(std::string_view stop_reason) {
  if (stop_reason == "end_turn") {
    return ir::FinishReason::Stop;
  }
  if (stop_reason == "stop_sequence") {
    return ir::FinishReason::StopSequence;
  }
  if (stop_reason == "max_tokens" || stop_reason == "model_context_window_exceeded") {
    return ir::FinishReason::Length;
  }
  if (stop_reason == "tool_use") {
    return ir::FinishReason::ToolCalls;
  }
  if (stop_reason == "guardrail_intervened" || stop_reason == "content_filtered") {
    return ir::FinishReason::ContentFilter;
  }
  return ir::FinishReason::Other;
}

// TokenUsage. With prompt caching, inputTokens counts only the input that was neither read
// from nor written to the cache; the User Guide's prompt-caching page gives total input =
// inputTokens + cacheReadInputTokens + cacheWriteInputTokens (totalTokens includes the cache
// buckets too). The IR's input_tokens is ALL input, so the buckets are added back.
// cacheRead/WriteInputTokenCount are older duplicates of the same numbers, read as a fallback.
ir::Usage usage_from(const json::object& u) {
  ir::Usage usage;
  const auto input = count_at(u, "inputTokens");
  auto cache_read = count_at(u, "cacheReadInputTokens");
  if (!cache_read) {
    cache_read = count_at(u, "cacheReadInputTokenCount");
  }
  auto cache_write = count_at(u, "cacheWriteInputTokens");
  if (!cache_write) {
    cache_write = count_at(u, "cacheWriteInputTokenCount");
  }
  if (input) {
    usage.input_tokens = *input + cache_read.value_or(0) + cache_write.value_or(0);
  }
  usage.output_tokens = count_at(u, "outputTokens");  // includes reasoning; not broken out
  usage.cached_input_tokens = cache_read;
  usage.cache_write_tokens = cache_write;
  return usage;
}

// A toolUse the service runs itself (a system tool such as nova_code_interpreter, marked
// "type":"server_tool_use"): the client must not execute it, so it is not a tool call.
bool is_server_tool_use(const json::object& tool_use) {
  return string_at(tool_use, "type") == std::optional<std::string_view>("server_tool_use");
}

// ---------------------------------------------------------------------------------------------
// Errors

std::string message_of(std::string_view body) {
  const auto v = parse_json(body);
  if (!v || !v->is_object()) {
    return {};
  }
  // restJson1 errors carry "message"; some AWS services spell it "Message".
  for (const std::string_view key : {"message", "Message"}) {
    if (const auto m = string_at(v->get_object(), key); m && !m->empty()) {
      return std::string(*m);
    }
  }
  return {};
}

// AWS appends the canonical request to a signature-mismatch message; keep only the first line
// in logs.
std::string first_line(std::string_view s) {
  return std::string(s.substr(0, s.find('\n')));
}

constexpr std::string_view kAuthRefused =
    "The upstream provider refused the gateway's credentials.";

// A ConverseStream exception frame (:message-type exception) as an Error. The modeled stream
// exceptions and their HTTP equivalents: throttlingException 429, validationException 400,
// modelStreamErrorException 424, internalServerException 500, serviceUnavailableException 503;
// modelTimeoutException 408 is handled as a timeout too.
Error stream_exception(std::string_view type, std::string message) {
  Error e;
  e.detail = "bedrock stream exception " + std::string(type);
  if (type == "throttlingException" || type == "serviceQuotaExceededException") {
    e.kind = ErrorKind::RateLimited;
  } else if (type == "modelTimeoutException") {
    e.kind = ErrorKind::UpstreamTimeout;
  } else if (type == "validationException") {
    e.kind = ErrorKind::InvalidRequest;
    e.status = 400;
  } else if (type == "accessDeniedException") {
    e.kind = ErrorKind::UpstreamAuth;
    e.detail += ": " + first_line(message);
    message = std::string(kAuthRefused);
  } else {
    // serviceUnavailableException, internalServerException, modelStreamErrorException and any
    // exception type added later.
    e.kind = ErrorKind::UpstreamUnavailable;
  }
  e.public_message =
      message.empty() ? "The upstream failed during the stream (" + std::string(type) + ")."
                      : std::move(message);
  return e;
}

// ---------------------------------------------------------------------------------------------
// Stream

class BedrockStreamDecoder final : public StreamDecoder {
 public:
  Result<void> feed(std::string_view bytes, std::vector<ir::StreamEvent>& out) override {
    if (error_) {
      return *error_;
    }
    frames_.feed(bytes);
    for (;;) {
      auto next = frames_.next();
      if (!next) {
        error_ = next.error();
        return next.error();
      }
      if (!next->has_value()) {
        return {};
      }
      if (auto handled = handle(**next, out); !handled) {
        error_ = handled.error();
        return handled.error();
      }
    }
  }

  Result<void> finish(std::vector<ir::StreamEvent>& /*out*/) override {
    if (error_) {
      return *error_;
    }
    return frames_.finish();
  }

 private:
  Result<void> handle(const codec::EventMessage& m, std::vector<ir::StreamEvent>& out) {
    const auto message_type = m.string_header(":message-type");
    if (!message_type) {
      return malformed_reply("event-stream message without :message-type");
    }
    if (*message_type == "exception") {
      ir::StreamEvent e;
      e.type = ir::StreamEvent::Type::Error;
      const std::string type(m.string_header(":exception-type").value_or("exception"));
      e.error = stream_exception(type, message_of(m.payload));
      out.push_back(std::move(e));
      return {};
    }
    if (*message_type == "error") {
      // Event Stream spec: a protocol-level error carries :error-code and :error-message.
      ir::StreamEvent e;
      e.type = ir::StreamEvent::Type::Error;
      e.error = make_error(ErrorKind::UpstreamUnavailable,
                           std::string(m.string_header(":error-message")
                                           .value_or("The upstream failed during the stream.")));
      e.error.detail =
          "bedrock stream error " + std::string(m.string_header(":error-code").value_or(""));
      out.push_back(std::move(e));
      return {};
    }
    if (*message_type != "event") {
      return {};  // not a kind this API sends; nothing to act on
    }
    const auto event_type = m.string_header(":event-type");
    if (!event_type) {
      return malformed_reply("event without :event-type");
    }
    json::value payload = json::object();
    if (!m.payload.empty()) {
      auto parsed = parse_json(m.payload);
      if (!parsed || !parsed->is_object()) {
        return malformed_reply("event " + std::string(*event_type) + " payload is not an object");
      }
      payload = std::move(*parsed);
    }
    // Every payload also has a random-length "p" member (padding against length side
    // channels); nothing here reads it.
    const json::object& p = payload.get_object();
    if (*event_type == "messageStart") {
      ir::StreamEvent e;
      e.type = ir::StreamEvent::Type::Start;  // Bedrock sends neither an id nor the model
      out.push_back(std::move(e));
    } else if (*event_type == "contentBlockStart") {
      on_block_start(p, out);
    } else if (*event_type == "contentBlockDelta") {
      on_block_delta(p, out);
    } else if (*event_type == "messageStop") {
      ir::StreamEvent e;
      e.type = ir::StreamEvent::Type::Finish;
      e.finish_raw = string_or_empty(p, "stopReason");
      e.finish = finish_from(e.finish_raw);
      out.push_back(std::move(e));
    } else if (*event_type == "metadata") {
      // ConverseStreamMetadataEvent {usage, metrics, trace}: after messageStop.
      if (const json::object* usage = object_at(p, "usage")) {
        ir::StreamEvent e;
        e.type = ir::StreamEvent::Type::Usage;
        e.usage = usage_from(*usage);
        out.push_back(std::move(e));
      }
    }
    // contentBlockStop and event types added later carry nothing the IR needs.
    return {};
  }

  static std::int64_t block_index(const json::object& p) {
    const json::value* v = p.if_contains("contentBlockIndex");
    return v != nullptr && v->is_int64() ? v->get_int64() : -1;
  }

  // The 0-based tool-call index of a content block, announcing the call when it is new.
  int tool_index(std::int64_t block, std::string id, std::string name,
                 std::vector<ir::StreamEvent>& out) {
    if (const auto it = tools_.find(block); it != tools_.end()) {
      return it->second;
    }
    const int index = next_tool_++;
    tools_.emplace(block, index);
    ir::StreamEvent e;
    e.type = ir::StreamEvent::Type::ToolCallStart;
    e.index = index;
    e.id = std::move(id);
    e.name = std::move(name);
    out.push_back(std::move(e));
    return index;
  }

  // ContentBlockStartEvent: only toolUse (and, with system tools, toolResult) blocks get one;
  // text and reasoning blocks start with their first delta.
  void on_block_start(const json::object& p, std::vector<ir::StreamEvent>& out) {
    const std::int64_t block = block_index(p);
    const json::object* start = object_at(p, "start");
    if (start == nullptr) {
      return;
    }
    if (const json::object* tool_use = object_at(*start, "toolUse")) {
      if (is_server_tool_use(*tool_use)) {
        hidden_.insert(block);
        return;
      }
      tool_index(block, string_or_empty(*tool_use, "toolUseId"),
                 string_or_empty(*tool_use, "name"), out);
    } else {
      hidden_.insert(block);  // toolResult of a system tool: the service ran it, not the client
    }
  }

  // ContentBlockDeltaEvent.delta: text | toolUse {input: JSON fragment} | reasoningContent
  // {text | signature | redactedContent} | toolResult | citation | ...
  void on_block_delta(const json::object& p, std::vector<ir::StreamEvent>& out) {
    const std::int64_t block = block_index(p);
    const json::object* delta = object_at(p, "delta");
    if (delta == nullptr || hidden_.count(block) != 0) {
      return;
    }
    if (const auto text = string_at(*delta, "text")) {
      if (!text->empty()) {  // the service sometimes sends an empty first delta
        ir::StreamEvent e;
        e.type = ir::StreamEvent::Type::TextDelta;
        e.text = std::string(*text);
        out.push_back(std::move(e));
      }
    } else if (const json::object* tool_use = object_at(*delta, "toolUse")) {
      const int index = tool_index(block, {}, {}, out);
      const auto input = string_at(*tool_use, "input");
      if (input && !input->empty()) {
        ir::StreamEvent e;
        e.type = ir::StreamEvent::Type::ToolCallDelta;
        e.index = index;
        e.text = std::string(*input);
        out.push_back(std::move(e));
      }
    } else if (const json::object* reasoning = object_at(*delta, "reasoningContent")) {
      ir::StreamEvent e;
      e.type = ir::StreamEvent::Type::ReasoningDelta;
      e.text = string_or_empty(*reasoning, "text");
      e.signature = string_or_empty(*reasoning, "signature");
      e.redacted_data = string_or_empty(*reasoning, "redactedContent");
      if (!e.text.empty() || !e.signature.empty() || !e.redacted_data.empty()) {
        out.push_back(std::move(e));
      }
    }
  }

  codec::EventStreamDecoder frames_;
  std::optional<Error> error_;               // sticky: the first framing or payload error
  std::map<std::int64_t, int> tools_;        // contentBlockIndex -> tool-call index
  std::set<std::int64_t> hidden_;            // blocks of server-side tools
  int next_tool_ = 0;
};

// ---------------------------------------------------------------------------------------------
// The adapter

class BedrockAdapter final : public Adapter {
 public:
  std::string_view type() const override { return "bedrock"; }

  Result<UpstreamRequest> encode(const ir::ChatRequest& req, const Target& target) const override {
    if (auto err = check_unsupported(req)) {
      return *err;
    }
    if (target.model.empty()) {
      return make_error(ErrorKind::Internal, "The route's target names no upstream model.");
    }
    json::array system;
    for (const auto& s : req.system) {
      if (!s.empty()) {
        system.push_back(json::object{{"text", s}});
      }
    }
    auto messages = encode_messages(req, system);
    if (!messages) {
      return messages.error();
    }

    // Member order follows the Converse request syntax: messages, system, inferenceConfig,
    // toolConfig, additionalModelRequestFields.
    json::object body;
    body["messages"] = std::move(messages.value());
    if (!system.empty()) {
      body["system"] = std::move(system);
    }
    // InferenceConfiguration {maxTokens, temperature, topP, stopSequences}.
    json::object inference;
    if (req.max_tokens) {
      inference["maxTokens"] = *req.max_tokens;
    }
    if (req.temperature) {
      inference["temperature"] = *req.temperature;
    }
    if (req.top_p) {
      inference["topP"] = *req.top_p;
    }
    if (!req.stop.empty()) {
      json::array stop;
      for (const auto& s : req.stop) {
        stop.push_back(json::string(s));
      }
      inference["stopSequences"] = std::move(stop);
    }
    if (!inference.empty()) {
      body["inferenceConfig"] = std::move(inference);
    }
    auto tool_config = encode_tool_config(req);
    if (!tool_config) {
      return tool_config.error();
    }
    if (tool_config.value()) {
      body["toolConfig"] = std::move(*tool_config.value());
    }
    // additionalModelRequestFields goes to the model as is, in the model's own names. Extended
    // thinking and top_k use Anthropic Claude's names (User Guide: "Extended thinking"; the
    // Converse examples pass {"top_k": ...}); other model families name top_k differently.
    json::object additional;
    if (req.reasoning && req.reasoning->budget_tokens && *req.reasoning->budget_tokens > 0) {
      additional["thinking"] =
          json::object{{"type", "enabled"}, {"budget_tokens", *req.reasoning->budget_tokens}};
    }
    if (req.top_k) {
      additional["top_k"] = *req.top_k;
    }
    if (!additional.empty()) {
      body["additionalModelRequestFields"] = std::move(additional);
    }

    UpstreamRequest out;
    out.stream = req.stream;
    out.path = "/model/" + bedrock_encode_model_id(target.model) +
               (req.stream ? "/converse-stream" : "/converse");
    out.headers.emplace_back("content-type", "application/json");
    write_json(out.body, body);
    return out;
  }

  Result<ir::ChatResponse> decode(const UpstreamReply& reply) const override {
    const auto parsed = parse_json(reply.body);
    if (!parsed || !parsed->is_object()) {
      return malformed_reply("Converse response is not a JSON object");
    }
    const json::object& root = parsed->get_object();
    const json::object* output = object_at(root, "output");
    const json::object* message = output != nullptr ? object_at(*output, "message") : nullptr;
    const json::array* content = message != nullptr ? array_at(*message, "content") : nullptr;
    if (content == nullptr) {
      return malformed_reply("Converse response without output.message.content");
    }
    ir::ChatResponse r;  // Converse returns no id and no model name: both stay empty
    for (const auto& v : *content) {
      if (!v.is_object()) {
        continue;
      }
      const json::object& block = v.get_object();
      if (const auto text = string_at(block, "text")) {
        r.content.emplace_back(ir::TextPart{std::string(*text)});
      } else if (const json::object* tool_use = object_at(block, "toolUse")) {
        if (is_server_tool_use(*tool_use)) {
          continue;
        }
        const json::value* input = tool_use->if_contains("input");
        ir::ToolCallPart call;
        call.id = string_or_empty(*tool_use, "toolUseId");
        call.name = string_or_empty(*tool_use, "name");
        call.arguments = input != nullptr ? compact(*input) : "{}";
        r.content.emplace_back(std::move(call));
      } else if (const json::object* reasoning = object_at(block, "reasoningContent")) {
        ir::ReasoningPart part;
        if (const json::object* rt = object_at(*reasoning, "reasoningText")) {
          part.text = string_or_empty(*rt, "text");
          part.signature = string_or_empty(*rt, "signature");
        }
        part.redacted_data = string_or_empty(*reasoning, "redactedContent");
        r.content.emplace_back(std::move(part));
      }
      // image, document, toolResult (of system tools), citationsContent, ...: not in the IR.
    }
    if (const auto stop = string_at(root, "stopReason")) {
      r.finish_raw = std::string(*stop);
      r.finish = finish_from(*stop);
    }
    if (const json::object* usage = object_at(root, "usage")) {
      r.usage = usage_from(*usage);
    }
    return r;
  }

  std::unique_ptr<StreamDecoder> stream_decoder(const ir::ChatRequest& /*req*/) const override {
    return std::make_unique<BedrockStreamDecoder>();
  }

  // Converse errors are restJson1: {"message": "..."}, the type in the x-amzn-ErrorType header
  // (not available here, so the status decides). Documented statuses: ValidationException 400,
  // AccessDeniedException 403, ResourceNotFoundException 404, ModelTimeoutException 408,
  // ModelErrorException 424, ThrottlingException / ModelNotReadyException 429,
  // InternalServerException 500, ServiceUnavailableException 503.
  Error map_error(const UpstreamReply& reply) const override {
    const std::string message = message_of(reply.body);
    const int status = static_cast<int>(reply.status);
    Error e;
    e.retry_after = reply.retry_after;
    e.detail = "bedrock HTTP " + std::to_string(status);
    if (status == 401 || status == 403) {
      e.kind = ErrorKind::UpstreamAuth;
      e.public_message = std::string(kAuthRefused);
      if (!message.empty()) {
        e.detail += ": " + first_line(message);
      }
      return e;
    }
    if (status == 429) {
      e.kind = ErrorKind::RateLimited;
    } else if (status == 408 || status == 504) {
      e.kind = ErrorKind::UpstreamTimeout;
    } else if (status == 404) {
      e.kind = ErrorKind::NotFound;
      e.status = 404;
    } else if (status >= 400 && status < 500 && status != 424) {
      e.kind = ErrorKind::InvalidRequest;
      e.status = status;
    } else {
      // 424 (the model failed while processing), 500, 502, 503 and anything unexpected.
      e.kind = ErrorKind::UpstreamUnavailable;
    }
    e.public_message =
        message.empty() ? "Amazon Bedrock answered HTTP " + std::to_string(status) + "."
                        : message;
    return e;
  }

  ir::Capabilities capabilities(const Target& /*target*/) const override {
    ir::Capabilities c;
    c.tools = true;
    c.parallel_tool_calls = true;
    c.vision = true;
    c.reasoning = true;
    return c;  // json_object, json_schema, logprobs, multiple_choices: no Converse field
  }
};

}  // namespace

std::string bedrock_encode_model_id(std::string_view model_id) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(model_id.size() + 8);
  for (const char ch : model_id) {
    const auto c = static_cast<unsigned char>(ch);
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
                            c == '~';
    if (unreserved) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0x0F];
    }
  }
  return out;
}

const Adapter& bedrock_adapter() {
  static const BedrockAdapter adapter;
  return adapter;
}

}  // namespace sy::providers
