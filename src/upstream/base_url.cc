#include "upstream/base_url.h"

#include <boost/url/parse.hpp>

namespace sy::upstream {

Result<BaseUrl> parse_base_url(std::string_view url) {
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) {
    return make_error(ErrorKind::Internal, "invalid base_url");
  }
  const auto& u = *parsed;
  BaseUrl out;
  if (u.scheme() == "https") {
    out.tls = true;
  } else if (u.scheme() != "http") {
    return make_error(ErrorKind::Internal, "base_url scheme must be http or https");
  }
  if (u.has_query() || u.has_fragment() || u.has_userinfo()) {
    return make_error(ErrorKind::Internal, "base_url must not have userinfo, query or fragment");
  }
  out.host = u.encoded_host_address();
  if (out.host.size() > 2 && out.host.front() == '[' && out.host.back() == ']') {
    out.host = out.host.substr(1, out.host.size() - 2);
  }
  if (out.host.empty()) {
    return make_error(ErrorKind::Internal, "base_url has no host");
  }
  const std::uint16_t default_port = out.tls ? 443 : 80;
  out.port = u.has_port() ? u.port_number() : default_port;
  if (u.has_port() && out.port == 0) {
    return make_error(ErrorKind::Internal, "base_url has an invalid port");
  }
  out.host_header = std::string(u.encoded_host_and_port());
  if (!u.has_port() || out.port == default_port) {
    out.host_header = std::string(u.encoded_host());
  }
  out.path = std::string(u.encoded_path());
  while (!out.path.empty() && out.path.back() == '/') {
    out.path.pop_back();
  }
  return out;
}

}  // namespace sy::upstream
