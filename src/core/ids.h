#pragma once
// Request ids: kept from the client when sane, generated otherwise.

#include <string>
#include <string_view>

namespace sy {

// True when a client-supplied id is safe to echo and log: 1..128 chars of [A-Za-z0-9._:-].
bool is_sane_request_id(std::string_view id);

// A new random id, "req_" + 24 lowercase hex digits. Thread-safe (per-thread generator).
std::string generate_request_id();

}  // namespace sy
