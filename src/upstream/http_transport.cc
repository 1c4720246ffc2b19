#include "upstream/http_transport.h"

#include <openssl/ssl.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <optional>
#include <stdexcept>

namespace sy::upstream {

namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kTuple = net::as_tuple(net::use_awaitable);
constexpr std::size_t kReadChunk = 16 * 1024;
constexpr std::uint32_t kMaxResponseHeaderBytes = 64 * 1024;

// The budget for one I/O step: the phase's own timeout, cut short by the total deadline.
struct Budget {
  Clock::duration value;
  bool total_binds;
};

Budget budget(config::Duration phase, Clock::time_point deadline) {
  auto left = deadline - Clock::now();
  if (left < phase) {
    return {std::max<Clock::duration>(left, Clock::duration::zero()), true};
  }
  return {phase, false};
}

Error io_error(const boost::system::error_code& ec, std::string_view phase, bool total_binds) {
  if (ec == beast::error::timeout) {
    std::string what = total_binds ? "total" : std::string(phase);
    return make_error(ErrorKind::UpstreamTimeout, "upstream timed out (" + what + " timeout)");
  }
  Error e = make_error(ErrorKind::UpstreamUnavailable,
                       "upstream connection failed during " + std::string(phase));
  if (ec == net::error::connection_refused) {
    e.public_message = "upstream refused the connection";
  } else if (ec == net::error::connection_reset || ec == http::error::end_of_stream ||
             ec == net::error::eof || ec == net::error::broken_pipe) {
    e.public_message = "upstream closed the connection during " + std::string(phase);
  } else if (ec == http::error::partial_message) {
    e.public_message = "upstream closed the connection mid-response";
  }
  e.detail = ec.message();
  return e;
}

}  // namespace

struct Conn {
  explicit Conn(net::io_context::executor_type ex) : plain(ex) {}
  beast::tcp_stream plain;  // the TCP layer; owned by `tls` instead when TLS is on
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;
  // Body bytes land here, then only what arrived is appended to the caller's string: resizing
  // the caller's string by a whole chunk would zero-fill 16 KiB per read.
  std::unique_ptr<char[]> read_buf = std::make_unique<char[]>(kReadChunk);
  Clock::time_point idle_since{};

  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : plain; }
  void close() {
    boost::system::error_code ignored;
    lowest().socket().close(ignored);
  }
};

namespace {

template <typename F>
auto with_stream(Conn& c, F&& f) {
  if (c.tls) {
    return f(*c.tls);
  }
  return f(c.plain);
}

class HttpExchange final : public Exchange {
 public:
  HttpExchange(HttpTransport* owner, std::shared_ptr<bool> owner_alive, std::unique_ptr<Conn> conn,
               std::unique_ptr<http::response_parser<http::buffer_body>> parser, ResponseHead head,
               config::Timeouts timeouts, Clock::time_point deadline,
               std::shared_ptr<AbortSignal> abort)
      : owner_(owner),
        owner_alive_(std::move(owner_alive)),
        conn_(std::move(conn)),
        parser_(std::move(parser)),
        head_(std::move(head)),
        timeouts_(timeouts),
        deadline_(deadline),
        abort_(std::move(abort)) {}

  ~HttpExchange() override {
    // Only a fully read response on a keep-alive connection goes back to the pool; anything
    // else (client gone, error, early stop) closes it so the upstream sees the cancellation.
    if (conn_ && parser_->is_done() && parser_->keep_alive() && !failed_ && *owner_alive_) {
      owner_->release(std::move(conn_));
    } else if (conn_) {
      conn_->close();
    }
  }

  const ResponseHead& head() const override { return head_; }

  net::awaitable<Result<bool>> read_some(std::string& out) override {
    for (;;) {
      if (parser_->is_done()) {
        co_return false;
      }
      if (abort_->aborted()) {
        failed_ = true;
        co_return make_error(ErrorKind::UpstreamUnavailable, "request aborted");
      }
      auto& body = parser_->get().body();
      body.data = conn_->read_buf.get();
      body.size = kReadChunk;
      body.more = true;
      Budget b = budget(timeouts_.idle, deadline_);
      conn_->lowest().expires_after(b.value);
      Conn* raw = conn_.get();
      abort_->on_abort([raw] { raw->close(); });
      auto [ec, n] = co_await with_stream(*conn_, [&](auto& s) {
        return http::async_read_some(s, conn_->buffer, *parser_, kTuple);
      });
      abort_->clear();
      (void)n;
      const std::size_t got = kReadChunk - body.size;
      out.append(conn_->read_buf.get(), got);
      if (ec == http::error::need_buffer) {
        ec = {};
      }
      if (ec) {
        failed_ = true;
        co_return io_error(ec, "idle", b.total_binds);
      }
      if (got > 0) {
        co_return true;
      }
    }
  }

