#pragma once
// How the gateway talks to one provider from one worker: an HTTP/1.1 keep-alive pool
// (HttpTransport) or the built-in simulator (SimulatorTransport). Both give the request path
// the same thing: a response head, then body bytes as they arrive.
//
// Threading: a Transport and its Exchanges belong to one worker's io_context and are never
// touched from another thread.

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/verb.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "config/schema.h"
#include "core/result.h"

namespace sy::upstream {

namespace net = boost::asio;

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Request {
  boost::beast::http::verb method = boost::beast::http::verb::post;
  std::string path;  // appended to the provider's base path, e.g. "/chat/completions"
  Headers headers;   // besides Host, Content-Length, Content-Type: application/json
  std::string body;
  std::string model;  // the upstream model named in the body (for the simulator and logs)
};

struct ResponseHead {
  unsigned status = 0;
  std::string content_type;
  std::string retry_after;  // raw Retry-After, if any
  bool event_stream() const { return content_type.rfind("text/event-stream", 0) == 0; }
};

// Lets whoever owns a request abort it from the same worker, e.g. when the client goes away.
// The current I/O step registers what to close; abort() runs it once.
class AbortSignal {
 public:
  void on_abort(std::function<void()> fn) { handler_ = std::move(fn); }
  void clear() { handler_ = nullptr; }
  void abort() {
    aborted_ = true;
    if (auto fn = std::exchange(handler_, nullptr)) {
      fn();
    }
  }
  bool aborted() const { return aborted_; }

 private:
  std::function<void()> handler_;
  bool aborted_ = false;
};

// One in-flight response.
class Exchange {
 public:
  virtual ~Exchange() = default;
  virtual const ResponseHead& head() const = 0;
  // Appends the next body bytes to `out`. Returns false at the end of the body. Errors:
  // UpstreamTimeout (idle or total deadline), UpstreamUnavailable (reset, malformed framing).
  virtual net::awaitable<Result<bool>> read_some(std::string& out) = 0;
};
using ExchangePtr = std::unique_ptr<Exchange>;

class Transport {
 public:
  virtual ~Transport() = default;
  // Sends `req` and waits for the response head (the first byte). Errors: UpstreamTimeout
  // (connect or first-byte deadline), UpstreamUnavailable (refused, reset, TLS failure).
  virtual net::awaitable<Result<ExchangePtr>> start(Request req, config::Timeouts timeouts,
                                                    std::shared_ptr<AbortSignal> abort) = 0;
};
using TransportPtr = std::unique_ptr<Transport>;

}  // namespace sy::upstream
