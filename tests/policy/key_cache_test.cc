// KeyCache: virtual keys checked against an in-memory snapshot. Runs against SQLite (a temp
// file) and PostgreSQL (SY_TEST_PG_URL, a fresh schema per test), like keys_test.cc. Without
// SY_TEST_PG_URL the PostgreSQL tests are skipped, or fail when CI is set.
//
// The cache reads through its own store (its own connection), and the tests write through
// another, as the admin CLI or another replica would: a store instance is not shared between
// threads.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <sstream>
#include <thread>
#include <type_traits>

#include "ledger/test_stores.h"
#include "policy/key_cache.h"
#include "policy/keys.h"

namespace sy::policy {
namespace {

using ::testing::HasSubstr;
using namespace sy::ledger::testing;
using namespace std::chrono_literals;

constexpr std::int64_t kNow = 1'700'000'000'000;  // 2023-11-14T22:13:20Z
constexpr std::int64_t kDay = 86'400'000;

// Polls `done` until it holds or `timeout` passes; whether it held.
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) {
      return true;
    }
    std::this_thread::sleep_for(2ms);
  }
  return done();
}

// A store in front of another that can be made to fail, or to hold list() after reading
// until released (a refresh caught mid-read), and counts list() calls.
class FakeKeyStore final : public KeyStore {
 public:
  explicit FakeKeyStore(KeyStore& inner) : inner_(inner) {}

  Result<void> create(const KeyRecord& record) override { return inner_.create(record); }
  Result<std::vector<KeyRecord>> list(const std::optional<std::string>& tenant) override {
    ++lists;
    if (fail) {
      Error e = make_error(ErrorKind::Internal, "ledger store error");
      e.detail = "connection refused (fake)";
      return e;
    }
    auto out = inner_.list(tenant);
    std::unique_lock lock(mu_);
    read_done_ = true;
    cv_.notify_all();
    cv_.wait(lock, [this] { return !held_; });
    return out;
  }
  Result<RevokeOutcome> revoke(std::string_view key_id, std::int64_t now_ms) override {
    return inner_.revoke(key_id, now_ms);
  }
  Result<std::optional<KeyRecord>> find_by_id(std::string_view key_id) override {
    return inner_.find_by_id(key_id);
  }

  // list() will wait, after reading, until release().
  void hold() {
    const std::lock_guard lock(mu_);
    held_ = true;
    read_done_ = false;
  }
  void wait_until_read() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return read_done_; });
  }
  void release() {
    const std::lock_guard lock(mu_);
    held_ = false;
    cv_.notify_all();
  }

  std::atomic<bool> fail{false};
  std::atomic<int> lists{0};

 private:
  KeyStore& inner_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool held_ = false;
  bool read_done_ = false;
};

using SqliteBackend = SqliteDb;
using PostgresBackend = PostgresDb;

template <typename Backend>
class KeyCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if constexpr (std::is_same_v<Backend, PostgresBackend>) {
      if (!pg_available("key cache")) {
        return;
      }
    }
    url_ = backend_.setup();
    store_ = open_key_store(url_);        // the tests' writes (the admin side)
    cache_store_ = open_key_store(url_);  // the cache's reads
    fake_ = std::make_unique<FakeKeyStore>(*cache_store_);
    cache_ = std::make_unique<KeyCache>(*fake_);
  }
  void TearDown() override {
    cache_.reset();
    fake_.reset();
    cache_store_.reset();
    store_.reset();
    backend_.teardown();
  }

  CreatedKey create(std::string tenant = "acme", std::string name = "ci",
                    std::int64_t expires_ms = 0) {
    auto created = create_key(*store_, tenant, name, expires_ms, kNow);
    EXPECT_TRUE(created) << (created ? "" : created.error().detail);
    return created.value();
  }

  void refresh() {
    const auto r = cache_->refresh();
    ASSERT_TRUE(r) << r.error().detail;
  }

  // The same refusal as policy::verify(): kind, public message, code; `why` in the detail.
  static void expect_refused(const Result<KeyInfo>& r, std::string_view why) {
    ASSERT_FALSE(r) << why;
    EXPECT_EQ(r.error().kind, ErrorKind::Unauthorized) << why;
    EXPECT_EQ(r.error().public_message, "Invalid API key.") << why;
    EXPECT_EQ(r.error().code, "invalid_api_key") << why;
    EXPECT_EQ(http_status(r.error()), 401) << why;
    EXPECT_THAT(r.error().detail, HasSubstr(why));
  }

  static std::string wrong_secret(std::string key) {
    key.back() = key.back() == 'a' ? 'b' : 'a';
    return key;
  }

  Backend backend_;
  std::string url_;
  std::unique_ptr<KeyStore> store_;
  std::unique_ptr<KeyStore> cache_store_;
  std::unique_ptr<FakeKeyStore> fake_;
  std::unique_ptr<KeyCache> cache_;
};

