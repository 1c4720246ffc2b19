#include "server/http_util.h"

#include <array>
#include <cstdio>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/write.hpp>

#include "core/clock.h"
#include "server/runtime.h"
#include "server/tenancy.h"
#include <boost/asio/use_awaitable.hpp>

namespace sy::server {

namespace {
constexpr auto kTuple = net::as_tuple(net::use_awaitable);
}

Response make_response(http::status status, std::string body, std::string_view content_type,
                       const Request& req, const RequestContext& ctx) {
  Response res{status, req.version()};
  res.set(http::field::server, "switchyard");
  res.set(http::field::content_type, content_type);
  add_common_headers(res, ctx);
  res.body() = std::move(body);
  res.keep_alive(ctx.keep_alive && req.keep_alive());
  res.prepare_payload();
  return res;
}

Response make_error_response(const Error& error, const Request& req, RequestContext& ctx) {
  ctx.record.status = http_status(error);
  ctx.record.error = error.code.empty() ? std::string(default_code(error.kind)) : error.code;
  auto res = make_response(static_cast<http::status>(http_status(error)), openai_error_body(error),
                           "application/json", req, ctx);
  if (!error.retry_after.empty()) {
    res.set(http::field::retry_after, error.retry_after);
  }
  return res;
}

net::awaitable<bool> write_response(beast::tcp_stream& stream, Response res,
                                    const RequestContext& ctx) {
  // The head is serialised by hand into one string and written with the body in one call:
  // Beast's generic serializer iterates a buffers_cat_view per field, a measurable cost here.
  std::string head;
  head.reserve(320);
  head.append(res.version() == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
  head.append(std::to_string(res.result_int()));
  head.push_back(' ');
  head.append(res.reason());
  head.append("\r\n");
  for (const auto& field : res.base()) {
    head.append(field.name_string());
    head.append(": ");
    head.append(field.value());
    head.append("\r\n");
  }
  head.append("\r\n");
  const std::array<net::const_buffer, 2> wire{net::buffer(head), net::buffer(res.body())};
  stream.expires_after(ctx.write_timeout);
  auto [ec, n] = co_await net::async_write(stream, wire, kTuple);
  (void)n;
  co_return !ec;
}

net::awaitable<bool> write_stream_head(beast::tcp_stream& stream, const Request& req,
                                       const RequestContext& ctx, std::string_view content_type) {
  http::response<http::empty_body> res{http::status::ok, req.version()};
  res.set(http::field::server, "switchyard");
  res.set(http::field::content_type, content_type);
  res.set(http::field::cache_control, "no-cache");
  add_common_headers(res, ctx);
  res.keep_alive(ctx.keep_alive && req.keep_alive());
  res.chunked(true);
  std::string head;
  head.reserve(320);
  head.append(res.version() == 10 ? "HTTP/1.0 200 OK\r\n" : "HTTP/1.1 200 OK\r\n");
  for (const auto& field : res.base()) {
    head.append(field.name_string());
    head.append(": ");
    head.append(field.value());
    head.append("\r\n");
  }
  head.append("\r\n");
  stream.expires_after(ctx.write_timeout);
  auto [ec, n] = co_await net::async_write(stream, net::buffer(head), kTuple);
  (void)n;
  co_return !ec;
}

net::awaitable<bool> write_chunk(beast::tcp_stream& stream, std::string_view data,
                                 const RequestContext& ctx) {
  if (data.empty()) {
    co_return true;  // an empty chunk would end the body
  }
  char size_line[24];
  const int n = std::snprintf(size_line, sizeof size_line, "%zx\r\n", data.size());
  const std::array<net::const_buffer, 3> wire{
      net::buffer(size_line, static_cast<std::size_t>(n)), net::buffer(data.data(), data.size()),
      net::buffer("\r\n", 2)};
  stream.expires_after(ctx.write_timeout);
  auto [ec, written] = co_await net::async_write(stream, wire, kTuple);
  (void)written;
  co_return !ec;
}

net::awaitable<bool> write_last_chunk(beast::tcp_stream& stream, const RequestContext& ctx) {
  stream.expires_after(ctx.write_timeout);
  auto [ec, written] = co_await net::async_write(stream, net::buffer("0\r\n\r\n", 5), kTuple);
  (void)written;
  co_return !ec;
}

void settle_outcome(RequestContext& ctx) {
  if (!ctx.on_outcome) {
    return;
  }
  auto report = std::move(ctx.on_outcome);
  ctx.on_outcome = nullptr;
  if (!ctx.record.client_aborted) {
    report(!ctx.upstream_failed);
  }
}

void apply_cost(RequestContext& ctx) {
  auto& r = ctx.record;
  if (!ctx.runtime || r.cost_micros || r.provider.empty() || !r.usage.any()) {
    return;
  }
  const auto price = ctx.runtime->prices.find(r.provider, r.model);
  if (!price) {
    return;
  }
  auto cost = ledger::cost(*price, r.usage);
  if (cost && *cost) {
    r.cost_micros = **cost;
    r.price_version = ctx.runtime->prices.version();
    count_spend(ctx);  // once: the cost is set only here
  }
}

namespace {

void record_metrics(admin::GatewayMetrics& m, const RequestContext& ctx) {
  const auto& r = ctx.record;
  // Labels are bounded: a model that is not a configured route is "unknown", never the
  // client's text.
  const std::string route = ctx.route_known ? r.route : std::string("unknown");
  m.request(route, r.inbound.empty() ? std::string("none") : r.inbound, r.status);
  if (!r.error.empty()) {
    m.error(route, r.error);
  }
  if (r.attempt_log.empty()) {
    return;
  }
  m.operation_duration(r.provider, route, r.model, r.error, r.latency_ms / 1000.0);
  if (r.ttft_ms) {
    m.time_to_first_token(r.provider, route, r.model, *r.ttft_ms / 1000.0);
  }
  if (r.usage.input_tokens || r.usage.output_tokens) {
    m.token_usage(r.provider, route, r.model,
                  static_cast<std::uint64_t>(r.usage.input_tokens.value_or(0)),
                  static_cast<std::uint64_t>(r.usage.output_tokens.value_or(0)));
  }
  auto tier_rank = [](const std::string& t) { return t == "core" ? 0 : t == "secondary" ? 1 : 2; };
  for (std::size_t i = 0; i < r.attempt_log.size(); ++i) {
    const auto& a = r.attempt_log[i];
    std::string outcome = "success";
    if (!a.error.empty()) {
      outcome = a.status == 429 || a.error == "rate_limited" ? "rate_limited"
                : a.error == "upstream_timeout"              ? "timeout"
                                                             : "error";
    }
    m.upstream_attempt(route, a.provider, a.model, a.tier, outcome);
    if (a.canary) {
      m.canary(route, a.provider, a.model);
    }
    // A failover is a move down the tiers; a retry within a tier is not one.
    if (i > 0 && tier_rank(a.tier) > tier_rank(r.attempt_log[i - 1].tier)) {
      m.failover(route, r.attempt_log[i - 1].tier, a.tier);
    }
  }
}

ledger::UsageRecord usage_record(const RequestContext& ctx, std::int64_t ts_ms) {
  const auto& r = ctx.record;
  ledger::UsageRecord u;
  u.ts_ms = ts_ms;
  u.request_id = ctx.request_id;
  u.tenant = r.tenant;
  u.key_id = r.key_id;
  u.redactions = r.redactions;
  u.route = r.route;
  u.inbound = r.inbound;
  u.provider = r.provider;
  u.model = r.model;
  u.tier = r.tier;
  u.canary = r.canary;
  u.attempts = r.attempts;
  u.status = r.status;
  u.error_class = r.error;
  u.latency_ms = r.latency_ms;
  u.ttft_ms = r.ttft_ms;
  u.usage = r.usage;
  u.cost_micros = r.cost_micros;
  u.price_version = r.price_version;
  u.stream = r.stream;
  u.attempt_details = render_attempts(r.attempt_log);
  return u;
}

}  // namespace

void log_access(RequestContext& ctx) {
  ctx.record.request_id = ctx.request_id;
  ctx.record.latency_ms =
      std::chrono::duration<double, std::milli>(Clock::now() - ctx.start).count();
  apply_cost(ctx);
  write_access_line(render_access_record(ctx.record));
  // The request's start in wall time: what the ledger and the budgets date it by.
  const std::int64_t ts_ms = unix_now_ms() - static_cast<std::int64_t>(ctx.record.latency_ms);
  account(ctx);
  if (!ctx.runtime) {
    return;
  }
  if (ctx.runtime->metrics && ctx.proxied) {  // chat requests only, not admin calls
    record_metrics(*ctx.runtime->metrics, ctx);
  }
  // Every request that reached (or tried to reach) a provider gets a ledger record.
  if (ctx.runtime->ledger && ctx.record.attempts > 0) {
    auto record = usage_record(ctx, ts_ms);
    if (!ctx.runtime->ledger->try_submit(std::move(record))) {
      ctx.pending_record = std::move(record);
    }
  }
}

}  // namespace sy::server
