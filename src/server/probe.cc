#include "server/probe.h"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>

#include "ledger/pricing.h"
#include "providers/openai_compat.h"
#include "codec/json_scan.h"
#include "server/exchange_util.h"
#include "server/runtime.h"

namespace sy::server {

namespace {

constexpr auto kTuple = net::as_tuple(net::use_awaitable);

Result<upstream::Request> probe_request(const Snapshot& snap, const Route& route,
                                       const ResolvedTarget& t) {
  upstream::Request req;
  req.model = t.ref->model;
  if (t.openai_native) {
    req.path = "/chat/completions";
    req.body = R"({"model":)" + codec::json_quote(t.ref->model) +
               R"(,"messages":[{"role":"user","content":"ping"}],"max_tokens":1})";
    return req;
  }
  ir::ChatRequest probe;
  probe.model = route.config->name;
  ir::Message m;
  m.role = ir::Role::User;
  m.content.push_back(ir::TextPart{"ping"});
  probe.messages.push_back(std::move(m));
  probe.max_tokens = 1;
  const auto& provider = snap.config->providers[t.provider_index];
  auto encoded = t.adapter->encode(probe, providers::Target{&provider, t.ref->model});
  if (!encoded) {
    return encoded.error();
  }
  req.path = std::move(encoded->path);
  req.headers = std::move(encoded->headers);
  req.body = std::move(encoded->body);
  return req;
}

net::awaitable<void> probe_loop(Worker& worker, const Route* route, const ResolvedTarget* t) {
  const auto interval = route->config->probe_interval;
  const std::string key = t->ref->text();
  net::steady_timer timer(worker.ioc());
  for (;;) {
    timer.expires_after(interval);
    co_await timer.async_wait(kTuple);
    if (worker.draining()) {
      co_return;
    }
    auto* transport = worker.transport(t->provider_index);
    auto* state = worker.runtime().route(route->config->name);
    if (!transport || !state) {
      continue;
    }
    auto req = probe_request(worker.snapshot(), *route, *t);
    if (!req) {
      spdlog::warn("probe {} on route {}: cannot encode: {}", key, route->config->name,
                   req.error().public_message);
      co_return;
    }
    const auto start = std::chrono::steady_clock::now();
    auto started = co_await transport->start(std::move(*req), route->config->timeouts,
                                             std::make_shared<upstream::AbortSignal>());
    bool ok = false;
    unsigned status = 0;
    ir::Usage usage;
    if (started) {
      status = (*started)->head().status;
      auto body = co_await read_all(**started, kMaxErrorBody);
      ok = status >= 200 && status < 300 && body.has_value();
      if (ok && t->openai_native) {
        usage = providers::usage_from_openai(*body).value_or(ir::Usage{});
      } else if (ok && t->adapter) {
        providers::UpstreamReply reply{status, (*started)->head().content_type, *body, ""};
        if (auto decoded = t->adapter->decode(reply)) {
          usage = decoded->usage;
        }
      }
    }
    state->health->record(key, ok, routing::Clock::now(), routing::WallClock::now());
    spdlog::debug("probe {} on route {}: {} (HTTP {})", key, route->config->name,
                  ok ? "ok" : "failed", status);
    Runtime& rt = worker.runtime();
    if (rt.ledger && status != 0) {
      ledger::UsageRecord u;
      u.ts_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
      u.request_id = "probe";
      u.tenant = "switchyard-probe";
      u.route = route->config->name;
      u.inbound = "probe";
      u.provider = t->ref->provider;
      u.model = t->ref->model;
      u.tier = t->tier;
      u.attempts = 1;
      u.status = static_cast<int>(status);
      u.error_class = ok ? "" : "probe_failed";
      u.latency_ms = ms_since(start);
      u.usage = usage;
      if (auto price = rt.prices.find(u.provider, u.model); price && usage.any()) {
        if (auto cost = ledger::cost(*price, usage); cost && *cost) {
          u.cost_micros = **cost;
          u.price_version = rt.prices.version();
        }
      }
      // Off the request path: waiting for queue space is fine here.
      while (!rt.ledger->try_submit(std::move(u))) {
        timer.expires_after(std::chrono::milliseconds(5));
        co_await timer.async_wait(kTuple);
      }
    }
  }
}

}  // namespace

void start_probes(Worker& worker) {
  for (const auto& [name, route] : worker.snapshot().routes) {
    if (route.config->probe_interval.count() <= 0) {
      continue;
    }
    for (const auto& t : route.targets) {
      net::co_spawn(worker.ioc(), probe_loop(worker, &route, &t), [](std::exception_ptr ep) {
        if (ep) {
          try {
            std::rethrow_exception(ep);
          } catch (const std::exception& e) {
            spdlog::error("probe loop failed: {}", e.what());
          }
        }
      });
    }
  }
}

}  // namespace sy::server
