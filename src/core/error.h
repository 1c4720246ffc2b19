#pragma once
// The one error type of Switchyard's data plane. Expected failures are values (sy::Result<T>);
// exceptions are for start-up and config loading only (see docs/architecture.md).

#include <string>
#include <string_view>

namespace sy {

enum class ErrorKind {
  InvalidRequest,       // 400: malformed JSON, missing or wrong-typed field
  Unauthorized,         // 401
  Forbidden,            // 403
  NotFound,             // 404: unknown route/model or endpoint
  MethodNotAllowed,     // 405
  PayloadTooLarge,      // 413
  RateLimited,          // 429
  Internal,             // 500: a bug; never the client's fault
  UpstreamUnavailable,  // 502: connect failure, reset, malformed upstream reply
  UpstreamAuth,         // 502: the gateway's provider credential was refused (never passed through)
  NoTarget,             // 503: every target of the route is disabled
  UpstreamTimeout,      // 504
};

struct Error {
  ErrorKind kind = ErrorKind::Internal;
  std::string public_message;  // the only text that leaves the process
  std::string code;            // stable machine code, e.g. "model_not_found"; empty = default
  std::string param;           // the offending request field, if any
  std::string detail;          // for logs only; never contains secrets
  int status = 0;              // when set, the HTTP status to answer with (an upstream's own
                               // 4xx passed on in the caller's protocol); else http_status(kind)
  std::string retry_after;     // Retry-After to pass on, seconds as text

  static Error make(ErrorKind kind, std::string public_message, std::string code = {},
                    std::string param = {}) {
    Error e;
    e.kind = kind;
    e.public_message = std::move(public_message);
    e.code = std::move(code);
    e.param = std::move(param);
    return e;
  }
};

// HTTP status for an error kind.
int http_status(ErrorKind kind);
// The status to answer with: error.status when set, else http_status(error.kind).
int http_status(const Error& error);
// OpenAI `error.type` for an error kind (e.g. "invalid_request_error").
std::string_view openai_type(ErrorKind kind);
// Default stable `error.code` when Error::code is empty.
std::string_view default_code(ErrorKind kind);
// Whether a router may retry the request elsewhere (connect/reset/timeout/429/5xx).
bool retryable(ErrorKind kind);

// {"error":{"message":...,"type":...,"param":...,"code":...}}, the OpenAI error envelope.
std::string openai_error_body(const Error& error);

}  // namespace sy
