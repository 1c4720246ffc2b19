#include "providers/anthropic.h"

#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "codec/json_scan.h"
#include "codec/json_util.h"
#include "codec/sse.h"

namespace sy::providers {

namespace {

namespace json = boost::json;

// ---------------------------------------------------------------------------------------------
// JSON helpers (codec/json_util.h: compact writes doubles as "0.7", not Boost's "7E-1")

using codec::compact;
using codec::count_at;
using codec::int_at;
using codec::object_at;
using codec::parse_json;
using codec::string_or_empty;

// Anthropic's input_tokens excludes cached tokens; the IR's input counts all input
// (https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching#tracking-cache-performance:
// total input = input_tokens + cache_creation_input_tokens + cache_read_input_tokens).
std::optional<std::int64_t> total_input(std::optional<std::int64_t> input,
                                        std::optional<std::int64_t> cache_read,
                                        std::optional<std::int64_t> cache_write) {
  if (!input && !cache_read && !cache_write) {
    return std::nullopt;
  }
  return input.value_or(0) + cache_read.value_or(0) + cache_write.value_or(0);
}

ir::Usage usage_from(const json::object& u) {
  ir::Usage usage;
  usage.cached_input_tokens = count_at(u, "cache_read_input_tokens");
  usage.cache_write_tokens = count_at(u, "cache_creation_input_tokens");
  usage.input_tokens = total_input(count_at(u, "input_tokens"), usage.cached_input_tokens,
                                   usage.cache_write_tokens);
  usage.output_tokens = count_at(u, "output_tokens");
  return usage;
}

// https://docs.anthropic.com/en/api/handling-stop-reasons
ir::FinishReason finish_for(std::string_view stop_reason) {
  if (stop_reason == "end_turn") {
    return ir::FinishReason::Stop;
  }
  if (stop_reason == "stop_sequence") {
    return ir::FinishReason::StopSequence;
  }
  if (stop_reason == "max_tokens" || stop_reason == "model_context_window_exceeded") {
    return ir::FinishReason::Length;  // both: output cut short by a token limit
  }
  if (stop_reason == "tool_use") {
    return ir::FinishReason::ToolCalls;
  }
  if (stop_reason == "refusal") {
    return ir::FinishReason::ContentFilter;
  }
  return ir::FinishReason::Other;  // pause_turn and reasons added later
}

Error malformed(std::string what) {
  Error e = make_error(ErrorKind::UpstreamUnavailable, "malformed upstream response");
  e.detail = "anthropic: " + std::move(what);
  return e;
}

// ---------------------------------------------------------------------------------------------
// Errors (https://docs.anthropic.com/en/api/errors)

constexpr std::string_view kAuthMessage =
    "The upstream provider rejected the gateway's credentials.";

// The kind for an Anthropic error.type, when the HTTP status does not decide it (a 2xx body or
// an SSE `event: error`).
ErrorKind kind_for_type(std::string_view type) {
  if (type == "rate_limit_error") {
    return ErrorKind::RateLimited;
  }
  if (type == "overloaded_error" || type == "api_error") {
    return ErrorKind::UpstreamUnavailable;
  }
  if (type == "timeout_error") {
    return ErrorKind::UpstreamTimeout;
  }
  if (type == "authentication_error" || type == "permission_error") {
    return ErrorKind::UpstreamAuth;
  }
  if (type == "not_found_error") {
    return ErrorKind::NotFound;
  }
  if (type == "request_too_large") {
    return ErrorKind::PayloadTooLarge;
  }
  return ErrorKind::InvalidRequest;
}

std::optional<ErrorKind> kind_for_status(unsigned status) {
  switch (status) {
    case 400: return ErrorKind::InvalidRequest;
    case 401:
    case 403: return ErrorKind::UpstreamAuth;
    case 404: return ErrorKind::NotFound;
    case 413: return ErrorKind::PayloadTooLarge;
    case 429: return ErrorKind::RateLimited;
    case 504: return ErrorKind::UpstreamTimeout;
    default: break;
  }
  if (status >= 500) {
    return ErrorKind::UpstreamUnavailable;  // 500 api_error, 529 overloaded_error, 502, 503
  }
  if (status >= 400) {
    return ErrorKind::InvalidRequest;
  }
  return std::nullopt;
}

// Builds the Error for an Anthropic error (type, message). `status` is the upstream's HTTP
// status, 0 for a mid-stream error.
Error anthropic_error(ErrorKind kind, unsigned status, const std::string& type,
                      const std::string& message) {
  Error e;
  e.kind = kind;
  e.detail = "anthropic";
  if (status != 0) {
    e.detail += " HTTP " + std::to_string(status);
  }
  e.detail += " " + (type.empty() ? std::string("(no type)") : type) + ": " + message;
  if (kind == ErrorKind::UpstreamAuth) {
    // The upstream's words about our key stay in the logs; the client learns only that the
    // gateway's credential failed.
    e.public_message = std::string(kAuthMessage);
    return e;
  }
  e.public_message = !message.empty() ? message
                     : status != 0    ? "Anthropic returned HTTP " + std::to_string(status)
                                      : "Anthropic reported an error";
  if (type == "overloaded_error" || status == 529) {
    // A retryable 5xx for the router; the gateway, not Anthropic's 529, decides the status a
    // client sees (Error::status stays 0).
    e.code = "overloaded";
    return e;
  }
  if (kind == ErrorKind::InvalidRequest || kind == ErrorKind::NotFound ||
      kind == ErrorKind::PayloadTooLarge || kind == ErrorKind::RateLimited) {
    e.code = type;  // Anthropic's own error.type, e.g. "invalid_request_error"
    if (status >= 400 && status < 500 && kind != ErrorKind::RateLimited) {
      e.status = static_cast<int>(status);  // passed on in the caller's protocol
    }
  }
  return e;
}

// {"type":"error","error":{"type":...,"message":...},"request_id":...}
void read_envelope(const json::object& o, std::string& type, std::string& message) {
  if (const json::object* err = object_at(o, "error")) {
    type = string_or_empty(*err, "type");
    message = string_or_empty(*err, "message");
  }
}

// ---------------------------------------------------------------------------------------------
// Encode (https://docs.anthropic.com/en/api/messages)

Error invalid(std::string message, std::string param, std::string code = "invalid_request") {
  return make_error(ErrorKind::InvalidRequest, std::move(message), std::move(code),
                    std::move(param));
}

Error unsupported(std::string param) {
  return invalid("The parameter '" + param + "' is not supported by Anthropic's Messages API.",
                 param, "unsupported_parameter");
}

// The router checks capabilities() first; this is the backstop so nothing is silently dropped.
std::optional<Error> reject_unsupported(const ir::ChatRequest& req) {
  if (req.n && *req.n > 1) {
    return unsupported("n");
  }
  if (req.logprobs) {
    return unsupported("logprobs");
  }
  if (req.top_logprobs) {
    return unsupported("top_logprobs");
  }
  if (req.response_format && req.response_format->type != ir::ResponseFormatType::Text) {
    return unsupported("response_format");
  }
  if (req.seed) {
    return unsupported("seed");
  }
  if (req.presence_penalty) {
    return unsupported("presence_penalty");
  }
  if (req.frequency_penalty) {
    return unsupported("frequency_penalty");
  }
  return std::nullopt;
}

// JSON text that must be an object (tool arguments, a tool's schema). "" gives `empty`.
Result<json::value> parse_object_text(const std::string& text, const json::value& empty,
                                      const std::string& param) {
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    return empty;
  }
  std::optional<json::value> v = parse_json(text);
  if (!v || !v->is_object()) {
    return invalid("'" + param + "' must be a JSON object.", param);
  }
  return std::move(*v);
}

// https://docs.anthropic.com/en/docs/build-with-claude/vision: base64 or url sources.
Result<json::value> image_block(const ir::ImagePart& img, const std::string& param) {
  json::object source;
  if (!img.data.empty()) {
    if (img.media_type.empty()) {
      return invalid("'" + param + "' needs a media type with inline data.", param);
    }
    source = {{"type", "base64"}, {"media_type", img.media_type}, {"data", img.data}};
  } else if (img.url.rfind("data:", 0) == 0) {
    // data:<media type>;base64,<data>
    const std::size_t comma = img.url.find(',');
    const std::string_view head = std::string_view(img.url).substr(5, comma - 5);
    constexpr std::string_view kBase64 = ";base64";
    if (comma == std::string::npos || head.size() <= kBase64.size() ||
        head.substr(head.size() - kBase64.size()) != kBase64) {
      return invalid("'" + param + "' must be a base64 data URL.", param);
    }
    source = {{"type", "base64"},
              {"media_type", head.substr(0, head.size() - kBase64.size())},
              {"data", img.url.substr(comma + 1)}};
  } else if (!img.url.empty()) {
    source = {{"type", "url"}, {"url", img.url}};
  } else {
    return invalid("'" + param + "' has neither a URL nor data.", param);
  }
  return json::object{{"type", "image"}, {"source", std::move(source)}};
}

// One IR part as an Anthropic content block; nullopt for a part that is not sent.
Result<std::optional<json::value>> content_block(const ir::Part& part, const std::string& param) {
  using Block = std::optional<json::value>;
  if (const auto* t = std::get_if<ir::TextPart>(&part)) {
    if (t->text.empty()) {
      return Block();  // Anthropic rejects empty text blocks
    }
    return Block(json::object{{"type", "text"}, {"text", t->text}});
  }
  if (const auto* i = std::get_if<ir::ImagePart>(&part)) {
    auto b = image_block(*i, param);
    if (!b) {
      return b.error();
    }
    return Block(std::move(*b));
  }
  if (const auto* c = std::get_if<ir::ToolCallPart>(&part)) {
    // tool_use.input is an object, not the JSON text OpenAI-style clients carry.
    auto input = parse_object_text(c->arguments, json::object(), param + ".arguments");
    if (!input) {
      return input.error();
    }
    return Block(json::object{
        {"type", "tool_use"}, {"id", c->id}, {"name", c->name}, {"input", std::move(*input)}});
  }
  if (const auto* r = std::get_if<ir::ToolResultPart>(&part)) {
    return Block(json::object{{"type", "tool_result"},
                              {"tool_use_id", r->tool_call_id},
                              {"content", r->content},
                              {"is_error", r->is_error}});
  }
  if (const auto* z = std::get_if<ir::ReasoningPart>(&part)) {
    // https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking: thinking blocks go
    // back unmodified with their signature; Anthropic rejects unsigned ones, so reasoning from
    // another provider (no signature) is not sent.
    if (!z->redacted_data.empty()) {
      return Block(json::object{{"type", "redacted_thinking"}, {"data", z->redacted_data}});
    }
    if (!z->signature.empty()) {
      return Block(json::object{
          {"type", "thinking"}, {"thinking", z->text}, {"signature", z->signature}});
    }
  }
  return Block();
}

// system + messages. Anthropic takes system text apart from the turns, has no "tool" role
// (tool results are user content blocks) and requires user/assistant turns to alternate, so
// consecutive turns of the same role are merged.
Result<void> encode_turns(const ir::ChatRequest& req, json::object& body) {
  std::vector<std::string> system = req.system;
  json::array messages;
  std::string last_role;
  for (std::size_t mi = 0; mi < req.messages.size(); ++mi) {
    const ir::Message& m = req.messages[mi];
    if (m.role == ir::Role::System) {
      // The IR keeps system text in req.system; a stray system turn joins it, in order.
      for (const ir::Part& p : m.content) {
        if (const auto* t = std::get_if<ir::TextPart>(&p); t != nullptr && !t->text.empty()) {
          system.push_back(t->text);
        }
      }
      continue;
    }
    const std::string role = m.role == ir::Role::Assistant ? "assistant" : "user";
    json::array blocks;
    for (std::size_t pi = 0; pi < m.content.size(); ++pi) {
      const std::string param =
          "messages[" + std::to_string(mi) + "].content[" + std::to_string(pi) + "]";
      auto block = content_block(m.content[pi], param);
      if (!block) {
        return block.error();
      }
      if (*block) {
        blocks.push_back(std::move(**block));
      }
    }
    if (blocks.empty()) {
      continue;
    }
    if (role == last_role) {
      json::array& prev = messages.back().get_object()["content"].get_array();
      for (json::value& b : blocks) {
        prev.push_back(std::move(b));
      }
      continue;
    }
    messages.push_back(json::object{{"role", role}, {"content", std::move(blocks)}});
    last_role = role;
  }
  if (system.size() == 1) {
    body["system"] = system.front();
  } else if (!system.empty()) {
    json::array blocks;
    for (const std::string& s : system) {
      blocks.push_back(json::object{{"type", "text"}, {"text", s}});
    }
    body["system"] = std::move(blocks);
  }
  body["messages"] = std::move(messages);
  return {};
}

// tools + tool_choice
// (https://docs.anthropic.com/en/docs/agents-and-tools/tool-use/implement-tool-use).
Result<void> encode_tools(const ir::ChatRequest& req, json::object& body) {
  if (!req.tools.empty()) {
    json::array tools;
    for (std::size_t i = 0; i < req.tools.size(); ++i) {
      const ir::Tool& t = req.tools[i];
      auto schema = parse_object_text(t.parameters, json::object{{"type", "object"}},
                                      "tools[" + std::to_string(i) + "].parameters");
      if (!schema) {
        return schema.error();
      }
      json::object tool{{"name", t.name}};
      if (!t.description.empty()) {
        tool["description"] = t.description;
      }
      tool["input_schema"] = std::move(*schema);
      tools.push_back(std::move(tool));
    }
    body["tools"] = std::move(tools);
  }
  const bool no_parallel = req.parallel_tool_calls.has_value() && !*req.parallel_tool_calls;
  const ir::ToolChoiceMode mode =
      req.tool_choice ? req.tool_choice->mode : ir::ToolChoiceMode::Auto;
  if (req.tools.empty()) {
    if (mode == ir::ToolChoiceMode::Required || mode == ir::ToolChoiceMode::Function) {
      return invalid("'tool_choice' requires 'tools'.", "tool_choice");
    }
    return {};  // auto/none without tools say nothing Anthropic needs to hear
  }
  if (!req.tool_choice && !no_parallel) {
    return {};
  }
  json::object choice;
  switch (mode) {
    case ir::ToolChoiceMode::Auto: choice["type"] = "auto"; break;
    case ir::ToolChoiceMode::Required: choice["type"] = "any"; break;
    case ir::ToolChoiceMode::None: choice["type"] = "none"; break;
    case ir::ToolChoiceMode::Function:
      if (req.tool_choice->function.empty()) {
        return invalid("'tool_choice' names no function.", "tool_choice");
      }
      choice["type"] = "tool";
      choice["name"] = req.tool_choice->function;
      break;
  }
  if (no_parallel && mode != ir::ToolChoiceMode::None) {
    choice["disable_parallel_tool_use"] = true;  // not accepted with type "none"
  }
  body["tool_choice"] = std::move(choice);
  return {};
}

// The extended-thinking budget, or nullopt when thinking stays off.
Result<std::optional<std::int64_t>> thinking_budget(const ir::ChatRequest& req) {
  using Budget = std::optional<std::int64_t>;
  if (!req.reasoning) {
    return Budget();
  }
  if (req.reasoning->budget_tokens) {
    const std::int64_t b = *req.reasoning->budget_tokens;
    if (b < 0) {
      return invalid("'reasoning.budget_tokens' must not be negative.", "reasoning.budget_tokens");
    }
    return b == 0 ? Budget() : Budget(b);  // 0 = thinking off (as Gemini's thinkingBudget)
  }
  const std::string& effort = req.reasoning->effort;
  if (effort.empty() || effort == "none") {
    return Budget();
  }
  if (effort == "minimal" || effort == "low") {
    return Budget(kAnthropicEffortLowBudget);
  }
  if (effort == "medium") {
    return Budget(kAnthropicEffortMediumBudget);
  }
  if (effort == "high") {
    return Budget(kAnthropicEffortHighBudget);
  }
  return invalid("Reasoning effort '" + effort + "' is not supported by Anthropic.",
                 "reasoning.effort");
}

// ---------------------------------------------------------------------------------------------
// Stream (https://docs.anthropic.com/en/docs/build-with-claude/streaming)

class AnthropicStreamDecoder final : public StreamDecoder {
 public:
  Result<void> feed(std::string_view bytes, std::vector<ir::StreamEvent>& out) override {
    sse_.clear();
    parser_.feed(bytes, sse_);
    return handle_all(out);
  }

