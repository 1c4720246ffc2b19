#include "server/proxy.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "codec/sse.h"
#include "providers/openai_compat.h"
#include "server/client_watch.h"
#include "server/exchange_util.h"
#include "server/translate.h"

namespace sy::server {

namespace {

constexpr auto kTuple = net::as_tuple(net::use_awaitable);

// The data of one raw SSE event without copying in the common single-line case.
std::string_view event_data(std::string_view raw, std::string& scratch) {
  constexpr std::string_view kData = "data:";
  if (raw.substr(0, kData.size()) == kData) {
    auto rest = raw.substr(kData.size());
    auto nl = rest.find_first_of("\r\n");
    auto after = rest.substr(nl == std::string_view::npos ? rest.size() : nl);
    // Single-line event: nothing but line endings after the first line.
    if (after.find_first_not_of("\r\n") == std::string_view::npos) {
      auto line = rest.substr(0, nl);
      if (!line.empty() && line.front() == ' ') {
        line.remove_prefix(1);
      }
      return line;
    }
  }
  scratch = codec::parse_sse_event(raw).data;
  return scratch;
}

std::string sse_error_event(const Error& e) { return "data: " + openai_error_body(e) + "\n\n"; }

// Streams an OpenAI SSE answer through unchanged, event by event. Returns keep-alive.
net::awaitable<bool> pump_fast_stream(beast::tcp_stream& client, Request& req,
                                      RequestContext& ctx, upstream::Exchange& ex,
                                      upstream::AbortSignal& abort, bool drop_usage_chunk) {
  auto& rec = ctx.record;
  http::response<http::empty_body> res{http::status::ok, req.version()};
  res.set(http::field::server, "switchyard");
  res.set(http::field::content_type, ex.head().content_type);
  res.set(http::field::cache_control, "no-cache");
  add_common_headers(res, ctx);
  res.keep_alive(ctx.keep_alive && req.keep_alive());
  res.chunked(true);
  rec.status = 200;
  http::response_serializer<http::empty_body> sr{res};
  client.expires_after(ctx.write_timeout);
  auto [hec, hn] = co_await http::async_write_header(client, sr, kTuple);
  (void)hn;
  if (hec) {
    rec.client_aborted = true;
    abort.abort();
    co_return false;
  }

  codec::SseSplitter splitter;
  std::string in;
  std::string out;
  std::string scratch;
  std::optional<Error> upstream_error;
  for (;;) {
    in.clear();
    auto more = co_await ex.read_some(in);
    if (!more && abort.aborted()) {
      rec.client_aborted = true;  // the client left; nothing more to write
      co_return false;
    }
    if (!more) {
      upstream_error = more.error();
      break;
    }
    out.clear();
    if (*more) {
      splitter.feed(in);
    } else {
      // End of the upstream body: an unterminated last event is still delivered, terminated.
      std::string tail = splitter.take_tail();
      if (tail.find_first_not_of("\r\n") != std::string::npos) {
        splitter.feed(tail);
        splitter.feed("\n\n");
      }
    }
    std::string_view ev;
    while (splitter.next(ev)) {
      auto info = providers::inspect_chunk(event_data(ev, scratch));
      if (info.usage) {
        rec.usage = *info.usage;
      }
      if (info.is_error) {
        rec.error = "upstream_stream_error";
      }
      if (info.usage_only && drop_usage_chunk) {
        continue;  // the gateway asked for usage for its own accounting; the client did not
      }
      out.append(ev);
    }
    if (!out.empty()) {
      if (!rec.ttft_ms) {
        rec.ttft_ms = ms_since(ctx.start);
      }
      client.expires_after(ctx.write_timeout);
      // Awaiting the client write before the next upstream read is the back-pressure.
      auto [wec, wn] = co_await net::async_write(client, http::make_chunk(net::buffer(out)), kTuple);
      (void)wn;
      if (wec) {
        rec.client_aborted = true;
        abort.abort();
        co_return false;
      }
    }
    if (!*more) {
      break;
    }
  }

  bool keep = ctx.keep_alive && req.keep_alive();
  if (upstream_error) {
    // Never fail over once bytes reached the client: end the stream with a clean error event
    // (the OpenAI SDK raises it as an APIError) and close the connection.
    rec.error = upstream_error->code.empty() ? std::string(default_code(upstream_error->kind))
                                             : upstream_error->code;
    spdlog::warn("request {}: upstream failed mid-stream: {} ({})", ctx.request_id,
                 upstream_error->public_message, upstream_error->detail);
    const std::string ev = sse_error_event(*upstream_error);
    client.expires_after(ctx.write_timeout);
    auto [eec, en] = co_await net::async_write(client, http::make_chunk(net::buffer(ev)), kTuple);
    (void)en;
    if (eec) {
      co_return false;
    }
    keep = false;
  }
  client.expires_after(ctx.write_timeout);
  auto [lec, ln] = co_await net::async_write(client, http::make_chunk_last(), kTuple);
  (void)ln;
  co_return keep && !lec;
}

// The same-protocol fast path: OpenAI in, an OpenAI-speaking target out.
net::awaitable<bool> fast_exchange(Worker& worker, beast::tcp_stream& client, Request& req,
                                   RequestContext& ctx, std::string& pipelined,
                                   const inbound::Codec& codec,
                                   const providers::ChatRequestInfo& info,
                                   const ResolvedTarget& target, upstream::Transport& transport) {
  auto& rec = ctx.record;
  const Snapshot& snap = worker.snapshot();
  const auto& provider = snap.config->providers[target.provider_index];
  const Route* route = snap.find_route(info.model);

  const bool inject_usage = info.stream && !info.include_usage;
  upstream::Request ureq;
  ureq.path = "/chat/completions";
  ureq.body = providers::rewrite_chat_request(req.body(), info, target.ref->model, inject_usage);
  ureq.model = target.ref->model;

  auto abort = std::make_shared<upstream::AbortSignal>();
  ClientWatch watch(client, abort);
  watch.start();

  auto started = co_await transport.start(std::move(ureq), route->config->timeouts, abort);
  if (!started) {
    co_await watch.stop();
    pipelined = watch.take_pipelined();
    if (watch.client_gone()) {
      rec.client_aborted = true;
      rec.status = 499;  // nginx's "client closed request"; nothing is sent
      log_access(ctx);
      co_return false;
    }
    const Error& e = started.error();
    spdlog::warn("request {}: upstream {} failed: {} ({})", ctx.request_id, provider.name,
                 e.public_message, e.detail);
    co_return co_await respond_protocol_error(client, req, ctx, codec, e);
  }
  upstream::Exchange& ex = **started;
  const unsigned status = ex.head().status;

  if (status < 200 || status >= 300) {
    auto body = co_await read_all(ex, kMaxErrorBody);
    co_await watch.stop();
    pipelined = watch.take_pipelined();
    if (status == 401 || status == 403) {
      // The gateway's own credential was refused: not the client's business, and the body may
      // echo the credential. Never pass it through.
      co_return co_await respond_protocol_error(
          client, req, ctx, codec,
          make_error(ErrorKind::UpstreamAuth,
                     "The upstream provider rejected the gateway's credentials.",
                     "upstream_auth_failed"));
    }
    if (status >= 400 && status < 500 && body) {
      rec.status = static_cast<int>(status);
      rec.error = "upstream_" + std::to_string(status);
      auto res = make_response(static_cast<http::status>(status),
                               scrub(std::move(*body), provider.api_key),
                               ex.head().content_type.empty() ? "application/json"
                                                              : ex.head().content_type,
                               req, ctx);
      if (!ex.head().retry_after.empty()) {
        res.set(http::field::retry_after, ex.head().retry_after);
      }
      const bool keep = res.keep_alive();
      const bool ok = co_await write_response(client, std::move(res), ctx);
      log_access(ctx);
      co_return ok && keep;
    }
    co_return co_await respond_protocol_error(
        client, req, ctx, codec,
        make_error(ErrorKind::UpstreamUnavailable,
                   "The upstream provider returned HTTP " + std::to_string(status) + ".",
                   "upstream_error"));
  }

  if (!ex.head().event_stream()) {
    auto body = co_await read_all(ex, kMaxResponseBody);
    co_await watch.stop();
    pipelined = watch.take_pipelined();
    if (!body) {
      if (watch.client_gone()) {
        rec.client_aborted = true;
        rec.status = 499;
        log_access(ctx);
        co_return false;
      }
      co_return co_await respond_protocol_error(client, req, ctx, codec, body.error());
    }
    if (auto usage = providers::usage_from_openai(*body)) {
      rec.usage = *usage;
    }
    rec.status = 200;
    rec.ttft_ms = ms_since(ctx.start);
    auto res = make_response(http::status::ok, std::move(*body), ex.head().content_type, req, ctx);
    const bool keep = res.keep_alive();
    const bool ok = co_await write_response(client, std::move(res), ctx);
    log_access(ctx);
    co_return ok && keep;
  }

  const bool keep = co_await pump_fast_stream(client, req, ctx, ex, *abort, inject_usage);
  co_await watch.stop();
  pipelined = watch.take_pipelined();
  if (watch.client_gone()) {
    rec.client_aborted = true;
  }
  log_access(ctx);
  co_return keep && !watch.client_gone();
}

}  // namespace

net::awaitable<bool> handle_chat(Worker& worker, beast::tcp_stream& client, Request& req,
                                 RequestContext& ctx, std::string& pipelined,
                                 const inbound::Codec& codec) {
  ctx.proxied = true;
  auto& rec = ctx.record;
  rec.inbound = std::string(codec.name());
  const bool openai_in = &codec == &inbound::openai_chat_codec();

  // Parse just enough to route. OpenAI clients get the scan-only parse (the fast path never
  // builds the IR); other protocols are parsed into the IR at once.
  std::optional<providers::ChatRequestInfo> info;
  std::optional<ir::ChatRequest> ir_req;
  std::string model;
  std::vector<ir::Feature> needed;
  if (openai_in) {
    auto scanned = providers::inspect_chat_request(req.body());
    if (!scanned) {
      co_return co_await respond_protocol_error(client, req, ctx, codec, scanned.error());
    }
    info = std::move(*scanned);
    model = info->model;
    rec.stream = info->stream;
    needed = providers::required_features_fast(req.body(), *info);
  } else {
    auto parsed = codec.parse_request(req.body());
    if (!parsed) {
      co_return co_await respond_protocol_error(client, req, ctx, codec, parsed.error());
    }
    ir_req = std::move(*parsed);
    model = ir_req->model;
    rec.stream = ir_req->stream;
    needed = ir::required_features(*ir_req);
  }
  rec.route = model;

  const Snapshot& snap = worker.snapshot();
  const Route* route = snap.find_route(model);
  if (!route) {
    co_return co_await respond_protocol_error(
        client, req, ctx, codec,
        make_error(ErrorKind::NotFound,
                   "The model `" + model + "` does not exist or you do not have access to it.",
                   "model_not_found", "model"));
  }

  // For now: the first target, in tier order, whose provider is enabled and which can serve
  // every feature the request uses (never silently degrade). Weights, health and failover
  // across tiers come with the router.
  const ResolvedTarget* target = nullptr;
  upstream::Transport* transport = nullptr;
  const ResolvedTarget* lacking = nullptr;
  std::optional<ir::Feature> lacking_feature;
  for (const auto& t : route->targets) {
    auto* tr = worker.transport(t.provider_index);
    if (!tr) {
      continue;
    }
    if (auto missing = t.caps.first_missing(needed)) {
      if (!lacking) {
        lacking = &t;
        lacking_feature = missing;
      }
      continue;
    }
    target = &t;
    transport = tr;
    break;
  }
  if (!target && lacking) {
    const std::string feature(ir::feature_name(*lacking_feature));
    co_return co_await respond_protocol_error(
        client, req, ctx, codec,
        make_error(ErrorKind::InvalidRequest,
                   "The request uses `" + feature + "`, which no target of model `" + model +
                       "` supports (target `" + lacking->ref->text() + "` does not).",
                   "unsupported_capability", feature));
  }
  if (!target) {
    co_return co_await respond_protocol_error(
        client, req, ctx, codec,
        make_error(ErrorKind::NoTarget, "No provider is available for model `" + model + "`."));
  }
  rec.provider = snap.config->providers[target->provider_index].name;
  rec.model = target->ref->model;
  rec.tier = target->tier;
  rec.attempts = 1;

  if (openai_in && target->openai_native) {
    co_return co_await fast_exchange(worker, client, req, ctx, pipelined, codec, *info, *target,
                                     *transport);
  }
  if (!ir_req) {
    auto parsed = codec.parse_request(req.body());
    if (!parsed) {
      co_return co_await respond_protocol_error(client, req, ctx, codec, parsed.error());
    }
    ir_req = std::move(*parsed);
  }
  if (!target->adapter) {
    co_return co_await respond_protocol_error(
        client, req, ctx, codec,
        make_error(ErrorKind::Internal, "No adapter for the target's provider type."));
  }
  co_return co_await translate_exchange(worker, client, req, ctx, pipelined, codec,
                                        std::move(*ir_req), *target, *transport);
}

}  // namespace sy::server
