#pragma once
// Small helpers shared by the fast path and the translation path.

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <string>

#include "core/result.h"
#include "upstream/transport.h"

namespace sy::server {

constexpr std::size_t kMaxErrorBody = 1 << 20;         // what we read of an upstream error
constexpr std::size_t kMaxResponseBody = 64ull << 20;  // a non-streamed answer we buffer

// Reads the rest of an upstream body, at most `limit` bytes.
boost::asio::awaitable<Result<std::string>> read_all(upstream::Exchange& ex, std::size_t limit);

// Replaces every occurrence of `secret` (a provider credential) with "[redacted]".
std::string scrub(std::string body, const std::string& secret);

inline double ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace sy::server
