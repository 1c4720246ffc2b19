#pragma once
// Google Gemini API (generativelanguage.googleapis.com, v1beta) as an upstream:
// models.generateContent and models.streamGenerateContent?alt=sse
// (https://ai.google.dev/api/generate-content). Pure: no I/O, no clock; the x-goog-api-key
// header is added by src/auth. Mapping rules and tolerated differences: docs/providers.md,
// "Google Gemini (outbound)".

#include <string_view>

#include "providers/adapter.h"

namespace sy::providers {

// The API root that /v1beta/models/{model}:generateContent is appended to.
inline constexpr std::string_view kGeminiDefaultBaseUrl =
    "https://generativelanguage.googleapis.com";

// The process-wide Gemini adapter (type "gemini"). Stateless, so it may be shared by all
// workers; each streamed reply gets its own decoder from stream_decoder().
const Adapter& gemini_adapter();

}  // namespace sy::providers
