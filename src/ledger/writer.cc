#include "ledger/writer.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace sy::ledger {

namespace {

// now + timeout without overflowing steady_clock for kForever (and other huge timeouts).
LedgerWriter::Clock::time_point deadline_after(std::chrono::milliseconds timeout) {
  using namespace std::chrono;
  if (timeout >= hours(24 * 365)) {
    return LedgerWriter::Clock::time_point::max();
  }
  return LedgerWriter::Clock::now() + timeout;
}

}  // namespace

LedgerWriter::LedgerWriter(std::unique_ptr<Store> store, WriterOptions options)
    : store_(std::move(store)), options_(options) {
  if (options_.batch_size == 0 || options_.queue_capacity == 0) {
    throw std::invalid_argument("ledger writer: batch_size and queue_capacity must be > 0");
  }
}

LedgerWriter::~LedgerWriter() { stop_and_drain(); }

void LedgerWriter::start() {
  const std::lock_guard lock(mu_);
  if (running_ || stopping_) {
    return;
  }
  running_ = true;
  thread_ = std::thread([this] { run(); });
}

bool LedgerWriter::try_submit(UsageRecord&& record) {
  bool wake = false;
  {
    const std::lock_guard lock(mu_);
    // After stop_and_drain() no thread empties the queue; accept (the next stop_and_drain()
    // writes them) rather than refuse forever.
    const bool stopped = stopping_ && !running_;
    if (queue_.size() >= options_.queue_capacity && !stopped) {
      ++stats_.full;
      return false;
    }
    queue_.push_back(Entry{std::move(record), Clock::now()});
    ++stats_.submitted;
    // The writer only needs waking when the queue starts (its flush window opens) or a batch
    // is full; waking it for every record cost a futex wake and a context switch per request.
    wake = queue_.size() == 1 || queue_.size() == options_.batch_size;
  }
  if (wake) {
    wake_writer_.notify_one();
  }
  return true;
}

void LedgerWriter::submit_blocking(UsageRecord record) {
  bool wake = false;
  {
    std::unique_lock lock(mu_);
    space_.wait(lock, [&] {
      return queue_.size() < options_.queue_capacity || (stopping_ && !running_);
    });
    queue_.push_back(Entry{std::move(record), Clock::now()});
    ++stats_.submitted;
    wake = queue_.size() == 1 || queue_.size() == options_.batch_size;
  }
  if (wake) {
    wake_writer_.notify_one();
  }
}

bool LedgerWriter::flush(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  const std::uint64_t target = stats_.submitted;
  if (stats_.written >= target) {
    return true;
  }
  if (!running_) {
    return false;  // nothing would make progress
  }
  flush_target_ = std::max(flush_target_, target);
  wake_writer_.notify_one();
  const auto done = [&] { return stats_.written >= target; };
  const auto deadline = deadline_after(timeout);
  if (deadline == Clock::time_point::max()) {
    progress_.wait(lock, done);
    return true;
  }
  return progress_.wait_until(lock, deadline, done);
}

std::size_t LedgerWriter::stop_and_drain(std::chrono::milliseconds timeout) {
  {
    const std::lock_guard lock(mu_);
    stopping_ = true;
    stop_deadline_ = deadline_after(timeout);
  }
  wake_writer_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
  // What the thread could not write before the deadline, what was queued without start(),
  // or what arrived after an earlier stop: written here, on the caller's thread.
  std::size_t left = 0;
  for (;;) {
    std::vector<UsageRecord> batch;
    {
      std::unique_lock lock(mu_);
      if (queue_.empty()) {
        break;
      }
      batch = take_batch();
      if (!write_with_retry(batch, lock)) {
        put_back(batch);
        left = queue_.size();
        break;
      }
    }
  }
  space_.notify_all();
  if (left > 0) {
    spdlog::error("ledger: {} usage records could not be written before the shutdown deadline "
                  "(the store kept failing); they are lost",
                  left);
  }
  return left;
}

WriterStats LedgerWriter::stats() const {
  const std::lock_guard lock(mu_);
  WriterStats s = stats_;
  s.queued = queue_.size();
  s.in_flight = in_flight_;
  return s;
}

std::vector<UsageRecord> LedgerWriter::take_batch() {
  const std::size_t n = std::min(options_.batch_size, queue_.size());
  std::vector<UsageRecord> batch;
  batch.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    batch.push_back(std::move(queue_.front().record));
    queue_.pop_front();
  }
  in_flight_ = n;
  space_.notify_all();  // room again: the records are held by the batch now
  return batch;
}

void LedgerWriter::put_back(std::vector<UsageRecord>& batch) {
  const auto now = Clock::now();
  for (auto it = batch.rbegin(); it != batch.rend(); ++it) {
    queue_.push_front(Entry{std::move(*it), now});
  }
  in_flight_ = 0;
}

void LedgerWriter::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    wake_writer_.wait(lock, [&] { return !queue_.empty() || stopping_; });
    if (queue_.empty()) {
      break;  // stopping, and everything is written
    }
    // Let the batch fill: until batch_size records wait, flush_interval has passed since the
    // oldest queued record, a flush() asks, or shutdown starts.
    const auto window_end = queue_.front().enqueued + options_.flush_interval;
    wake_writer_.wait_until(lock, window_end, [&] {
      return queue_.size() >= options_.batch_size || stopping_ ||
             flush_target_ > stats_.written;
    });
    std::vector<UsageRecord> batch = take_batch();
    if (!write_with_retry(batch, lock)) {
      put_back(batch);  // shutdown deadline passed: stop_and_drain() reports what is left
      break;
    }
  }
  running_ = false;
  space_.notify_all();
}

bool LedgerWriter::write_with_retry(std::vector<UsageRecord>& batch,
                                    std::unique_lock<std::mutex>& lock) {
  auto backoff = options_.retry_initial;
  for (int attempt = 1;; ++attempt) {
    lock.unlock();
    const Result<void> result = store_->append(batch);
    lock.lock();
    if (result) {
      stats_.written += batch.size();
      ++stats_.batches;
      healthy_.store(true, std::memory_order_relaxed);
      in_flight_ = 0;
      progress_.notify_all();
      return true;
    }
    ++stats_.write_errors;
    healthy_.store(false, std::memory_order_relaxed);
    spdlog::error("ledger: writing {} usage records failed (attempt {}): {}; kept, retrying in "
                  "{} ms",
                  batch.size(), attempt, result.error().detail, backoff.count());
    // Sleep the backoff, but wake for a shutdown whose deadline has passed.
    const auto until = Clock::now() + backoff;
    for (;;) {
      const auto now = Clock::now();
      if (stopping_ && now >= stop_deadline_) {
        return false;
      }
      if (now >= until) {
        break;
      }
      wake_writer_.wait_until(lock, stopping_ ? std::min(until, stop_deadline_) : until);
    }
    backoff = std::min(backoff * 2, options_.retry_max);
  }
}

}  // namespace sy::ledger
