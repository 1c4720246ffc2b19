#pragma once
// HttpTransport: one provider's keep-alive HTTP/1.1 connection pool on one worker, with TLS
// (system CAs, SNI, host name verification), a small DNS cache and separate connect /
// first-byte / idle / total deadlines.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>

#include "auth/api_key.h"
#include "upstream/base_url.h"
#include "upstream/transport.h"

namespace sy::upstream {

struct TlsOptions {
  bool skip_verify = false;  // only when a provider sets tls_skip_verify explicitly
  std::string ca_file;       // extra PEM bundle, trusted besides the system CAs
};

// Builds a client TLS context (TLS 1.2+). Start-up only: throws std::runtime_error on failure.
std::shared_ptr<net::ssl::context> make_tls_context(const TlsOptions& options);

struct HttpTransportOptions {
  BaseUrl base;
  Headers fixed_headers;                     // e.g. Authorization; never logged
  std::shared_ptr<const auth::Signer> signer;  // signs each request last (Bedrock SigV4)
  std::shared_ptr<net::ssl::context> tls;    // required when base.tls
  std::size_t max_idle_connections = 64;
  std::chrono::seconds max_idle_time{30};    // pooled connections older than this are closed
  std::chrono::seconds dns_ttl{60};
};

struct Conn;  // a pooled connection (plain or TLS)

class HttpTransport final : public Transport {
 public:
  HttpTransport(net::io_context::executor_type executor, HttpTransportOptions options);
  ~HttpTransport() override;

  net::awaitable<Result<ExchangePtr>> start(Request req, config::Timeouts timeouts,
                                            std::shared_ptr<AbortSignal> abort) override;

  // Returns a finished connection to the pool (called by exchanges).
  void release(std::unique_ptr<Conn> conn);
  std::size_t idle_connections() const { return idle_.size(); }
  std::uint64_t connections_opened() const { return opened_; }

 private:
  net::awaitable<Result<std::unique_ptr<Conn>>> connect(config::Timeouts timeouts,
                                                        std::chrono::steady_clock::time_point deadline,
                                                        std::shared_ptr<AbortSignal> abort);
  net::awaitable<Result<net::ip::tcp::resolver::results_type>> resolve(
      std::shared_ptr<AbortSignal> abort);
  std::unique_ptr<Conn> take_idle();

  net::io_context::executor_type executor_;
  HttpTransportOptions options_;
  std::deque<std::unique_ptr<Conn>> idle_;  // most recently used at the back
  net::ip::tcp::resolver::results_type dns_results_;
  std::chrono::steady_clock::time_point dns_expires_{};
  std::uint64_t opened_ = 0;
  std::shared_ptr<bool> alive_;  // exchanges check it before returning a connection
};

}  // namespace sy::upstream
