// One client connection: read a request (bounded head and body, idle and request timeouts),
// dispatch it, write the answer, repeat while keep-alive holds.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <cstring>

#include "core/ids.h"
#include "server/endpoints.h"
#include "server/http_util.h"
#include "server/worker.h"

namespace sy::server {

namespace {

constexpr auto kTuple = net::as_tuple(net::use_awaitable);

// Answers a request the parser refused, then the connection closes.
net::awaitable<void> reject(beast::tcp_stream& stream, http::status status, const Error& error) {
  RequestContext ctx;
  ctx.request_id = generate_request_id();
  ctx.keep_alive = false;
  Request dummy{http::verb::unknown, "", 11};
  auto res = make_error_response(error, dummy, ctx);
  res.result(status);
  co_await write_response(stream, std::move(res), ctx);
}

}  // namespace

net::awaitable<void> run_session(Worker& worker, net::ip::tcp::socket socket, bool admin) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  auto entry = worker.add_session(&stream);
  const auto& cfg = worker.snapshot().config->server;

  for (;;) {
    entry->idle = buffer.size() == 0;
    if (worker.draining() && entry->idle) {
      break;
    }
    http::request_parser<http::string_body> parser;
    parser.body_limit(cfg.max_body_bytes);
    parser.header_limit(cfg.max_header_bytes);
    stream.expires_after(entry->idle ? cfg.idle_timeout : cfg.request_timeout);
    auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, kTuple);
    (void)n;
    entry->idle = false;
    if (!ec) {
      if (parser.get()[http::field::expect] == "100-continue") {
        static constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
        auto [cec, cn] =
            co_await net::async_write(stream, net::buffer(kContinue, sizeof kContinue - 1), kTuple);
        (void)cn;
        ec = cec;
      }
    }
    if (!ec && !parser.is_done()) {
      stream.expires_after(cfg.request_timeout);
      auto [bec, bn] = co_await http::async_read(stream, buffer, parser, kTuple);
      (void)bn;
      ec = bec;
    }
    if (ec == http::error::body_limit) {
      co_await reject(stream, http::status::payload_too_large,
                      make_error(ErrorKind::PayloadTooLarge,
                                 "Request body exceeds the limit of " +
                                     std::to_string(cfg.max_body_bytes) + " bytes.",
                                 "payload_too_large"));
      break;
    }
    if (ec == http::error::header_limit) {
      co_await reject(stream, http::status::request_header_fields_too_large,
                      make_error(ErrorKind::InvalidRequest, "Request headers are too large.",
                                 "headers_too_large"));
      break;
    }
    if (ec) {
      // Clean close, idle timeout, drain, reset: nothing to answer. A malformed request gets a
      // 400 so a misbehaving client sees why.
      const bool quiet = ec == http::error::end_of_stream || ec == beast::error::timeout ||
                         ec == net::error::operation_aborted || ec == net::error::eof ||
                         ec == net::error::connection_reset || ec == http::error::partial_message;
      if (!quiet) {
        co_await reject(stream, http::status::bad_request,
                        make_error(ErrorKind::InvalidRequest, "Malformed HTTP request.",
                                   "bad_http_request"));
      }
      break;
    }

    Request req = parser.release();
    RequestContext ctx;
    const auto client_id = req["x-request-id"];
    ctx.request_id = is_sane_request_id(client_id) ? std::string(client_id) : generate_request_id();
    ctx.keep_alive = !worker.draining();
    ctx.write_timeout = cfg.idle_timeout;
    ctx.runtime = &worker.runtime();
    ctx.admin_listener = admin;
    std::string pipelined;
    const bool keep = co_await dispatch(worker, stream, req, ctx, pipelined);
    if (ctx.pending_record) {
      // The ledger queue is full: this connection waits (back-pressure) until its record is
      // queued; it is never dropped.
      net::steady_timer timer(stream.get_executor());
      while (!worker.runtime().ledger->try_submit(std::move(*ctx.pending_record))) {
        timer.expires_after(std::chrono::milliseconds(2));
        co_await timer.async_wait(kTuple);
      }
      ctx.pending_record.reset();
    }
    if (!pipelined.empty()) {
      auto mb = buffer.prepare(pipelined.size());
      std::memcpy(mb.data(), pipelined.data(), pipelined.size());
      buffer.commit(pipelined.size());
    }
    if (!keep || worker.draining()) {
      break;
    }
  }
  boost::system::error_code ignored;
  stream.socket().shutdown(net::ip::tcp::socket::shutdown_send, ignored);
  stream.close();
  worker.remove_session(entry);
}

}  // namespace sy::server
