#include "server/proxy.h"

#include <boost/asio/as_tuple.hpp>
#include <algorithm>
#include <charconv>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "codec/sse.h"
#include "providers/openai_compat.h"
#include "routing/router.h"
#include "server/client_watch.h"
#include "server/exchange_util.h"
#include "server/tenancy.h"
#include "server/translate.h"

namespace sy::server {

namespace {

constexpr auto kTuple = net::as_tuple(net::use_awaitable);

// The data of one raw SSE event without copying in the common single-line case.
// (Plain loops: string_view::find_first_of("\r\n") calls memchr once per byte.)
std::string_view event_data(std::string_view raw, std::string& scratch) {
  constexpr std::string_view kData = "data:";
  if (raw.substr(0, kData.size()) == kData) {
    auto rest = raw.substr(kData.size());
    std::size_t nl = 0;
    while (nl < rest.size() && rest[nl] != '\r' && rest[nl] != '\n') {
      ++nl;
    }
    // Single-line event: nothing but line endings after the first line.
    bool single = true;
    for (std::size_t i = nl; i < rest.size(); ++i) {
      if (rest[i] != '\r' && rest[i] != '\n') {
        single = false;
        break;
      }
    }
    if (single) {
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
  rec.status = 200;
  if (!co_await write_stream_head(client, req, ctx, ex.head().content_type)) {
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
      // Awaiting the client write before the next upstream read is the back-pressure.
      if (!co_await write_chunk(client, out, ctx)) {
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
    if (!co_await write_chunk(client, ev, ctx)) {
      co_return false;
    }
    keep = false;
  }
  const bool last_ok = co_await write_last_chunk(client, ctx);
  co_return keep && last_ok;
}

// The fast path's answer, once the attempt loop has a response head to hand over: upstream
// 4xx pass through, 2xx go back byte for byte (streams event by event).
net::awaitable<bool> respond_fast(beast::tcp_stream& client, Request& req, RequestContext& ctx,
                                  const inbound::Codec& codec, const providers::ChatRequestInfo& info,
                                  const config::ProviderConfig& provider, upstream::Exchange& ex,
                                  upstream::AbortSignal& abort, ClientWatch& watch,
                                  std::string& pipelined) {
  auto& rec = ctx.record;
  const unsigned status = ex.head().status;
  auto finish_watch = [&]() -> net::awaitable<void> {
    co_await watch.stop();
    pipelined = watch.take_pipelined();
  };

  if (status < 200 || status >= 300) {
    auto body = co_await read_all(ex, kMaxErrorBody);
    co_await finish_watch();
    if (!body) {
      co_return co_await respond_protocol_error(client, req, ctx, codec, body.error());
    }
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
    settle_outcome(ctx);
    const bool keep = res.keep_alive();
    const bool ok = co_await write_response(client, std::move(res), ctx);
    log_access(ctx);
    co_return ok && keep;
  }

  if (!ex.head().event_stream()) {
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
    if (auto usage = providers::usage_from_openai(*body)) {
      rec.usage = *usage;
    }
    rec.status = 200;
    rec.ttft_ms = ms_since(ctx.start);
    apply_cost(ctx);
    auto res = make_response(http::status::ok, std::move(*body), ex.head().content_type, req, ctx);
    if (rec.cost_micros) {
      res.set("x-switchyard-cost-usd", format_usd(*rec.cost_micros));
    }
    settle_outcome(ctx);
    const bool keep = res.keep_alive();
    const bool ok = co_await write_response(client, std::move(res), ctx);
    log_access(ctx);
    co_return ok && keep;
  }

  const bool inject_usage = info.stream && !info.include_usage;
  const bool keep = co_await pump_fast_stream(client, req, ctx, ex, abort, inject_usage);
  co_await finish_watch();
  if (watch.client_gone()) {
    rec.client_aborted = true;
  }
  if (!rec.client_aborted && !rec.error.empty() && rec.error != "upstream_stream_error") {
    ctx.upstream_failed = true;
  }
  log_access(ctx);
  co_return keep && !watch.client_gone();
}

// The longest a request waits on one target's Retry-After before giving the client the 429.
constexpr std::chrono::milliseconds kMaxSameTargetWait{5'000};

bool retryable_status(unsigned s) { return s == 408 || s == 429 || s == 529 || s >= 500; }

// Whether the router may try another target after `e`: connect failures, resets and timeouts
// before the first byte, 429, 5xx and overload, and a refused gateway credential (that
// provider is misconfigured; another one may serve). Never a request error.
bool failover_allowed(const Error& e) {
  return retryable(e.kind) || e.kind == ErrorKind::UpstreamAuth;
}

struct AttemptResult {
  upstream::ExchangePtr ex;    // a response to hand to the client (2xx or a final 4xx)
  std::optional<Error> error;  // failed before any byte reached the client
  unsigned upstream_status = 0;  // the upstream's HTTP status, when a head came back
};

// One attempt up to the response head. Retryable upstream statuses are read and mapped here,
// so the caller can move on to the next target with nothing sent to the client.
net::awaitable<AttemptResult> run_attempt(upstream::Transport& transport, upstream::Request ureq,
                                          config::Timeouts timeouts,
                                          std::shared_ptr<upstream::AbortSignal> abort,
                                          const providers::Adapter& mapper,
                                          const config::ProviderConfig& provider) {
  auto started = co_await transport.start(std::move(ureq), timeouts, abort);
  if (!started) {
    co_return AttemptResult{nullptr, started.error(), 0};
  }
  const auto head = (*started)->head();
  if (!retryable_status(head.status) && head.status != 401 && head.status != 403) {
    co_return AttemptResult{std::move(*started), std::nullopt, head.status};
  }
  auto body = co_await read_all(**started, kMaxErrorBody);
  Error e;
  if (head.status == 401 || head.status == 403) {
    // The gateway's own credential was refused; the body may echo it: never passed on.
    e = make_error(ErrorKind::UpstreamAuth,
                   "The upstream provider rejected the gateway's credentials.",
                   "upstream_auth_failed");
  } else {
    providers::UpstreamReply reply{head.status, head.content_type,
                                   body ? scrub(std::move(*body), provider.api_key) : std::string(),
                                   head.retry_after};
    e = mapper.map_error(reply);
    if (head.status == 429) {
      e.kind = ErrorKind::RateLimited;
    } else if (!retryable(e.kind)) {
      e.kind = ErrorKind::UpstreamUnavailable;  // a 5xx is the provider's trouble
    }
  }
  if (e.retry_after.empty()) {
    e.retry_after = head.retry_after;
  }
  e.detail = "upstream HTTP " + std::to_string(head.status);
  co_return AttemptResult{nullptr, std::move(e), head.status};
}

// Sleeps unless the client leaves first. Returns false when it left.
net::awaitable<bool> wait_abortable(std::chrono::milliseconds d, upstream::AbortSignal& abort) {
  if (d.count() <= 0) {
    co_return !abort.aborted();
  }
  net::steady_timer timer(co_await net::this_coro::executor, d);
  abort.on_abort([&timer] { timer.cancel(); });
  auto [ec] = co_await timer.async_wait(kTuple);
  (void)ec;
  abort.clear();
  co_return !abort.aborted();
}

std::string error_code_of(const Error& e) {
  return e.code.empty() ? std::string(default_code(e.kind)) : e.code;
}

}  // namespace

net::awaitable<bool> handle_chat(Worker& worker, beast::tcp_stream& client, Request& req,
                                 RequestContext& ctx, std::string& pipelined,
                                 const inbound::Codec& codec) {
  ctx.proxied = true;
  auto& rec = ctx.record;
  rec.inbound = std::string(codec.name());
  const bool openai_in = &codec == &inbound::openai_chat_codec();

  // Who is asking, before anything of the body is looked at.
  if (auto refused = authenticate(worker, req, ctx)) {
    const Error e = std::move(*refused);
    co_return co_await respond_protocol_error(client, req, ctx, codec, e);
  }
  const TenantView* tenant = ctx.tenant;

  // Parse just enough to route. OpenAI clients get the scan-only parse (the fast path never
  // builds the IR); other protocols are parsed into the IR at once.
  std::optional<providers::ChatRequestInfo> info;
  std::optional<ir::ChatRequest> ir_req;
  std::string model;
  std::vector<ir::Feature> needed;
  std::optional<std::int64_t> max_tokens;
  // Redaction (policy.redact) happens here, before anything is sent anywhere. An OpenAI
  // client's body gets its `messages` redacted in place (every other member keeps its bytes,
  // and the fast path still applies); other protocols are redacted in the IR.
  const bool redacting = tenant && tenant->redactor;
  std::string redacted_body;
  std::string_view body = req.body();
  if (openai_in) {
    auto scanned = providers::inspect_chat_request(body);
    if (!scanned) {
      co_return co_await respond_protocol_error(client, req, ctx, codec, scanned.error());
    }
    info = std::move(*scanned);
    if (redacting) {
      if (const auto* m = info->scan.find("messages")) {
        policy::RedactionCounts counts;
        auto redacted = policy::redact_openai_messages(m->raw(body), *tenant->redactor, counts);
        rec.redactions = static_cast<std::int64_t>(counts.total());
        if (redacted) {
          redacted_body.reserve(body.size() + redacted->size());
          redacted_body.append(body.substr(0, m->value_offset));
          redacted_body.append(*redacted);
          redacted_body.append(body.substr(m->value_offset + m->value_length));
          body = redacted_body;
          auto rescanned = providers::inspect_chat_request(body);
          if (!rescanned) {
            co_return co_await respond_protocol_error(client, req, ctx, codec, rescanned.error());
          }
          info = std::move(*rescanned);
        }
      }
    }
    model = info->model;
    for (const char* name : {"max_completion_tokens", "max_tokens"}) {
      const auto* m = info->scan.find(name);
      if (!max_tokens && m && m->type == codec::JsonType::Number) {
        std::int64_t v = 0;
        const auto raw = m->raw(body);
        if (std::from_chars(raw.data(), raw.data() + raw.size(), v).ec == std::errc()) {
          max_tokens = v;
        }
      }
    }
    rec.stream = info->stream;
    needed = providers::required_features_fast(body, *info);
  } else {
    auto parsed = codec.parse_request(body);
    if (!parsed) {
      co_return co_await respond_protocol_error(client, req, ctx, codec, parsed.error());
    }
    ir_req = std::move(*parsed);
    if (redacting) {
      policy::RedactionCounts counts;
      policy::redact_request(*ir_req, *tenant->redactor, counts);
      rec.redactions = static_cast<std::int64_t>(counts.total());
    }
    model = ir_req->model;
    rec.stream = ir_req->stream;
    needed = ir::required_features(*ir_req);
    max_tokens = ir_req->max_tokens;
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

  ctx.route_known = true;

  // Which targets may serve this request: enabled, every needed capability (never silently
  // degrade), not drilled, not cooling down after a Retry-After.
  Runtime& rt = worker.runtime();
  const auto now = routing::Clock::now();
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          routing::WallClock::now().time_since_epoch())
                          .count();
  std::vector<routing::TargetView> views;
  views.reserve(route->targets.size());
  const ResolvedTarget* lacking = nullptr;
  std::optional<ir::Feature> lacking_feature;
  bool drilled_any = false;
  // The tenant's data policy: which targets its requests may reach at all. Checked first, so
  // that a request no permitted target could serve is refused before it is counted anywhere.
  const std::string tenant_name = rec.tenant;
  auto permitted = [&](const ResolvedTarget& t) {
    return !tenant || tenant->permitted(t.provider_index);
  };
  if (tenant && tenant->restricts_targets &&
      std::none_of(route->targets.begin(), route->targets.end(), permitted)) {
    std::string why;
    for (const auto& t : route->targets) {
      const std::string& reason = tenant->refusal[t.provider_index];
      if (why.find(reason) == std::string::npos) {
        why += (why.empty() ? "" : "; ") + reason;
      }
    }
    const Error e = make_error(ErrorKind::Forbidden,
                               "The data policy of tenant `" + tenant_name +
                                   "` permits no provider of model `" + model + "` (" + why + ").",
                               "policy_denied");
    co_return co_await respond_protocol_error(client, req, ctx, codec, e);
  }
  if (auto refused = admit(worker, ctx, *route, estimate_tokens(body.size(), max_tokens))) {
    const Error e = std::move(*refused);
    co_return co_await respond_protocol_error(client, req, ctx, codec, e);
  }
  for (const auto& t : route->targets) {
    routing::TargetView v;
    v.key = t.ref->text();
    v.provider = t.ref->provider;
    v.tier = static_cast<routing::Tier>(t.tier_index);
    v.weight = t.ref->weight;
    v.eligible = worker.transport(t.provider_index) != nullptr && permitted(t);
    if (v.eligible) {
      if (auto missing = t.caps.first_missing(needed)) {
        v.eligible = false;
        if (!lacking) {
          lacking = &t;
          lacking_feature = missing;
        }
      }
    }
    if (v.eligible && rt.drills.drilled(v.provider, model, tenant_name, now_ms)) {
      v.eligible = false;
      drilled_any = true;
    }
    if (v.eligible && rt.cooldowns.active(v.key, now)) {
      v.eligible = false;
    }
    views.push_back(std::move(v));
  }
  RouteState* state = rt.route(model);
  auto plan = routing::plan(views, route->config->canary, *state->health, now, worker.rng());
  if (plan.empty()) {
    // Every eligible target is ejected or cooling down: rather than fail outright, try the
    // capable, undrilled ones in tier order (the "panic" rule of outlier detection).
    for (std::size_t i = 0; i < route->targets.size(); ++i) {
      const auto& t = route->targets[i];
      if (worker.transport(t.provider_index) && permitted(t) && !t.caps.first_missing(needed) &&
          !rt.drills.drilled(t.ref->provider, model, tenant_name, now_ms)) {
        plan.push_back(routing::Attempt{i, false});
      }
    }
  }
  if (plan.empty()) {
    if (lacking) {
      const std::string feature(ir::feature_name(*lacking_feature));
      co_return co_await respond_protocol_error(
          client, req, ctx, codec,
          make_error(ErrorKind::InvalidRequest,
                     "The request uses `" + feature + "`, which no target of model `" + model +
                         "` supports (target `" + lacking->ref->text() + "` does not).",
                     "unsupported_capability", feature));
    }
    co_return co_await respond_protocol_error(
        client, req, ctx, codec,
        make_error(ErrorKind::NoTarget,
                   "No provider is available for model `" + model + "`" +
                       (drilled_any ? " (a drill has taken its providers out)." : ".")));
  }

  // Exposure target (policy.enforce): targets of a provider over the tenant's share go last.
  if (tenant && plan.size() > 1) {
    if (const auto target = policy::enforced_share_target(tenant->config->policy)) {
      std::vector<std::string> providers;
      for (const auto& a : plan) {
        providers.push_back(route->targets[a.index].ref->provider);
      }
      const auto order = policy::prefer_under_share(
          rt.shares, tenant_name, providers, *target,
          policy::TimePoint(std::chrono::milliseconds(now_ms)));
      std::vector<routing::Attempt> reordered;
      for (std::size_t i : order) {
        reordered.push_back(plan[i]);
      }
      plan = std::move(reordered);
    }
  }

  routing::RetryBudget* budget = state->retry_budget.get();
  if (budget) {
    budget->on_request(now);
  }
  const std::size_t max_attempts = 1 + route->config->retries;
  const auto& timeouts = route->config->timeouts;
  const auto deadline = routing::Clock::now() + timeouts.total;

  auto abort = std::make_shared<upstream::AbortSignal>();
  ClientWatch watch(client, abort);
  watch.start();

  std::optional<Error> last_error;
  std::string last_key;
  // plan() admitted every target it listed (taking a half-open trial slot where one was due);
  // the ones this request never tried give their slot back.
  std::size_t tried = 0;
  auto release_untried = [&] {
    for (std::size_t i = tried; i < plan.size(); ++i) {
      state->health->release(route->targets[plan[i].index].ref->text());
    }
  };
  for (std::size_t n = 0; n < max_attempts; ++n) {
    // After every distinct target was tried, further attempts cycle through them again.
    const auto& choice = plan[n % plan.size()];
    const ResolvedTarget& t = route->targets[choice.index];
    const auto& provider = snap.config->providers[t.provider_index];
    const std::string key = t.ref->text();
    if (n > 0) {
      if (budget && !budget->try_retry(routing::Clock::now())) {
        spdlog::warn("request {}: retry budget of route {} exhausted", ctx.request_id, model);
        break;
      }
      auto delay = routing::backoff(static_cast<unsigned>(n - 1), worker.rng());
      if (key == last_key && last_error) {
        // The same target again. A refused credential will be refused again: only another
        // target can help.
        if (last_error->kind == ErrorKind::UpstreamAuth) {
          break;
        }
        // Honour its Retry-After, but hold the client at most kMaxSameTargetWait (and never
        // past the total timeout); a longer wait is the client's call: it gets the 429 and
        // the Retry-After.
        if (!last_error->retry_after.empty()) {
          auto ra = routing::parse_retry_after(last_error->retry_after, routing::WallClock::now());
          const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
              deadline - routing::Clock::now());
          if (!ra || *ra > std::min(left, kMaxSameTargetWait)) {
            break;
          }
          delay = std::max(delay, *ra);
        }
      }
      if (!co_await wait_abortable(delay, *abort)) {
        break;  // the client left
      }
    }
    tried = std::max(tried, std::min(n + 1, plan.size()));
    rec.provider = provider.name;
    rec.model = t.ref->model;
    rec.tier = t.tier;
    rec.canary = choice.canary;
    rec.attempts = static_cast<int>(n + 1);
    AttemptLog log_entry{provider.name, t.ref->model, t.tier, choice.canary, 0, 0, {}};
    const auto attempt_start = Clock::now();

    // The request for this target: the client's bytes patched (fast path) or encoded from
    // the IR by the target's adapter.
    const bool fast = openai_in && t.openai_native;
    upstream::Request ureq;
    ureq.model = t.ref->model;
    if (fast) {
      ureq.path = "/chat/completions";
      ureq.body = providers::rewrite_chat_request(body, *info, t.ref->model,
                                                  info->stream && !info->include_usage);
    } else {
      if (!ir_req) {
        auto parsed = codec.parse_request(body);
        if (!parsed) {
          state->health->release(key);
          release_untried();
          co_await watch.stop();
          pipelined = watch.take_pipelined();
          co_return co_await respond_protocol_error(client, req, ctx, codec, parsed.error());
        }
        ir_req = std::move(*parsed);
      }
      auto encoded = t.adapter->encode(*ir_req, providers::Target{&provider, t.ref->model});
      if (!encoded) {
        state->health->release(key);  // never tried: a request error, not the target's
        release_untried();
        co_await watch.stop();
        pipelined = watch.take_pipelined();
        co_return co_await respond_protocol_error(client, req, ctx, codec, encoded.error());
      }
      ureq.path = std::move(encoded->path);
      ureq.headers = std::move(encoded->headers);
      ureq.body = std::move(encoded->body);
    }

    const providers::Adapter& mapper =
        fast ? *providers::adapter_for("openai-compatible") : *t.adapter;
    auto result = co_await run_attempt(*worker.transport(t.provider_index), std::move(ureq),
                                       timeouts, abort, mapper, provider);
    log_entry.latency_ms = ms_since(attempt_start);
    if (result.error) {
      const Error& e = *result.error;
      log_entry.status = static_cast<int>(result.upstream_status);
      log_entry.error = error_code_of(e);
      rec.attempt_log.push_back(log_entry);
      if (watch.client_gone()) {
        break;
      }
      const auto ejections_before = state->health->health(key, routing::Clock::now()).ejections;
      state->health->record(key, false, routing::Clock::now(), routing::WallClock::now());
      if (rt.metrics &&
          state->health->health(key, routing::Clock::now()).ejections > ejections_before) {
        rt.metrics->target_ejected(key);
      }
      if (!e.retry_after.empty()) {
        if (auto ra = routing::parse_retry_after(e.retry_after, routing::WallClock::now())) {
          rt.cooldowns.set(key, routing::Clock::now() + *ra);
        }
      }
      spdlog::warn("request {}: attempt {} to {} failed: {} ({})", ctx.request_id, n + 1, key,
                   e.public_message, e.detail);
      last_error = e;
      last_key = key;
      if (!failover_allowed(e)) {
        break;
      }
      continue;
    }

    // This target answers: from here on the client gets its response, whatever happens.
    release_untried();
    log_entry.status = static_cast<int>(result.ex->head().status);
    rec.attempt_log.push_back(log_entry);
    ctx.on_outcome = [&rt, state, key](bool ok) {
      const auto ejections_before = state->health->health(key, routing::Clock::now()).ejections;
      state->health->record(key, ok, routing::Clock::now(), routing::WallClock::now());
      if (rt.metrics &&
          state->health->health(key, routing::Clock::now()).ejections > ejections_before) {
        rt.metrics->target_ejected(key);
      }
    };
    bool keep = false;
    if (fast) {
      keep = co_await respond_fast(client, req, ctx, codec, *info, provider, *result.ex, *abort,
                                   watch, pipelined);
    } else {
      keep = co_await respond_translated(client, req, ctx, codec, *ir_req, t, *result.ex, *abort,
                                         watch, pipelined);
    }
    settle_outcome(ctx);  // streams and error answers: now (whole answers did it before writing)
    co_return keep;
  }

  // Every attempt failed before a byte reached the client (or the client left).
  release_untried();
  co_await watch.stop();
  pipelined = watch.take_pipelined();
  if (watch.client_gone()) {
    rec.client_aborted = true;
    rec.status = 499;  // nginx's "client closed request"; nothing is sent
    log_access(ctx);
    co_return false;
  }
  // A named value, not a conditional temporary: GCC 12 mishandles temporaries inside co_await
  // operands (double destruction), so errors are materialised before being awaited on.
  const Error final_error =
      last_error ? *last_error
                 : make_error(ErrorKind::NoTarget,
                              "No provider is available for model `" + model + "`.");
  co_return co_await respond_protocol_error(client, req, ctx, codec, final_error);
}

}  // namespace sy::server
