#pragma once
// OpenAI Chat Completions on the same-protocol fast path: inspect a client's request body,
// patch it for the upstream (model, stream_options) without re-serialising it, and read usage
// from responses and stream chunks. Pure: no I/O.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "codec/json_scan.h"
#include "core/result.h"
#include "ir/chat.h"
#include "ir/usage.h"

namespace sy::providers {

// What the gateway needs to know about a client's /v1/chat/completions body.
struct ChatRequestInfo {
  codec::JsonObjectScan scan;  // top-level members of the body
  std::string model;           // the client's "model" (a route name)
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage was true
  bool has_tools = false;      // "tools" is a non-empty array
};

// Validates a client body: a JSON object with "model" (non-empty string) and "messages"
// (non-empty array); "stream" a boolean if present; "stream_options" an object if present.
// Errors are InvalidRequest with `param` naming the field, e.g. param "messages".
Result<ChatRequestInfo> inspect_chat_request(std::string_view body);

// The body to send upstream: the client's bytes with "model" replaced by `upstream_model` and,
// when `force_include_usage` is set on a streaming request whose client did not ask for usage,
// "stream_options":{"include_usage":true} merged in (replacing stream_options.include_usage
// false, or adding the member). Every other byte is unchanged.
std::string rewrite_chat_request(std::string_view body, const ChatRequestInfo& info,
                                 std::string_view upstream_model, bool force_include_usage);

// The capabilities a client body needs from a target (ir::required_features for the fast
// path, without building the IR): tools, parallel_tool_calls, vision (an image_url part),
// json_object / json_schema (response_format), logprobs, multiple_choices (n > 1), reasoning
// (reasoning_effort). Only parses the messages when the body mentions "image_url".
std::vector<ir::Feature> required_features_fast(std::string_view body,
                                                const ChatRequestInfo& info);

// Usage from a chat.completion body or a chat.completion.chunk: the top-level "usage" object
// (prompt_tokens, completion_tokens, prompt_tokens_details.cached_tokens,
// completion_tokens_details.reasoning_tokens). nullopt when absent, null, or not an object.
std::optional<ir::Usage> usage_from_openai(std::string_view json);

// What the stream pump learns from one SSE event's data on the fast path.
struct ChunkInfo {
  bool done = false;           // data is "[DONE]"
  bool is_error = false;       // a bare {"error":{...}} (OpenAI's mid-stream failure)
  bool usage_only = false;     // "choices":[] and a usage object: the include_usage chunk
  std::optional<ir::Usage> usage;
};

// Classifies one event's data. Cheap on ordinary delta chunks (no full parse unless the data
// mentions "usage" or "error").
ChunkInfo inspect_chunk(std::string_view data);

}  // namespace sy::providers
