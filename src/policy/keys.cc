// Virtual API keys: format, hashing, verification and the SQL/in-memory key stores.
//
// Why a fast hash is sound here: password hashing (bcrypt, scrypt, Argon2) is slow because
// passwords are guessable; an attacker holding the hashes tries a dictionary. Our secrets are
// not chosen by people: 32 base62 characters from RAND_bytes, ~190 bits (32 * log2(62)). No
// dictionary exists and brute force over 2^190 is out of reach at any hash speed, so a slow
// KDF would only add latency to every request. The per-key random salt (16 bytes) keeps equal
// secrets from having equal hashes and rules out precomputed tables across databases.

#include "policy/keys.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <stdexcept>

#include "ledger/sql_db.h"

namespace sy::policy {
namespace {

constexpr std::string_view kAlphabet =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
static_assert(kAlphabet.size() == 62);
constexpr std::size_t kHashBytes = 32;

constexpr std::string_view kPublicMessage = "Invalid API key.";

constexpr std::int64_t kMsPerHour = 3'600'000;
constexpr std::int64_t kMsPerDay = 24 * kMsPerHour;

bool is_base62(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

Error internal(std::string detail) {
  Error e = make_error(ErrorKind::Internal, "key store error");
  e.detail = std::move(detail);
  return e;
}

// `n` base62 characters, uniformly distributed: bytes >= 248 (= 4 * 62) are rejected so that
// `b % 62` has no bias.
Result<std::string> random_base62(std::size_t n) {
  std::string out;
  out.reserve(n);
  std::array<unsigned char, 64> buf{};
  while (out.size() < n) {
    if (RAND_bytes(buf.data(), static_cast<int>(buf.size())) != 1) {
      return internal("RAND_bytes failed");
    }
    for (const unsigned char b : buf) {
      if (b < 248 && out.size() < n) {
        out.push_back(kAlphabet[b % 62]);
      }
    }
  }
  OPENSSL_cleanse(buf.data(), buf.size());
  return out;
}

Result<std::string> random_bytes(std::size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    return internal("RAND_bytes failed");
  }
  return out;
}

std::optional<std::int64_t> parse_digits(std::string_view text) {
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty() || text[0] == '-' ||
      text[0] == '+') {
    return std::nullopt;
  }
  return v;
}

// Unix ms of a UTC civil date and time, or nullopt if the date does not exist.
std::optional<std::int64_t> civil_ms(int y, unsigned m, unsigned d, int hh, int mm, int ss) {
  using namespace std::chrono;
  const year_month_day ymd{year{y}, month{m}, day{d}};
  if (!ymd.ok() || hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 59) {
    return std::nullopt;
  }
  const auto days_since = sys_days{ymd}.time_since_epoch().count();
  return static_cast<std::int64_t>(days_since) * kMsPerDay + hh * kMsPerHour +
         static_cast<std::int64_t>(mm) * 60'000 + static_cast<std::int64_t>(ss) * 1'000;
}

std::optional<int> field(std::string_view text, std::size_t pos, std::size_t len) {
  if (pos + len > text.size()) {
    return std::nullopt;
  }
  const auto part = text.substr(pos, len);
  if (!std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  const auto v = parse_digits(part);
  return v ? std::optional<int>(static_cast<int>(*v)) : std::nullopt;
}

Error bad_expiry(std::string_view text) {
  return make_error(ErrorKind::InvalidRequest,
                    "--expires: \"" + std::string(text) +
                        "\" is not a duration (30d, 12h), a date (YYYY-MM-DD) or a UTC time "
                        "(YYYY-MM-DDTHH:MM:SSZ)");
}

// A database row in SELECT order (see kSelect) to a record.
constexpr std::string_view kSelect =
    "SELECT key_id, tenant, name, salt, hash, created_ms, expires_ms, revoked_ms FROM "
    "virtual_keys";

Result<KeyRecord> record_of(const ledger::SqlDb::Row& row) {
  if (row.size() != 8 || !std::all_of(row.begin(), row.end(), [](const auto& c) {
        return c.has_value();
      })) {
    return internal("virtual_keys: unexpected row shape");
  }
  KeyRecord r;
  r.key_id = *row[0];
  r.tenant = *row[1];
  r.name = *row[2];
  auto salt = from_hex(*row[3]);
  auto hash = from_hex(*row[4]);
  const auto created = parse_digits(*row[5]);
  const auto expires = parse_digits(*row[6]);
  const auto revoked = parse_digits(*row[7]);
  if (!salt || !hash || !created || !expires || !revoked) {
    return internal("virtual_keys: bad values in row of key " + r.key_id);
  }
  r.salt = std::move(*salt);
  r.hash = std::move(*hash);
  r.created_ms = *created;
  r.expires_ms = *expires;
  r.revoked_ms = *revoked;
  return r;
}

void sort_records(std::vector<KeyRecord>& records) {
  // Bytewise in C++, so that SQLite and PostgreSQL (whatever its collation) agree.
  std::sort(records.begin(), records.end(), [](const KeyRecord& a, const KeyRecord& b) {
    return a.created_ms != b.created_ms ? a.created_ms < b.created_ms : a.key_id < b.key_id;
  });
}

}  // namespace

// --- format and hashing ---------------------------------------------------------------------

std::optional<ParsedKey> parse_key(std::string_view presented) {
  if (presented.size() != kKeyLength || presented.substr(0, kKeyPrefix.size()) != kKeyPrefix) {
    return std::nullopt;
  }
  const std::string_view id = presented.substr(kKeyPrefix.size(), kKeyIdLength);
  const std::size_t sep = kKeyPrefix.size() + kKeyIdLength;
  const std::string_view secret = presented.substr(sep + 1);
  if (presented[sep] != '_' || !std::all_of(id.begin(), id.end(), is_base62) ||
      !std::all_of(secret.begin(), secret.end(), is_base62)) {
    return std::nullopt;
  }
  return ParsedKey{id, secret};
}

namespace {

// HMAC-SHA256 with the algorithm fetched once per thread. HMAC() (EVP_Q_mac) looks the MAC and
// the digest up by name on every call: that lookup was most of a key check's cost on the
// request path (bench cell c-tenant). The context is re-keyed with each salt.
class HmacSha256 {
 public:
  HmacSha256() {
    mac_ = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    ctx_ = mac_ != nullptr ? EVP_MAC_CTX_new(mac_) : nullptr;
    if (ctx_ != nullptr) {
      char digest[] = "SHA256";
      const OSSL_PARAM params[] = {
          OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
          OSSL_PARAM_construct_end()};
      ok_ = EVP_MAC_CTX_set_params(ctx_, params) == 1;
    }
  }
  ~HmacSha256() {
    EVP_MAC_CTX_free(ctx_);
    EVP_MAC_free(mac_);
  }
  HmacSha256(const HmacSha256&) = delete;
  HmacSha256& operator=(const HmacSha256&) = delete;

