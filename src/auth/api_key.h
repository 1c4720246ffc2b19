#pragma once
// Upstream credentials: static API-key headers per provider type, and request signers (SigV4)
// applied after the adapter has encoded the request. Credentials never leave this layer in logs.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/schema.h"

namespace sy::auth {

using Headers = std::vector<std::pair<std::string, std::string>>;

// The fixed auth headers of a provider:
//   openai, openai-compatible: Authorization: Bearer <api_key> (none when api_key is empty)
//   azure-openai: api-key: <api_key>
//   anthropic: x-api-key: <api_key>, anthropic-version: <anthropic_version>
//   gemini: x-goog-api-key: <api_key>
//   bedrock with api_key (a Bedrock API key): Authorization: Bearer <api_key>
//   bedrock with AWS credentials, simulator: none (bedrock is signed per request)
Headers static_auth_headers(const config::ProviderConfig& provider);

// Signs each request just before it is sent (it needs the final path, headers and body).
class Signer {
 public:
  virtual ~Signer() = default;
  // Adds the signature headers (e.g. Authorization, x-amz-date, x-amz-content-sha256,
  // x-amz-security-token) to `headers`. `path` is the raw request target as sent (already
  // percent-encoded, with query); `host` is the Host header value.
  virtual void sign(std::string_view method, std::string_view host, std::string_view path,
                    Headers& headers, std::string_view body,
                    std::chrono::system_clock::time_point now) const = 0;
};

// SigV4 (service "bedrock") for a bedrock provider with AWS credentials; nullptr otherwise.
std::shared_ptr<const Signer> make_signer(const config::ProviderConfig& provider);

}  // namespace sy::auth
