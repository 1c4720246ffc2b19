#pragma once
// Anthropic Messages (POST /v1/messages) as a client protocol. The codec itself is reached
// through anthropic_messages_codec() in inbound/codec.h; these are the mappings it uses that
// other parts (the server's error path, tests) may want to share.
// API reference: https://docs.claude.com/en/api/messages and /en/api/errors.

#include <string_view>

#include "core/error.h"
#include "ir/chat.h"

namespace sy::inbound {

// Anthropic `error.type` for an error, from its HTTP status (Error::status when set, else the
// kind's status): 400 invalid_request_error, 401 authentication_error, 402 billing_error,
// 403 permission_error, 404 not_found_error, 413 request_too_large, 429 rate_limit_error,
// 503/529 overloaded_error, 504 timeout_error, other 5xx api_error, other 4xx
// invalid_request_error (as Anthropic's error page says it does itself).
std::string_view anthropic_error_type(const Error& error);

// Anthropic `stop_reason` for an IR finish reason (Other -> "end_turn").
std::string_view anthropic_stop_reason(ir::FinishReason reason);

}  // namespace sy::inbound
