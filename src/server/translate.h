#pragma once
// The translation path: one exchange through the IR (see proxy.h).

#include <boost/asio/awaitable.hpp>
#include <string>

#include "inbound/codec.h"
#include "ir/chat.h"
#include "server/http_util.h"
#include "server/worker.h"

namespace sy::server {

// Writes an error in the caller's protocol, logs the request. Returns keep-alive.
net::awaitable<bool> respond_protocol_error(beast::tcp_stream& client, Request& req,
                                            RequestContext& ctx, const inbound::Codec& codec,
                                            const Error& error);

// Merges a Usage event into an accumulated usage: fields the event sets win.
void merge_usage(ir::Usage& into, const ir::Usage& from);

class ClientWatch;

// The translated answer, once the attempt loop has a response head: a final upstream 4xx is
// mapped by the adapter into the caller's protocol, a 2xx is decoded into the IR and rendered
// (streams event by event). Returns keep-alive.
net::awaitable<bool> respond_translated(beast::tcp_stream& client, Request& req,
                                        RequestContext& ctx, const inbound::Codec& codec,
                                        const ir::ChatRequest& ir_req,
                                        const ResolvedTarget& target, upstream::Exchange& ex,
                                        upstream::AbortSignal& abort, ClientWatch& watch,
                                        std::string& pipelined);

}  // namespace sy::server
