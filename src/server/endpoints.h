#pragma once
// Endpoint dispatch: method + path -> handler.

#include <boost/asio/awaitable.hpp>
#include <string>

#include "server/http_util.h"
#include "server/worker.h"

namespace sy::server {

// Serves one request. Returns whether the connection may be kept alive.
net::awaitable<bool> dispatch(Worker& worker, beast::tcp_stream& stream, Request& req,
                              RequestContext& ctx, std::string& pipelined);

}  // namespace sy::server
