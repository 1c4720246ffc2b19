// A retry budget over a sliding window of fixed buckets: retries may be at most
// max(min_per_second * window_seconds, ratio * requests in the window).
// Requests and retries are counted in window / 10 slices, so the window slides
// in steps of a tenth.

#include <algorithm>
#include <array>
#include <cmath>
#include <mutex>

#include "routing/router.h"

namespace sy::routing {
namespace {

constexpr std::size_t kBuckets = 10;

struct Bucket {
  std::int64_t index = -1;
  std::uint64_t requests = 0;
  std::uint64_t retries = 0;
};

} // namespace

struct RetryBudget::Impl {
  double ratio = 0.2;
  double min_retries = 0.0; // min_per_second * window in seconds
  std::int64_t bucket_ms = 1;
  std::mutex mu;
  std::array<Bucket, kBuckets> buckets{};

  Bucket &bucket_at(std::int64_t index) {
    Bucket &b = buckets[static_cast<std::size_t>(
        index % static_cast<std::int64_t>(kBuckets))];
    if (b.index != index) {
      b = Bucket{index, 0, 0};
    }
    return b;
  }

  std::int64_t index_of(Clock::time_point now) const {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        now.time_since_epoch())
                        .count();
    return std::max<std::int64_t>(ms, 0) / bucket_ms;
  }
};

RetryBudget::RetryBudget(double ratio, double min_per_second,
                         std::chrono::milliseconds window)
    : impl_(std::make_shared<Impl>()) {
  const std::int64_t window_ms = std::max<std::int64_t>(window.count(), 1);
  impl_->ratio = std::max(ratio, 0.0);
  impl_->min_retries =
      std::max(min_per_second, 0.0) * static_cast<double>(window_ms) / 1000.0;
  impl_->bucket_ms = std::max<std::int64_t>(
      window_ms / static_cast<std::int64_t>(kBuckets), 1);
}

void RetryBudget::on_request(Clock::time_point now) {
  const std::lock_guard lock(impl_->mu);
  ++impl_->bucket_at(impl_->index_of(now)).requests;
}

bool RetryBudget::try_retry(Clock::time_point now) {
  const std::lock_guard lock(impl_->mu);
  const std::int64_t index = impl_->index_of(now);
  std::uint64_t requests = 0;
  std::uint64_t retries = 0;
  for (const Bucket &b : impl_->buckets) {
    if (b.index >= 0 && b.index > index - static_cast<std::int64_t>(kBuckets) &&
        b.index <= index) {
      requests += b.requests;
      retries += b.retries;
    }
  }
  const double allowed = std::max(impl_->min_retries,
                                  impl_->ratio * static_cast<double>(requests));
  // floor: "0.2 of 7 requests" allows one retry, not two.
  if (static_cast<double>(retries) + 1.0 > std::floor(allowed + 1e-9)) {
    return false;
  }
  ++impl_->bucket_at(index).retries;
  return true;
}

} // namespace sy::routing
