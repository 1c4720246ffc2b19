#pragma once
// Wall time as the gateway records it: Unix epoch milliseconds (UTC), and their ISO 8601 text.
// (The access log keeps its own per-second cache of the timestamp: it runs on every request.)

#include <cstdint>
#include <string>

namespace sy {

// Milliseconds since 1970-01-01T00:00:00Z, from the system clock.
std::int64_t unix_now_ms();

// "2026-11-25T00:00:00Z": whole seconds (milliseconds dropped), UTC.
std::string iso8601_utc(std::int64_t ms);
// "2026-11-25T00:00:00.123Z".
std::string iso8601_utc_ms(std::int64_t ms);

}  // namespace sy
