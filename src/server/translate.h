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

net::awaitable<bool> translate_exchange(Worker& worker, beast::tcp_stream& client, Request& req,
                                        RequestContext& ctx, std::string& pipelined,
                                        const inbound::Codec& codec, ir::ChatRequest ir_req,
                                        const ResolvedTarget& target,
                                        upstream::Transport& transport);

}  // namespace sy::server
