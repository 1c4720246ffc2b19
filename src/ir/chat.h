#pragma once
// The canonical chat model every protocol translates through: requests, responses and stream
// events. Pure data; no I/O, no JSON. Inbound codecs (src/inbound) turn client protocols into
// these and back; provider adapters (src/providers) turn these into upstream wire formats and
// back. Anything a protocol has that this model does not is kept in `extra` fields where it
// must survive a round trip, never silently dropped.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/error.h"
#include "ir/usage.h"

namespace sy::ir {

enum class Role { System, User, Assistant, Tool };

struct TextPart {
  std::string text;
  friend bool operator==(const TextPart&, const TextPart&) = default;
};

// An image as a URL (https:// or data:) or as inline base64 with its media type.
struct ImagePart {
  std::string url;         // "https://..." when given by reference
  std::string media_type;  // "image/png" when inline
  std::string data;        // base64 (no "data:" prefix) when inline
  std::string detail;      // OpenAI "auto" | "low" | "high"; "" = unset
  friend bool operator==(const ImagePart&, const ImagePart&) = default;
};

struct ToolCallPart {
  std::string id;
  std::string name;
  std::string arguments;  // JSON text of the arguments object, as produced by the model
  std::string signature;  // provider state that must be sent back (Gemini thoughtSignature)
  friend bool operator==(const ToolCallPart&, const ToolCallPart&) = default;
};

struct ToolResultPart {
  std::string tool_call_id;
  std::string content;  // text content of the result
  bool is_error = false;
  friend bool operator==(const ToolResultPart&, const ToolResultPart&) = default;
};

// Model reasoning ("thinking"). Signature/redacted data must round-trip to the same provider.
struct ReasoningPart {
  std::string text;
  std::string signature;      // Anthropic/Bedrock signature, Gemini thoughtSignature
  std::string redacted_data;  // Anthropic redacted_thinking data / Bedrock redactedContent
  friend bool operator==(const ReasoningPart&, const ReasoningPart&) = default;
};

using Part = std::variant<TextPart, ImagePart, ToolCallPart, ToolResultPart, ReasoningPart>;

struct Message {
  Role role = Role::User;
  std::vector<Part> content;
  std::string name;  // OpenAI "name" on user/assistant messages
  friend bool operator==(const Message&, const Message&) = default;
};

struct Tool {
  std::string name;
  std::string description;
  std::string parameters;  // JSON Schema as JSON text; "" = none
  bool strict = false;
  friend bool operator==(const Tool&, const Tool&) = default;
};

enum class ToolChoiceMode { Auto, None, Required, Function };
struct ToolChoice {
  ToolChoiceMode mode = ToolChoiceMode::Auto;
  std::string function;  // with Function
  friend bool operator==(const ToolChoice&, const ToolChoice&) = default;
};

enum class ResponseFormatType { Text, JsonObject, JsonSchema };
struct ResponseFormat {
  ResponseFormatType type = ResponseFormatType::Text;
  std::string name;    // json_schema.name
  std::string schema;  // JSON Schema as JSON text
  bool strict = false;
  friend bool operator==(const ResponseFormat&, const ResponseFormat&) = default;
};

struct ReasoningConfig {
  std::string effort;                   // "low" | "medium" | "high" | ...; "" = unset
  std::optional<std::int64_t> budget_tokens;  // Anthropic/Bedrock/Gemini thinking budget
  friend bool operator==(const ReasoningConfig&, const ReasoningConfig&) = default;
};

struct ChatRequest {
  std::string model;                // what the client asked for (a route name)
  std::vector<std::string> system;  // system prompt texts, in order
  std::vector<Message> messages;    // user / assistant / tool turns (no system role here)
  std::vector<Tool> tools;
  std::optional<ToolChoice> tool_choice;
  std::optional<bool> parallel_tool_calls;
  std::optional<double> temperature;
  std::optional<double> top_p;
  std::optional<std::int64_t> top_k;
  std::optional<std::int64_t> max_tokens;
  std::vector<std::string> stop;
  std::optional<std::int64_t> seed;
  std::optional<double> presence_penalty;
  std::optional<double> frequency_penalty;
  std::optional<std::int64_t> n;  // choices; > 1 needs the multiple_choices capability
  bool logprobs = false;
  std::optional<std::int64_t> top_logprobs;
  std::optional<ResponseFormat> response_format;
  std::optional<ReasoningConfig> reasoning;
  bool stream = false;
  bool include_usage = false;  // OpenAI stream_options.include_usage
  std::string user;
  std::map<std::string, std::string> metadata;
  friend bool operator==(const ChatRequest&, const ChatRequest&) = default;
};

enum class FinishReason { Stop, StopSequence, Length, ToolCalls, ContentFilter, Other };

struct ChatResponse {
  std::string id;
  std::string model;  // as the upstream reported it
  std::int64_t created = 0;
  std::vector<Part> content;  // TextPart, ToolCallPart, ReasoningPart in order
  std::optional<FinishReason> finish;
  std::string finish_raw;  // the provider's own word ("end_turn", "STOP", ...)
  std::string stop_sequence;  // which stop sequence matched, when known
  Usage usage;
  friend bool operator==(const ChatResponse&, const ChatResponse&) = default;
};

// One event of a streamed answer, in the order the provider produced it.
// Usage events carry absolute (not incremental) values for the fields they set; a consumer
// merges them field by field, the later value winning.
struct StreamEvent {
  enum class Type {
    Start,          // id, model
    TextDelta,      // text
    ReasoningDelta, // text and/or signature / redacted_data
    ToolCallStart,  // index (0-based among this answer's tool calls), id, name, signature
    ToolCallDelta,  // index, text = a fragment of the arguments JSON
    Usage,          // usage
    Finish,         // finish, finish_raw, stop_sequence
    Error,          // error (a mid-stream upstream failure)
  };
  Type type = Type::TextDelta;
  int index = 0;
  std::string id;
  std::string model;
  std::string name;
  std::string text;
  std::string signature;
  std::string redacted_data;
  Usage usage;
  FinishReason finish = FinishReason::Stop;
  std::string finish_raw;
  std::string stop_sequence;
  Error error;
};

// What a request needs from a target; the router skips targets that lack any of them.
enum class Feature {
  Tools,
  ParallelToolCalls,
  Vision,
  JsonObject,
  JsonSchema,
  Logprobs,
  MultipleChoices,
  Reasoning,
};
std::string_view feature_name(Feature f);  // "tools", "parallel_tool_calls", "vision", ...
std::vector<Feature> required_features(const ChatRequest& req);

struct Capabilities {
  bool tools = false;
  bool parallel_tool_calls = false;
  bool vision = false;
  bool json_object = false;
  bool json_schema = false;
  bool logprobs = false;
  bool multiple_choices = false;
  bool reasoning = false;
  bool has(Feature f) const;
  // The first feature of `needed` this target lacks, if any.
  std::optional<Feature> first_missing(const std::vector<Feature>& needed) const;
};

std::string_view finish_reason_name(FinishReason r);  // "stop", "stop_sequence", "length", ...

}  // namespace sy::ir