  // The MAC of `message` keyed with `key`; "" on failure (never matches a stored hash).
  std::string compute(std::string_view key, std::string_view message) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
    std::size_t len = 0;
    if (!ok_ ||
        EVP_MAC_init(ctx_, reinterpret_cast<const unsigned char*>(key.data()), key.size(),
                     nullptr) != 1 ||
        EVP_MAC_update(ctx_, reinterpret_cast<const unsigned char*>(message.data()),
                       message.size()) != 1 ||
        EVP_MAC_final(ctx_, out.data(), &len, out.size()) != 1) {
      return {};
    }
    return std::string(reinterpret_cast<const char*>(out.data()), len);
  }

 private:
  EVP_MAC* mac_ = nullptr;
  EVP_MAC_CTX* ctx_ = nullptr;
  bool ok_ = false;
};

}  // namespace

std::string hash_secret(std::string_view salt, std::string_view secret) {
  thread_local HmacSha256 hmac;
  std::string out = hmac.compute(salt, secret);
  if (out.size() != kHashBytes) {
    // Cannot happen with a working libcrypto; an empty hash never matches a stored one.
    return {};
  }
  return out;
}

bool valid_tenant(std::string_view tenant) {
  return !tenant.empty() && tenant.size() <= kMaxTenantLength &&
         std::all_of(tenant.begin(), tenant.end(),
                     [](char c) { return is_base62(c) || c == '-' || c == '_' || c == '.'; });
}

