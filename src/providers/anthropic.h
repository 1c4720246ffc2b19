#pragma once
// The Anthropic Messages API (https://docs.anthropic.com/en/api/messages) as an upstream:
// IR <-> POST /v1/messages bodies, its SSE stream and its error envelope. Pure: no I/O, no auth
// (src/auth adds x-api-key and anthropic-version after encode).
//
// What does not map one to one (docs/providers.md, "Anthropic (outbound)", has the full list):
// - max_tokens is required by Anthropic; without one in the IR, kAnthropicDefaultMaxTokens is
//   sent (raised above the thinking budget when thinking is on: max_tokens must exceed it).
// - Reasoning parts go back only when they carry a signature (thinking) or redacted data
//   (redacted_thinking): Anthropic rejects thinking blocks it did not sign.
// - n > 1, logprobs, response_format json_object/json_schema, seed and presence/frequency
//   penalties have no Anthropic equivalent: encode refuses them (InvalidRequest naming the
//   parameter) and capabilities() reports them unsupported so the router skips the target first.

#include <cstdint>

#include "providers/adapter.h"

namespace sy::providers {

// Anthropic requires max_tokens; used when the request has none.
inline constexpr std::int64_t kAnthropicDefaultMaxTokens = 4096;

// Thinking budgets for reasoning.effort when no budget_tokens is given (1024 is Anthropic's
// minimum budget).
inline constexpr std::int64_t kAnthropicEffortLowBudget = 1024;
inline constexpr std::int64_t kAnthropicEffortMediumBudget = 4096;
inline constexpr std::int64_t kAnthropicEffortHighBudget = 16384;

// The per-process Anthropic adapter (type "anthropic").
const Adapter& anthropic_adapter();

}  // namespace sy::providers
