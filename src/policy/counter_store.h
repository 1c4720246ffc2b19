#pragma once
// Where rate-limit counters live. In-process now (LocalCounters, local_counters.h); a Redis
// store shared by every replica next, which must give the same answers: each method is one
// atomic step (one Lua script there, one set of shard locks here).
//
// Two kinds of counter:
//   - Rate: a token bucket of `limit` tokens refilled continuously at `limit` per `window`
//     (requests per minute: limit = rpm, amount = 1; tokens per minute: limit = tpm, amount =
//     the tokens reserved). Exact integer arithmetic: the state is the outstanding amount scaled
//     by the window in milliseconds, so no token is lost or invented by rounding.
//   - Concurrency: an in-flight count with a ceiling; acquire adds, release subtracts.
//
// Time is injected (`now`, Unix epoch milliseconds: shared stores need wall time). Time that
// goes backwards is treated as no time passing.

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sy::policy {

using Millis = std::chrono::milliseconds;
using TimePoint = std::chrono::sys_time<Millis>;

enum class ChargeKind { Rate, Concurrency };

// One counter to charge. Keys are opaque to the store ("rl:tenant:research:tpm").
struct Charge {
  std::string key;
  ChargeKind kind = ChargeKind::Rate;
  std::int64_t amount = 1;   // >= 0
  std::int64_t limit = 0;    // bucket size (Rate) or ceiling (Concurrency); > 0
  Millis window{60'000};     // Rate: time to refill `limit` from empty; > 0
};

// The state of one charge after try_acquire (or peek).
struct ChargeState {
  bool allowed = true;
  std::int64_t remaining = 0;  // whole tokens/slots left: after the charge when allowed, else now
  Millis reset{0};        // Rate: until the bucket is full again; Concurrency: 0
  Millis retry_after{0};  // refused Rate: earliest wait after which the same charge passes
  bool too_large = false;  // amount > limit: it can never pass
};

struct AcquireOutcome {
  bool allowed = false;             // every charge passed (and all were applied)
  std::vector<ChargeState> states;  // one per charge, same order
};

class CounterStore {
 public:
  virtual ~CounterStore() = default;

  // All or nothing: when every charge passes, all are applied; otherwise none is. States are
  // reported for every charge either way (a refused batch reports each counter as it stands).
  virtual AcquireOutcome try_acquire(std::span<const Charge> charges, TimePoint now) = 0;

  // Rate counters only: charge `delta` more (> 0; may go beyond the limit, the excess is a debt
  // later requests wait for) or give `-delta` back (< 0; never below empty). Used to settle a
  // token reservation with the real usage.
  virtual void adjust(std::string_view key, std::int64_t delta, std::int64_t limit, Millis window,
                      TimePoint now) = 0;

  // Concurrency counters only: give back `amount` slots (never below zero).
  virtual void release(std::string_view key, std::int64_t amount) = 0;

  // The state of one counter without changing it; `charge.amount` is what retry_after is for.
  virtual ChargeState peek(const Charge& charge, TimePoint now) = 0;
};

}  // namespace sy::policy