bool valid_key_name(std::string_view name) {
  return name.size() <= kMaxNameLength &&
         std::all_of(name.begin(), name.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

std::string to_hex(std::string_view bytes) {
  constexpr std::string_view kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xf]);
  }
  return out;
}

std::optional<std::string> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) {
    return std::nullopt;
  }
  const auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') {
      return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
      return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
      return c - 'A' + 10;
    }
    return -1;
  };
  std::string out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int hi = nibble(hex[i]);
    const int lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) {
      return std::nullopt;
    }
    out.push_back(static_cast<char>((hi << 4) | lo));
  }
  return out;
}

// --- create and verify ----------------------------------------------------------------------

Result<CreatedKey> create_key(KeyStore& store, std::string_view tenant, std::string_view name,
                              std::int64_t expires_ms, std::int64_t now_ms) {
  if (!valid_tenant(tenant)) {
    return make_error(ErrorKind::InvalidRequest,
                      "tenant: 1 to 64 letters, digits, '-', '_' or '.'");
  }
  if (!valid_key_name(name)) {
    return make_error(ErrorKind::InvalidRequest,
                      "name: up to 128 printable ASCII characters");
  }
  if (expires_ms != 0 && expires_ms <= now_ms) {
    return make_error(ErrorKind::InvalidRequest, "expiry: must be in the future");
  }
  auto id = random_base62(kKeyIdLength);
  auto secret = random_base62(kSecretLength);
  auto salt = random_bytes(kSaltBytes);
  if (!id || !secret || !salt) {
    return internal("RAND_bytes failed");
  }
  CreatedKey created;
  created.record.key_id = *id;
  created.record.tenant = std::string(tenant);
  created.record.name = std::string(name);
  created.record.salt = std::move(*salt);
  created.record.hash = hash_secret(created.record.salt, *secret);
  created.record.created_ms = now_ms;
  created.record.expires_ms = expires_ms;
  created.key = std::string(kKeyPrefix) + *id + "_" + *secret;
  OPENSSL_cleanse(secret->data(), secret->size());
  if (created.record.hash.size() != kHashBytes) {
    return internal("HMAC-SHA256 failed");
  }
  if (auto r = store.create(created.record); !r) {
    return r.error();
  }
  return created;
}

Error unauthorized(std::string detail) {
  Error e = make_error(ErrorKind::Unauthorized, std::string(kPublicMessage), "invalid_api_key");
  e.detail = std::move(detail);
  return e;
}

Result<KeyInfo> check_record(const KeyRecord* record, const ParsedKey& parsed,
                             std::int64_t now_ms) {
  // An unknown id still costs one HMAC and one comparison, so that it takes as long as a
  // known id with a wrong secret.
  static const std::string kDummySalt(kSaltBytes, '\0');
  static const std::string kDummyHash(kHashBytes, '\0');
  const std::string& salt = record != nullptr ? record->salt : kDummySalt;
  const std::string& stored = record != nullptr && record->hash.size() == kHashBytes
                                  ? record->hash
                                  : kDummyHash;
  const std::string computed = hash_secret(salt, parsed.secret);
  const bool equal = computed.size() == kHashBytes &&
                     CRYPTO_memcmp(computed.data(), stored.data(), kHashBytes) == 0;
  if (record == nullptr) {
    return unauthorized("unknown key id " + std::string(parsed.key_id));
  }
  if (!equal || record->hash.size() != kHashBytes) {
    return unauthorized("wrong secret for key id " + record->key_id);
  }
  if (record->revoked_ms != 0) {
    return unauthorized("revoked key id " + record->key_id);
  }
  if (record->expires_ms != 0 && now_ms >= record->expires_ms) {
    return unauthorized("expired key id " + record->key_id);
  }
  return KeyInfo{record->key_id, record->tenant, record->name, record->expires_ms};
}