  Result<void> finish(std::vector<ir::StreamEvent>& out) override {
    sse_.clear();
    parser_.finish(sse_);  // the SDK fixtures end without the last blank line
    if (auto r = handle_all(out); !r) {
      return r;
    }
    if (!ended_) {
      return malformed("stream ended before message_stop");
    }
    return {};
  }

 private:
  struct Block {
    std::string type;     // content_block.type
    int tool_index = -1;  // for tool_use: 0-based among this answer's tool calls
  };

  Result<void> handle_all(std::vector<ir::StreamEvent>& out) {
    for (const codec::SseEvent& ev : sse_) {
      if (auto r = handle(ev, out); !r) {
        return r;
      }
    }
    return {};
  }

  Result<void> handle(const codec::SseEvent& ev, std::vector<ir::StreamEvent>& out) {
    if (!ev.has_data) {
      return {};  // nothing to act on (a bare "event: ping")
    }
    std::optional<json::value> parsed = parse_json(ev.data);  // tolerates trailing spaces
    if (!parsed || !parsed->is_object()) {
      return malformed("event data is not a JSON object: " + ev.data.substr(0, 200));
    }
    const json::object& data = parsed->get_object();
    std::string type = string_or_empty(data, "type");
    if (type.empty()) {
      type = ev.event;
    }
    if (type == "message_start") {
      on_message_start(data, out);
    } else if (type == "content_block_start") {
      on_block_start(data, out);
    } else if (type == "content_block_delta") {
      return on_block_delta(data, out);
    } else if (type == "message_delta") {
      on_message_delta(data, out);
    } else if (type == "message_stop") {
      ended_ = true;
    } else if (type == "error") {
      std::string etype;
      std::string message;
      read_envelope(data, etype, message);
      ir::StreamEvent e;
      e.type = ir::StreamEvent::Type::Error;
      e.error = anthropic_error(kind_for_type(etype), 0, etype, message);
      out.push_back(std::move(e));
      ended_ = true;  // Anthropic sends no message_stop after an error
    }
    // ping, content_block_stop and event types added later carry nothing for the IR
    // ("handle unknown event types gracefully", per the versioning policy).
    return {};
  }

