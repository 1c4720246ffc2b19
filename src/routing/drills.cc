// Operator drills: a provider is treated as down for a time, for every route
// and tenant or only one of each. Few drills exist at once, so a vector under a
// mutex is enough.

#include <algorithm>
#include <mutex>

#include "routing/router.h"

namespace sy::routing {
namespace {

// ends_ms <= 0 means "until removed".
bool in_window(const Drill &d, std::int64_t now_ms) {
  return now_ms >= d.starts_ms && (d.ends_ms <= 0 || now_ms < d.ends_ms);
}

} // namespace

struct DrillRegistry::Impl {
  mutable std::mutex mu;
  std::vector<Drill> drills;
  std::uint64_t next_id = 1;
};

DrillRegistry::DrillRegistry() : impl_(std::make_shared<Impl>()) {}

std::string DrillRegistry::add(Drill drill) {
  const std::lock_guard lock(impl_->mu);
  if (drill.id.empty()) {
    do {
      drill.id = "drill-" + std::to_string(impl_->next_id++);
    } while (std::any_of(impl_->drills.begin(), impl_->drills.end(),
                         [&](const Drill &d) { return d.id == drill.id; }));
  }
  std::string id = drill.id;
  const auto it = std::find_if(impl_->drills.begin(), impl_->drills.end(),
                               [&](const Drill &d) { return d.id == id; });
  if (it != impl_->drills.end()) {
    *it = std::move(drill); // the same id again replaces the drill
  } else {
    impl_->drills.push_back(std::move(drill));
  }
  return id;
}

bool DrillRegistry::remove(const std::string &id) {
  const std::lock_guard lock(impl_->mu);
  const auto it = std::find_if(impl_->drills.begin(), impl_->drills.end(),
                               [&](const Drill &d) { return d.id == id; });
  if (it == impl_->drills.end()) {
    return false;
  }
  impl_->drills.erase(it);
  return true;
}

bool DrillRegistry::drilled(const std::string &provider,
                            const std::string &route, const std::string &tenant,
                            std::int64_t now_ms) const {
  const std::lock_guard lock(impl_->mu);
  return std::any_of(
      impl_->drills.begin(), impl_->drills.end(), [&](const Drill &d) {
        return d.provider == provider &&
               (d.route.empty() || d.route == route) &&
               (d.tenant.empty() || d.tenant == tenant) && in_window(d, now_ms);
      });
}

std::vector<Drill> DrillRegistry::active(std::int64_t now_ms) const {
  const std::lock_guard lock(impl_->mu);
  std::vector<Drill> out;
  for (const Drill &d : impl_->drills) {
    if (in_window(d, now_ms)) {
      out.push_back(d);
    }
  }
  return out;
}

} // namespace sy::routing
