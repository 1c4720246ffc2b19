#include "policy/local_counters.h"

#include <algorithm>
#include <functional>
#include <vector>

namespace sy::policy {
namespace {

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return a <= 0 ? 0 : (a + b - 1) / b; }

}  // namespace

std::size_t LocalCounters::shard_of(std::string_view key) {
  return std::hash<std::string_view>{}(key) % kShards;
}

void LocalCounters::drain(Counter& c, std::int64_t limit, TimePoint now) {
  if (limit <= 0) {
    return;  // callers never charge a non-positive limit; be safe against division by zero
  }
  if (now > c.last) {
    std::int64_t elapsed = (now - c.last).count();
    // elapsed * limit could overflow after a long idle time: compare first.
    if (c.level == 0 || elapsed > c.level / limit) {
      c.level = 0;
    } else {
      c.level -= elapsed * limit;
    }
    c.last = now;
  }
  c.limit = limit;
}

ChargeState LocalCounters::rate_state(const Counter& c, const Charge& charge, bool allowed) {
  const std::int64_t w = charge.window.count();
  const std::int64_t cap = charge.limit * w;
  ChargeState st;
  st.allowed = allowed;
  st.too_large = charge.amount > charge.limit;
  st.remaining = std::max<std::int64_t>(0, (cap - c.level) / w);
  st.reset = Millis(ceil_div(c.level, charge.limit));
  if (!allowed) {
    st.retry_after =
        st.too_large ? charge.window : Millis(ceil_div(c.level + charge.amount * w - cap,
                                                       charge.limit));
  }
  return st;
}

AcquireOutcome LocalCounters::try_acquire(std::span<const Charge> charges, TimePoint now) {
  std::vector<std::size_t> idx;
  idx.reserve(charges.size());
  for (const Charge& ch : charges) {
    idx.push_back(shard_of(ch.key));
  }
  std::vector<std::size_t> order = idx;
  std::sort(order.begin(), order.end());
  order.erase(std::unique(order.begin(), order.end()), order.end());
  std::vector<std::unique_lock<std::mutex>> locks;
  locks.reserve(order.size());
  for (std::size_t s : order) {
    locks.emplace_back(shards_[s].mu);
  }

  AcquireOutcome out;
  out.allowed = true;
  out.states.resize(charges.size());
  std::vector<std::pair<Counter*, Counter>> undo;
  undo.reserve(charges.size());
  std::vector<Counter*> counters(charges.size());
  for (std::size_t k = 0; k < charges.size(); ++k) {
    const Charge& ch = charges[k];
    auto [it, inserted] = shards_[idx[k]].counters.try_emplace(ch.key);
    Counter& c = it->second;
    if (inserted) {
      c.last = now;
    }
    counters[k] = &c;
    undo.emplace_back(&c, c);
    if (ch.kind == ChargeKind::Rate) {
      drain(c, ch.limit, now);
      const std::int64_t w = ch.window.count();
      bool ok = ch.amount <= ch.limit && c.level + ch.amount * w <= ch.limit * w;
      if (ok) {
        c.level += ch.amount * w;
      }
      out.states[k] = rate_state(c, ch, ok);
    } else {
      bool ok = c.in_flight + ch.amount <= ch.limit;
      if (ok) {
        c.in_flight += ch.amount;
      }
      out.states[k].allowed = ok;
      out.states[k].too_large = ch.amount > ch.limit;
      out.states[k].remaining = std::max<std::int64_t>(0, ch.limit - c.in_flight);
    }
    out.allowed = out.allowed && out.states[k].allowed;
  }
  if (!out.allowed) {
    for (auto it = undo.rbegin(); it != undo.rend(); ++it) {
      *it->first = it->second;
    }
    // Report every counter as it stands (nothing was applied).
    for (std::size_t k = 0; k < charges.size(); ++k) {
      const Charge& ch = charges[k];
      Counter& c = *counters[k];
      bool ok = out.states[k].allowed;
      if (ch.kind == ChargeKind::Rate) {
        drain(c, ch.limit, now);
        ChargeState st = rate_state(c, ch, ok);
        if (ok) {
          st.retry_after = Millis(0);
        } else if (!st.too_large) {
          const std::int64_t w = ch.window.count();
          st.retry_after = Millis(ceil_div(c.level + ch.amount * w - ch.limit * w, ch.limit));
        }
        out.states[k] = st;
      } else {
        out.states[k].remaining = std::max<std::int64_t>(0, ch.limit - c.in_flight);
      }
    }
  }
  return out;
}

void LocalCounters::adjust(std::string_view key, std::int64_t delta, std::int64_t limit,
                           Millis window, TimePoint now) {
  if (delta == 0 || limit <= 0) {
    return;
  }
  Shard& sh = shards_[shard_of(key)];
  std::lock_guard lock(sh.mu);
  auto it = sh.counters.find(std::string(key));
  if (it == sh.counters.end()) {
    if (delta < 0) {
      return;
    }
    it = sh.counters.try_emplace(std::string(key)).first;
    it->second.last = now;
  }
  Counter& c = it->second;
  drain(c, limit, now);
  c.level = std::max<std::int64_t>(0, c.level + delta * window.count());
}

void LocalCounters::release(std::string_view key, std::int64_t amount) {
  Shard& sh = shards_[shard_of(key)];
  std::lock_guard lock(sh.mu);
  auto it = sh.counters.find(std::string(key));
  if (it != sh.counters.end()) {
    it->second.in_flight = std::max<std::int64_t>(0, it->second.in_flight - amount);
  }
}

ChargeState LocalCounters::peek(const Charge& charge, TimePoint now) {
  Shard& sh = shards_[shard_of(charge.key)];
  std::lock_guard lock(sh.mu);
  Counter c;
  c.last = now;
  if (auto it = sh.counters.find(charge.key); it != sh.counters.end()) {
    c = it->second;
  }
  ChargeState st;
  if (charge.kind == ChargeKind::Rate) {
    drain(c, charge.limit, now);
    const std::int64_t w = charge.window.count();
    bool ok = charge.amount <= charge.limit && c.level + charge.amount * w <= charge.limit * w;
    st = rate_state(c, charge, ok);
  } else {
    st.allowed = c.in_flight + charge.amount <= charge.limit;
    st.too_large = charge.amount > charge.limit;
    st.remaining = std::max<std::int64_t>(0, charge.limit - c.in_flight);
  }
  return st;
}

std::size_t LocalCounters::sweep(TimePoint now) {
  std::size_t dropped = 0;
  for (Shard& sh : shards_) {
    std::lock_guard lock(sh.mu);
    for (auto it = sh.counters.begin(); it != sh.counters.end();) {
      Counter& c = it->second;
      if (c.limit > 0) {
        drain(c, c.limit, now);
      }
      if (c.level == 0 && c.in_flight == 0) {
        it = sh.counters.erase(it);
        ++dropped;
      } else {
        ++it;
      }
    }
  }
  return dropped;
}

std::size_t LocalCounters::size() const {
  std::size_t n = 0;
  for (const Shard& sh : shards_) {
    std::lock_guard lock(sh.mu);
    n += sh.counters.size();
  }
  return n;
}

}  // namespace sy::policy
