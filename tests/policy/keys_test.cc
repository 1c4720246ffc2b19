// Virtual keys: format, create/verify/revoke/expire, and what the database holds. The store
// suite runs against SQLite (a temp file) and PostgreSQL (SY_TEST_PG_URL, a fresh schema per
// test). Without SY_TEST_PG_URL the PostgreSQL tests are skipped, or fail when CI is set.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <type_traits>

#include "ledger/sql_db.h"
#include "ledger/test_stores.h"
#include "policy/keys.h"

namespace sy::policy {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace sy::ledger::testing;

constexpr std::int64_t kNow = 1'700'000'000'000;  // 2023-11-14T22:13:20Z
constexpr std::int64_t kDay = 86'400'000;

// --- format, parsing, helpers (no store) ----------------------------------------------------

TEST(KeyFormat, ParseAcceptsOnlyTheExactShape) {
  const std::string id = "AbCdEf012345";
  const std::string secret = "0123456789abcdefghijABCDEFGHIJxy";
  const std::string key = "sk-sy-" + id + "_" + secret;
  const auto parsed = parse_key(key);  // views into `key`
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->key_id, id);
  EXPECT_EQ(parsed->secret, secret);
  for (const std::string& bad : std::vector<std::string>{
           std::string(), "sk-sy-", "sk-sy-" + id + "_" + secret + "z",
        "sk-sy-" + id + "_" + secret.substr(1), "sk-xx-" + id + "_" + secret,
        "sk-sy-" + id + "-" + secret, "sk-sy-AbCdEf01234!_" + secret,
        "sk-sy-" + id + "_" + secret.substr(0, 31) + "/", "Bearer sk-sy-" + id + "_" + secret}) {
    EXPECT_FALSE(parse_key(bad)) << bad;
  }
}

TEST(KeyFormat, HashIsHmacSha256OfTheSecretKeyedWithTheSalt) {
  // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
  EXPECT_EQ(to_hex(hash_secret("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_NE(hash_secret("salt-1", "secret"), hash_secret("salt-2", "secret"));
}

TEST(KeyFormat, HexRoundTrips) {
  const std::string bytes("\x00\x01\x7f\x80\xff", 5);
  EXPECT_EQ(to_hex(bytes), "00017f80ff");
  EXPECT_EQ(from_hex("00017F80ff"), bytes);
  EXPECT_FALSE(from_hex("0"));
  EXPECT_FALSE(from_hex("zz"));
}

TEST(KeyFormat, TenantAndNameRules) {
  EXPECT_TRUE(valid_tenant("team-a_1.prod"));
  EXPECT_FALSE(valid_tenant(""));
  EXPECT_FALSE(valid_tenant("a b"));
  EXPECT_FALSE(valid_tenant("a/b"));
  EXPECT_FALSE(valid_tenant(std::string(65, 'a')));
  EXPECT_TRUE(valid_key_name(""));
  EXPECT_TRUE(valid_key_name("CI deploy key (staging)"));
  EXPECT_FALSE(valid_key_name("line\nbreak"));
  EXPECT_FALSE(valid_key_name(std::string(129, 'n')));
}

TEST(KeyFormat, ExpiryForms) {
  EXPECT_EQ(parse_expiry("", kNow).value(), 0);
  EXPECT_EQ(parse_expiry("never", kNow).value(), 0);
  EXPECT_EQ(parse_expiry("30d", kNow).value(), kNow + 30 * kDay);
  EXPECT_EQ(parse_expiry("12h", kNow).value(), kNow + 12 * 3'600'000);
  EXPECT_EQ(parse_expiry("2024-01-01", kNow).value(), 1'704'067'200'000);
  EXPECT_EQ(parse_expiry("2024-01-01T00:00:01Z", kNow).value(), 1'704'067'201'000);
  for (const char* bad : {"0d", "-3d", "d", "30x", "2024-02-30", "2024-1-01", "2024-01-01T25:00:00Z",
                          "2024-01-01 00:00:00", "tomorrow"}) {
    const auto r = parse_expiry(bad, kNow);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().kind, ErrorKind::InvalidRequest);
  }
}

TEST(KeyFormat, PresentedKeyFromBearerOrXApiKey) {
  EXPECT_EQ(presented_key("Bearer sk-sy-abc", "").value(), "sk-sy-abc");
  EXPECT_EQ(presented_key("bearer  sk-sy-abc ", "").value(), "sk-sy-abc");
  EXPECT_EQ(presented_key("", "sk-sy-xyz").value(), "sk-sy-xyz");
  EXPECT_EQ(presented_key("Bearer sk-sy-abc", "sk-sy-xyz").value(), "sk-sy-abc");
  EXPECT_EQ(presented_key("Basic dXNlcjpwYXNz", "sk-sy-xyz").value(), "sk-sy-xyz");
  EXPECT_FALSE(presented_key("", ""));
  EXPECT_FALSE(presented_key("Bearer ", " "));
}

// --- the store suite: SQLite and PostgreSQL -------------------------------------------------

using SqliteBackend = SqliteDb;
using PostgresBackend = PostgresDb;

template <typename Backend>
class KeyStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if constexpr (std::is_same_v<Backend, PostgresBackend>) {
      if (!pg_available("key store")) {
        return;
      }
    }
    url_ = backend_.setup();
    store_ = open_key_store(url_);  // migrates the ledger schema, virtual_keys included
  }
  void TearDown() override {
    store_.reset();
    backend_.teardown();
  }

  CreatedKey create(std::string tenant = "acme", std::string name = "ci",
                    std::int64_t expires_ms = 0) {
    auto created = create_key(*store_, tenant, name, expires_ms, kNow);
    EXPECT_TRUE(created) << (created ? "" : created.error().detail);
    return created.value();
  }

  // The same refusal for every failure: kind, public message and code.
  static void expect_refused(const Result<KeyInfo>& r, std::string_view why) {
    ASSERT_FALSE(r) << why;
    EXPECT_EQ(r.error().kind, ErrorKind::Unauthorized) << why;
    EXPECT_EQ(r.error().public_message, "Invalid API key.") << why;
    EXPECT_EQ(r.error().code, "invalid_api_key") << why;
    EXPECT_EQ(http_status(r.error()), 401) << why;
  }

  Backend backend_;
  std::string url_;
  std::unique_ptr<KeyStore> store_;
};

