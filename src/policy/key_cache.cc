// KeyCache: virtual keys checked against an in-memory snapshot (see key_cache.h).

#include "policy/key_cache.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>
#include <utility>

#include "core/clock.h"

namespace sy::policy {
namespace {

std::string error_text(const Error& e) {
  return e.detail.empty() ? e.public_message : e.public_message + ": " + e.detail;
}

// Distinct refresh errors remembered for the once-per-text warning; past this many, new
// texts are not logged (a store failing in unboundedly many ways must not grow memory).
constexpr std::size_t kMaxLoggedErrors = 64;

}  // namespace

KeyCache::KeyCache(KeyStore& store)
    : store_(store), snapshot_(std::make_shared<const Snapshot>()) {}

KeyCache::~KeyCache() { stop(); }

// --- the snapshot ---------------------------------------------------------------------------

Result<void> KeyCache::refresh() {
  const std::lock_guard refresh_lock(refresh_mu_);
  {
    const std::lock_guard lock(write_mu_);
    refreshing_ = true;
    journal_.clear();
  }
  // The slow part: no lock that verify(), upsert() or mark_revoked() takes is held.
  const auto list_all = [this]() -> Result<std::vector<KeyRecord>> {
    try {
      return store_.list(std::nullopt);
    } catch (const std::exception& e) {
      Error err = make_error(ErrorKind::Internal, "key store error");
      err.detail = std::string("listing virtual keys threw: ") + e.what();
      return err;
    }
  };
  auto records = list_all();

  std::shared_ptr<Snapshot> fresh;
  if (records) {
    fresh = std::make_shared<Snapshot>();
    fresh->reserve(records->size());
    for (KeyRecord& r : *records) {
      std::string id = r.key_id;
      (*fresh)[std::move(id)] = std::move(r);
    }
  }

  const std::lock_guard lock(write_mu_);
  refreshing_ = false;
  if (!records) {
    journal_.clear();  // already applied to the snapshot that stays
    return records.error();
  }
  // What changed here while the store was being read may be missing from what it returned.
  for (const Change& c : journal_) {
    apply(*fresh, c, /*replay=*/true);
  }
  journal_.clear();
  snapshot_.store(std::shared_ptr<const Snapshot>(std::move(fresh)));
  last_refresh_ms_.store(unix_now_ms());
  return {};
}

void KeyCache::apply(Snapshot& snapshot, const Change& change, bool replay) {
  const auto it = snapshot.find(change.record.key_id);
  if (change.revoke) {
    if (it != snapshot.end() && it->second.revoked_ms == 0) {
      it->second.revoked_ms = change.record.revoked_ms;
    }
    return;
  }
  if (it == snapshot.end()) {
    snapshot.emplace(change.record.key_id, change.record);
    return;
  }
  if (replay) {
    return;  // the store's row, read after it was written, is at least as new
  }
  const std::int64_t known_revoked = it->second.revoked_ms;
  it->second = change.record;
  if (known_revoked != 0 && it->second.revoked_ms == 0) {
    it->second.revoked_ms = known_revoked;
  }
}

void KeyCache::change(Change c) {
  const std::lock_guard lock(write_mu_);
  auto next = std::make_shared<Snapshot>(*snapshot_.load());
  apply(*next, c, /*replay=*/false);
  snapshot_.store(std::shared_ptr<const Snapshot>(std::move(next)));
  if (refreshing_) {
    journal_.push_back(std::move(c));
  }
}

void KeyCache::upsert(const KeyRecord& record) { change(Change{false, record}); }

void KeyCache::mark_revoked(std::string_view key_id, std::int64_t at_ms) {
  Change c;
  c.revoke = true;
  c.record.key_id = std::string(key_id);
  c.record.revoked_ms = std::max<std::int64_t>(at_ms, 1);
  change(std::move(c));
}

Result<KeyInfo> KeyCache::verify(std::string_view presented, std::int64_t now_ms) const {
  const auto parsed = parse_key(presented);
  if (!parsed) {
    return unauthorized("malformed key");
  }
  // Holding the snapshot keeps the record alive while it is checked, whatever is swapped in.
  const std::shared_ptr<const Snapshot> snapshot = snapshot_.load();
  const auto it = snapshot->find(std::string(parsed->key_id));
  return check_record(it == snapshot->end() ? nullptr : &it->second, *parsed, now_ms);
}

std::size_t KeyCache::size() const { return snapshot_.load()->size(); }

std::int64_t KeyCache::last_refresh_ms() const { return last_refresh_ms_.load(); }

// --- the background refresher ---------------------------------------------------------------

void KeyCache::start(std::chrono::milliseconds interval) {
  stop();
  interval = std::max(interval, std::chrono::milliseconds(1));
  thread_ = std::thread([this, interval] { run(interval); });
}

void KeyCache::stop() {
  {
    const std::lock_guard lock(wake_mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
  const std::lock_guard lock(wake_mu_);
  stopping_ = false;
}

void KeyCache::run(std::chrono::milliseconds interval) {
  std::unique_lock lock(wake_mu_);
  while (!wake_.wait_for(lock, interval, [this] { return stopping_; })) {
    lock.unlock();
    const auto r = refresh();
    if (!r) {
      std::string text = error_text(r.error());
      if (logged_errors_.size() < kMaxLoggedErrors && logged_errors_.insert(text).second) {
        spdlog::warn("virtual keys: refresh failed, still using the last snapshot ({} keys): {}",
                     size(), text);
      }
    } else if (!logged_errors_.empty()) {
      spdlog::info("virtual keys: refresh works again ({} keys)", size());
      logged_errors_.clear();  // a later outage is reported again
    }
    lock.lock();
  }
}

}  // namespace sy::policy