Result<KeyInfo> verify(KeyStore& store, std::string_view presented, std::int64_t now_ms) {
  const auto parsed = parse_key(presented);
  if (!parsed) {
    return unauthorized("malformed key");
  }
  auto found = store.find_by_id(parsed->key_id);
  if (!found) {
    return found.error();  // a store failure is ours (500), not the client's
  }
  return check_record(found->has_value() ? &**found : nullptr, *parsed, now_ms);
}

std::optional<std::string_view> presented_key(std::string_view authorization,
                                              std::string_view x_api_key) {
  const auto trim = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
      s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
      s.remove_suffix(1);
    }
    return s;
  };
  authorization = trim(authorization);
  constexpr std::string_view kBearer = "bearer ";
  if (authorization.size() > kBearer.size() &&
      std::equal(kBearer.begin(), kBearer.end(), authorization.begin(), [](char a, char b) {
        return a == (b >= 'A' && b <= 'Z' ? static_cast<char>(b - 'A' + 'a') : b);
      })) {
    const auto token = trim(authorization.substr(kBearer.size()));
    if (!token.empty()) {
      return token;
    }
  }
  x_api_key = trim(x_api_key);
  if (!x_api_key.empty()) {
    return x_api_key;
  }
  return std::nullopt;
}

Result<std::int64_t> parse_expiry(std::string_view text, std::int64_t now_ms) {
  if (text.empty() || text == "never") {
    return std::int64_t{0};
  }
  const char unit = text.back();
  if (unit == 'd' || unit == 'h') {
    const auto n = parse_digits(text.substr(0, text.size() - 1));
    if (!n || *n <= 0 || *n > 36'500 * 24) {
      return bad_expiry(text);
    }
    return now_ms + *n * (unit == 'd' ? kMsPerDay : kMsPerHour);
  }
  const auto y = field(text, 0, 4);
  const auto m = field(text, 5, 2);
  const auto d = field(text, 8, 2);
  if (!y || !m || !d || text[4] != '-' || text[7] != '-') {
    return bad_expiry(text);
  }
  std::optional<std::int64_t> ms;
  if (text.size() == 10) {
    ms = civil_ms(*y, static_cast<unsigned>(*m), static_cast<unsigned>(*d), 0, 0, 0);
  } else if (text.size() == 20 && (text[10] == 'T' || text[10] == 't') && text[13] == ':' &&
             text[16] == ':' && (text[19] == 'Z' || text[19] == 'z')) {
    const auto hh = field(text, 11, 2);
    const auto mi = field(text, 14, 2);
    const auto ss = field(text, 17, 2);
    if (hh && mi && ss) {
      ms = civil_ms(*y, static_cast<unsigned>(*m), static_cast<unsigned>(*d), *hh, *mi, *ss);
    }
  }
  if (!ms) {
    return bad_expiry(text);
  }
  return *ms;
}

// --- SqlKeyStore ----------------------------------------------------------------------------

SqlKeyStore::SqlKeyStore(std::unique_ptr<ledger::SqlDb> db) : db_(std::move(db)) {}
SqlKeyStore::~SqlKeyStore() = default;

