#pragma once
// Watches the client socket while a request is being served, so that a client that goes away
// aborts the upstream exchange at once (not only at the next write). Bytes that arrive are a
// pipelined next request and are handed back to the session.

#include <array>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <memory>
#include <string>

#include "upstream/transport.h"

namespace sy::server {

class ClientWatch {
 public:
  ClientWatch(boost::beast::tcp_stream& stream, std::shared_ptr<upstream::AbortSignal> abort)
      : stream_(stream), state_(std::make_shared<State>()) {
    state_->abort = std::move(abort);
  }
  ClientWatch(const ClientWatch&) = delete;
  ClientWatch& operator=(const ClientWatch&) = delete;

  void start() {
    auto st = state_;
    stream_.socket().async_read_some(
        boost::asio::buffer(st->buf), [st](const boost::system::error_code& ec, std::size_t n) {
          st->done = true;
          if (!ec) {
            st->data.append(st->buf.data(), n);
          } else if (ec != boost::asio::error::operation_aborted) {
            st->gone = true;
            st->abort->abort();
          }
        });
    started_ = true;
  }

  // Stops watching; waits until the pending read has completed so the socket is free again.
  boost::asio::awaitable<void> stop() {
    if (!started_) {
      co_return;
    }
    if (!state_->done) {
      boost::system::error_code ignored;
      stream_.socket().cancel(ignored);
    }
    while (!state_->done) {
      co_await boost::asio::post(co_await boost::asio::this_coro::executor,
                                 boost::asio::use_awaitable);
    }
    started_ = false;
  }

  bool client_gone() const { return state_->gone; }
  std::string take_pipelined() { return std::move(state_->data); }

 private:
  struct State {
    bool done = false;
    bool gone = false;
    std::array<char, 2048> buf{};
    std::string data;
    std::shared_ptr<upstream::AbortSignal> abort;
  };
  boost::beast::tcp_stream& stream_;
  std::shared_ptr<State> state_;
  bool started_ = false;
};

}  // namespace sy::server