  void on_message_start(const json::object& data, std::vector<ir::StreamEvent>& out) {
    const json::object* msg = object_at(data, "message");
    if (msg == nullptr) {
      return;
    }
    ir::StreamEvent start;
    start.type = ir::StreamEvent::Type::Start;
    start.id = string_or_empty(*msg, "id");
    start.model = string_or_empty(*msg, "model");
    out.push_back(std::move(start));
    if (const json::object* u = object_at(*msg, "usage")) {
      push_usage(*u, out);
    }
  }

  void on_block_start(const json::object& data, std::vector<ir::StreamEvent>& out) {
    const json::object* cb = object_at(data, "content_block");
    const std::optional<std::int64_t> index = int_at(data, "index");
    if (cb == nullptr || !index) {
      return;
    }
    Block block{string_or_empty(*cb, "type")};
    if (block.type == "text") {
      if (std::string text = string_or_empty(*cb, "text"); !text.empty()) {
        push_text(ir::StreamEvent::Type::TextDelta, std::move(text), out);
      }
    } else if (block.type == "tool_use") {
      block.tool_index = tool_calls_++;
      ir::StreamEvent e;
      e.type = ir::StreamEvent::Type::ToolCallStart;
      e.index = block.tool_index;
      e.id = string_or_empty(*cb, "id");
      e.name = string_or_empty(*cb, "name");
      out.push_back(std::move(e));
      // The start carries "input":{} and the arguments follow as input_json_delta; should a
      // start ever carry the whole input, it is the arguments.
      const json::value* input = cb->if_contains("input");
      if (input != nullptr && input->is_object() && !input->get_object().empty()) {
        push_tool_delta(block.tool_index, compact(*input), out);
      }
    } else if (block.type == "thinking") {
      if (std::string text = string_or_empty(*cb, "thinking"); !text.empty()) {
        push_text(ir::StreamEvent::Type::ReasoningDelta, std::move(text), out);
      }
    } else if (block.type == "redacted_thinking") {
      ir::StreamEvent e;
      e.type = ir::StreamEvent::Type::ReasoningDelta;
      e.redacted_data = string_or_empty(*cb, "data");  // arrives whole, never as deltas
      out.push_back(std::move(e));
    }
    blocks_[*index] = std::move(block);
  }

