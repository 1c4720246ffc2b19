#pragma once
// Virtual API keys: what a client presents instead of a provider credential. A key is
//
//   sk-sy-<key id: 12 base62>_<secret: 32 base62>
//
// The key id is public (it names the key in `switchyard keys list` and in logs); the secret is
// 32 base62 characters from RAND_bytes (~190 bits) and is shown once, at creation. The store
// keeps only {key id, tenant, name, salt, HMAC-SHA256(salt, secret), times}: the key cannot be
// recovered from the database. See docs/keys.md.
//
// The request path checks keys through KeyCache (key_cache.h); see docs/tenants.md.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace sy::ledger {
class SqlDb;
}

namespace sy::policy {

inline constexpr std::string_view kKeyPrefix = "sk-sy-";
inline constexpr std::size_t kKeyIdLength = 12;
inline constexpr std::size_t kSecretLength = 32;
inline constexpr std::size_t kSaltBytes = 16;
inline constexpr std::size_t kKeyLength = kKeyPrefix.size() + kKeyIdLength + 1 + kSecretLength;
inline constexpr std::size_t kMaxTenantLength = 64;
inline constexpr std::size_t kMaxNameLength = 128;

// One stored key. `salt` and `hash` are raw bytes (16 and 32); stores keep them as hex.
struct KeyRecord {
  std::string key_id;
  std::string tenant;
  std::string name;
  std::string salt;
  std::string hash;
  std::int64_t created_ms = 0;
  std::int64_t expires_ms = 0;  // 0 = never
  std::int64_t revoked_ms = 0;  // 0 = active
};

// What a successful verify() tells the request path.
struct KeyInfo {
  std::string key_id;
  std::string tenant;
  std::string name;
  std::int64_t expires_ms = 0;
};

// A newly created key: `key` is the only copy of the secret; print it once and drop it.
struct CreatedKey {
  std::string key;
  KeyRecord record;
};

enum class RevokeOutcome { Revoked, AlreadyRevoked, NotFound };

// Where key records live. Lookups are by key id only (the primary key), so a cache in front
// of a store can be keyed by key id; a record never holds anything secret.
class KeyStore {
 public:
  virtual ~KeyStore() = default;
  // Adds a record; fails if the key id exists.
  virtual Result<void> create(const KeyRecord& record) = 0;
  // Every record (of one tenant when `tenant` is set), ordered by created_ms, then key id.
  virtual Result<std::vector<KeyRecord>> list(const std::optional<std::string>& tenant) = 0;
  // Sets revoked_ms = now_ms on an active key.
  virtual Result<RevokeOutcome> revoke(std::string_view key_id, std::int64_t now_ms) = 0;
  virtual Result<std::optional<KeyRecord>> find_by_id(std::string_view key_id) = 0;
};

// The SQL store: the ledger's virtual_keys table (ledger schema version 2), on SQLite or
// PostgreSQL through the ledger's connection code (ledger/sql_db.h).
class SqlKeyStore final : public KeyStore {
 public:
  explicit SqlKeyStore(std::unique_ptr<ledger::SqlDb> db);
  ~SqlKeyStore() override;
  SqlKeyStore(const SqlKeyStore&) = delete;
  SqlKeyStore& operator=(const SqlKeyStore&) = delete;

  Result<void> create(const KeyRecord& record) override;
  Result<std::vector<KeyRecord>> list(const std::optional<std::string>& tenant) override;
  Result<RevokeOutcome> revoke(std::string_view key_id, std::int64_t now_ms) override;
  Result<std::optional<KeyRecord>> find_by_id(std::string_view key_id) override;

 private:
  std::unique_ptr<ledger::SqlDb> db_;
};

// An in-memory store (tests; a snapshot the request path can load and look up by key id
// without touching the database). Thread-safe.
class MemoryKeyStore final : public KeyStore {
 public:
  Result<void> create(const KeyRecord& record) override;
  Result<std::vector<KeyRecord>> list(const std::optional<std::string>& tenant) override;
  Result<RevokeOutcome> revoke(std::string_view key_id, std::int64_t now_ms) override;
  Result<std::optional<KeyRecord>> find_by_id(std::string_view key_id) override;

 private:
  std::mutex mu_;
  std::map<std::string, KeyRecord, std::less<>> records_;
};

// The ledger's database at `url` (storage.ledger: "sqlite:PATH" or "postgres://..."), migrated.
// Start-up/CLI only: throws std::runtime_error on failure.
std::unique_ptr<KeyStore> open_key_store(const std::string& url);

// The parts of a well-formed key; nullopt for anything else (wrong prefix, length, alphabet).
struct ParsedKey {
  std::string_view key_id;
  std::string_view secret;
};
std::optional<ParsedKey> parse_key(std::string_view presented);

// HMAC-SHA256 keyed with `salt` over `secret`: 32 raw bytes.
std::string hash_secret(std::string_view salt, std::string_view secret);

// Tenant names: 1..64 of [A-Za-z0-9._-]. Key names: up to 128 printable ASCII characters.
bool valid_tenant(std::string_view tenant);
bool valid_key_name(std::string_view name);

// Makes a key (fresh id, secret and salt from RAND_bytes) and stores its record. Errors:
// InvalidRequest for a bad tenant/name or an expiry not after now; Internal for RNG/store.
Result<CreatedKey> create_key(KeyStore& store, std::string_view tenant, std::string_view name,
                              std::int64_t expires_ms, std::int64_t now_ms);

// Checks a presented key at `now_ms`. Every refusal (malformed, unknown id, wrong secret,
// revoked, expired) is the same ErrorKind::Unauthorized error with the same public message,
// so a caller cannot probe which; `detail` says which for the log (never the secret). The
// hash comparison is constant-time (CRYPTO_memcmp). A store failure is Internal.
Result<KeyInfo> verify(KeyStore& store, std::string_view presented, std::int64_t now_ms);

// The check behind verify() and KeyCache::verify(), once the record of `parsed.key_id` has
// been looked up: `record` is that record, or nullptr for an unknown id (which still costs one
// HMAC and one constant-time comparison). Refusals are unauthorized(detail), as for verify().
Result<KeyInfo> check_record(const KeyRecord* record, const ParsedKey& parsed,
                             std::int64_t now_ms);

// The one refusal every verify() failure returns.
Error unauthorized(std::string detail);

// The key a client sent: `Authorization: Bearer <key>` first, else `x-api-key: <key>`
// (either may be empty = absent). nullopt when neither carries one.
std::optional<std::string_view> presented_key(std::string_view authorization,
                                              std::string_view x_api_key);

// --expires: "" (never), "<n>d" / "<n>h" (from now), "YYYY-MM-DD" (end of that day is NOT
// included: the key expires at 00:00 UTC of that date) or "YYYY-MM-DDTHH:MM:SSZ". Returns the
// expiry in Unix ms (0 = never) or InvalidRequest.
Result<std::int64_t> parse_expiry(std::string_view text, std::int64_t now_ms);

// Lower-case hex of raw bytes and back (nullopt on bad hex).
std::string to_hex(std::string_view bytes);
std::optional<std::string> from_hex(std::string_view hex);

}  // namespace sy::policy
