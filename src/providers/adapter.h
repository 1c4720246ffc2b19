#pragma once
// A provider adapter: one upstream protocol, pure (no I/O, no clock). It encodes the canonical
// request for the upstream, decodes replies and streams back into IR, maps errors, and says what
// the target can do. Authentication is not here: src/auth adds keys or signs after encode.
// One file per protocol; src/providers/registry.cc lists them (no static self-registration).

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/schema.h"
#include "core/result.h"
#include "ir/chat.h"

namespace sy::providers {

using Headers = std::vector<std::pair<std::string, std::string>>;

// Where a request goes: the provider's config and the upstream model (or deployment) id.
struct Target {
  const config::ProviderConfig* provider = nullptr;
  std::string model;
};

struct UpstreamRequest {
  std::string path;  // appended to the base URL's path; may carry a query ("?alt=sse")
  Headers headers;   // protocol headers (e.g. accept); not auth
  std::string body;
  bool stream = false;  // the reply will be a stream (SSE or AWS event stream)
};

struct UpstreamReply {
  unsigned status = 0;
  std::string content_type;
  std::string body;
  std::string retry_after;
};

// Decodes one streamed reply. Not thread-safe; accepts ANY split of the bytes.
class StreamDecoder {
 public:
  virtual ~StreamDecoder() = default;
  // Appends the events completed by `bytes`. An error means the stream is unusable (malformed
  // framing); a provider's own mid-stream error arrives as a StreamEvent::Type::Error instead.
  virtual Result<void> feed(std::string_view bytes, std::vector<ir::StreamEvent>& out) = 0;
  // End of the upstream body: flushes what is pending (e.g. an unterminated last SSE event).
  virtual Result<void> finish(std::vector<ir::StreamEvent>& out) = 0;
};

class Adapter {
 public:
  virtual ~Adapter() = default;
  virtual std::string_view type() const = 0;  // "anthropic", "bedrock", ...
  virtual Result<UpstreamRequest> encode(const ir::ChatRequest& req, const Target& target) const = 0;
  virtual Result<ir::ChatResponse> decode(const UpstreamReply& reply) const = 0;
  virtual std::unique_ptr<StreamDecoder> stream_decoder(const ir::ChatRequest& req) const = 0;
  // A non-2xx reply (or a 2xx whose body is an error) as an Error: kind by status/type
  // (429/throttling -> RateLimited, 5xx/529/overloaded -> UpstreamUnavailable, timeouts ->
  // UpstreamTimeout, other 4xx -> InvalidRequest/NotFound with Error::status = the upstream's),
  // the provider's message as public_message (never credentials), Error::retry_after kept.
  virtual Error map_error(const UpstreamReply& reply) const = 0;
  // What the target can do by default (the config catalog may override per model).
  virtual ir::Capabilities capabilities(const Target& target) const = 0;
};

// The adapter for a provider type, or nullptr. Types: openai, openai-compatible, azure-openai,
// anthropic, bedrock, gemini.
const Adapter* adapter_for(std::string_view type);

}  // namespace sy::providers