  Result<void> on_block_delta(const json::object& data, std::vector<ir::StreamEvent>& out) {
    const json::object* delta = object_at(data, "delta");
    if (delta == nullptr) {
      return {};
    }
    const std::string dtype = string_or_empty(*delta, "type");
    if (dtype == "text_delta") {
      if (std::string text = string_or_empty(*delta, "text"); !text.empty()) {
        push_text(ir::StreamEvent::Type::TextDelta, std::move(text), out);
      }
    } else if (dtype == "input_json_delta") {
      const std::optional<std::int64_t> index = int_at(data, "index");
      const auto it = index ? blocks_.find(*index) : blocks_.end();
      if (it == blocks_.end()) {
        return malformed("input_json_delta for a block that never started");
      }
      // server_tool_use blocks stream input too, but the client does not run those.
      std::string fragment = string_or_empty(*delta, "partial_json");
      if (it->second.tool_index >= 0 && !fragment.empty()) {  // the first fragment is ""
        push_tool_delta(it->second.tool_index, std::move(fragment), out);
      }
    } else if (dtype == "thinking_delta") {
      if (std::string text = string_or_empty(*delta, "thinking"); !text.empty()) {
        push_text(ir::StreamEvent::Type::ReasoningDelta, std::move(text), out);
      }
    } else if (dtype == "signature_delta") {
      ir::StreamEvent e;
      e.type = ir::StreamEvent::Type::ReasoningDelta;
      e.signature = string_or_empty(*delta, "signature");
      out.push_back(std::move(e));
    }
    // citations_delta and later delta types: nothing the IR models.
    return {};
  }

