// HttpTransport against a scripted raw-TCP server on loopback: keep-alive reuse, stale pooled
// connections, refused connects, each deadline, resets and client-side aborts.

#include "upstream/http_transport.h"

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <exception>
#include <functional>
#include <string>

namespace sy::upstream {
namespace {

using tcp = net::ip::tcp;
using namespace std::chrono_literals;
constexpr auto kTuple = net::as_tuple(net::use_awaitable);
using Clock = std::chrono::steady_clock;

// Reads one request head (and its Content-Length body). Returns "" on EOF.
net::awaitable<std::string> read_request(tcp::socket& s, std::string& carry) {
  for (;;) {
    auto end = carry.find("\r\n\r\n");
    if (end != std::string::npos) {
      std::size_t len = 0;
      auto cl = carry.find("Content-Length: ");
      if (cl != std::string::npos && cl < end) {
        len = std::stoul(carry.substr(cl + 16));
      }
      if (carry.size() >= end + 4 + len) {
        std::string req = carry.substr(0, end + 4 + len);
        carry.erase(0, end + 4 + len);
        co_return req;
      }
    }
    char buf[4096];
    auto [ec, n] = co_await s.async_read_some(net::buffer(buf), kTuple);
    if (ec) {
      co_return std::string();
    }
    carry.append(buf, n);
  }
}

net::awaitable<void> write(tcp::socket& s, std::string data) {
  co_await net::async_write(s, net::buffer(data), kTuple);
}

net::awaitable<void> sleep(std::chrono::milliseconds d) {
  net::steady_timer t(co_await net::this_coro::executor, d);
  co_await t.async_wait(kTuple);
}

// Waits until the peer closes; records when.
net::awaitable<void> wait_eof(tcp::socket& s, Clock::time_point* when) {
  char buf[256];
  for (;;) {
    auto [ec, n] = co_await s.async_read_some(net::buffer(buf), kTuple);
    (void)n;
    if (ec) {
      *when = Clock::now();
      co_return;
    }
  }
}

class ScriptedServer {
 public:
  using Script = std::function<net::awaitable<void>(tcp::socket, int index)>;
  ScriptedServer(net::io_context& ioc, Script script)
      : acceptor_(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)),
        script_(std::move(script)) {
    net::co_spawn(ioc, accept_loop(), [](std::exception_ptr) {});
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  int connections() const { return connections_; }
  void stop() {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
  }

 private:
  net::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, s] = co_await acceptor_.async_accept(kTuple);
      if (ec) {
        co_return;
      }
      net::co_spawn(acceptor_.get_executor(), script_(std::move(s), connections_++),
                    [](std::exception_ptr) {});
    }
  }
  tcp::acceptor acceptor_;
  Script script_;
  int connections_ = 0;
};

// Runs a test coroutine to completion on `ioc`, rethrowing what it threw.
void run(net::io_context& ioc, std::function<net::awaitable<void>()> body) {
  std::exception_ptr failure;
  bool done = false;
  net::co_spawn(ioc, body(), [&](std::exception_ptr ep) {
    failure = ep;
    done = true;
    ioc.stop();
  });
  ioc.run_for(20s);
  ASSERT_TRUE(done) << "test coroutine did not finish";
  if (failure) {
    std::rethrow_exception(failure);
  }
}

HttpTransportOptions options_for(std::uint16_t port) {
  HttpTransportOptions o;
  o.base = *parse_base_url("http://127.0.0.1:" + std::to_string(port) + "/v1");
  o.fixed_headers.emplace_back("authorization", "Bearer sk-test");
  return o;
}

config::Timeouts quick() {
  config::Timeouts t;
  t.connect = 1000ms;
  t.first_byte = 1000ms;
  t.idle = 1000ms;
  t.total = 5000ms;
  return t;
}

Request chat_request() {
  Request r;
  r.path = "/chat/completions";
  r.body = R"({"model":"m","messages":[]})";
  return r;
}

net::awaitable<Result<std::string>> read_body(Exchange& ex) {
  std::string body;
  for (;;) {
    auto more = co_await ex.read_some(body);
    if (!more) {
      co_return more.error();
    }
    if (!*more) {
      co_return body;
    }
  }
}

constexpr char kOk[] =
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";

