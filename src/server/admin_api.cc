#include "server/admin_api.h"

#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/url/parse.hpp>
#include <array>
#include <chrono>

#include "config/values.h"
#include "core/clock.h"
#include "ledger/store.h"
#include "reports/report_cli.h"
#include "server/admin_tenants.h"

namespace sy::server {

namespace {

namespace json = boost::json;

// "" for 0 (never).
std::string iso_ms(std::int64_t ms) { return ms > 0 ? iso8601_utc_ms(ms) : std::string(); }

json::value iso_or_null(std::int64_t ms) {
  return ms > 0 ? json::value(iso_ms(ms)) : json::value(nullptr);
}

// Constant-time comparison: how many leading bytes match must not show in the timing.
bool token_matches(std::string_view given, const std::string& expected) {
  if (given.size() != expected.size()) {
    return false;
  }
  return CRYPTO_memcmp(given.data(), expected.data(), expected.size()) == 0;
}

// (No default argument for content_type: GCC 12 rejects a string-literal default argument on a
// coroutine awaited in place, "array used as initializer".)
constexpr std::string_view kJson = "application/json";

net::awaitable<bool> reply(beast::tcp_stream& stream, Request& req, RequestContext& ctx,
                           http::status status, std::string body, std::string_view content_type) {
  ctx.record.status = static_cast<int>(status);
  auto res = make_response(status, std::move(body), content_type, req, ctx);
  const bool keep = res.keep_alive();
  const bool ok = co_await write_response(stream, std::move(res), ctx);
  log_access(ctx);
  co_return ok && keep;
}

net::awaitable<bool> reply_error(beast::tcp_stream& stream, Request& req, RequestContext& ctx,
                                 const Error& e) {
  auto res = make_error_response(e, req, ctx);
  const bool keep = res.keep_alive();
  const bool ok = co_await write_response(stream, std::move(res), ctx);
  log_access(ctx);
  co_return ok && keep;
}

// Where each route affected by taking `provider` out would now go (health aside).
json::array affected_routes(const Snapshot& snap, Runtime& rt, const routing::Drill& drill,
                            std::int64_t at_ms) {
  json::array out;
  for (const auto& [name, route] : snap.routes) {
    if (!drill.route.empty() && drill.route != name) {
      continue;
    }
    bool uses = false;
    for (const auto& t : route.targets) {
      uses = uses || t.ref->provider == drill.provider;
    }
    if (!uses) {
      continue;
    }
    json::object o{{"route", name}, {"served_by", nullptr}, {"tier", nullptr}};
    for (const auto& t : route.targets) {
      const auto& p = snap.config->providers[t.provider_index];
      if (p.enabled && !rt.drills.drilled(t.ref->provider, name, drill.tenant, at_ms)) {
        o["served_by"] = t.ref->text();
        o["tier"] = t.tier;
        break;
      }
    }
    out.push_back(std::move(o));
  }
  return out;
}

json::object drill_json(const routing::Drill& d) {
  return json::object{{"id", d.id},
                      {"provider", d.provider},
                      {"route", d.route.empty() ? json::value(nullptr) : json::value(d.route)},
                      {"tenant", d.tenant.empty() ? json::value(nullptr) : json::value(d.tenant)},
                      {"starts_at", iso_ms(d.starts_ms)},
                      {"ends_at", iso_or_null(d.ends_ms)}};
}

net::awaitable<bool> create_drill(Worker& worker, beast::tcp_stream& stream, Request& req,
                                  RequestContext& ctx) {
  Runtime& rt = worker.runtime();
  const Snapshot& snap = worker.snapshot();
  boost::system::error_code ec;
  auto body = json::parse(req.body(), ec);
  const json::object* o = ec ? nullptr : body.if_object();
  if (!o) {
    co_return co_await reply_error(
        stream, req, ctx, make_error(ErrorKind::InvalidRequest, "Body must be a JSON object."));
  }
  auto text = [&](const char* key) -> std::string {
    const auto* v = o->if_contains(key);
    return v && v->is_string() ? std::string(v->as_string()) : std::string();
  };
  routing::Drill drill;
  drill.provider = text("provider");
  drill.route = text("route");
  drill.tenant = text("tenant");
  if (drill.provider.empty() || !snap.config->find_provider(drill.provider)) {
    co_return co_await reply_error(
        stream, req, ctx,
        make_error(ErrorKind::InvalidRequest, "`provider` must name a configured provider.",
                   "invalid_value", "provider"));
  }
  if (!drill.route.empty() && !snap.find_route(drill.route)) {
    co_return co_await reply_error(
        stream, req, ctx,
        make_error(ErrorKind::InvalidRequest, "`route` must name a configured route.",
                   "invalid_value", "route"));
  }
  std::int64_t duration_ms = 0;
  if (const auto* v = o->if_contains("duration_ms"); v && v->is_int64()) {
    duration_ms = v->as_int64();
  } else if (const auto d = text("duration"); !d.empty()) {
    auto parsed = config::parse_duration(d);
    if (parsed.ok()) {
      duration_ms = parsed.value.count();
    }
  }
  if (duration_ms <= 0 || duration_ms > 7LL * 24 * 3600 * 1000) {
    co_return co_await reply_error(
        stream, req, ctx,
        make_error(ErrorKind::InvalidRequest,
                   "Give `duration_ms` (or `duration`, e.g. \"90s\") between 1 ms and 7 days.",
                   "invalid_value", "duration_ms"));
  }
  drill.starts_ms = unix_now_ms();
  drill.ends_ms = drill.starts_ms + duration_ms;
  drill.id = rt.drills.add(drill);
  auto affected = affected_routes(snap, rt, drill, drill.starts_ms);
  spdlog::info("drill {}: provider {} out{}{} for {} ms; traffic now goes to: {}", drill.id,
               drill.provider, drill.route.empty() ? "" : " on route " + drill.route,
               drill.tenant.empty() ? "" : " for tenant " + drill.tenant, duration_ms,
               json::serialize(affected));
  json::object out;
  out["drill"] = drill_json(drill);
  out["affected_routes"] = std::move(affected);
  co_return co_await reply(stream, req, ctx, http::status::created, json::serialize(out), kJson);
}

// Plain function (not a coroutine): GCC 12 miscompiles some initializer lists in coroutines.
std::string health_json(Worker& worker) {
  Runtime& rt = worker.runtime();
  const auto now = routing::Clock::now();
  json::array routes;
  for (const auto& rc : worker.snapshot().config->routes) {
    auto* state = rt.route(rc.name);
    const Route* route = worker.snapshot().find_route(rc.name);
    json::array targets;
    for (const auto& t : route->targets) {
      const auto h = state->health->health(t.ref->text(), now);
      json::object o;
      o["target"] = t.ref->text();
      o["tier"] = t.tier;
      o["healthy"] = !h.ejected;
      o["ejected"] = h.ejected;
      o["half_open"] = h.half_open;
      o["ejections"] = h.ejections;
      o["last_success"] = iso_or_null(h.last_success_ms);
      o["last_failure"] = iso_or_null(h.last_failure_ms);
      targets.push_back(std::move(o));
    }
    json::object r;
    r["route"] = rc.name;
    r["targets"] = std::move(targets);
    routes.push_back(std::move(r));
  }
  json::object out;
  out["routes"] = std::move(routes);
  return json::serialize(out);
}

std::string drills_json(Runtime& rt) {
  json::array drills;
  for (const auto& d : rt.drills.active(unix_now_ms())) {
    drills.push_back(drill_json(d));
  }
  json::object out;
  out["drills"] = std::move(drills);
  return json::serialize(out);
}

constexpr std::array<std::string_view, 3> kReportKinds = {"spend", "exposure", "focus"};

// Reports run on the control plane: a fresh store connection per request (the writer thread
// owns its own), so a report never contends with the request path's records.
net::awaitable<bool> report(Worker& worker, beast::tcp_stream& stream, Request& req,
                            RequestContext& ctx, std::string_view kind) {
  Runtime& rt = worker.runtime();
  if (rt.ledger_url.empty()) {
    co_return co_await reply_error(
        stream, req, ctx,
        make_error(ErrorKind::NotFound, "The ledger is off (storage.ledger: off).", "ledger_off"));
  }
  reports::ReportArgs args;
  args.kind = std::string(kind);
  args.format = kind == "focus" ? "csv" : "json";
  auto url = boost::urls::parse_origin_form(req.target());
  if (url) {
    for (const auto& p : url->params()) {
      if (p.key == "since") {
        args.since = p.value;
      } else if (p.key == "until") {
        args.until = p.value;
      } else if (p.key == "group_by") {
        args.group_by = p.value;
      } else if (p.key == "format" && (p.value == "json" || p.value == "csv")) {
        args.format = p.value;
      }
    }
  }
  const auto context = reports::report_context(*worker.snapshot().config, unix_now_ms());
  if (auto checked = reports::check_report_args(args, context.now_ms); !checked) {
    co_return co_await reply_error(
        stream, req, ctx, make_error(ErrorKind::InvalidRequest, checked.error().public_message));
  }
  Result<std::string> out = make_error(ErrorKind::Internal, "report failed");
  try {
    auto store = ledger::open_store(rt.ledger_url);
    out = reports::render_report(*store, args, context);
  } catch (const std::exception& e) {
    spdlog::error("report {}: cannot open the ledger: {}", kind, e.what());
    out = make_error(ErrorKind::Internal, "The ledger cannot be opened.");
  }
  if (!out) {
    co_return co_await reply_error(stream, req, ctx, out.error());
  }
  const std::string_view type = args.format == "csv" ? std::string_view("text/csv; charset=utf-8")
                                                     : kJson;
  co_return co_await reply(stream, req, ctx, http::status::ok, std::move(*out), type);
}

net::awaitable<bool> metrics(Worker& worker, beast::tcp_stream& stream, Request& req,
                             RequestContext& ctx) {
  Runtime& rt = worker.runtime();
  // Target gauges are read from the health trackers at scrape time.
  const auto now = routing::Clock::now();
  for (const auto& [name, route] : worker.snapshot().routes) {
    auto* state = rt.route(name);
    for (const auto& t : route.targets) {
      const std::string key = t.ref->text();
      const auto h = state->health->health(key, now);
      rt.metrics->target_healthy(key, !h.ejected);
      if (h.last_success_ms > 0) {
        rt.metrics->target_last_success(key, static_cast<double>(h.last_success_ms) / 1000.0);
      }
      if (h.last_failure_ms > 0) {
        rt.metrics->target_last_failure(key, static_cast<double>(h.last_failure_ms) / 1000.0);
      }
    }
  }
  ctx.record.status = 200;
  auto res = make_response(http::status::ok, rt.registry->render(),
                           "text/plain; version=0.0.4; charset=utf-8", req, ctx);
  const bool keep = res.keep_alive();
  const bool ok = co_await write_response(stream, std::move(res), ctx);
  co_return ok && keep;  // scrapes are not access-logged, like health probes
}

// Plain function: picks the tenancy endpoint and runs it (admin_tenants.h).
Result<AdminReply> tenancy_call(Worker& worker, const Request& req, std::string_view path) {
  Runtime& rt = worker.runtime();
  const auto method = req.method();
  constexpr std::string_view kKeys = "/admin/v1/keys";
  constexpr std::string_view kTenants = "/admin/v1/tenants";
  if (path == kKeys && method == http::verb::get) {
    return admin_list_keys(rt, req.target());
  }
  if (path == kKeys && method == http::verb::post) {
    return admin_create_key(rt, worker.snapshot(), req.body());
  }
  if (path.size() > kKeys.size() + 1 && path.rfind(kKeys, 0) == 0 &&
      method == http::verb::delete_) {
    return admin_revoke_key(rt, path.substr(kKeys.size() + 1));
  }
  if (path == kTenants && method == http::verb::get) {
    return admin_tenants(rt, worker.snapshot(), "");
  }
  if (path.size() > kTenants.size() + 1 && path.rfind(kTenants, 0) == 0 &&
      method == http::verb::get) {
    return admin_tenants(rt, worker.snapshot(), path.substr(kTenants.size() + 1));
  }
  return make_error(ErrorKind::MethodNotAllowed,
                    "Use GET/POST " + std::string(kKeys) + ", DELETE " + std::string(kKeys) +
                        "/{key_id}, GET " + std::string(kTenants) + "[/{name}].");
}

net::awaitable<bool> tenancy(Worker& worker, beast::tcp_stream& stream, Request& req,
                             RequestContext& ctx, std::string_view path) {
  auto out = tenancy_call(worker, req, path);
  if (!out) {
    const Error e = out.error();
    co_return co_await reply_error(stream, req, ctx, e);
  }
  co_return co_await reply(stream, req, ctx, out->status, std::move(out->body), kJson);
}

}  // namespace

net::awaitable<std::optional<bool>> dispatch_admin(Worker& worker, beast::tcp_stream& stream,
                                                   Request& req, RequestContext& ctx,
                                                   std::string_view path) {
  const bool get = req.method() == http::verb::get;
  if (path != "/metrics" && path.rfind("/admin/", 0) != 0) {
    co_return std::nullopt;
  }
  // /metrics is part of the admin API: it names routes, providers and volumes.
  Runtime& rt = worker.runtime();
  if (rt.admin_token.empty()) {
    co_return co_await reply_error(
        stream, req, ctx,
        make_error(ErrorKind::NotFound, "The admin API is disabled (no admin.token).",
                   "admin_disabled"));
  }
  std::string_view auth = req[http::field::authorization];
  constexpr std::string_view kBearer = "Bearer ";
  if (auth.substr(0, kBearer.size()) != kBearer ||
      !token_matches(auth.substr(kBearer.size()), rt.admin_token)) {
    co_return co_await reply_error(
        stream, req, ctx,
        make_error(ErrorKind::Unauthorized, "A valid admin token is required.", "invalid_admin_token"));
  }
  if (path == "/metrics") {
    if (!get) {
      co_return co_await reply_error(stream, req, ctx,
                                     make_error(ErrorKind::MethodNotAllowed, "Use GET /metrics."));
    }
    co_return co_await metrics(worker, stream, req, ctx);
  }
  if (path == "/admin/v1/drills") {
    if (req.method() == http::verb::post) {
      co_return co_await create_drill(worker, stream, req, ctx);
    }
    if (get) {
      co_return co_await reply(stream, req, ctx, http::status::ok, drills_json(rt), kJson);
    }
  }
  if (path.rfind("/admin/v1/drills/", 0) == 0 && req.method() == http::verb::delete_) {
    const std::string id(path.substr(std::string_view("/admin/v1/drills/").size()));
    if (rt.drills.remove(id)) {
      spdlog::info("drill {}: ended by the admin API", id);
      co_return co_await reply(stream, req, ctx, http::status::ok, std::string(R"({"deleted":true})"),
                               kJson);
    }
    co_return co_await reply_error(stream, req, ctx,
                                   make_error(ErrorKind::NotFound, "No such drill.", "not_found"));
  }
  if (path == "/admin/v1/keys" || path.rfind("/admin/v1/keys/", 0) == 0 ||
      path == "/admin/v1/tenants" || path.rfind("/admin/v1/tenants/", 0) == 0) {
    co_return co_await tenancy(worker, stream, req, ctx, path);
  }
  if (path == "/admin/v1/health" && get) {
    co_return co_await reply(stream, req, ctx, http::status::ok, health_json(worker), kJson);
  }
  for (std::string_view kind : kReportKinds) {
    if (get && path == std::string("/admin/v1/reports/") + std::string(kind)) {
      co_return co_await report(worker, stream, req, ctx, kind);
    }
  }
  co_return co_await reply_error(
      stream, req, ctx,
      make_error(ErrorKind::NotFound,
                 "Invalid URL (" + std::string(req.method_string()) + " " + std::string(path) + ")",
                 "unknown_url"));
}

}  // namespace sy::server
