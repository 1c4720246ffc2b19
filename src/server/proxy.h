#pragma once
// POST /v1/chat/completions on the same-protocol fast path: the client's bytes go upstream with
// only "model" (and, for streams, stream_options.include_usage) patched; the answer comes back
// as the upstream sent it, streamed event by event with back-pressure.

#include <boost/asio/awaitable.hpp>
#include <string>

#include "server/http_util.h"
#include "server/worker.h"

namespace sy::server {

// Serves one chat completion. Returns whether the client connection may be kept alive.
// `pipelined` receives bytes of a next request that arrived while this one was served.
net::awaitable<bool> handle_chat_completions(Worker& worker, beast::tcp_stream& client,
                                             Request& req, RequestContext& ctx,
                                             std::string& pipelined);

}  // namespace sy::server
