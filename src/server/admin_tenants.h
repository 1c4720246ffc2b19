#pragma once
// The admin API's tenancy endpoints (docs/admin-api.md), as plain functions so that the
// coroutine dispatcher in admin_api.cc only replies:
//
//   GET    /admin/v1/keys[?tenant=T]   list keys (never secrets)
//   POST   /admin/v1/keys              {"tenant", "name"?, "expires"?} -> the key, shown once
//   DELETE /admin/v1/keys/{key_id}     revoke (takes effect at once in this process)
//   GET    /admin/v1/tenants           every tenant's usage against its limits and budgets
//   GET    /admin/v1/tenants/{name}    one tenant, with its keys' usage
//
// The key store is the ledger's database: these calls block the worker for one query, like the
// report endpoints (control plane, not the request path).

#include <boost/beast/http/status.hpp>
#include <string>
#include <string_view>

#include "core/result.h"

namespace sy::server {

struct Runtime;
struct Snapshot;

struct AdminReply {
  boost::beast::http::status status = boost::beast::http::status::ok;
  std::string body;  // JSON
};

Result<AdminReply> admin_list_keys(Runtime& rt, std::string_view target);
Result<AdminReply> admin_create_key(Runtime& rt, const Snapshot& snap, std::string_view body);
Result<AdminReply> admin_revoke_key(Runtime& rt, std::string_view key_id);
// name empty: every tenant.
Result<AdminReply> admin_tenants(Runtime& rt, const Snapshot& snap, std::string_view name);

}  // namespace sy::server