using Backends = ::testing::Types<SqliteBackend, PostgresBackend>;
class BackendNames {
 public:
  template <typename T>
  static std::string GetName(int) {
    return std::is_same_v<T, SqliteBackend> ? "Sqlite" : "Postgres";
  }
};
TYPED_TEST_SUITE(KeyStoreTest, Backends, BackendNames);

TYPED_TEST(KeyStoreTest, CreateThenVerify) {
  const CreatedKey created = this->create("acme", "ci deploy");
  ASSERT_EQ(created.key.size(), kKeyLength);
  const auto parsed = parse_key(created.key);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->key_id, created.record.key_id);

  const auto info = verify(*this->store_, created.key, kNow + 1);
  ASSERT_TRUE(info) << info.error().detail;
  EXPECT_EQ(info->key_id, created.record.key_id);
  EXPECT_EQ(info->tenant, "acme");
  EXPECT_EQ(info->name, "ci deploy");
  EXPECT_EQ(info->expires_ms, 0);

  // A second store on the same database (another replica, the CLI) sees it too.
  auto other = open_key_store(this->url_);
  EXPECT_TRUE(verify(*other, created.key, kNow + 1));
}

TYPED_TEST(KeyStoreTest, EveryRefusalLooksTheSame) {
  const CreatedKey created = this->create();
  const std::string id = created.record.key_id;
  const std::string secret = created.key.substr(created.key.size() - kSecretLength);

  std::string wrong_secret = created.key;
  wrong_secret.back() = wrong_secret.back() == 'a' ? 'b' : 'a';
  this->expect_refused(verify(*this->store_, wrong_secret, kNow), "wrong secret");

  std::string unknown_id = created.key;
  unknown_id[kKeyPrefix.size()] = unknown_id[kKeyPrefix.size()] == 'a' ? 'b' : 'a';
  this->expect_refused(verify(*this->store_, unknown_id, kNow), "unknown id");

  this->expect_refused(verify(*this->store_, "", kNow), "empty");
  this->expect_refused(verify(*this->store_, "sk-sy-" + id, kNow), "no secret");
  this->expect_refused(verify(*this->store_, created.key + "x", kNow), "too long");
  this->expect_refused(verify(*this->store_, "Bearer " + created.key, kNow), "not stripped");
  this->expect_refused(verify(*this->store_, secret, kNow), "secret alone");

  // The detail (for the log) says which, and never carries the secret.
  const auto r = verify(*this->store_, wrong_secret, kNow);
  EXPECT_THAT(r.error().detail, HasSubstr("wrong secret"));
  EXPECT_THAT(r.error().detail, Not(HasSubstr(secret)));
  EXPECT_THAT(r.error().public_message, Not(HasSubstr(id)));
}