  void on_message_delta(const json::object& data, std::vector<ir::StreamEvent>& out) {
    if (const json::object* u = object_at(data, "usage")) {
      push_usage(*u, out);
    }
    const json::object* delta = object_at(data, "delta");
    if (delta == nullptr) {
      return;
    }
    const std::string reason = string_or_empty(*delta, "stop_reason");
    if (reason.empty()) {
      return;
    }
    ir::StreamEvent e;
    e.type = ir::StreamEvent::Type::Finish;
    e.finish = finish_for(reason);
    e.finish_raw = reason;
    e.stop_sequence = string_or_empty(*delta, "stop_sequence");
    out.push_back(std::move(e));
  }

  // Usage events carry absolute values. message_delta's usage is cumulative and may repeat only
  // some input fields, so the three input counts are remembered to keep the IR total right.
  void push_usage(const json::object& u, std::vector<ir::StreamEvent>& out) {
    ir::StreamEvent e;
    e.type = ir::StreamEvent::Type::Usage;
    const auto input = count_at(u, "input_tokens");
    const auto cache_read = count_at(u, "cache_read_input_tokens");
    const auto cache_write = count_at(u, "cache_creation_input_tokens");
    input_ = input ? input : input_;
    cache_read_ = cache_read ? cache_read : cache_read_;
    cache_write_ = cache_write ? cache_write : cache_write_;
    if (input || cache_read || cache_write) {
      e.usage.input_tokens = total_input(input_, cache_read_, cache_write_);
    }
    e.usage.cached_input_tokens = cache_read;
    e.usage.cache_write_tokens = cache_write;
    e.usage.output_tokens = count_at(u, "output_tokens");
    if (e.usage.any()) {
      out.push_back(std::move(e));
    }
  }