TEST(HttpTransportTest, SendsHeadersAndReusesKeepAliveConnections) {
  net::io_context ioc;
  std::string first_request;
  ScriptedServer server(ioc, [&](tcp::socket s, int) -> net::awaitable<void> {
    std::string carry;
    for (;;) {
      auto req = co_await read_request(s, carry);
      if (req.empty()) {
        co_return;
      }
      if (first_request.empty()) {
        first_request = req;
      }
      co_await write(s, kOk);
    }
  });
  HttpTransport transport(ioc.get_executor(), options_for(server.port()));
  run(ioc, [&]() -> net::awaitable<void> {
    for (int i = 0; i < 5; ++i) {
      auto ex = co_await transport.start(chat_request(), quick(),
                                         std::make_shared<AbortSignal>());
      EXPECT_TRUE(ex.has_value());
      EXPECT_EQ((*ex)->head().status, 200u);
      auto body = co_await read_body(**ex);
      EXPECT_EQ(body.value(), "{}");
    }
  });
  EXPECT_EQ(server.connections(), 1);
  EXPECT_EQ(transport.connections_opened(), 1u);
  EXPECT_NE(first_request.find("POST /v1/chat/completions HTTP/1.1\r\n"), std::string::npos);
  EXPECT_NE(first_request.find("Host: 127.0.0.1:" + std::to_string(server.port())),
            std::string::npos);
  EXPECT_NE(first_request.find("authorization: Bearer sk-test"), std::string::npos);
  EXPECT_NE(first_request.find(R"({"model":"m","messages":[]})"), std::string::npos);
}

TEST(HttpTransportTest, StreamsAChunkedBodyAsItArrives) {
  net::io_context ioc;
  ScriptedServer server(ioc, [&](tcp::socket s, int) -> net::awaitable<void> {
    std::string carry;
    co_await read_request(s, carry);
    co_await write(s, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 3; ++i) {
      co_await write(s, "9\r\ndata: x\n\n\r\n");
      co_await sleep(30ms);
    }
    co_await write(s, "0\r\n\r\n");
    std::string rest;
    co_await read_request(s, rest);
  });
  HttpTransport transport(ioc.get_executor(), options_for(server.port()));
  run(ioc, [&]() -> net::awaitable<void> {
    auto ex = co_await transport.start(chat_request(), quick(), std::make_shared<AbortSignal>());
    EXPECT_TRUE(ex.has_value());
    EXPECT_TRUE((*ex)->head().event_stream());
    int reads = 0;
    std::string all;
    for (;;) {
      auto more = co_await (*ex)->read_some(all);
      EXPECT_TRUE(more.has_value());
      if (!more || !*more) {
        break;
      }
      ++reads;
    }
    EXPECT_EQ(all, "data: x\n\ndata: x\n\ndata: x\n\n");
    EXPECT_GE(reads, 3);  // delivered as it came, not buffered to the end
  });
}

TEST(HttpTransportTest, RetriesOnceWhenAPooledConnectionWasClosedByTheServer) {
  net::io_context ioc;
  ScriptedServer server(ioc, [&](tcp::socket s, int) -> net::awaitable<void> {
    std::string carry;
    co_await read_request(s, carry);
    co_await write(s, kOk);
    // Then close without saying so: the client's pooled connection is stale.
    boost::system::error_code ignored;
    s.close(ignored);
  });
  HttpTransport transport(ioc.get_executor(), options_for(server.port()));
  run(ioc, [&]() -> net::awaitable<void> {
    for (int i = 0; i < 2; ++i) {
      auto ex = co_await transport.start(chat_request(), quick(),
                                         std::make_shared<AbortSignal>());
      EXPECT_TRUE(ex.has_value()) << (ex ? "" : ex.error().public_message);
      if (ex) {
        EXPECT_EQ((co_await read_body(**ex)).value(), "{}");
      }
      co_await sleep(50ms);  // let the server's close arrive
    }
  });
  EXPECT_EQ(server.connections(), 2);
}

