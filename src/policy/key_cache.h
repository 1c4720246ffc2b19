#pragma once
// KeyCache: the request path's view of the virtual keys, checked on every request without
// touching the database (SQLite and PostgreSQL calls block, and an event loop must not).
//
// The cache holds an immutable snapshot, key id -> KeyRecord, behind an atomic shared_ptr.
// verify() loads the pointer and looks the key up: it never takes a lock that a refresh holds
// while it reads the store. refresh() reads every record from the store (the slow part, with
// no lock readers need) and swaps in a new snapshot; upsert() and mark_revoked() copy the
// snapshot, change the copy and swap it in, so the admin API's creations and revocations take
// effect in this process at once.
//
// A refresh whose store read began before an upsert()/mark_revoked() could swap in data that
// predates it; so changes made while a refresh is reading are journalled and re-applied on
// top of what it read. A revocation is therefore never undone by a racing refresh. (The admin
// API writes the store first and then tells the cache, so a refresh that starts later reads
// the change from the store itself.)
//
// Other replicas learn of changes by the periodic refresh (start()): a key revoked elsewhere
// stays usable here for at most about one interval.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/result.h"
#include "policy/keys.h"

namespace sy::policy {

class KeyCache {
 public:
  // Key id -> record, every key of every tenant (revoked and expired ones included, so that
  // they are refused as such rather than as unknown).
  using Snapshot = std::unordered_map<std::string, KeyRecord>;

  // `store` must outlive the cache. refresh() calls store.list() from whichever thread runs
  // it (the background thread after start()), so the store must allow that: SqlKeyStore is
  // fine as long as nothing else uses the same instance concurrently; MemoryKeyStore is
  // thread-safe. The cache starts empty (every key unknown) until the first refresh().
  explicit KeyCache(KeyStore& store);
  ~KeyCache();  // stop()s the background thread
  KeyCache(const KeyCache&) = delete;
  KeyCache& operator=(const KeyCache&) = delete;

  // Reloads every record (store.list(nullopt)) and swaps the snapshot in. On failure the old
  // snapshot stays and the store's error is returned. Concurrent calls are serialised.
  Result<void> refresh();

  // policy::verify() against the snapshot: same refusals (one public Unauthorized error,
  // policy::unauthorized(detail)), same constant-time comparison; never touches the store, so
  // it never fails with Internal. Safe from any number of threads.
  Result<KeyInfo> verify(std::string_view presented, std::int64_t now_ms) const;

  // Immediate, in this process: adds or replaces a record (after store.create()), or marks a
  // key revoked at `at_ms` (after store.revoke(); values < 1 are stored as 1, as the stores
  // do). Revocation is one-way, as in the stores: upsert() keeps a revocation the cache
  // already knows of, and mark_revoked() keeps an earlier revocation time. mark_revoked() of
  // an id the snapshot lacks changes nothing (unless a refresh in progress loads it).
  void upsert(const KeyRecord& record);
  void mark_revoked(std::string_view key_id, std::int64_t at_ms);

  // A background thread that refresh()es every `interval` (first one `interval` after start;
  // call refresh() yourself first to load at once and learn whether the store works). Refresh
  // failures are logged (spdlog::warn) once per distinct error text. start() on a running
  // cache restarts it with the new interval. stop() wakes and joins the thread: it returns
  // promptly unless a refresh is reading the store, which it lets finish. start()/stop() are
  // for one controlling thread (start-up and shutdown).
  void start(std::chrono::milliseconds interval);
  void stop();

  // Records in the current snapshot.
  std::size_t size() const;
  // Unix ms (system clock) of the last successful refresh(); 0 before the first.
  std::int64_t last_refresh_ms() const;

 private:
  // An upsert() or mark_revoked() made while a refresh was reading the store: re-applied on
  // top of what that refresh read, which may predate it.
  struct Change {
    bool revoke = false;
    KeyRecord record;  // upsert: the record; revoke: key_id and revoked_ms only
  };

  static void apply(Snapshot& snapshot, const Change& change, bool replay);
  void change(Change change);
  void run(std::chrono::milliseconds interval);

  KeyStore& store_;
  std::atomic<std::shared_ptr<const Snapshot>> snapshot_;
  std::atomic<std::int64_t> last_refresh_ms_{0};

  std::mutex refresh_mu_;  // one refresh at a time (held across the store read)
  std::mutex write_mu_;    // snapshot swaps and the journal (never held across the store read)
  bool refreshing_ = false;
  std::vector<Change> journal_;

  std::mutex wake_mu_;  // stopping_, with wake_
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
  std::set<std::string> logged_errors_;  // the background thread's only
};

}  // namespace sy::policy
