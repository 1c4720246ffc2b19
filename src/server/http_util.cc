#include "server/http_util.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace sy::server {

namespace {
constexpr auto kTuple = net::as_tuple(net::use_awaitable);
}

Response make_response(http::status status, std::string body, std::string_view content_type,
                       const Request& req, const RequestContext& ctx) {
  Response res{status, req.version()};
  res.set(http::field::server, "switchyard");
  res.set(http::field::content_type, content_type);
  add_common_headers(res, ctx);
  res.body() = std::move(body);
  res.keep_alive(ctx.keep_alive && req.keep_alive());
  res.prepare_payload();
  return res;
}

Response make_error_response(const Error& error, const Request& req, RequestContext& ctx) {
  ctx.record.status = http_status(error);
  ctx.record.error = error.code.empty() ? std::string(default_code(error.kind)) : error.code;
  auto res = make_response(static_cast<http::status>(http_status(error)), openai_error_body(error),
                           "application/json", req, ctx);
  if (!error.retry_after.empty()) {
    res.set(http::field::retry_after, error.retry_after);
  }
  return res;
}

net::awaitable<bool> write_response(beast::tcp_stream& stream, Response res,
                                    const RequestContext& ctx) {
  stream.expires_after(ctx.write_timeout);
  auto [ec, n] = co_await http::async_write(stream, res, kTuple);
  (void)n;
  co_return !ec;
}

void log_access(RequestContext& ctx) {
  ctx.record.request_id = ctx.request_id;
  ctx.record.latency_ms =
      std::chrono::duration<double, std::milli>(Clock::now() - ctx.start).count();
  write_access_line(render_access_record(ctx.record));
}

}  // namespace sy::server