  static void push_text(ir::StreamEvent::Type type, std::string text,
                        std::vector<ir::StreamEvent>& out) {
    ir::StreamEvent e;
    e.type = type;
    e.text = std::move(text);
    out.push_back(std::move(e));
  }

  static void push_tool_delta(int index, std::string fragment,
                              std::vector<ir::StreamEvent>& out) {
    ir::StreamEvent e;
    e.type = ir::StreamEvent::Type::ToolCallDelta;
    e.index = index;
    e.text = std::move(fragment);
    out.push_back(std::move(e));
  }

  codec::SseParser parser_;
  std::vector<codec::SseEvent> sse_;  // reused between feeds
  std::map<std::int64_t, Block> blocks_;
  int tool_calls_ = 0;
  std::optional<std::int64_t> input_;
  std::optional<std::int64_t> cache_read_;
  std::optional<std::int64_t> cache_write_;
  bool ended_ = false;  // message_stop or an error event seen
};

// ---------------------------------------------------------------------------------------------
// The adapter

class AnthropicAdapter final : public Adapter {
 public:
  std::string_view type() const override { return "anthropic"; }

  Result<UpstreamRequest> encode(const ir::ChatRequest& req, const Target& target) const override {
    if (auto e = reject_unsupported(req)) {
      return *e;
    }
    auto budget = thinking_budget(req);
    if (!budget) {
      return budget.error();
    }
    json::object body;
    body["model"] = target.model.empty() ? req.model : target.model;
    // max_tokens is required; with thinking on it must exceed budget_tokens.
    std::int64_t max_tokens = kAnthropicDefaultMaxTokens;
    if (*budget && **budget >= max_tokens) {
      max_tokens = **budget + kAnthropicDefaultMaxTokens;
    }
    body["max_tokens"] = req.max_tokens.value_or(max_tokens);
    if (auto r = encode_turns(req, body); !r) {
      return r.error();
    }
    if (req.temperature) {
      body["temperature"] = *req.temperature;
    }
    if (req.top_p) {
      body["top_p"] = *req.top_p;
    }
    if (req.top_k) {
      body["top_k"] = *req.top_k;
    }
    if (!req.stop.empty()) {
      json::array stops;
      for (const std::string& s : req.stop) {
        stops.push_back(json::string(s));
      }
      body["stop_sequences"] = std::move(stops);
    }
    if (auto r = encode_tools(req, body); !r) {
      return r.error();
    }
    if (*budget) {
      body["thinking"] = json::object{{"type", "enabled"}, {"budget_tokens", **budget}};
    }
    if (!req.user.empty()) {
      body["metadata"] = json::object{{"user_id", req.user}};
    }
    body["stream"] = req.stream;

    UpstreamRequest out;
    out.path = "/v1/messages";
    out.body = compact(body);
    out.stream = req.stream;
    return out;
  }

