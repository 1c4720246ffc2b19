#pragma once
// One worker: an io_context run by one thread, its own SO_REUSEPORT acceptor, its own upstream
// pools. A connection, its request and its upstream exchange never leave their worker.

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <list>
#include <memory>
#include <vector>

#include <random>

#include "server/runtime.h"
#include "server/snapshot.h"
#include "upstream/transport.h"

namespace sy::server {

namespace net = boost::asio;

class Worker {
 public:
  Worker(net::io_context& ioc, std::shared_ptr<const Snapshot> snapshot,
         std::vector<upstream::TransportPtr> transports, std::shared_ptr<Runtime> runtime,
         std::uint64_t seed);

  // Starts accepting on `acceptor` (already bound and listening, created on this io_context).
  void listen(net::ip::tcp::acceptor acceptor);
  // Also accepts on the admin API's own address (admin.listen): those connections are served
  // /admin/*, /metrics and the health probes only.
  void listen_admin(net::ip::tcp::acceptor acceptor);
  // Graceful shutdown, step 1 (posted to this worker): stop accepting, close idle keep-alive
  // connections; busy ones close after their current request.
  void begin_drain();
  // Sessions still open (read from any thread).
  std::size_t open_sessions() const { return open_sessions_.load(std::memory_order_relaxed); }

  net::io_context& ioc() { return ioc_; }
  const Snapshot& snapshot() const { return *snapshot_; }
  upstream::Transport* transport(std::size_t provider_index) {
    return provider_index < transports_.size() ? transports_[provider_index].get() : nullptr;
  }
  bool draining() const { return draining_; }
  Runtime& runtime() { return *runtime_; }
  std::mt19937_64& rng() { return rng_; }

  // Session bookkeeping, for drain.
  struct SessionEntry {
    boost::beast::tcp_stream* stream;
    bool idle;  // waiting for the next request with nothing buffered
  };
  std::list<SessionEntry>::iterator add_session(boost::beast::tcp_stream* stream);
  void remove_session(std::list<SessionEntry>::iterator it);

 private:
  net::awaitable<void> accept_loop(net::ip::tcp::acceptor& acceptor, bool admin);

  net::io_context& ioc_;
  std::shared_ptr<const Snapshot> snapshot_;
  std::vector<upstream::TransportPtr> transports_;
  std::shared_ptr<Runtime> runtime_;
  std::mt19937_64 rng_;
  std::unique_ptr<net::ip::tcp::acceptor> acceptor_;
  std::unique_ptr<net::ip::tcp::acceptor> admin_acceptor_;
  std::list<SessionEntry> sessions_;
  std::atomic<std::size_t> open_sessions_{0};
  bool draining_ = false;
};

// Runs one client connection until it closes (server/session.cc).
// `admin`: accepted on the admin listener.
net::awaitable<void> run_session(Worker& worker, net::ip::tcp::socket socket, bool admin);

}  // namespace sy::server