using Backends = ::testing::Types<SqliteBackend, PostgresBackend>;
class BackendNames {
 public:
  template <typename T>
  static std::string GetName(int) {
    return std::is_same_v<T, SqliteBackend> ? "Sqlite" : "Postgres";
  }
};
TYPED_TEST_SUITE(KeyCacheTest, Backends, BackendNames);

TYPED_TEST(KeyCacheTest, NewKeyIsUnknownUntilRefresh) {
  EXPECT_EQ(this->cache_->size(), 0u);
  EXPECT_EQ(this->cache_->last_refresh_ms(), 0);
  const CreatedKey created = this->create("acme", "ci deploy", kNow + kDay);
  this->expect_refused(this->cache_->verify(created.key, kNow + 1), "unknown key id");

  const auto before = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  this->refresh();
  EXPECT_GE(this->cache_->last_refresh_ms(), before);
  EXPECT_EQ(this->cache_->size(), 1u);
  const auto info = this->cache_->verify(created.key, kNow + 1);
  ASSERT_TRUE(info) << info.error().detail;
  EXPECT_EQ(info->key_id, created.record.key_id);
  EXPECT_EQ(info->tenant, "acme");
  EXPECT_EQ(info->name, "ci deploy");
  EXPECT_EQ(info->expires_ms, kNow + kDay);
}

TYPED_TEST(KeyCacheTest, RevokeInTheStoreIsSeenAfterRefresh) {
  const CreatedKey created = this->create();
  const CreatedKey other = this->create();
  this->refresh();
  ASSERT_TRUE(this->cache_->verify(created.key, kNow));
  ASSERT_EQ(this->store_->revoke(created.record.key_id, kNow + 10).value(),
            RevokeOutcome::Revoked);
  EXPECT_TRUE(this->cache_->verify(created.key, kNow + 11));  // the snapshot is older

  this->refresh();
  this->expect_refused(this->cache_->verify(created.key, kNow + 11), "revoked");
  EXPECT_TRUE(this->cache_->verify(other.key, kNow + 11));  // only that one
  EXPECT_EQ(this->cache_->size(), 2u);
}

TYPED_TEST(KeyCacheTest, MarkRevokedAndUpsertTakeEffectAtOnce) {
  const CreatedKey created = this->create();
  this->refresh();
  ASSERT_TRUE(this->cache_->verify(created.key, kNow));

  // The admin API: revoke in the store, then tell the cache.
  ASSERT_TRUE(this->store_->revoke(created.record.key_id, kNow + 5));
  this->cache_->mark_revoked(created.record.key_id, kNow + 5);
  this->expect_refused(this->cache_->verify(created.key, kNow + 6), "revoked");
  // A late upsert of the record as created does not bring it back.
  this->cache_->upsert(created.record);
  this->expect_refused(this->cache_->verify(created.key, kNow + 6), "revoked");
  this->refresh();
  this->expect_refused(this->cache_->verify(created.key, kNow + 6), "revoked");

  // Created through the store, then upserted: verifies before any refresh.
  const CreatedKey fresh = this->create("globex", "new");
  this->expect_refused(this->cache_->verify(fresh.key, kNow), "unknown key id");
  this->cache_->upsert(fresh.record);
  EXPECT_EQ(this->cache_->verify(fresh.key, kNow).value().tenant, "globex");
  EXPECT_EQ(this->cache_->size(), 2u);

  // An id the cache does not know: nothing happens.
  this->cache_->mark_revoked("NoSuchKey000", kNow);
  EXPECT_EQ(this->cache_->size(), 2u);
  EXPECT_TRUE(this->cache_->verify(fresh.key, kNow));
}

TYPED_TEST(KeyCacheTest, ExpiredKeyIsRefused) {
  const CreatedKey created = this->create("acme", "short", kNow + kDay);
  this->refresh();
  EXPECT_TRUE(this->cache_->verify(created.key, kNow + kDay - 1));
  this->expect_refused(this->cache_->verify(created.key, kNow + kDay), "expired");
  this->expect_refused(this->cache_->verify(created.key, kNow + 2 * kDay), "expired");
}

