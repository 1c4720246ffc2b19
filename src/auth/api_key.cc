#include "auth/api_key.h"

namespace sy::auth {

Headers static_auth_headers(const config::ProviderConfig& provider) {
  Headers headers;
  const std::string& type = provider.type;
  const std::string& key = provider.api_key;
  if (type == "openai" || type == "openai-compatible" || type == "bedrock") {
    // bedrock: only a Bedrock API key is static; AWS credentials are signed per request.
    if (!key.empty()) {
      headers.emplace_back("Authorization", "Bearer " + key);
    }
  } else if (type == "azure-openai") {
    if (!key.empty()) {
      headers.emplace_back("api-key", key);
    }
  } else if (type == "anthropic") {
    if (!key.empty()) {
      headers.emplace_back("x-api-key", key);
    }
    if (!provider.anthropic_version.empty()) {
      headers.emplace_back("anthropic-version", provider.anthropic_version);
    }
  } else if (type == "gemini") {
    if (!key.empty()) {
      headers.emplace_back("x-goog-api-key", key);
    }
  }
  return headers;  // simulator, unknown types: none
}

}  // namespace sy::auth