 private:
  HttpTransport* owner_;
  std::shared_ptr<bool> owner_alive_;
  std::unique_ptr<Conn> conn_;
  std::unique_ptr<http::response_parser<http::buffer_body>> parser_;
  ResponseHead head_;
  config::Timeouts timeouts_;
  Clock::time_point deadline_;
  std::shared_ptr<AbortSignal> abort_;
  bool failed_ = false;
};

bool is_ip_literal(const std::string& host) {
  boost::system::error_code ec;
  (void)net::ip::make_address(host, ec);
  return !ec;
}

}  // namespace

std::shared_ptr<ssl::context> make_tls_context(const TlsOptions& options) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  if (options.skip_verify) {
    ctx->set_verify_mode(ssl::verify_none);
    return ctx;
  }
  ctx->set_default_verify_paths();
  if (!options.ca_file.empty()) {
    boost::system::error_code ec;
    ctx->load_verify_file(options.ca_file, ec);
    if (ec) {
      throw std::runtime_error("cannot load ca_file " + options.ca_file + ": " + ec.message());
    }
  }
  ctx->set_verify_mode(ssl::verify_peer);
  return ctx;
}

HttpTransport::HttpTransport(net::io_context::executor_type executor,
                             HttpTransportOptions options)
    : executor_(executor), options_(std::move(options)), alive_(std::make_shared<bool>(true)) {}

HttpTransport::~HttpTransport() {
  *alive_ = false;
  for (auto& c : idle_) {
    c->close();
  }
}

void HttpTransport::release(std::unique_ptr<Conn> conn) {
  if (idle_.size() >= options_.max_idle_connections) {
    conn->close();
    return;
  }
  conn->idle_since = Clock::now();
  idle_.push_back(std::move(conn));
}

std::unique_ptr<Conn> HttpTransport::take_idle() {
  const auto now = Clock::now();
  while (!idle_.empty()) {
    auto c = std::move(idle_.back());
    idle_.pop_back();
    if (now - c->idle_since < options_.max_idle_time && c->lowest().socket().is_open()) {
      return c;
    }
    c->close();
  }
  return nullptr;
}

net::awaitable<Result<tcp::resolver::results_type>> HttpTransport::resolve(
    std::shared_ptr<AbortSignal> abort) {
  const auto& base = options_.base;
  const auto port = std::to_string(base.port);
  if (is_ip_literal(base.host)) {
    co_return tcp::resolver::results_type::create(
        tcp::endpoint(net::ip::make_address(base.host), base.port), base.host, port);
  }
  if (!dns_results_.empty() && Clock::now() < dns_expires_) {
    co_return dns_results_;
  }
  tcp::resolver resolver(executor_);
  abort->on_abort([&resolver] { resolver.cancel(); });
  auto [ec, results] = co_await resolver.async_resolve(base.host, port, kTuple);
  abort->clear();
  if (ec) {
    Error e = make_error(ErrorKind::UpstreamUnavailable, "cannot resolve the upstream host");
    e.detail = ec.message();
    co_return e;
  }
  dns_results_ = results;
  dns_expires_ = Clock::now() + options_.dns_ttl;
  co_return results;
}

net::awaitable<Result<std::unique_ptr<Conn>>> HttpTransport::connect(
    config::Timeouts timeouts, Clock::time_point deadline, std::shared_ptr<AbortSignal> abort) {
  auto endpoints = co_await resolve(abort);
  if (!endpoints) {
    co_return endpoints.error();
  }
  auto conn = std::make_unique<Conn>(executor_);
  const auto& base = options_.base;
  if (base.tls) {
    conn->tls.emplace(std::move(conn->plain), *options_.tls);
  }
  Budget b = budget(timeouts.connect, deadline);
  conn->lowest().expires_after(b.value);
  Conn* raw = conn.get();
  abort->on_abort([raw] { raw->close(); });
  auto [ec, ep] = co_await conn->lowest().async_connect(*endpoints, kTuple);
  (void)ep;
  if (ec) {
    abort->clear();
    co_return io_error(ec, "connect", b.total_binds);
  }
  ++opened_;
  conn->lowest().socket().set_option(tcp::no_delay(true));
  if (base.tls) {
    // SNI and host name verification: without them a valid certificate for any other host
    // would be accepted.
    if (!is_ip_literal(base.host) &&
        SSL_set_tlsext_host_name(conn->tls->native_handle(), base.host.c_str()) != 1) {
      abort->clear();
      co_return make_error(ErrorKind::UpstreamUnavailable, "TLS: cannot set SNI");
    }
    conn->tls->set_verify_callback(ssl::host_name_verification(base.host));
    auto [hec] = co_await conn->tls->async_handshake(ssl::stream_base::client, kTuple);
    if (hec) {
      abort->clear();
      Error e = (hec == beast::error::timeout)
                    ? io_error(hec, "connect", b.total_binds)
                    : make_error(ErrorKind::UpstreamUnavailable, "upstream TLS handshake failed");
      e.detail = hec.message();
      co_return e;
    }
  }
  abort->clear();
  co_return conn;
}

