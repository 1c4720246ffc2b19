#pragma once
// A provider's base_url split into what the HTTP client needs.

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace sy::upstream {

struct BaseUrl {
  bool tls = false;
  std::string host;       // without brackets for IPv6
  std::uint16_t port = 0;
  std::string host_header;  // "host" or "host:port" when the port is not the scheme default
  std::string path;         // without trailing '/', e.g. "/v1"; may be empty
};

// Accepts http:// and https:// URLs with a host, optional port and path; no query or fragment.
Result<BaseUrl> parse_base_url(std::string_view url);

}  // namespace sy::upstream
