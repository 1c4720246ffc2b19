#pragma once
// OpenAI Chat Completions as a client protocol: the helpers behind openai_chat_codec() that
// tests and other modules need directly. The codec itself is declared in inbound/codec.h.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "inbound/codec.h"
#include "ir/chat.h"

namespace sy::inbound {

// Gemini's thoughtSignature must come back on the next turn with the function call it belongs
// to, but an OpenAI client only echoes a tool call's `id` (in the assistant message's
// tool_calls[].id and in the tool message's tool_call_id). So the signature travels inside the
// id: `<id>~ts~<base64url(signature), unpadded>`. `~` is outside both base64url and the id
// alphabets providers use, so the split is unambiguous.
inline constexpr std::string_view kSignatureMarker = "~ts~";

// `id` unchanged when `signature` is empty, else id + "~ts~" + base64url(signature).
std::string encode_tool_call_id(std::string_view id, std::string_view signature);

struct DecodedToolCallId {
  std::string id;
  std::string signature;  // "" when the id carried none
};
// The inverse of encode_tool_call_id. An id whose text after the last "~ts~" is not valid
// unpadded base64url is not one of ours and comes back whole, with no signature.
DecodedToolCallId decode_tool_call_id(std::string_view wire_id);

// OpenAI's finish_reason for an IR finish reason (Stop/StopSequence/Other -> "stop", ...).
std::string_view openai_finish_reason(ir::FinishReason reason);

// The chat.completion `usage` object for IR usage (IR input_tokens already counts cached and
// cache-write tokens; see docs/protocols.md), as compact JSON text.
std::string render_openai_usage(const ir::Usage& usage);

// The stream encoder with an explicit `created` timestamp (seconds since the epoch); the codec's
// stream_encoder() passes the wall clock. Tests pass a fixed value for stable goldens.
std::unique_ptr<StreamEncoder> make_openai_stream_encoder(const ir::ChatRequest& req,
                                                          std::int64_t created);

}  // namespace sy::inbound
