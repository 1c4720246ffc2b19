#pragma once
// A client protocol (OpenAI Chat Completions, Anthropic Messages): parse the client's request
// into IR, render IR answers, stream events and errors back exactly as that protocol's SDKs
// expect. Pure: no I/O.

#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"
#include "ir/chat.h"

namespace sy::inbound {

// Renders one streamed answer. Not thread-safe.
class StreamEncoder {
 public:
  virtual ~StreamEncoder() = default;
  // Appends the protocol bytes (whole SSE events) for `event` to `out`; may append nothing
  // (e.g. an event the protocol has no place for yet) and may hold state (open blocks).
  virtual void on_event(const ir::StreamEvent& event, std::string& out) = 0;
  // The upstream stream ended normally: close what is open ("[DONE]", message_stop, ...).
  virtual void finish(std::string& out) = 0;
  // The stream failed after bytes reached the client: a clean in-protocol error event.
  virtual void fail(const Error& error, std::string& out) = 0;
};

class Codec {
 public:
  virtual ~Codec() = default;
  virtual std::string_view name() const = 0;  // "openai-chat" | "anthropic-messages"
  // Errors are InvalidRequest with a message and param naming the field.
  virtual Result<ir::ChatRequest> parse_request(std::string_view body) const = 0;
  virtual std::string render_response(const ir::ChatResponse& resp,
                                      const ir::ChatRequest& req) const = 0;
  virtual std::unique_ptr<StreamEncoder> stream_encoder(const ir::ChatRequest& req) const = 0;
  virtual std::string render_error(const Error& error) const = 0;  // the protocol's envelope
  // The HTTP status this protocol's clients should see for `error`. An upstream "overloaded"
  // (Anthropic 529) is 529 for Anthropic clients, whose SDKs know it, and 503 elsewhere.
  virtual int status_for(const Error& error) const {
    if (error.status == 0 && error.code == "overloaded") {
      return 503;
    }
    return http_status(error);
  }
  virtual std::string_view error_content_type() const { return "application/json"; }
};

const Codec& openai_chat_codec();
const Codec& anthropic_messages_codec();

}  // namespace sy::inbound
