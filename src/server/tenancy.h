#pragma once
// The tenancy steps of a chat request (docs/tenants.md), between parsing and routing:
//
//   authenticate  the virtual key -> tenant (401 in the caller's protocol when it fails)
//   admit         budget (429, no retry, until the budget resets), then rate limits per tenant,
//                 key and route (429 with Retry-After and x-ratelimit-*), reserving tokens
//
// The data policy (which targets a tenant may reach) and redaction are applied by the router
// in proxy.cc with the TenantView of the snapshot. In open mode (no tenants configured) every
// request is tenant "default" and only route limits apply.

#include <optional>
#include <string>

#include "core/error.h"
#include "server/http_util.h"

namespace sy::server {

class Worker;
struct Route;

// Checks the presented key (multi-tenant mode) and fills ctx.tenant and the record's tenant
// and key id. nullopt when the request may go on.
std::optional<Error> authenticate(Worker& worker, const Request& req, RequestContext& ctx);

// Budget and rate limits for a request of about `estimated_tokens` (prompt and max_tokens) on
// `route`. When admitted, ctx.reservation holds the reservation and ctx.extra_headers the
// x-ratelimit-* headers; when refused, the error to answer with (headers set likewise).
std::optional<Error> admit(Worker& worker, RequestContext& ctx, const Route& route,
                           std::int64_t estimated_tokens);

// The token estimate charged to tpm limits before sending: about 4 bytes of request body per
// token plus the requested output ceiling (0 when the request sets none).
std::int64_t estimate_tokens(std::size_t body_bytes, std::optional<std::int64_t> max_tokens);

// Adds the request's cost to its tenant's and key's spend. Called by apply_cost at the moment
// the cost is known (once), which for a non-streamed answer is before it is written: a client
// that waits for its answer and sends the next request sees the spend already counted.
void count_spend(const RequestContext& ctx);

// After the request: settles the reservation with the real usage and adds the provider to the
// tenant's exposure shares. Called once, from log_access.
void account(RequestContext& ctx);

}  // namespace sy::server
