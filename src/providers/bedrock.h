#pragma once
// Amazon Bedrock Runtime, Converse and ConverseStream (restJson1 over HTTPS, the stream as
// application/vnd.amazon.eventstream). Pure: no I/O, no clock; SigV4 signing is done afterwards
// by src/auth (bedrock_signer.cc). API reference: "Amazon Bedrock API Reference", actions
// Converse / ConverseStream and the data types they name (Message, ContentBlock, ToolResultBlock,
// ReasoningContentBlock, InferenceConfiguration, ToolConfiguration, TokenUsage,
// ConverseStreamOutput). docs/providers.md, section "AWS Bedrock (outbound)", lists every
// mapping decision.

#include <string>
#include <string_view>

#include "providers/adapter.h"

namespace sy::providers {

// The adapter for provider type "bedrock". Stateless; one instance for the process.
const Adapter& bedrock_adapter();

// The model id as one path segment: RFC 3986 unreserved bytes (A-Z a-z 0-9 - . _ ~) kept,
// every other byte percent-encoded with upper-case hex (':' -> %3A, '/' -> %2F), as the AWS SDKs
// write the {modelId} label of POST /model/{modelId}/converse.
std::string bedrock_encode_model_id(std::string_view model_id);

}  // namespace sy::providers
