#include "upstream/simulator_transport.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <chrono>
#include <functional>

namespace sy::upstream {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

void run(net::io_context& ioc, std::function<net::awaitable<void>()> body) {
  std::exception_ptr failure;
  bool done = false;
  net::co_spawn(ioc, body(), [&](std::exception_ptr ep) {
    failure = ep;
    done = true;
  });
  ioc.run_for(30s);
  ASSERT_TRUE(done);
  if (failure) {
    std::rethrow_exception(failure);
  }
}

Request request(bool stream) {
  Request r;
  r.model = "sim-1";
  r.body = stream ? R"({"model":"sim-1","stream":true,"messages":[{"role":"user","content":"hi"}]})"
                  : R"({"model":"sim-1","messages":[{"role":"user","content":"hi"}]})";
  return r;
}

config::Timeouts generous() {
  config::Timeouts t;
  t.first_byte = 5s;
  t.idle = 5s;
  t.total = 20s;
  return t;
}

net::awaitable<Result<std::string>> drain(Exchange& ex, int* pieces = nullptr) {
  std::string out;
  for (;;) {
    auto more = co_await ex.read_some(out);
    if (!more) {
      co_return more.error();
    }
    if (!*more) {
      co_return out;
    }
    if (pieces) {
      ++*pieces;
    }
  }
}

TEST(SimulatorTransportTest, AnswersAfterTheConfiguredTimeToFirstToken) {
  net::io_context ioc;
  config::SimulatorConfig cfg;
  cfg.ttft = 80ms;
  SimulatorTransport sim(ioc.get_executor(), cfg, 1);
  run(ioc, [&]() -> net::awaitable<void> {
    const auto start = Clock::now();
    auto ex = co_await sim.start(request(false), generous(), std::make_shared<AbortSignal>());
    EXPECT_GE(Clock::now() - start, 75ms);
    EXPECT_TRUE(ex.has_value());
    EXPECT_EQ((*ex)->head().status, 200u);
    auto body = co_await drain(**ex);
    auto v = boost::json::parse(body.value());
    EXPECT_EQ(v.at("model").as_string(), "sim-1");
    EXPECT_EQ(v.at("object").as_string(), "chat.completion");
  });
}

TEST(SimulatorTransportTest, StreamsOneEventPerReadWithTheTokenDelay) {
  net::io_context ioc;
  config::SimulatorConfig cfg;
  cfg.tokens = 5;
  cfg.token_delay = 20ms;
  SimulatorTransport sim(ioc.get_executor(), cfg, 1);
  run(ioc, [&]() -> net::awaitable<void> {
    auto ex = co_await sim.start(request(true), generous(), std::make_shared<AbortSignal>());
    EXPECT_TRUE((*ex)->head().event_stream());
    const auto start = Clock::now();
    int pieces = 0;
    auto body = co_await drain(**ex, &pieces);
    // role + 5 words + finish + [DONE] = 8 events, 7 gaps of 20 ms.
    EXPECT_EQ(pieces, 8);
    EXPECT_GE(Clock::now() - start, 135ms);
    EXPECT_EQ(body.value().rfind("data: [DONE]\n\n"), body.value().size() - 14);
  });
}

TEST(SimulatorTransportTest, SlowFirstTokenIsAFirstByteTimeout) {
  net::io_context ioc;
  config::SimulatorConfig cfg;
  cfg.ttft = 2s;
  SimulatorTransport sim(ioc.get_executor(), cfg, 1);
  auto t = generous();
  t.first_byte = 100ms;
  run(ioc, [&]() -> net::awaitable<void> {
    const auto start = Clock::now();
    auto ex = co_await sim.start(request(false), t, std::make_shared<AbortSignal>());
    EXPECT_LT(Clock::now() - start, 1s);
    EXPECT_FALSE(ex.has_value());
    if (!ex) {
      EXPECT_EQ(ex.error().kind, ErrorKind::UpstreamTimeout);
    }
  });
}

TEST(SimulatorTransportTest, FailRateIsHonouredDeterministically) {
  net::io_context ioc;
  config::SimulatorConfig cfg;
  cfg.fail_rate = 0.3;
  cfg.fail_status = 503;
  SimulatorTransport sim(ioc.get_executor(), cfg, 42);
  int failed = 0;
  run(ioc, [&]() -> net::awaitable<void> {
    for (int i = 0; i < 1000; ++i) {
      auto ex = co_await sim.start(request(false), generous(), std::make_shared<AbortSignal>());
      if ((*ex)->head().status == 503) {
        ++failed;
        auto body = co_await drain(**ex);
        EXPECT_EQ(boost::json::parse(body.value()).at("error").at("code").as_string(),
                  "simulated_failure");
      }
    }
  });
  EXPECT_GT(failed, 250);
  EXPECT_LT(failed, 350);
}

TEST(SimulatorTransportTest, ResetCutsTheStreamAfterTheConfiguredChunks) {
  net::io_context ioc;
  config::SimulatorConfig cfg;
  cfg.reset_rate = 1.0;
  cfg.reset_after_chunks = 3;
  SimulatorTransport sim(ioc.get_executor(), cfg, 1);
  run(ioc, [&]() -> net::awaitable<void> {
    auto ex = co_await sim.start(request(true), generous(), std::make_shared<AbortSignal>());
    int pieces = 0;
    auto body = co_await drain(**ex, &pieces);
    EXPECT_EQ(pieces, 3);
    EXPECT_FALSE(body.has_value());
    if (!body) {
      EXPECT_EQ(body.error().kind, ErrorKind::UpstreamUnavailable);
    }
  });
}

TEST(SimulatorTransportTest, AbortStopsAWaitAtOnce) {
  net::io_context ioc;
  config::SimulatorConfig cfg;
  cfg.ttft = 5s;
  SimulatorTransport sim(ioc.get_executor(), cfg, 1);
  auto t = generous();
  t.first_byte = 10s;
  run(ioc, [&]() -> net::awaitable<void> {
    auto abort = std::make_shared<AbortSignal>();
    net::steady_timer timer(co_await net::this_coro::executor, 50ms);
    timer.async_wait([abort](boost::system::error_code) { abort->abort(); });
    const auto start = Clock::now();
    auto ex = co_await sim.start(request(false), t, abort);
    EXPECT_FALSE(ex.has_value());
    EXPECT_LT(Clock::now() - start, 1s);
  });
}

TEST(SimulatorTransportTest, DrawIsUniformEnough) {
  double sum = 0;
  for (int i = 0; i < 10000; ++i) {
    double d = SimulatorTransport::draw(7, static_cast<std::uint64_t>(i));
    ASSERT_GE(d, 0.0);
    ASSERT_LT(d, 1.0);
    sum += d;
  }
  EXPECT_NEAR(sum / 10000, 0.5, 0.02);
}

}  // namespace
}  // namespace sy::upstream
