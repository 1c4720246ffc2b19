#include "ledger/writer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "test_stores.h"

namespace sy::ledger {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A Store that keeps records in memory, can fail its next appends, and can hold an append
// until released (to keep a batch "in flight").
class FakeStore final : public Store {
 public:
  Result<void> migrate() override { return {}; }
  Result<void> append(const std::vector<UsageRecord>& records) override {
    std::unique_lock lock(mu_);
    ++attempts_;
    cv_.wait(lock, [&] { return !hold_; });
    if (fail_always_ || failures_left_ > 0) {
      if (failures_left_ > 0) {
        --failures_left_;
      }
      return make_error(ErrorKind::Internal, "store down");
    }
    records_.insert(records_.end(), records.begin(), records.end());
    batch_sizes_.push_back(records.size());
    cv_.notify_all();
    return {};
  }
  Result<std::vector<AggregateRow>> aggregate(const Filter&, const std::vector<Dim>&) override {
    return std::vector<AggregateRow>{};
  }
  Result<std::vector<LastOutcome>> last_outcomes(const Filter&) override {
    return std::vector<LastOutcome>{};
  }
  Result<std::int64_t> count(const Filter&) override {
    const std::lock_guard lock(mu_);
    return static_cast<std::int64_t>(records_.size());
  }
  Result<bool> writable() override { return true; }

  void fail_next(int n) {
    const std::lock_guard lock(mu_);
    failures_left_ = n;
  }
  void fail_always(bool on) {
    const std::lock_guard lock(mu_);
    fail_always_ = on;
  }
  void hold(bool on) {
    const std::lock_guard lock(mu_);
    hold_ = on;
    cv_.notify_all();
  }
  std::size_t size() const {
    const std::lock_guard lock(mu_);
    return records_.size();
  }
  int attempts() const {
    const std::lock_guard lock(mu_);
    return attempts_;
  }
  std::vector<UsageRecord> records() const {
    const std::lock_guard lock(mu_);
    return records_;
  }
  std::vector<std::size_t> batch_sizes() const {
    const std::lock_guard lock(mu_);
    return batch_sizes_;
  }
  // Waits until at least n records are stored; false after `timeout`.
  bool wait_for(std::size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return records_.size() >= n; });
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<UsageRecord> records_;
  std::vector<std::size_t> batch_sizes_;
  int failures_left_ = 0;
  int attempts_ = 0;
  bool fail_always_ = false;
  bool hold_ = false;
};

UsageRecord rec(int i) {
  UsageRecord r;
  r.ts_ms = 1'700'000'000'000 + i;
  r.request_id = "req-" + std::to_string(i);
  r.status = 200;
  return r;
}

struct Harness {
  explicit Harness(WriterOptions options) {
    auto owned = std::make_unique<FakeStore>();
    store = owned.get();
    writer = std::make_unique<LedgerWriter>(std::move(owned), options);
  }
  FakeStore* store;
  std::unique_ptr<LedgerWriter> writer;
};

WriterOptions fast(std::size_t capacity = 1'000, std::size_t batch = 256,
                   std::chrono::milliseconds interval = 20ms) {
  WriterOptions o;
  o.queue_capacity = capacity;
  o.batch_size = batch;
  o.flush_interval = interval;
  o.retry_initial = 1ms;
  o.retry_max = 10ms;
  return o;
}

TEST(LedgerWriter, RecordsFromFourThreadsAreAllStoredExactlyOnce) {
  // A real SQLite store, a small queue (so the submitters feel back-pressure) and both submit
  // paths: the event-loop style try-and-retry and the blocking one.
  const std::string path = testing::temp_sqlite_path();
  constexpr int kPerThread = 2'500;
  {
    LedgerWriter writer(open_store("sqlite:" + path), fast(64, 100, 5ms));
    writer.start();
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&writer, t] {
        for (int i = 0; i < kPerThread; ++i) {
          UsageRecord r = rec(t * kPerThread + i);
          if (t % 2 == 0) {
            while (!writer.try_submit(std::move(r))) {
              std::this_thread::sleep_for(100us);  // a worker would arm a short timer
            }
          } else {
            writer.submit_blocking(std::move(r));
          }
        }
      });
    }
    for (auto& th : threads) {
      th.join();
    }
    ASSERT_TRUE(writer.flush(30s));
    const WriterStats s = writer.stats();
    EXPECT_EQ(s.submitted, 4u * kPerThread);
    EXPECT_EQ(s.written, 4u * kPerThread);
    EXPECT_EQ(s.queued, 0u);
    EXPECT_EQ(s.write_errors, 0u);
    EXPECT_GE(s.batches, 4u * kPerThread / 100);
    EXPECT_EQ(writer.store().count({}).value(), 4 * kPerThread);
    EXPECT_EQ(testing::sqlite_scalar(path, "SELECT COUNT(DISTINCT request_id) FROM usage_records"),
              4 * kPerThread);
    EXPECT_EQ(writer.stop_and_drain(), 0u);
  }
  testing::remove_sqlite(path);
}

TEST(LedgerWriter, FullQueueRefusesWithoutDroppingAndDrainsAfter) {
  Harness h(fast(3, 256, 5ms));
  for (int i = 0; i < 3; ++i) {
    UsageRecord r = rec(i);
    ASSERT_TRUE(h.writer->try_submit(std::move(r)));
  }
  UsageRecord fourth = rec(3);
  EXPECT_FALSE(h.writer->try_submit(std::move(fourth)));
  EXPECT_EQ(fourth.request_id, "req-3");  // refused: the caller still holds it
  EXPECT_EQ(h.writer->stats().full, 1u);
  EXPECT_EQ(h.writer->stats().queued, 3u);

  h.writer->start();
  ASSERT_TRUE(h.writer->flush(10s));
  EXPECT_TRUE(h.writer->try_submit(std::move(fourth)));
  ASSERT_TRUE(h.writer->flush(10s));
  const auto records = h.store->records();
  ASSERT_EQ(records.size(), 4u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(records[static_cast<std::size_t>(i)].request_id, "req-" + std::to_string(i));
  }
}

