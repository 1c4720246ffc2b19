#pragma once
// The ledger writer: takes usage records off the request path. Records go into a bounded
// in-memory queue; one writer thread moves them into the Store in batches (up to batch_size
// records, or whatever is queued once flush_interval has passed since the batch's first
// record). Nothing is ever dropped:
//  - queue full: try_submit() returns false (the caller waits and retries) and
//    submit_blocking() waits for space; that is the back-pressure;
//  - store error: the batch is kept and retried with exponential backoff, write_errors counts
//    the failures;
//  - shutdown: stop_and_drain() writes everything queued before it returns.
// What a kill -9 can lose is in docs/ledger.md ("Loss bound").

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "ledger/store.h"
#include "ledger/usage_record.h"

namespace sy::ledger {

struct WriterOptions {
  std::size_t queue_capacity = 10'000;  // records waiting for the writer thread
  std::size_t batch_size = 256;         // records per Store::append (one transaction)
  std::chrono::milliseconds flush_interval{100};
  std::chrono::milliseconds retry_initial{50};  // backoff after a failed append, doubling...
  std::chrono::milliseconds retry_max{5'000};   // ...up to this
};

struct WriterStats {
  std::uint64_t queued = 0;        // in the queue now (not yet taken into a batch)
  std::uint64_t in_flight = 0;     // taken into the batch being written (or retried)
  std::uint64_t submitted = 0;     // accepted since start
  std::uint64_t written = 0;       // committed to the store
  std::uint64_t write_errors = 0;  // failed append attempts (each retried)
  std::uint64_t batches = 0;       // successful appends
  std::uint64_t full = 0;          // try_submit calls refused because the queue was full
};

class LedgerWriter {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds kForever = std::chrono::milliseconds::max();

  explicit LedgerWriter(std::unique_ptr<Store> store, WriterOptions options = {});
  ~LedgerWriter();  // stop_and_drain()
  LedgerWriter(const LedgerWriter&) = delete;
  LedgerWriter& operator=(const LedgerWriter&) = delete;

  // Starts the writer thread. Records submitted before start() wait in the queue.
  void start();

  // Queues a record and returns true, or returns false when the queue is full, leaving
  // `record` untouched: the caller (a worker's event loop, which must not block) waits, e.g.
  // a short timer, and submits it again. Never drops.
  bool try_submit(UsageRecord&& record);
  // Queues a record, waiting for space when the queue is full (threads other than a worker's
  // event loop: the admin API, tests, shutdown paths).
  void submit_blocking(UsageRecord record);

  // Waits until every record submitted before the call is in the store; false on timeout
  // (the records stay queued). For tests and for an orderly shutdown.
  bool flush(std::chrono::milliseconds timeout = kForever);

  // Ends the writer thread's batching waits, writes everything queued (retrying store
  // errors until `timeout`), joins the thread and returns the number of records it could NOT
  // write (0 unless the store stayed down for the whole timeout; then they are logged as an
  // error with their count). Idempotent. Records submitted after it returns are written by
  // the next stop_and_drain() (the destructor calls it).
  std::size_t stop_and_drain(std::chrono::milliseconds timeout = kForever);

  WriterStats stats() const;
  // False while the last append failed (a batch is being retried): /readyz reports it.
  bool healthy() const { return healthy_.load(std::memory_order_relaxed); }
  // For report and admin reads; the Store serialises its own access.
  Store& store() { return *store_; }

 private:
  struct Entry {
    UsageRecord record;
    Clock::time_point enqueued;
  };
  void run();
  // With mu_ held: moves up to batch_size records from the queue into a batch.
  std::vector<UsageRecord> take_batch();
  // With mu_ held: returns an unwritten batch to the front of the queue, in order.
  void put_back(std::vector<UsageRecord>& batch);
  // Appends `batch` (unlocking mu_ around the store call), retrying with backoff until it
  // succeeds (true) or a shutdown's deadline passes (false).
  bool write_with_retry(std::vector<UsageRecord>& batch, std::unique_lock<std::mutex>& lock);

  const std::unique_ptr<Store> store_;
  const WriterOptions options_;

  mutable std::mutex mu_;
  std::condition_variable wake_writer_;  // records arrived, flush requested, or stopping
  std::condition_variable space_;        // the queue has room again
  std::condition_variable progress_;     // written_ advanced
  std::deque<Entry> queue_;
  std::size_t in_flight_ = 0;
  bool running_ = false;   // the writer thread is between start() and its exit
  bool stopping_ = false;  // stop_and_drain() was called
  Clock::time_point stop_deadline_ = Clock::time_point::max();
  std::atomic<bool> healthy_{true};
  std::uint64_t flush_target_ = 0;  // flush() waits for written_ to reach submitted_
  WriterStats stats_;

  // STYLE.md keeps std::thread in app/, but the ledger writer owns its thread on purpose: it
  // blocks on SQLite/PostgreSQL I/O and retry backoff, so it must never run on a worker's
  // event loop, and owning it lets stop_and_drain() guarantee the drain-then-join order.
  std::thread thread_;
};

}  // namespace sy::ledger