TYPED_TEST(KeyCacheTest, WrongSecretAndEveryOtherRefusalMatchTheStoreVerify) {
  const CreatedKey good = this->create();
  const CreatedKey revoked = this->create();
  const CreatedKey expiring = this->create("acme", "", kNow + kDay);
  ASSERT_TRUE(this->store_->revoke(revoked.record.key_id, kNow));
  this->refresh();

  this->expect_refused(this->cache_->verify(this->wrong_secret(good.key), kNow), "wrong secret");
  std::string unknown_id = good.key;
  unknown_id[kKeyPrefix.size()] = unknown_id[kKeyPrefix.size()] == 'a' ? 'b' : 'a';
  this->expect_refused(this->cache_->verify(unknown_id, kNow), "unknown key id");
  this->expect_refused(this->cache_->verify("", kNow), "malformed");
  this->expect_refused(this->cache_->verify("Bearer " + good.key, kNow), "malformed");
  // The wrong secret of a revoked key is a wrong secret (as policy::verify says).
  this->expect_refused(this->cache_->verify(this->wrong_secret(revoked.key), kNow),
                       "wrong secret");

  // Whatever is presented, the cache answers exactly as policy::verify() on the store.
  for (const std::string& key :
       {good.key, this->wrong_secret(good.key), unknown_id, revoked.key, expiring.key,
        std::string("sk-sy-"), good.key + "x"}) {
    for (const std::int64_t now : {kNow, kNow + kDay}) {
      const auto cached = this->cache_->verify(key, now);
      const auto direct = verify(*this->store_, key, now);
      ASSERT_EQ(cached.has_value(), direct.has_value()) << key;
      if (cached) {
        EXPECT_EQ(cached->key_id, direct->key_id);
        EXPECT_EQ(cached->tenant, direct->tenant);
        EXPECT_EQ(cached->name, direct->name);
        EXPECT_EQ(cached->expires_ms, direct->expires_ms);
      } else {
        EXPECT_EQ(cached.error().kind, direct.error().kind) << key;
        EXPECT_EQ(cached.error().public_message, direct.error().public_message) << key;
        EXPECT_EQ(cached.error().code, direct.error().code) << key;
        EXPECT_EQ(cached.error().detail, direct.error().detail) << key;
      }
    }
  }
}

TYPED_TEST(KeyCacheTest, BackgroundRefresherPicksUpChanges) {
  this->cache_->start(20ms);
  const CreatedKey created = this->create();
  EXPECT_TRUE(eventually([&] { return this->cache_->verify(created.key, kNow).has_value(); }))
      << "a new key was not picked up";
  ASSERT_TRUE(this->store_->revoke(created.record.key_id, kNow));
  EXPECT_TRUE(eventually([&] { return !this->cache_->verify(created.key, kNow).has_value(); }))
      << "a revocation was not picked up";
  EXPECT_GT(this->cache_->last_refresh_ms(), 0);
  this->cache_->stop();

  // Stopped: no more refreshes.
  const int lists = this->fake_->lists.load();
  const CreatedKey later = this->create();
  this->expect_refused(this->cache_->verify(later.key, kNow), "unknown key id");
  EXPECT_EQ(this->fake_->lists.load(), lists);

  // stop() does not wait out the interval; start() again works.
  this->cache_->start(std::chrono::hours(1));
  const auto t0 = std::chrono::steady_clock::now();
  this->cache_->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  this->cache_->start(20ms);
  EXPECT_TRUE(eventually([&] { return this->cache_->verify(later.key, kNow).has_value(); }));
}  // the destructor stops the running thread

TYPED_TEST(KeyCacheTest, ConcurrentVerifyWhileSnapshotsAreSwapped) {
  std::vector<CreatedKey> good;
  for (int i = 0; i < 3; ++i) {
    good.push_back(this->create("tenant-" + std::to_string(i)));
  }
  const CreatedKey revoked = this->create();
  ASSERT_TRUE(this->store_->revoke(revoked.record.key_id, kNow));
  const CreatedKey churn = this->create("churn");  // upserted and revoked in the cache only
  this->refresh();

  std::atomic<bool> done{false};
  std::atomic<int> wrong{0};
  std::atomic<long> checks{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&, t] {
      while (!done.load()) {
        for (std::size_t i = 0; i < good.size(); ++i) {
          const auto r = this->cache_->verify(good[i].key, kNow);
          if (!r || r->tenant != "tenant-" + std::to_string(i)) {
            ++wrong;
          }
        }
        if (this->cache_->verify(revoked.key, kNow) ||
            this->cache_->verify(this->wrong_secret(good[t % good.size()].key), kNow)) {
          ++wrong;
        }
        (void)this->cache_->verify(churn.key, kNow);  // either answer; must not crash
        checks += 5;
      }
    });
  }
  // Swap snapshots under them: refreshes and copy-on-write changes, for a while.
  const auto until = std::chrono::steady_clock::now() + 300ms;
  int swaps = 0;
  while (std::chrono::steady_clock::now() < until || swaps < 20) {
    const auto r = this->cache_->refresh();
    if (!r) {
      ADD_FAILURE() << r.error().detail;
      break;
    }
    this->cache_->mark_revoked(churn.record.key_id, kNow);
    this->cache_->upsert(good[static_cast<std::size_t>(swaps) % good.size()].record);
    swaps += 3;
  }
  done = true;
  for (auto& r : readers) {
    r.join();
  }
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_GT(checks.load(), 0);
  EXPECT_EQ(this->cache_->size(), 5u);
}