net::awaitable<Result<ExchangePtr>> HttpTransport::start(Request req, config::Timeouts timeouts,
                                                         std::shared_ptr<AbortSignal> abort) {
  const auto deadline = Clock::now() + timeouts.total;
  const std::string target = options_.base.path + req.path;

  // The request head, serialised once by hand: Beast's generic serializer walks a
  // buffers_cat_view per field, which cost more than the rest of the request path.
  Headers headers;
  headers.reserve(options_.fixed_headers.size() + req.headers.size() + 8);
  headers.emplace_back("Host", options_.base.host_header);
  headers.emplace_back("User-Agent", "switchyard/" SY_VERSION);
  bool has_content_type = false;
  for (const auto& h : req.headers) {
    has_content_type = has_content_type || beast::iequals(h.first, "content-type");
  }
  if (!has_content_type) {
    headers.emplace_back("Content-Type", "application/json");
  }
  for (const auto& h : options_.fixed_headers) {
    headers.push_back(h);
  }
  for (const auto& h : req.headers) {
    headers.push_back(h);
  }
  if (options_.signer) {
    // Signed last, over exactly what goes on the wire: method, target, host, content headers
    // and body; each header once. The signer appends its headers (Authorization, x-amz-date).
    auth::Headers to_sign;
    for (const auto& h : headers) {
      if (!beast::iequals(h.first, "user-agent") && !beast::iequals(h.first, "authorization")) {
        to_sign.emplace_back(h);
      }
    }
    const std::size_t before = to_sign.size();
    options_.signer->sign(std::string(http::to_string(req.method)), options_.base.host_header,
                          target, to_sign, req.body, std::chrono::system_clock::now());
    for (std::size_t i = before; i < to_sign.size(); ++i) {
      headers.push_back(to_sign[i]);
    }
  }
  std::string wire_head;
  wire_head.reserve(256 + target.size() + 64 * headers.size());
  wire_head.append(http::to_string(req.method));
  wire_head.push_back(' ');
  wire_head.append(target);
  wire_head.append(" HTTP/1.1\r\n");
  for (const auto& [name, value] : headers) {
    wire_head.append(name);
    wire_head.append(": ");
    wire_head.append(value);
    wire_head.append("\r\n");
  }
  wire_head.append("Content-Length: ");
  wire_head.append(std::to_string(req.body.size()));
  wire_head.append("\r\n\r\n");
  const std::array<net::const_buffer, 2> wire{net::buffer(wire_head), net::buffer(req.body)};

  // A pooled connection may have been closed by the server while idle; such a failure shows
  // before any response byte, so one retry on a fresh connection is safe.
  for (int attempt = 0;; ++attempt) {
    auto conn = take_idle();
    const bool reused = conn != nullptr;
    if (!conn) {
      auto fresh = co_await connect(timeouts, deadline, abort);
      if (!fresh) {
        co_return fresh.error();
      }
      conn = std::move(*fresh);
    }
    if (abort->aborted()) {
      conn->close();
      co_return make_error(ErrorKind::UpstreamUnavailable, "request aborted");
    }
    auto parser = std::make_unique<http::response_parser<http::buffer_body>>();
    parser->body_limit(boost::none);  // streams are unbounded; callers bound what they buffer
    parser->header_limit(kMaxResponseHeaderBytes);
    Budget b = budget(timeouts.first_byte, deadline);
    conn->lowest().expires_after(b.value);
    Conn* raw = conn.get();
    abort->on_abort([raw] { raw->close(); });
    auto [wec, wn] = co_await with_stream(
        *conn, [&](auto& s) { return net::async_write(s, wire, kTuple); });
    (void)wn;
    boost::system::error_code ec = wec;
    if (!ec) {
      auto [rec, rn] = co_await with_stream(
          *conn, [&](auto& s) { return http::async_read_header(s, conn->buffer, *parser, kTuple); });
      (void)rn;
      ec = rec;
    }
    abort->clear();
    if (abort->aborted()) {
      conn->close();
      co_return make_error(ErrorKind::UpstreamUnavailable, "request aborted");
    }
    if (ec) {
      conn->close();
      const bool stale = ec == http::error::end_of_stream || ec == net::error::eof ||
                         ec == net::error::connection_reset || ec == net::error::broken_pipe;
      if (reused && stale && attempt == 0) {
        continue;
      }
      co_return io_error(ec, "first byte", b.total_binds);
    }
    ResponseHead head;
    const auto& res = parser->get();
    head.status = res.result_int();
    head.content_type = std::string(res[http::field::content_type]);
    head.retry_after = std::string(res[http::field::retry_after]);
    co_return std::make_unique<HttpExchange>(this, alive_, std::move(conn), std::move(parser),
                                             std::move(head), timeouts, deadline, abort);
  }
}

}  // namespace sy::upstream
