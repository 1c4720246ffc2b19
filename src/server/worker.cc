#include "server/worker.h"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>

namespace sy::server {

namespace {
constexpr auto kTuple = net::as_tuple(net::use_awaitable);

// co_spawn with a handler that logs what escaped instead of swallowing it (never `detached`).
template <typename Awaitable>
void spawn_logged(net::io_context& ioc, Awaitable&& aw, const char* what) {
  net::co_spawn(ioc, std::forward<Awaitable>(aw), [what](std::exception_ptr ep) {
    if (!ep) {
      return;
    }
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      spdlog::error("{} failed: {}", what, e.what());
    } catch (...) {
      spdlog::error("{} failed with an unknown exception", what);
    }
  });
}
}  // namespace

Worker::Worker(net::io_context& ioc, std::shared_ptr<const Snapshot> snapshot,
               std::vector<upstream::TransportPtr> transports, std::shared_ptr<Runtime> runtime,
               std::uint64_t seed)
    : ioc_(ioc),
      snapshot_(std::move(snapshot)),
      transports_(std::move(transports)),
      runtime_(std::move(runtime)),
      rng_(seed) {}

void Worker::listen(net::ip::tcp::acceptor acceptor) {
  acceptor_ = std::make_unique<net::ip::tcp::acceptor>(std::move(acceptor));
  spawn_logged(ioc_, accept_loop(*acceptor_, false), "accept loop");
}

void Worker::listen_admin(net::ip::tcp::acceptor acceptor) {
  admin_acceptor_ = std::make_unique<net::ip::tcp::acceptor>(std::move(acceptor));
  spawn_logged(ioc_, accept_loop(*admin_acceptor_, true), "admin accept loop");
}

net::awaitable<void> Worker::accept_loop(net::ip::tcp::acceptor& acceptor, bool admin) {
  while (acceptor.is_open()) {
    auto [ec, socket] = co_await acceptor.async_accept(kTuple);
    if (ec) {
      if (ec == net::error::operation_aborted || !acceptor.is_open()) {
        break;
      }
      // EMFILE and friends: log and keep accepting rather than dying.
      spdlog::warn("accept failed: {}", ec.message());
      continue;
    }
    boost::system::error_code ignored;
    socket.set_option(net::ip::tcp::no_delay(true), ignored);
    spawn_logged(ioc_, run_session(*this, std::move(socket), admin), "session");
  }
}

void Worker::begin_drain() {
  draining_ = true;
  for (auto* a : {acceptor_.get(), admin_acceptor_.get()}) {
    if (a) {
      boost::system::error_code ignored;
      a->close(ignored);
    }
  }
  for (auto& s : sessions_) {
    if (s.idle) {
      boost::system::error_code ignored;
      s.stream->socket().cancel(ignored);
    }
  }
}

std::list<Worker::SessionEntry>::iterator Worker::add_session(boost::beast::tcp_stream* stream) {
  open_sessions_.fetch_add(1, std::memory_order_relaxed);
  return sessions_.insert(sessions_.end(), SessionEntry{stream, true});
}

void Worker::remove_session(std::list<SessionEntry>::iterator it) {
  sessions_.erase(it);
  open_sessions_.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace sy::server