TYPED_TEST(KeyCacheTest, RefreshFailureKeepsTheOldSnapshot) {
  const CreatedKey old_key = this->create();
  this->refresh();
  const std::int64_t refreshed_at = this->cache_->last_refresh_ms();

  this->fake_->fail = true;
  const CreatedKey new_key = this->create();
  ASSERT_TRUE(this->store_->revoke(old_key.record.key_id, kNow));
  const auto r = this->cache_->refresh();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::Internal);
  EXPECT_THAT(r.error().detail, HasSubstr("connection refused"));
  EXPECT_TRUE(this->cache_->verify(old_key.key, kNow));  // as of the last good refresh
  this->expect_refused(this->cache_->verify(new_key.key, kNow), "unknown key id");
  EXPECT_EQ(this->cache_->size(), 1u);
  EXPECT_EQ(this->cache_->last_refresh_ms(), refreshed_at);
  // Changes made while failing still apply.
  this->cache_->upsert(new_key.record);
  EXPECT_TRUE(this->cache_->verify(new_key.key, kNow));

  this->fake_->fail = false;
  this->refresh();
  this->expect_refused(this->cache_->verify(old_key.key, kNow), "revoked");
  EXPECT_TRUE(this->cache_->verify(new_key.key, kNow));
  EXPECT_GE(this->cache_->last_refresh_ms(), refreshed_at);
}

TYPED_TEST(KeyCacheTest, BackgroundRefreshFailureIsLoggedOnceAndKeepsTheSnapshot) {
  const CreatedKey created = this->create();
  this->refresh();

  std::ostringstream log;
  const auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>(
      "key_cache_test", std::make_shared<spdlog::sinks::ostream_sink_mt>(log)));
  this->fake_->fail = true;
  const int lists = this->fake_->lists.load();
  this->cache_->start(5ms);
  EXPECT_TRUE(eventually([&] { return this->fake_->lists.load() >= lists + 5; }));
  EXPECT_TRUE(this->cache_->verify(created.key, kNow));
  this->cache_->stop();
  spdlog::set_default_logger(previous);

  const std::string text = log.str();
  std::size_t warnings = 0;
  for (auto at = text.find("refresh failed"); at != std::string::npos;
       at = text.find("refresh failed", at + 1)) {
    ++warnings;
  }
  EXPECT_EQ(warnings, 1u) << text;
  EXPECT_THAT(text, HasSubstr("connection refused (fake)"));
  EXPECT_EQ(this->cache_->size(), 1u);
}

// A refresh that read the store before an upsert()/mark_revoked() must not undo it when it
// swaps its (older) data in.
TYPED_TEST(KeyCacheTest, RefreshRacingAChangeDoesNotUndoIt) {
  const CreatedKey a = this->create();
  this->refresh();

  this->fake_->hold();
  Result<void> refreshed = make_error(ErrorKind::Internal, "not run");
  std::thread refresher([&] { refreshed = this->cache_->refresh(); });
  this->fake_->wait_until_read();  // it has A active and no B

  ASSERT_TRUE(this->store_->revoke(a.record.key_id, kNow + 1));
  this->cache_->mark_revoked(a.record.key_id, kNow + 1);
  const CreatedKey b = this->create("globex");
  this->cache_->upsert(b.record);
  // Readers are not blocked by the refresh in progress.
  this->expect_refused(this->cache_->verify(a.key, kNow + 2), "revoked");
  EXPECT_TRUE(this->cache_->verify(b.key, kNow + 2));

  this->fake_->release();
  refresher.join();
  ASSERT_TRUE(refreshed) << refreshed.error().detail;
  this->expect_refused(this->cache_->verify(a.key, kNow + 2), "revoked");
  EXPECT_EQ(this->cache_->verify(b.key, kNow + 2).value().tenant, "globex");
  EXPECT_EQ(this->cache_->size(), 2u);

  // And the next refresh reads both from the store.
  this->refresh();
  this->expect_refused(this->cache_->verify(a.key, kNow + 2), "revoked");
  EXPECT_TRUE(this->cache_->verify(b.key, kNow + 2));
}

// Against the in-memory store (what request-path tests use), no database needed.
TEST(KeyCacheMemory, VerifiesFromTheSnapshotOnly) {
  MemoryKeyStore store;
  KeyCache cache(store);
  const auto created = create_key(store, "acme", "mem", 0, kNow).value();
  EXPECT_FALSE(cache.verify(created.key, kNow));
  ASSERT_TRUE(cache.refresh());
  EXPECT_EQ(cache.verify(created.key, kNow).value().name, "mem");
  EXPECT_EQ(cache.size(), 1u);
}

}  // namespace
}  // namespace sy::policy