TYPED_TEST(KeyStoreTest, RevokedKeyIsRefused) {
  const CreatedKey created = this->create();
  const CreatedKey other = this->create();
  EXPECT_EQ(this->store_->revoke(created.record.key_id, kNow + 10).value(),
            RevokeOutcome::Revoked);
  this->expect_refused(verify(*this->store_, created.key, kNow + 11), "revoked");
  EXPECT_THAT(verify(*this->store_, created.key, kNow + 11).error().detail, HasSubstr("revoked"));
  EXPECT_TRUE(verify(*this->store_, other.key, kNow + 11));  // only that one

  EXPECT_EQ(this->store_->revoke(created.record.key_id, kNow + 20).value(),
            RevokeOutcome::AlreadyRevoked);
  EXPECT_EQ(this->store_->revoke("NoSuchKey000", kNow).value(), RevokeOutcome::NotFound);
  const auto record = this->store_->find_by_id(created.record.key_id).value();
  ASSERT_TRUE(record);
  EXPECT_EQ(record->revoked_ms, kNow + 10);  // the first revocation's time is kept
}

TYPED_TEST(KeyStoreTest, ExpiredKeyIsRefused) {
  const CreatedKey created = this->create("acme", "short", kNow + kDay);
  EXPECT_TRUE(verify(*this->store_, created.key, kNow + kDay - 1));
  this->expect_refused(verify(*this->store_, created.key, kNow + kDay), "expired at");
  this->expect_refused(verify(*this->store_, created.key, kNow + 2 * kDay), "expired after");

  const auto past = create_key(*this->store_, "acme", "", kNow - 1, kNow);
  ASSERT_FALSE(past);
  EXPECT_EQ(past.error().kind, ErrorKind::InvalidRequest);
}

TYPED_TEST(KeyStoreTest, DatabaseRowsHoldNeitherTheSecretNorTheKey) {
  std::vector<CreatedKey> keys;
  for (int i = 0; i < 3; ++i) {
    keys.push_back(this->create("tenant-" + std::to_string(i), "key " + std::to_string(i),
                                i == 0 ? 0 : kNow + kDay));
  }
  ASSERT_TRUE(this->store_->revoke(keys[1].record.key_id, kNow + 5));

  // Every column of every row, read straight from the database as text.
  auto db = ledger::open_sql_db(this->url_);
  const auto rows = db->query("SELECT * FROM virtual_keys", {}).value();
  ASSERT_EQ(rows.size(), keys.size());
  for (const CreatedKey& k : keys) {
    const std::string secret = k.key.substr(k.key.size() - kSecretLength);
    ASSERT_EQ(secret.size(), kSecretLength);
    for (const auto& row : rows) {
      for (const auto& cell : row) {
        const std::string text = cell.value_or("");
        EXPECT_THAT(text, Not(HasSubstr(k.key)));
        EXPECT_THAT(text, Not(HasSubstr(secret)));
        EXPECT_THAT(text, Not(HasSubstr(to_hex(secret))));
        EXPECT_THAT(text, Not(HasSubstr(secret.substr(0, 16))));  // no part of it either
        EXPECT_THAT(text, Not(HasSubstr(secret.substr(16))));
      }
    }
  }
  // And what is there is the salted hash: recomputing it from the salt needs the secret.
  const auto record = this->store_->find_by_id(keys[0].record.key_id).value().value();
  EXPECT_EQ(record.salt.size(), kSaltBytes);
  EXPECT_EQ(record.hash,
            hash_secret(record.salt, keys[0].key.substr(keys[0].key.size() - kSecretLength)));
}

