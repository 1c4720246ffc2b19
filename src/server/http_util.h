#pragma once
// Helpers shared by the endpoints: request context, common headers, whole-response writes.

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.h"
#include "ledger/usage_record.h"
#include "policy/rate_limiter.h"
#include "server/access_log.h"

namespace sy::server {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Clock = std::chrono::steady_clock;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

struct Runtime;
struct TenantView;

struct RequestContext {
  std::string request_id;
  Clock::time_point start = Clock::now();
  bool keep_alive = true;   // the connection may serve another request after this one
  bool proxied = false;     // a chat endpoint: add the x-switchyard-* headers
  bool anthropic = false;   // an Anthropic client: also send request-id
  bool upstream_failed = false;  // the chosen upstream failed after answering (for health)
  bool route_known = false;      // rec.route names a configured route (a safe metric label)
  bool admin_listener = false;   // accepted on admin.listen: only the admin API is served
  Runtime* runtime = nullptr;
  // Who is asking (server/tenancy.h): "default" in open mode; the key's tenant otherwise.
  const TenantView* tenant = nullptr;  // null in open mode
  // Rate-limit reservation of an admitted request: settled with the real usage and released
  // by log_access.
  std::optional<policy::Reservation> reservation;
  // The answering target's outcome for its health tracker (set by the router; see
  // settle_outcome).
  std::function<void(bool ok)> on_outcome;
  // Extra response headers (x-ratelimit-*, x-should-retry), added by add_common_headers.
  std::vector<std::pair<std::string, std::string>> extra_headers;
  // A ledger record the writer's full queue could not take yet: the session waits until it
  // can (back-pressure) before reading the connection's next request. Never dropped.
  std::optional<ledger::UsageRecord> pending_record;
  AccessRecord record;
  std::chrono::milliseconds write_timeout{60'000};
};

// Adds x-request-id and, for chat endpoints, x-switchyard-provider/-model/-tier/-attempts.
template <typename Fields>
void add_common_headers(Fields& h, const RequestContext& ctx) {
  h.set("x-request-id", ctx.request_id);
  if (ctx.anthropic) {
    h.set("request-id", ctx.request_id);
  }
  if (ctx.proxied) {
    const auto& r = ctx.record;
    h.set("x-switchyard-provider", r.provider.empty() ? std::string_view("none") : r.provider);
    h.set("x-switchyard-model", r.model.empty() ? std::string_view("none") : r.model);
    if (!r.tier.empty()) {
      h.set("x-switchyard-tier", r.tier);
    }
    h.set("x-switchyard-attempts", std::to_string(r.attempts));
  }
  for (const auto& [name, value] : ctx.extra_headers) {
    h.set(name, value);
  }
}

Response make_response(http::status status, std::string body, std::string_view content_type,
                       const Request& req, const RequestContext& ctx);
Response make_error_response(const Error& error, const Request& req, RequestContext& ctx);

// Writes a whole response. Returns false when the client is gone.
net::awaitable<bool> write_response(beast::tcp_stream& stream, Response res,
                                    const RequestContext& ctx);

// Writes the head of a 200 chunked event-stream response (common headers, no-cache). Returns
// false when the client is gone.
net::awaitable<bool> write_stream_head(beast::tcp_stream& stream, const Request& req,
                                       const RequestContext& ctx, std::string_view content_type);

// Writes one chunk of a chunked response ("<hex>\r\n<data>\r\n") in one call. Returns false
// when the client is gone.
net::awaitable<bool> write_chunk(beast::tcp_stream& stream, std::string_view data,
                                 const RequestContext& ctx);
// Writes the last chunk ("0\r\n\r\n").
net::awaitable<bool> write_last_chunk(beast::tcp_stream& stream, const RequestContext& ctx);

// Reports the answering target's outcome (success unless ctx.upstream_failed) through
// ctx.on_outcome, once, unless the client left. Called just before a whole answer is written,
// so that a client's next request is routed with it (a half-open target that just answered is
// healthy again), and once more when the request ends (streams), which is then a no-op.
void settle_outcome(RequestContext& ctx);

// Prices the request from its usage and target (once); sets record.cost_micros.
void apply_cost(RequestContext& ctx);

// Logs the access record (latency from ctx.start), updates the metrics and hands the usage
// record to the ledger writer.
void log_access(RequestContext& ctx);

}  // namespace sy::server