  Result<ir::ChatResponse> decode(const UpstreamReply& reply) const override {
    std::optional<json::value> parsed = parse_json(reply.body);
    if (!parsed || !parsed->is_object()) {
      return malformed("message body is not a JSON object");
    }
    const json::object& msg = parsed->get_object();
    if (string_or_empty(msg, "type") == "error") {
      return map_error(reply);
    }
    const json::value* content = msg.if_contains("content");
    if (content == nullptr || !content->is_array()) {
      return malformed("message has no content array");
    }
    ir::ChatResponse r;
    r.id = string_or_empty(msg, "id");
    r.model = string_or_empty(msg, "model");
    for (const json::value& bv : content->get_array()) {
      if (!bv.is_object()) {
        continue;
      }
      const json::object& b = bv.get_object();
      const std::string type = string_or_empty(b, "type");
      if (type == "text") {
        r.content.emplace_back(ir::TextPart{string_or_empty(b, "text")});
      } else if (type == "tool_use") {
        const json::value* input = b.if_contains("input");
        r.content.emplace_back(ir::ToolCallPart{string_or_empty(b, "id"), string_or_empty(b, "name"),
                                                input ? compact(*input) : "{}", {}});
      } else if (type == "thinking") {
        r.content.emplace_back(
            ir::ReasoningPart{string_or_empty(b, "thinking"), string_or_empty(b, "signature"), {}});
      } else if (type == "redacted_thinking") {
        r.content.emplace_back(ir::ReasoningPart{{}, {}, string_or_empty(b, "data")});
      }
      // server_tool_use / *_tool_result blocks belong to Anthropic-run tools: not modelled.
    }
    if (const std::string reason = string_or_empty(msg, "stop_reason"); !reason.empty()) {
      r.finish = finish_for(reason);
      r.finish_raw = reason;
    }
    r.stop_sequence = string_or_empty(msg, "stop_sequence");
    if (const json::object* u = object_at(msg, "usage")) {
      r.usage = usage_from(*u);
    }
    return r;
  }

  std::unique_ptr<StreamDecoder> stream_decoder(const ir::ChatRequest& /*req*/) const override {
    return std::make_unique<AnthropicStreamDecoder>();
  }

  Error map_error(const UpstreamReply& reply) const override {
    std::string type;
    std::string message;
    if (std::optional<json::value> v = parse_json(reply.body); v && v->is_object()) {
      read_envelope(v->get_object(), type, message);
    }
    const ErrorKind kind = kind_for_status(reply.status).value_or(kind_for_type(type));
    Error e = anthropic_error(kind, reply.status, type, message);
    e.retry_after = reply.retry_after;  // Anthropic sends it with 429 and 529
    return e;
  }

  ir::Capabilities capabilities(const Target& /*target*/) const override {
    ir::Capabilities c;
    c.tools = true;
    c.parallel_tool_calls = true;
    c.vision = true;
    c.reasoning = true;
    // json_object, json_schema, logprobs and multiple_choices stay false: encode refuses them.
    return c;
  }
};

}  // namespace

const Adapter& anthropic_adapter() {
  static const AnthropicAdapter adapter;
  return adapter;
}

}  // namespace sy::providers
