#include "server/endpoints.h"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "policy/keys.h"
#include "server/admin_api.h"
#include "server/proxy.h"
#include "server/tenancy.h"
#include "server/translate.h"

namespace sy::server {

namespace {

net::awaitable<bool> respond(beast::tcp_stream& stream, Request& req, RequestContext& ctx,
                             http::status status, std::string body, bool log = true) {
  ctx.record.status = static_cast<int>(status);
  auto res = make_response(status, std::move(body), "application/json", req, ctx);
  const bool keep = res.keep_alive();
  const bool ok = co_await write_response(stream, std::move(res), ctx);
  if (log) {
    log_access(ctx);
  }
  co_return ok && keep;
}

net::awaitable<bool> respond_error(beast::tcp_stream& stream, Request& req, RequestContext& ctx,
                                   const Error& e) {
  auto res = make_error_response(e, req, ctx);
  const bool keep = res.keep_alive();
  const bool ok = co_await write_response(stream, std::move(res), ctx);
  log_access(ctx);
  co_return ok && keep;
}

// The path as the access log may show it: a virtual key in it (a pasted full key in DELETE
// /admin/v1/keys/{key}) is cut to its public id, never its secret.
std::string loggable_path(std::string_view path) {
  const auto at = path.find(policy::kKeyPrefix);
  if (at == std::string_view::npos) {
    return std::string(path);
  }
  const std::size_t id_end = std::min(path.size(), at + policy::kKeyPrefix.size() + policy::kKeyIdLength);
  return std::string(path.substr(0, id_end)) + (id_end < path.size() ? "_[redacted]" : "");
}

}  // namespace

net::awaitable<bool> dispatch(Worker& worker, beast::tcp_stream& stream, Request& req,
                              RequestContext& ctx, std::string& pipelined) {
  const std::string_view target = req.target();
  const std::string_view path = target.substr(0, target.find('?'));
  ctx.record.method = std::string(req.method_string());
  ctx.record.path = loggable_path(path);
  const bool get = req.method() == http::verb::get || req.method() == http::verb::head;
  const bool admin_path = path == "/metrics" || path.rfind("/admin/", 0) == 0;
  const bool probe_path = path == "/healthz" || path == "/readyz";
  // With admin.listen set, the admin API lives only there, and only it lives there.
  const bool separate_admin = worker.snapshot().config->admin.separate();
  if ((ctx.admin_listener && !admin_path && !probe_path) ||
      (!ctx.admin_listener && separate_admin && admin_path)) {
    co_return co_await respond_error(
        stream, req, ctx,
        make_error(ErrorKind::NotFound,
                   "Invalid URL (" + std::string(req.method_string()) + " " + std::string(path) +
                       ")",
                   "unknown_url"));
  }

  if (path == "/v1/chat/completions") {
    if (req.method() != http::verb::post) {
      co_return co_await respond_error(
          stream, req, ctx,
          make_error(ErrorKind::MethodNotAllowed, "Use POST for /v1/chat/completions."));
    }
    co_return co_await handle_chat(worker, stream, req, ctx, pipelined,
                                   inbound::openai_chat_codec());
  }
  if (path == "/v1/messages") {
    // Anthropic Messages (any anthropic-version; ?beta=true accepted). Errors in its envelope.
    ctx.anthropic = true;
    if (req.method() != http::verb::post) {
      ctx.proxied = true;
      co_return co_await respond_protocol_error(
          stream, req, ctx, inbound::anthropic_messages_codec(),
          make_error(ErrorKind::MethodNotAllowed, "Use POST for /v1/messages."));
    }
    co_return co_await handle_chat(worker, stream, req, ctx, pipelined,
                                   inbound::anthropic_messages_codec());
  }
  if ((path == "/v1/models" || path.rfind("/v1/models/", 0) == 0) && get) {
    // With tenants configured the model list is for key holders too.
    if (auto refused = authenticate(worker, req, ctx)) {
      const bool anthropic = req.find("anthropic-version") != req.end();
      ctx.anthropic = anthropic;
      const Error e = std::move(*refused);
      co_return co_await respond_protocol_error(
          stream, req, ctx,
          anthropic ? inbound::anthropic_messages_codec() : inbound::openai_chat_codec(), e);
    }
  }
  if (path == "/v1/models" && get) {
    // The Anthropic SDK's models.list() expects its own shape; it always sends anthropic-version.
    const bool anthropic = req.find("anthropic-version") != req.end();
    co_return co_await respond(stream, req, ctx, http::status::ok,
                               anthropic ? worker.snapshot().anthropic_models_json
                                         : worker.snapshot().models_json);
  }
  if (path.rfind("/v1/models/", 0) == 0 && get) {
    const std::string id(path.substr(std::string_view("/v1/models/").size()));
    if (worker.snapshot().find_route(id)) {
      boost::json::object o{{"id", id}, {"object", "model"}, {"created", 0},
                            {"owned_by", "switchyard"}};
      co_return co_await respond(stream, req, ctx, http::status::ok, boost::json::serialize(o));
    }
    co_return co_await respond_error(
        stream, req, ctx,
        make_error(ErrorKind::NotFound, "The model `" + id + "` does not exist.", "model_not_found"));
  }
  if (auto handled = co_await dispatch_admin(worker, stream, req, ctx, path)) {
    co_return *handled;
  }
  // Probes are not access-logged: they would drown the log at one line per second per probe.
  if (path == "/healthz" && get) {
    co_return co_await respond(stream, req, ctx, http::status::ok, R"({"status":"ok"})", false);
  }
  if (path == "/readyz" && get) {
    if (worker.draining()) {
      co_return co_await respond(stream, req, ctx, http::status::service_unavailable,
                                 R"({"status":"draining"})", false);
    }
    // Ready means: config loaded (we are serving) and the ledger writable (its last write, if
    // any, succeeded).
    if (const auto* writer = worker.runtime().ledger.get(); writer && !writer->healthy()) {
      co_return co_await respond(stream, req, ctx, http::status::service_unavailable,
                                 R"({"status":"ledger_unwritable"})", false);
    }
    co_return co_await respond(stream, req, ctx, http::status::ok, R"({"status":"ready"})", false);
  }
  co_return co_await respond_error(
      stream, req, ctx,
      make_error(ErrorKind::NotFound,
                 "Invalid URL (" + std::string(req.method_string()) + " " + std::string(path) + ")",
                 "unknown_url"));
}

}  // namespace sy::server
