#include "server/http_util.h"

#include <array>
#include <cstdio>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/write.hpp>
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
  // The head is serialised by hand into one string and written with the body in one call:
  // Beast's generic serializer iterates a buffers_cat_view per field, a measurable cost here.
  std::string head;
  head.reserve(320);
  head.append(res.version() == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
  head.append(std::to_string(res.result_int()));
  head.push_back(' ');
  head.append(res.reason());
  head.append("\r\n");
  for (const auto& field : res.base()) {
    head.append(field.name_string());
    head.append(": ");
    head.append(field.value());
    head.append("\r\n");
  }
  head.append("\r\n");
  const std::array<net::const_buffer, 2> wire{net::buffer(head), net::buffer(res.body())};
  stream.expires_after(ctx.write_timeout);
  auto [ec, n] = co_await net::async_write(stream, wire, kTuple);
  (void)n;
  co_return !ec;
}

net::awaitable<bool> write_chunk(beast::tcp_stream& stream, std::string_view data,
                                 const RequestContext& ctx) {
  if (data.empty()) {
    co_return true;  // an empty chunk would end the body
  }
  char size_line[24];
  const int n = std::snprintf(size_line, sizeof size_line, "%zx\r\n", data.size());
  const std::array<net::const_buffer, 3> wire{
      net::buffer(size_line, static_cast<std::size_t>(n)), net::buffer(data.data(), data.size()),
      net::buffer("\r\n", 2)};
  stream.expires_after(ctx.write_timeout);
  auto [ec, written] = co_await net::async_write(stream, wire, kTuple);
  (void)written;
  co_return !ec;
}

net::awaitable<bool> write_last_chunk(beast::tcp_stream& stream, const RequestContext& ctx) {
  stream.expires_after(ctx.write_timeout);
  auto [ec, written] = co_await net::async_write(stream, net::buffer("0\r\n\r\n", 5), kTuple);
  (void)written;
  co_return !ec;
}

void log_access(RequestContext& ctx) {
  ctx.record.request_id = ctx.request_id;
  ctx.record.latency_ms =
      std::chrono::duration<double, std::milli>(Clock::now() - ctx.start).count();
  write_access_line(render_access_record(ctx.record));
}

}  // namespace sy::server
