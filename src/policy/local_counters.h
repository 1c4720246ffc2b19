#pragma once
// In-process CounterStore: exact and thread-safe. Counters are spread over a fixed number of
// shards, each a mutex and a hash map; a batch locks the shards it touches in index order (no
// deadlock) and holds them for the whole check-and-apply, so a batch is atomic with respect to
// every other call. Counters that are idle (bucket refilled, nothing in flight) can be dropped
// with sweep().

#include <array>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

#include "policy/counter_store.h"

namespace sy::policy {

class LocalCounters final : public CounterStore {
 public:
  static constexpr std::size_t kShards = 64;

  AcquireOutcome try_acquire(std::span<const Charge> charges, TimePoint now) override;
  void adjust(std::string_view key, std::int64_t delta, std::int64_t limit, Millis window,
              TimePoint now) override;
  void release(std::string_view key, std::int64_t amount) override;
  ChargeState peek(const Charge& charge, TimePoint now) override;

  // Drops idle counters; returns how many were dropped.
  std::size_t sweep(TimePoint now);
  std::size_t size() const;

 private:
  struct Counter {
    // Rate: outstanding amount x window (ms); drains by `limit` per elapsed millisecond.
    std::int64_t level = 0;
    std::int64_t limit = 0;
    TimePoint last{};
    // Concurrency: slots in use.
    std::int64_t in_flight = 0;
  };
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, Counter> counters;
  };

  static std::size_t shard_of(std::string_view key);
  static void drain(Counter& c, std::int64_t limit, TimePoint now);
  static ChargeState rate_state(const Counter& c, const Charge& charge, bool allowed);

  std::array<Shard, kShards> shards_;
};

}  // namespace sy::policy
