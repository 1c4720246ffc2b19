#pragma once
// The chat endpoints: POST /v1/chat/completions (OpenAI) and POST /v1/messages (Anthropic).
// An OpenAI client routed to an OpenAI-speaking target takes the fast path (proxy.cc): the
// client's bytes go upstream with only "model" patched. Anything else is translated through
// the IR (translate.cc): inbound codec -> IR -> provider adapter -> upstream, and back.

#include <boost/asio/awaitable.hpp>
#include <string>

#include "inbound/codec.h"
#include "server/http_util.h"
#include "server/worker.h"

namespace sy::server {

// Serves one chat request in the protocol of `codec`. Returns whether the client connection
// may be kept alive. `pipelined` receives bytes of a next request that arrived meanwhile.
net::awaitable<bool> handle_chat(Worker& worker, beast::tcp_stream& client, Request& req,
                                 RequestContext& ctx, std::string& pipelined,
                                 const inbound::Codec& codec);

}  // namespace sy::server
