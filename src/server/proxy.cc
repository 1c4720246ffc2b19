#include "server/proxy.h"

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "codec/sse.h"
#include "providers/openai_compat.h"

namespace sy::server {

namespace {

constexpr auto kTuple = net::as_tuple(net::use_awaitable);
constexpr std::size_t kMaxErrorBody = 1 << 20;         // what we read of an upstream error
constexpr std::size_t kMaxResponseBody = 64ull << 20;  // a non-streamed answer we buffer

// Watches the client socket while a request is being served, so that a client that goes away
// cancels the upstream exchange at once (not only at the next write). Bytes that arrive are a
// pipelined next request and are handed back to the session.
class ClientWatch {
 public:
  ClientWatch(beast::tcp_stream& stream, std::shared_ptr<upstream::AbortSignal> abort)
      : stream_(stream), state_(std::make_shared<State>()) {
    state_->abort = std::move(abort);
  }

  void start() {
    auto st = state_;
    stream_.socket().async_read_some(
        net::buffer(st->buf), [st](const boost::system::error_code& ec, std::size_t n) {
          st->done = true;
          if (!ec) {
            st->data.append(st->buf.data(), n);
          } else if (ec != net::error::operation_aborted) {
            st->gone = true;
            st->abort->abort();
          }
        });
    started_ = true;
  }

  // Stops watching; waits until the pending read has completed so the socket is free again.
  net::awaitable<void> stop() {
    if (!started_) {
      co_return;
    }
    if (!state_->done) {
      boost::system::error_code ignored;
      stream_.socket().cancel(ignored);
    }
    while (!state_->done) {
      co_await net::post(co_await net::this_coro::executor, net::use_awaitable);
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
  beast::tcp_stream& stream_;
  std::shared_ptr<State> state_;
  bool started_ = false;
};

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

std::string scrub(std::string body, const std::string& secret) {
  if (secret.size() < 4) {
    return body;
  }
  for (auto pos = body.find(secret); pos != std::string::npos; pos = body.find(secret, pos)) {
    body.replace(pos, secret.size(), "[redacted]");
  }
  return body;
}

std::string sse_error_event(const Error& e) {
  return "data: " + openai_error_body(e) + "\n\n";
}

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// Reads the rest of an upstream body, at most `limit` bytes.
net::awaitable<Result<std::string>> read_all(upstream::Exchange& ex, std::size_t limit) {
  std::string body;
  for (;;) {
    auto more = co_await ex.read_some(body);
    if (!more) {
      co_return more.error();
    }
    if (!*more) {
      co_return body;
    }
    if (body.size() > limit) {
      co_return make_error(ErrorKind::UpstreamUnavailable, "upstream response too large");
    }
  }
}

// Streams an SSE answer to the client. Returns whether the connection may be kept alive.
net::awaitable<bool> pump_stream(beast::tcp_stream& client, Request& req, RequestContext& ctx,
                                 upstream::Exchange& ex, upstream::AbortSignal& abort,
                                 bool drop_usage_chunk) {
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

}  // namespace

net::awaitable<bool> handle_chat_completions(Worker& worker, beast::tcp_stream& client,
                                             Request& req, RequestContext& ctx,
                                             std::string& pipelined) {
  ctx.proxied = true;
  auto& rec = ctx.record;
  auto fail = [&](const Error& e) -> net::awaitable<bool> {
    auto res = make_error_response(e, req, ctx);
    const bool keep = res.keep_alive();
    const bool ok = co_await write_response(client, std::move(res), ctx);
    log_access(ctx);
    co_return ok && keep;
  };

  auto info = providers::inspect_chat_request(req.body());
  if (!info) {
    co_return co_await fail(info.error());
  }
  rec.route = info->model;
  rec.stream = info->stream;

  const Snapshot& snap = worker.snapshot();
  const Route* route = snap.find_route(info->model);
  if (!route) {
    co_return co_await fail(make_error(
        ErrorKind::NotFound,
        "The model `" + info->model + "` does not exist or you do not have access to it.",
        "model_not_found", "model"));
  }

  // For now: the first target, in tier order, whose provider is enabled. Weighted choice,
  // health and failover across tiers come with the router.
  const ResolvedTarget* target = nullptr;
  upstream::Transport* transport = nullptr;
  for (const auto& t : route->targets) {
    if (auto* tr = worker.transport(t.provider_index)) {
      target = &t;
      transport = tr;
      break;
    }
  }
  if (!target) {
    co_return co_await fail(make_error(
        ErrorKind::NoTarget, "No provider is available for model `" + info->model + "`."));
  }
  const auto& provider = snap.config->providers[target->provider_index];
  rec.provider = provider.name;
  rec.model = target->ref->model;
  rec.tier = target->tier;
  rec.attempts = 1;

  const bool inject_usage = info->stream && !info->include_usage;
  upstream::Request ureq;
  ureq.path = "/chat/completions";
  ureq.body = providers::rewrite_chat_request(req.body(), *info, target->ref->model, inject_usage);
  ureq.model = target->ref->model;

  auto abort = std::make_shared<upstream::AbortSignal>();
  ClientWatch watch(client, abort);
  watch.start();

  auto started = co_await transport->start(std::move(ureq), route->config->timeouts, abort);
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
    co_return co_await fail(e);
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
      co_return co_await fail(make_error(ErrorKind::UpstreamAuth,
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
    co_return co_await fail(make_error(ErrorKind::UpstreamUnavailable,
                                       "The upstream provider returned HTTP " +
                                           std::to_string(status) + ".",
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
      co_return co_await fail(body.error());
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

  const bool keep = co_await pump_stream(client, req, ctx, ex, *abort, inject_usage);
  co_await watch.stop();
  pipelined = watch.take_pipelined();
  if (watch.client_gone()) {
    rec.client_aborted = true;
  }
  log_access(ctx);
  co_return keep && !watch.client_gone();
}

}  // namespace sy::server
