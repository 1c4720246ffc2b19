#include "server/exchange_util.h"

namespace sy::server {

boost::asio::awaitable<Result<std::string>> read_all(upstream::Exchange& ex, std::size_t limit) {
  std::string body;
  for (;;) {
    auto more = co_await ex.read_some(body);
    if (!more) {
      co_return more.error();
    }
    if (!*more) {
      co_return body;
    }
    if (body.size() > limit) {
      co_return make_error(ErrorKind::UpstreamUnavailable, "upstream response too large");
    }
  }
}

std::string scrub(std::string body, const std::string& secret) {
  if (secret.size() < 4) {
    return body;
  }
  for (auto pos = body.find(secret); pos != std::string::npos; pos = body.find(secret, pos)) {
    body.replace(pos, secret.size(), "[redacted]");
  }
  return body;
}

}  // namespace sy::server
