#pragma once
// Azure OpenAI Chat Completions as an outbound protocol (provider type "azure-openai"):
// the OpenAI body (openai.h) on a deployment path,
// POST /openai/deployments/{deployment}/chat/completions?api-version={version}
// (https://learn.microsoft.com/en-us/azure/ai-services/openai/reference#chat-completions).
// The key goes in the `api-key` header (src/auth adds it). Pure: no I/O.

#include <string>
#include <string_view>

#include "providers/adapter.h"

namespace sy::providers {

// The adapter for provider type "azure-openai". Target::model is the deployment name.
const Adapter& azure_adapter();

// "/openai/deployments/{deployment}/chat/completions?api-version={api_version}", both
// percent-encoded (RFC 3986: everything but unreserved characters).
std::string azure_chat_path(std::string_view deployment, std::string_view api_version);

}  // namespace sy::providers