TYPED_TEST(KeyStoreTest, EveryKeyGetsItsOwnSaltIdAndSecret) {
  std::set<std::string> salts;
  std::set<std::string> ids;
  std::set<std::string> hashes;
  for (int i = 0; i < 8; ++i) {
    const CreatedKey k = this->create();
    salts.insert(k.record.salt);
    ids.insert(k.record.key_id);
    hashes.insert(k.record.hash);
  }
  EXPECT_EQ(salts.size(), 8u);
  EXPECT_EQ(ids.size(), 8u);
  EXPECT_EQ(hashes.size(), 8u);
  // Stored as created.
  for (const auto& r : this->store_->list(std::nullopt).value()) {
    EXPECT_EQ(salts.count(r.salt), 1u);
  }
}

TYPED_TEST(KeyStoreTest, ListShowsRecordsWithoutSecrets) {
  const CreatedKey a = this->create("acme", "one");
  const CreatedKey b = this->create("acme", "two", kNow + kDay);
  const CreatedKey c = this->create("globex", "three");
  ASSERT_TRUE(this->store_->revoke(b.record.key_id, kNow + 1));

  const auto all = this->store_->list(std::nullopt).value();
  ASSERT_EQ(all.size(), 3u);
  const auto acme = this->store_->list(std::string("acme")).value();
  ASSERT_EQ(acme.size(), 2u);
  for (const auto& r : acme) {
    EXPECT_EQ(r.tenant, "acme");
  }
  for (const auto& r : all) {
    EXPECT_EQ(r.created_ms, kNow);
    for (const CreatedKey* k : {&a, &b, &c}) {
      const std::string secret = k->key.substr(k->key.size() - kSecretLength);
      for (const std::string* field : {&r.key_id, &r.tenant, &r.name, &r.salt, &r.hash}) {
        EXPECT_THAT(*field, Not(HasSubstr(secret)));
      }
    }
    if (r.key_id == b.record.key_id) {
      EXPECT_EQ(r.expires_ms, kNow + kDay);
      EXPECT_EQ(r.revoked_ms, kNow + 1);
    } else {
      EXPECT_EQ(r.revoked_ms, 0);
    }
  }
  EXPECT_TRUE(this->store_->list(std::string("nobody")).value().empty());
}

TYPED_TEST(KeyStoreTest, BadTenantOrNameIsRefusedAtCreation) {
  for (const char* tenant : {"", "has space", "semi;colon", "quote'"}) {
    const auto r = create_key(*this->store_, tenant, "", 0, kNow);
    ASSERT_FALSE(r) << tenant;
    EXPECT_EQ(r.error().kind, ErrorKind::InvalidRequest);
  }
  EXPECT_FALSE(create_key(*this->store_, "acme", "tab\there", 0, kNow));
  EXPECT_TRUE(this->store_->list(std::nullopt).value().empty());
}

// The in-memory store behaves like the SQL ones (it is what request-path tests will use).
TEST(MemoryKeyStore, CreateVerifyRevoke) {
  MemoryKeyStore store;
  const auto created = create_key(store, "acme", "mem", kNow + kDay, kNow).value();
  EXPECT_EQ(verify(store, created.key, kNow).value().tenant, "acme");
  EXPECT_FALSE(verify(store, created.key, kNow + kDay));
  EXPECT_EQ(store.revoke(created.record.key_id, kNow).value(), RevokeOutcome::Revoked);
  EXPECT_EQ(verify(store, created.key, kNow).error().public_message, "Invalid API key.");
  EXPECT_EQ(store.revoke("nope", kNow).value(), RevokeOutcome::NotFound);
}

}  // namespace
}  // namespace sy::policy
