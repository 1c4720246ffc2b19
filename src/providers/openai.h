#pragma once
// OpenAI Chat Completions as an outbound protocol: IR <-> POST /chat/completions
// (https://platform.openai.com/docs/api-reference/chat). Used when the client speaks another
// protocol (e.g. Anthropic Messages in, OpenAI out); an OpenAI client talking to an OpenAI
// upstream takes the byte-patching fast path in openai_compat.h instead.
//
// One adapter serves the provider types "openai" and "openai-compatible" (the registry maps
// both here); the differences are read from target.provider->type. The body encoder, response
// decoder, stream decoder and error mapping are exposed so that azure.cc (Azure OpenAI, same
// body on another path) reuses them. Pure: no I/O.

#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"
#include "ir/chat.h"
#include "providers/adapter.h"

namespace sy::providers {

// The adapter for provider types "openai" and "openai-compatible".
const Adapter& openai_adapter();

// How the request body differs between OpenAI-protocol upstreams.
struct OpenAiBodyOptions {
  std::string model;  // the body's "model"
  // true: "max_completion_tokens" (OpenAI, Azure: reasoning models reject "max_tokens");
  // false: "max_tokens" (what OpenAI-compatible servers such as vLLM, Ollama, xAI, DeepSeek
  // and Anthropic's compat endpoint read; several of them ignore max_completion_tokens).
  bool max_completion_tokens = true;
  // true: assistant-history ReasoningParts are dropped (OpenAI has no input field for them and
  // rejects unknown message fields); false: their text is sent as the assistant message's
  // "reasoning_content" (the DeepSeek / vLLM convention).
  bool drop_reasoning_history = true;
  // Whether "top_k" is sent (not an OpenAI parameter; vLLM, llama.cpp and OpenRouter read it).
  bool send_top_k = false;
};

// The options for a target: OpenAI's own for type "openai" (and a null provider), the
// compatible ones for "openai-compatible".
OpenAiBodyOptions openai_body_options(const Target& target);

// The Chat Completions request body (JSON text). Fails with InvalidRequest when the IR cannot be
// expressed (an image in an assistant turn, a tool or schema whose JSON text does not parse).
Result<std::string> encode_openai_chat_body(const ir::ChatRequest& req,
                                            const OpenAiBodyOptions& options);

// A chat.completion body (2xx) into IR. The first choice only (the IR has one answer).
// A body that is not a chat.completion is UpstreamUnavailable; a body that is an error
// envelope is mapped as map_openai_error would.
Result<ir::ChatResponse> decode_openai_chat_body(std::string_view body);

// The decoder for a chat.completion.chunk SSE stream.
std::unique_ptr<StreamDecoder> make_openai_stream_decoder();

// An OpenAI error reply (envelope {"error":{"message","type","param","code"}}) as an Error.
Error map_openai_error(const UpstreamReply& reply);

// Default capabilities of OpenAI's own models (also Azure OpenAI's).
ir::Capabilities openai_capabilities();
// Default capabilities of an OpenAI-compatible server (the catalog overrides per model).
ir::Capabilities openai_compatible_capabilities();

}  // namespace sy::providers