Result<void> SqlKeyStore::create(const KeyRecord& record) {
  auto r = db_->query(
      "INSERT INTO virtual_keys (key_id, tenant, name, salt, hash, created_ms, expires_ms, "
      "revoked_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
      {record.key_id, record.tenant, record.name, to_hex(record.salt), to_hex(record.hash),
       std::to_string(record.created_ms), std::to_string(record.expires_ms),
       std::to_string(record.revoked_ms)});
  if (!r) {
    return r.error();
  }
  return {};
}

Result<std::vector<KeyRecord>> SqlKeyStore::list(const std::optional<std::string>& tenant) {
  auto rows = tenant ? db_->query(std::string(kSelect) + " WHERE tenant = $1", {*tenant})
                     : db_->query(std::string(kSelect), {});
  if (!rows) {
    return rows.error();
  }
  std::vector<KeyRecord> out;
  out.reserve(rows->size());
  for (const auto& row : *rows) {
    auto record = record_of(row);
    if (!record) {
      return record.error();
    }
    out.push_back(std::move(*record));
  }
  sort_records(out);
  return out;
}

Result<RevokeOutcome> SqlKeyStore::revoke(std::string_view key_id, std::int64_t now_ms) {
  auto rows = db_->query(
      "UPDATE virtual_keys SET revoked_ms = $2 WHERE key_id = $1 AND revoked_ms = 0 "
      "RETURNING key_id",
      {std::string(key_id), std::to_string(std::max<std::int64_t>(now_ms, 1))});
  if (!rows) {
    return rows.error();
  }
  if (!rows->empty()) {
    return RevokeOutcome::Revoked;
  }
  auto found = find_by_id(key_id);
  if (!found) {
    return found.error();
  }
  return found->has_value() ? RevokeOutcome::AlreadyRevoked : RevokeOutcome::NotFound;
}

Result<std::optional<KeyRecord>> SqlKeyStore::find_by_id(std::string_view key_id) {
  auto rows = db_->query(std::string(kSelect) + " WHERE key_id = $1", {std::string(key_id)});
  if (!rows) {
    return rows.error();
  }
  if (rows->empty()) {
    return std::optional<KeyRecord>{};
  }
  auto record = record_of(rows->front());
  if (!record) {
    return record.error();
  }
  return std::optional<KeyRecord>(std::move(*record));
}

std::unique_ptr<KeyStore> open_key_store(const std::string& url) {
  return std::make_unique<SqlKeyStore>(ledger::open_sql_db(url));
}

// --- MemoryKeyStore -------------------------------------------------------------------------

Result<void> MemoryKeyStore::create(const KeyRecord& record) {
  const std::lock_guard lock(mu_);
  if (!records_.emplace(record.key_id, record).second) {
    return internal("duplicate key id " + record.key_id);
  }
  return {};
}

Result<std::vector<KeyRecord>> MemoryKeyStore::list(const std::optional<std::string>& tenant) {
  const std::lock_guard lock(mu_);
  std::vector<KeyRecord> out;
  for (const auto& [id, record] : records_) {
    if (!tenant || record.tenant == *tenant) {
      out.push_back(record);
    }
  }
  sort_records(out);
  return out;
}

Result<RevokeOutcome> MemoryKeyStore::revoke(std::string_view key_id, std::int64_t now_ms) {
  const std::lock_guard lock(mu_);
  const auto it = records_.find(key_id);
  if (it == records_.end()) {
    return RevokeOutcome::NotFound;
  }
  if (it->second.revoked_ms != 0) {
    return RevokeOutcome::AlreadyRevoked;
  }
  it->second.revoked_ms = std::max<std::int64_t>(now_ms, 1);
  return RevokeOutcome::Revoked;
}

Result<std::optional<KeyRecord>> MemoryKeyStore::find_by_id(std::string_view key_id) {
  const std::lock_guard lock(mu_);
  const auto it = records_.find(key_id);
  if (it == records_.end()) {
    return std::optional<KeyRecord>{};
  }
  return std::optional<KeyRecord>(it->second);
}

}  // namespace sy::policy
