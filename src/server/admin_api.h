#pragma once
// The operator's endpoints on the main listener:
//   GET /metrics                         Prometheus text
//   GET /admin/v1/health                 per route and target: healthy, ejections, last outcomes
//   POST/GET /admin/v1/drills, DELETE /admin/v1/drills/{id}
//   GET /admin/v1/reports/{spend,exposure,focus}?since=&until=&group_by=
// All of them need `Authorization: Bearer <admin.token>` (compared in constant time); without a
// configured token the admin API does not exist (404).

#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string_view>

#include "server/http_util.h"
#include "server/worker.h"

namespace sy::server {

// Serves `req` if its path is an admin or metrics path; nullopt otherwise.
net::awaitable<std::optional<bool>> dispatch_admin(Worker& worker, beast::tcp_stream& stream,
                                                   Request& req, RequestContext& ctx,
                                                   std::string_view path);

}  // namespace sy::server
