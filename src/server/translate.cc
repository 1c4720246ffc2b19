#include "server/translate.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "server/client_watch.h"
#include "server/exchange_util.h"

namespace sy::server {

namespace {

constexpr auto kTuple = net::as_tuple(net::use_awaitable);

// Streams a translated answer: upstream bytes -> adapter's decoder -> IR events -> the inbound
// codec's encoder -> client, each client write awaited before the next upstream read.
net::awaitable<bool> pump_translated(beast::tcp_stream& client, Request& req, RequestContext& ctx,
                                     upstream::Exchange& ex, upstream::AbortSignal& abort,
                                     const inbound::Codec& codec, const providers::Adapter& adapter,
                                     const ir::ChatRequest& ir_req) {
  auto& rec = ctx.record;
  rec.status = 200;
  if (!co_await write_stream_head(client, req, ctx, "text/event-stream; charset=utf-8")) {
    rec.client_aborted = true;
    abort.abort();
    co_return false;
  }

  auto decoder = adapter.stream_decoder(ir_req);
  auto encoder = codec.stream_encoder(ir_req);
  std::string in;
  std::string out;
  std::vector<ir::StreamEvent> events;
  std::optional<Error> failure;
  bool ended = false;
  while (!ended) {
    in.clear();
    events.clear();
    out.clear();
    auto more = co_await ex.read_some(in);
    if (!more && abort.aborted()) {
      rec.client_aborted = true;  // the client left; nothing more to write
      co_return false;
    }
    if (!more) {
      failure = more.error();
    } else {
      auto fed = *more ? decoder->feed(in, events) : decoder->finish(events);
      if (!fed) {
        failure = make_error(ErrorKind::UpstreamUnavailable, "malformed upstream stream",
                             "upstream_malformed");
        failure->detail = fed.error().public_message;
      }
      ended = !*more;
    }
    for (auto& ev : events) {
      if (ev.type == ir::StreamEvent::Type::Start) {
        // Some providers (Bedrock) name neither the answer nor the model: the gateway does.
        if (ev.model.empty()) {
          ev.model = rec.model;
        }
        if (ev.id.empty()) {
          ev.id = ctx.request_id;
        }
      }
      if (ev.type == ir::StreamEvent::Type::Usage) {
        merge_usage(rec.usage, ev.usage);
      }
      if (ev.type == ir::StreamEvent::Type::Error) {
        failure = ev.error;  // the provider's own mid-stream error
        break;
      }
      encoder->on_event(ev, out);
    }
    if (failure) {
      // Never fail over once bytes reached the client: a clean in-protocol error event, then
      // the connection closes.
      ctx.upstream_failed = true;
      rec.error = failure->code.empty() ? std::string(default_code(failure->kind)) : failure->code;
      spdlog::warn("request {}: upstream failed mid-stream: {} ({})", ctx.request_id,
                   failure->public_message, failure->detail);
      encoder->fail(*failure, out);
      ended = true;
    } else if (ended) {
      encoder->finish(out);
    }
    if (!out.empty()) {
      if (!rec.ttft_ms) {
        rec.ttft_ms = ms_since(ctx.start);
      }
      if (!co_await write_chunk(client, out, ctx)) {
        rec.client_aborted = true;
        abort.abort();
        co_return false;
      }
    }
  }
  const bool last_ok = co_await write_last_chunk(client, ctx);
  co_return !failure && last_ok && ctx.keep_alive && req.keep_alive();
}

}  // namespace

void merge_usage(ir::Usage& into, const ir::Usage& from) {
  auto take = [](std::optional<std::int64_t>& a, const std::optional<std::int64_t>& b) {
    if (b) {
      a = b;
    }
  };
  take(into.input_tokens, from.input_tokens);
  take(into.output_tokens, from.output_tokens);
  take(into.cached_input_tokens, from.cached_input_tokens);
  take(into.cache_write_tokens, from.cache_write_tokens);
  take(into.reasoning_tokens, from.reasoning_tokens);
}

net::awaitable<bool> respond_protocol_error(beast::tcp_stream& client, Request& req,
                                            RequestContext& ctx, const inbound::Codec& codec,
                                            const Error& error) {
  const int status = codec.status_for(error);
  ctx.record.status = status;
  ctx.record.error = error.code.empty() ? std::string(default_code(error.kind)) : error.code;
  Error shown = error;
  shown.status = status;  // so the envelope's type follows the status the client sees
  auto res = make_response(static_cast<http::status>(status), codec.render_error(shown),
                           codec.error_content_type(), req, ctx);
  if (!error.retry_after.empty()) {
    res.set(http::field::retry_after, error.retry_after);
  }
  const bool keep = res.keep_alive();
  const bool ok = co_await write_response(client, std::move(res), ctx);
  log_access(ctx);
  co_return ok && keep;
}

net::awaitable<bool> respond_translated(beast::tcp_stream& client, Request& req,
                                        RequestContext& ctx, const inbound::Codec& codec,
                                        const ir::ChatRequest& ir_req,
                                        const ResolvedTarget& target, upstream::Exchange& ex,
                                        upstream::AbortSignal& abort, ClientWatch& watch,
                                        std::string& pipelined) {
  auto& rec = ctx.record;
  const providers::Adapter& adapter = *target.adapter;
  const unsigned status = ex.head().status;
  auto finish_watch = [&]() -> net::awaitable<void> {
    co_await watch.stop();
    pipelined = watch.take_pipelined();
  };

  if (status < 200 || status >= 300) {
    auto body = co_await read_all(ex, kMaxErrorBody);
    co_await finish_watch();
    providers::UpstreamReply reply{status, ex.head().content_type,
                                   body ? std::move(*body) : std::string(), ex.head().retry_after};
    co_return co_await respond_protocol_error(client, req, ctx, codec, adapter.map_error(reply));
  }

  if (!ir_req.stream) {
    auto body = co_await read_all(ex, kMaxResponseBody);
    co_await finish_watch();
    if (!body) {
      if (watch.client_gone()) {
        rec.client_aborted = true;
        rec.status = 499;
        log_access(ctx);
        co_return false;
      }
      ctx.upstream_failed = true;
      co_return co_await respond_protocol_error(client, req, ctx, codec, body.error());
    }
    providers::UpstreamReply reply{status, ex.head().content_type, std::move(*body),
                                   ex.head().retry_after};
    auto decoded = adapter.decode(reply);
    if (!decoded) {
      Error e = make_error(ErrorKind::UpstreamUnavailable,
                           "The upstream provider sent a response the gateway cannot read.",
                           "upstream_malformed");
      e.detail = decoded.error().public_message;
      ctx.upstream_failed = true;
      co_return co_await respond_protocol_error(client, req, ctx, codec, e);
    }
    if (decoded->model.empty()) {
      decoded->model = target.ref->model;  // Bedrock names no model in its answer
    }
    if (decoded->id.empty()) {
      decoded->id = ctx.request_id;
    }
    rec.usage = decoded->usage;
    rec.status = 200;
    rec.ttft_ms = ms_since(ctx.start);
    apply_cost(ctx);
    auto res = make_response(http::status::ok, codec.render_response(*decoded, ir_req),
                             "application/json", req, ctx);
    if (rec.cost_micros) {
      res.set("x-switchyard-cost-usd", format_usd(*rec.cost_micros));
    }
    settle_outcome(ctx);
    const bool keep = res.keep_alive();
    const bool ok = co_await write_response(client, std::move(res), ctx);
    log_access(ctx);
    co_return ok && keep;
  }

  const bool keep = co_await pump_translated(client, req, ctx, ex, abort, codec, adapter, ir_req);
  co_await finish_watch();
  if (watch.client_gone()) {
    rec.client_aborted = true;
  }
  log_access(ctx);
  co_return keep && !watch.client_gone();
}

}  // namespace sy::server