TEST(LedgerWriter, BlockingSubmitWaitsForSpaceWhileTheStoreIsSlow) {
  Harness h(fast(2, 1, 1ms));
  h.store->hold(true);  // the first batch stays in flight
  h.writer->start();
  h.writer->submit_blocking(rec(0));
  // Wait until the writer has taken record 0 into its batch.
  const auto until = Clock::now() + 5s;
  while (h.writer->stats().in_flight == 0 && Clock::now() < until) {
    std::this_thread::sleep_for(1ms);
  }
  ASSERT_EQ(h.writer->stats().in_flight, 1u);
  h.writer->submit_blocking(rec(1));
  h.writer->submit_blocking(rec(2));
  UsageRecord r3 = rec(3);
  EXPECT_FALSE(h.writer->try_submit(std::move(r3)));
  std::atomic<bool> done{false};
  std::thread blocked([&] {
    h.writer->submit_blocking(rec(3));
    done = true;
  });
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(done.load());  // back-pressure: it waits, it does not drop
  h.store->hold(false);
  blocked.join();
  EXPECT_TRUE(done.load());
  ASSERT_TRUE(h.writer->flush(10s));
  EXPECT_EQ(h.store->size(), 4u);
}

TEST(LedgerWriter, StopAndDrainWritesEverythingWithoutWaitingForTheInterval) {
  Harness h(fast(10'000, 100, 10s));  // nothing would be written for 10 s on its own
  h.writer->start();
  for (int i = 0; i < 1'050; ++i) {
    h.writer->submit_blocking(rec(i));
  }
  const auto start = Clock::now();
  EXPECT_EQ(h.writer->stop_and_drain(), 0u);
  EXPECT_LT(Clock::now() - start, 5s);
  EXPECT_EQ(h.store->size(), 1'050u);
  EXPECT_EQ(h.writer->stats().written, 1'050u);
  EXPECT_EQ(h.writer->stats().queued, 0u);

  // Records that arrive after the drain are not lost either: the next drain writes them.
  h.writer->submit_blocking(rec(5'000));
  EXPECT_EQ(h.writer->stop_and_drain(), 0u);
  EXPECT_EQ(h.store->size(), 1'051u);
}

TEST(LedgerWriter, StopAndDrainWithoutStartWritesOnTheCaller) {
  Harness h(fast());
  h.writer->submit_blocking(rec(0));
  h.writer->submit_blocking(rec(1));
  EXPECT_EQ(h.writer->stop_and_drain(), 0u);
  EXPECT_EQ(h.store->size(), 2u);
}

TEST(LedgerWriter, FlushIntervalBoundsTheDelayOfAPartialBatch) {
  Harness h(fast(1'000, 1'000, 100ms));
  h.writer->start();
  const auto submitted = Clock::now();
  h.writer->submit_blocking(rec(0));
  ASSERT_TRUE(h.store->wait_for(1, 5s));
  const auto delay = Clock::now() - submitted;
  // A lone record waits for the interval (the batch might still fill)...
  EXPECT_GE(delay, 95ms);
  // ...and not much longer (generous: sanitizers and shared cores).
  EXPECT_LT(delay, 1'000ms);
}

TEST(LedgerWriter, AFullBatchIsWrittenWithoutWaitingForTheInterval) {
  Harness h(fast(1'000, 10, 10s));
  h.writer->start();
  const auto submitted = Clock::now();
  for (int i = 0; i < 10; ++i) {
    h.writer->submit_blocking(rec(i));
  }
  ASSERT_TRUE(h.store->wait_for(10, 5s));
  EXPECT_LT(Clock::now() - submitted, 2s);
  EXPECT_THAT(h.store->batch_sizes(), ::testing::ElementsAre(10u));
}

TEST(LedgerWriter, StoreErrorsAreRetriedAndNothingIsDropped) {
  Harness h(fast(1'000, 256, 5ms));
  h.store->fail_next(3);
  h.writer->start();
  for (int i = 0; i < 5; ++i) {
    h.writer->submit_blocking(rec(i));
  }
  ASSERT_TRUE(h.writer->flush(10s));
  const WriterStats s = h.writer->stats();
  EXPECT_EQ(s.write_errors, 3u);
  EXPECT_EQ(s.written, 5u);
  EXPECT_EQ(h.store->size(), 5u);
  EXPECT_EQ(h.store->attempts(), 4);
  const auto records = h.store->records();
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(records[static_cast<std::size_t>(i)].request_id, "req-" + std::to_string(i));
  }
}

TEST(LedgerWriter, ADrainDeadlineWithTheStoreDownReportsWhatWasNotWritten) {
  Harness h(fast(1'000, 2, 1ms));
  h.store->fail_always(true);
  h.writer->start();
  for (int i = 0; i < 5; ++i) {
    h.writer->submit_blocking(rec(i));
  }
  EXPECT_FALSE(h.writer->flush(50ms));  // still failing: flush times out, records kept
  EXPECT_GT(h.writer->stats().write_errors, 0u);
  EXPECT_EQ(h.writer->stop_and_drain(200ms), 5u);  // counted and logged, never silent

  // The store recovers: a later drain writes them all.
  h.store->fail_always(false);
  EXPECT_EQ(h.writer->stop_and_drain(), 0u);
  EXPECT_EQ(h.store->size(), 5u);
}

}  // namespace
}  // namespace sy::ledger
