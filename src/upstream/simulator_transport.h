#pragma once
// SimulatorTransport: the built-in deterministic upstream, served in-process. It speaks exactly
// what an OpenAI upstream would send (content from providers/simulator), with the configured
// time to first token, per-token delay and injected failures (status, mid-stream reset), and it
// honours the same deadlines as a real upstream so timeouts can be drilled without a network.

#include <boost/asio/io_context.hpp>
#include <cstdint>

#include "config/schema.h"
#include "upstream/transport.h"

namespace sy::upstream {

class SimulatorTransport final : public Transport {
 public:
  SimulatorTransport(net::io_context::executor_type executor, config::SimulatorConfig config,
                     std::uint64_t seed);

  net::awaitable<Result<ExchangePtr>> start(Request req, config::Timeouts timeouts,
                                            std::shared_ptr<AbortSignal> abort) override;

  // Deterministic "random" draw in [0,1) for the n-th request (exposed for tests).
  static double draw(std::uint64_t seed, std::uint64_t n);

 private:
  net::io_context::executor_type executor_;
  config::SimulatorConfig config_;
  std::uint64_t seed_;
  std::uint64_t requests_ = 0;
};

}  // namespace sy::upstream
