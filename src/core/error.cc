#include "core/error.h"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace sy {

int http_status(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::InvalidRequest: return 400;
    case ErrorKind::Unauthorized: return 401;
    case ErrorKind::Forbidden: return 403;
    case ErrorKind::NotFound: return 404;
    case ErrorKind::MethodNotAllowed: return 405;
    case ErrorKind::PayloadTooLarge: return 413;
    case ErrorKind::RateLimited: return 429;
    case ErrorKind::Internal: return 500;
    case ErrorKind::UpstreamUnavailable: return 502;
    case ErrorKind::UpstreamAuth: return 502;
    case ErrorKind::NoTarget: return 503;
    case ErrorKind::UpstreamTimeout: return 504;
  }
  return 500;
}

int http_status(const Error& error) {
  return error.status != 0 ? error.status : http_status(error.kind);
}

std::string_view openai_type(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::InvalidRequest:
    case ErrorKind::NotFound:
    case ErrorKind::MethodNotAllowed:
    case ErrorKind::PayloadTooLarge: return "invalid_request_error";
    case ErrorKind::Unauthorized: return "authentication_error";
    case ErrorKind::Forbidden: return "permission_error";
    case ErrorKind::RateLimited: return "rate_limit_error";
    case ErrorKind::Internal: return "server_error";
    case ErrorKind::UpstreamUnavailable:
    case ErrorKind::UpstreamAuth:
    case ErrorKind::UpstreamTimeout: return "upstream_error";
    case ErrorKind::NoTarget: return "service_unavailable";
  }
  return "server_error";
}

std::string_view default_code(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::InvalidRequest: return "invalid_request";
    case ErrorKind::Unauthorized: return "invalid_api_key";
    case ErrorKind::Forbidden: return "forbidden";
    case ErrorKind::NotFound: return "not_found";
    case ErrorKind::MethodNotAllowed: return "method_not_allowed";
    case ErrorKind::PayloadTooLarge: return "payload_too_large";
    case ErrorKind::RateLimited: return "rate_limited";
    case ErrorKind::Internal: return "internal_error";
    case ErrorKind::UpstreamUnavailable: return "upstream_unavailable";
    case ErrorKind::UpstreamAuth: return "upstream_auth_failed";
    case ErrorKind::NoTarget: return "no_target_available";
    case ErrorKind::UpstreamTimeout: return "upstream_timeout";
  }
  return "internal_error";
}

bool retryable(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::RateLimited:
    case ErrorKind::UpstreamUnavailable:
    case ErrorKind::UpstreamTimeout:
    case ErrorKind::NoTarget: return true;
    default: return false;
  }
}

std::string openai_error_body(const Error& error) {
  boost::json::object inner;
  inner["message"] = error.public_message;
  inner["type"] = openai_type(error.kind);
  if (error.param.empty()) {
    inner["param"] = nullptr;
  } else {
    inner["param"] = error.param;
  }
  inner["code"] = error.code.empty() ? default_code(error.kind) : std::string_view(error.code);
  boost::json::object outer;
  outer["error"] = std::move(inner);
  return boost::json::serialize(outer);
}

}  // namespace sy
