#include "upstream/simulator_transport.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <ctime>
#include <string>
#include <vector>

#include "providers/simulator.h"

namespace sy::upstream {

using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kTuple = net::as_tuple(net::use_awaitable);

std::uint64_t mix(std::uint64_t z) {
  z += 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// Sleeps `wait` unless the phase budget runs out first; then it is a timeout, as it would be
// with a real upstream that is this slow.
net::awaitable<Result<void>> sleep_within(net::io_context::executor_type ex,
                                          Clock::duration wait, Clock::duration budget,
                                          const char* phase, std::shared_ptr<AbortSignal> abort) {
  const bool times_out = wait > budget;
  if (times_out) {
    wait = budget;
  }
  if (wait > Clock::duration::zero()) {
    net::steady_timer timer(ex, wait);
    abort->on_abort([&timer] { timer.cancel(); });
    auto [ec] = co_await timer.async_wait(kTuple);
    abort->clear();
    (void)ec;
  }
  if (abort->aborted()) {
    co_return make_error(ErrorKind::UpstreamUnavailable, "request aborted");
  }
  if (times_out) {
    co_return make_error(ErrorKind::UpstreamTimeout,
                         std::string("upstream timed out (") + phase + " timeout)");
  }
  co_return Result<void>{};
}

class SimulatorExchange final : public Exchange {
 public:
  SimulatorExchange(net::io_context::executor_type ex, ResponseHead head,
                    std::vector<std::string> pieces, config::Duration gap,
                    std::size_t reset_after, config::Timeouts timeouts,
                    Clock::time_point deadline, std::shared_ptr<AbortSignal> abort)
      : ex_(ex),
        head_(std::move(head)),
        pieces_(std::move(pieces)),
        gap_(gap),
        reset_after_(reset_after),
        timeouts_(timeouts),
        deadline_(deadline),
        abort_(std::move(abort)) {}

  const ResponseHead& head() const override { return head_; }

  net::awaitable<Result<bool>> read_some(std::string& out) override {
    if (next_ >= pieces_.size()) {
      co_return false;
    }
    if (next_ == reset_after_) {
      co_return make_error(ErrorKind::UpstreamUnavailable,
                           "upstream closed the connection mid-response (simulated reset)");
    }
    if (next_ > 0) {
      auto left = std::max(deadline_ - Clock::now(), Clock::duration::zero());
      auto budget = std::min<Clock::duration>(timeouts_.idle, left);
      auto slept = co_await sleep_within(ex_, gap_, budget, left < timeouts_.idle ? "total" : "idle",
                                         abort_);
      if (!slept) {
        co_return slept.error();
      }
    }
    out += pieces_[next_++];
    co_return true;
  }

 private:
  net::io_context::executor_type ex_;
  ResponseHead head_;
  std::vector<std::string> pieces_;
  config::Duration gap_;
  std::size_t reset_after_;  // SIZE_MAX: never
  config::Timeouts timeouts_;
  Clock::time_point deadline_;
  std::shared_ptr<AbortSignal> abort_;
  std::size_t next_ = 0;
};

std::string hex(std::uint64_t v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i) {
    s[static_cast<std::size_t>(i)] = kDigits[v & 0xF];
    v >>= 4;
  }
  return s;
}

}  // namespace

SimulatorTransport::SimulatorTransport(net::io_context::executor_type executor,
                                       config::SimulatorConfig config, std::uint64_t seed)
    : executor_(executor), config_(std::move(config)), seed_(seed) {}

double SimulatorTransport::draw(std::uint64_t seed, std::uint64_t n) {
  return static_cast<double>(mix(seed ^ mix(n)) >> 11) * 0x1.0p-53;
}

net::awaitable<Result<ExchangePtr>> SimulatorTransport::start(Request req,
                                                              config::Timeouts timeouts,
                                                              std::shared_ptr<AbortSignal> abort) {
  const auto deadline = Clock::now() + timeouts.total;
  const std::uint64_t n = requests_++;
  const bool fail = config_.fail_rate > 0 && draw(seed_, 2 * n) < config_.fail_rate;
  const bool reset = config_.reset_rate > 0 && draw(seed_, 2 * n + 1) < config_.reset_rate;

  auto first = std::min<Clock::duration>(timeouts.first_byte, deadline - Clock::now());
  auto slept = co_await sleep_within(executor_, config_.ttft, first,
                                     timeouts.first_byte <= timeouts.total ? "first byte" : "total",
                                     abort);
  if (!slept) {
    co_return slept.error();
  }

  ResponseHead head;
  std::vector<std::string> pieces;
  if (fail) {
    head.status = static_cast<unsigned>(config_.fail_status);
    head.content_type = "application/json";
    if (config_.fail_status == 429) {
      head.retry_after = "1";
    }
    pieces.push_back(
        R"({"error":{"message":"simulated upstream failure","type":"server_error","param":null,)"
        R"("code":"simulated_failure"}})");
    co_return std::make_unique<SimulatorExchange>(executor_, std::move(head), std::move(pieces),
                                                  config::Duration{0}, SIZE_MAX, timeouts,
                                                  deadline, abort);
  }

  providers::SimulatorContent content;
  content.tokens = config_.tokens;
  content.text = config_.text;
  content.tool_calls = config_.tool_calls;
  providers::SimulatorScript script(std::move(content), "chatcmpl-sim" + hex(mix(seed_ ^ n)),
                                    static_cast<std::int64_t>(std::time(nullptr)));
  auto sim_req = providers::sim_request_from_body(req.body, req.model);
  head.status = 200;
  if (sim_req.stream) {
    head.content_type = "text/event-stream; charset=utf-8";
    pieces = script.stream_events(sim_req);
  } else {
    head.content_type = "application/json";
    pieces.push_back(script.completion(sim_req));
  }
  const std::size_t reset_after =
      (reset && sim_req.stream) ? std::min<std::size_t>(config_.reset_after_chunks, pieces.size() - 1)
                                : SIZE_MAX;
  co_return std::make_unique<SimulatorExchange>(executor_, std::move(head), std::move(pieces),
                                                config_.token_delay, reset_after, timeouts,
                                                deadline, abort);
}

}  // namespace sy::upstream