TEST(HttpTransportTest, RefusedConnectIsUpstreamUnavailable) {
  net::io_context ioc;
  std::uint16_t port = 0;
  {
    tcp::acceptor probe(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    port = probe.local_endpoint().port();
  }  // closed: nothing listens there now
  HttpTransport transport(ioc.get_executor(), options_for(port));
  run(ioc, [&]() -> net::awaitable<void> {
    auto ex = co_await transport.start(chat_request(), quick(), std::make_shared<AbortSignal>());
    EXPECT_FALSE(ex.has_value());
    if (!ex) {
      EXPECT_EQ(ex.error().kind, ErrorKind::UpstreamUnavailable);
      EXPECT_EQ(ex.error().public_message, "upstream refused the connection");
    }
  });
}

TEST(HttpTransportTest, SilentUpstreamHitsTheFirstByteTimeout) {
  net::io_context ioc;
  ScriptedServer server(ioc, [&](tcp::socket s, int) -> net::awaitable<void> {
    Clock::time_point ignored;
    co_await wait_eof(s, &ignored);  // read the request, never answer
  });
  HttpTransport transport(ioc.get_executor(), options_for(server.port()));
  auto t = quick();
  t.first_byte = 200ms;
  run(ioc, [&]() -> net::awaitable<void> {
    const auto start = Clock::now();
    auto ex = co_await transport.start(chat_request(), t, std::make_shared<AbortSignal>());
    const auto took = Clock::now() - start;
    EXPECT_FALSE(ex.has_value());
    if (!ex) {
      EXPECT_EQ(ex.error().kind, ErrorKind::UpstreamTimeout);
      EXPECT_EQ(ex.error().public_message, "upstream timed out (first byte timeout)");
    }
    EXPECT_GE(took, 190ms);
    EXPECT_LT(took, 3s);
  });
}

TEST(HttpTransportTest, StallBetweenChunksHitsTheIdleTimeoutAndTotalCapsEverything) {
  net::io_context ioc;
  ScriptedServer server(ioc, [&](tcp::socket s, int index) -> net::awaitable<void> {
    std::string carry;
    co_await read_request(s, carry);
    co_await write(s, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n9\r\ndata: x\n\n\r\n");
    if (index == 0) {
      Clock::time_point ignored;
      co_await wait_eof(s, &ignored);  // stall after the first chunk
      co_return;
    }
    for (int i = 0; i < 100; ++i) {  // a chunk every 100 ms: never idle, but endless
      co_await sleep(100ms);
      co_await write(s, "9\r\ndata: x\n\n\r\n");
    }
  });
  HttpTransport transport(ioc.get_executor(), options_for(server.port()));
  run(ioc, [&]() -> net::awaitable<void> {
    auto t = quick();
    t.idle = 200ms;
    auto ex = co_await transport.start(chat_request(), t, std::make_shared<AbortSignal>());
    EXPECT_TRUE(ex.has_value());
    auto body = co_await read_body(**ex);
    EXPECT_FALSE(body.has_value());
    if (!body) {
      EXPECT_EQ(body.error().kind, ErrorKind::UpstreamTimeout);
      EXPECT_EQ(body.error().public_message, "upstream timed out (idle timeout)");
    }

    auto t2 = quick();
    t2.idle = 1000ms;
    t2.total = 450ms;
    const auto start = Clock::now();
    auto ex2 = co_await transport.start(chat_request(), t2, std::make_shared<AbortSignal>());
    EXPECT_TRUE(ex2.has_value());
    auto body2 = co_await read_body(**ex2);
    EXPECT_FALSE(body2.has_value());
    if (!body2) {
      EXPECT_EQ(body2.error().public_message, "upstream timed out (total timeout)");
    }
    EXPECT_LT(Clock::now() - start, 2s);
  });
}

TEST(HttpTransportTest, ResetMidBodyIsAnErrorAndTheConnectionIsNotReused) {
  net::io_context ioc;
  ScriptedServer server(ioc, [&](tcp::socket s, int index) -> net::awaitable<void> {
    std::string carry;
    co_await read_request(s, carry);
    if (index == 0) {
      co_await write(s, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                        "Transfer-Encoding: chunked\r\n\r\n9\r\ndata: x\n\n\r\n");
      s.set_option(net::socket_base::linger(true, 0));  // RST, not FIN
      boost::system::error_code ignored;
      s.close(ignored);
      co_return;
    }
    co_await write(s, kOk);
  });
  HttpTransport transport(ioc.get_executor(), options_for(server.port()));
  run(ioc, [&]() -> net::awaitable<void> {
    {
      auto ex = co_await transport.start(chat_request(), quick(), std::make_shared<AbortSignal>());
      EXPECT_TRUE(ex.has_value());
      auto body = co_await read_body(**ex);
      EXPECT_FALSE(body.has_value());
      if (!body) {
        EXPECT_EQ(body.error().kind, ErrorKind::UpstreamUnavailable);
      }
    }
    EXPECT_EQ(transport.idle_connections(), 0u);
    auto ex = co_await transport.start(chat_request(), quick(), std::make_shared<AbortSignal>());
    EXPECT_TRUE(ex.has_value());
  });
  EXPECT_EQ(server.connections(), 2);
}

TEST(HttpTransportTest, AbortClosesTheUpstreamConnectionAtOnce) {
  net::io_context ioc;
  Clock::time_point closed{};
  ScriptedServer server(ioc, [&](tcp::socket s, int) -> net::awaitable<void> {
    std::string carry;
    co_await read_request(s, carry);
    co_await write(s, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n9\r\ndata: x\n\n\r\n");
    co_await wait_eof(s, &closed);
  });
  HttpTransport transport(ioc.get_executor(), options_for(server.port()));
  run(ioc, [&]() -> net::awaitable<void> {
    auto abort = std::make_shared<AbortSignal>();
    auto t = quick();
    t.idle = 10s;
    auto ex = co_await transport.start(chat_request(), t, abort);
    EXPECT_TRUE(ex.has_value());
    std::string out;
    EXPECT_TRUE((co_await (*ex)->read_some(out)).value());
    // The client "goes away" 100 ms into a read that would otherwise wait 10 s.
    net::steady_timer timer(co_await net::this_coro::executor, 100ms);
    timer.async_wait([abort](boost::system::error_code) { abort->abort(); });
    const auto start = Clock::now();
    auto more = co_await (*ex)->read_some(out);
    EXPECT_FALSE(more.has_value());
    EXPECT_LT(Clock::now() - start, 2s);
    co_await sleep(100ms);  // let the server see the close
  });
  EXPECT_NE(closed, Clock::time_point{});
}

}  // namespace
}  // namespace sy::upstream
