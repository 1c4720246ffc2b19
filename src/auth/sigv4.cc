#include "auth/sigv4.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <utility>

namespace sy::auth {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
constexpr std::string_view kTerminator = "aws4_request";
constexpr std::string_view kHexDigits = "0123456789abcdef";
constexpr std::string_view kUpperHexDigits = "0123456789ABCDEF";

// OpenSSL without SHA-256 or HMAC is a broken installation, not a request failure: crash
// (STYLE.md: crash on "should never happen" environment failures).
[[noreturn]] void openssl_failure(const char* what) {
  std::fprintf(stderr, "sigv4: OpenSSL %s failed\n", what);
  std::abort();
}

// Unreserved characters (RFC 3986 section 2.3), the only ones SigV4 never encodes.
bool is_unreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

void append_pct(std::string& out, unsigned char c) {
  out.push_back('%');
  out.push_back(kUpperHexDigits[c >> 4]);
  out.push_back(kUpperHexDigits[c & 0x0F]);
}

int hex_value(char c) {
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
}

// Decodes %XX escapes; a '%' not followed by two hex digits stays literal. '+' stays '+': SigV4
// does not use form encoding, and AWS's own signers treat '+' in a query as a literal plus.
std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const int hi = hex_value(s[i + 1]);
      const int lo = hex_value(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

std::string to_hex(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    out.push_back(kHexDigits[c >> 4]);
    out.push_back(kHexDigits[c & 0x0F]);
  }
  return out;
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

bool is_space(char c) { return c == ' ' || c == '\t'; }

// Step 1, CanonicalHeaders: "Trimall": drop leading and trailing whitespace and turn every run
// of inner whitespace into one space (the SDKs do this even inside quoted strings).
std::string trim_all(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  bool pending_space = false;
  for (char c : v) {
    if (is_space(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) {
      out.push_back(' ');
      pending_space = false;
    }
    out.push_back(c);
  }
  return out;
}

// RFC 3986 section 5.2.4 style dot-segment removal, plus dropping empty segments (what the
// test suite's normalize-path cases expect). A trailing '/' survives.
std::string normalize_path(std::string_view path) {
  std::vector<std::string_view> segments;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) {
      end = path.size();
    }
    const std::string_view seg = path.substr(start, end - start);
    if (seg == "..") {
      if (!segments.empty()) {
        segments.pop_back();
      }
    } else if (!seg.empty() && seg != ".") {
      segments.push_back(seg);
    }
    start = end + 1;
  }
  std::string out = "/";
  for (std::size_t i = 0; i < segments.size(); ++i) {
    if (i > 0) {
      out.push_back('/');
    }
    out.append(segments[i]);
  }
  if (!segments.empty() && !path.empty() && path.back() == '/') {
    out.push_back('/');
  }
  return out;
}

struct EvpMacCtxFree {
  void operator()(EVP_MAC_CTX* ctx) const { EVP_MAC_CTX_free(ctx); }
};

// Fetched once per process; EVP_MAC objects are immutable and safe to share between threads.
EVP_MAC* hmac_algorithm() {
  static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_HMAC, nullptr);
  if (mac == nullptr) {
    openssl_failure("EVP_MAC_fetch(HMAC)");
  }
  return mac;
}

Error signing_error(std::string detail) {
  Error e = make_error(ErrorKind::Internal, "request signing failed", "sigv4_invalid_input");
  e.detail = "sigv4: " + std::move(detail);
  return e;
}

struct CanonicalHeader {
  std::string name;  // lower-case
  std::string value;
};

}  // namespace

std::string uri_encode(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (char c : bytes) {
    if (is_unreserved(c)) {
      out.push_back(c);
    } else {
      append_pct(out, static_cast<unsigned char>(c));
    }
  }
  return out;
}

std::string canonical_uri(std::string_view raw_path, bool normalize) {
  if (raw_path.empty()) {
    return "/";
  }
  const std::string path = normalize ? normalize_path(raw_path) : std::string(raw_path);
  // Step 1, CanonicalURI: "URI-encode each path segment ... twice" for every service but S3.
  // The wire path is already encoded once, so encode it once more, keeping the separators.
  std::string out;
  out.reserve(path.size() + 8);
  for (char c : path) {
    if (c == '/' || is_unreserved(c)) {
      out.push_back(c);
    } else {
      append_pct(out, static_cast<unsigned char>(c));
    }
  }
  return out;
}

std::string canonical_query(std::string_view raw_query) {
  // Step 1, CanonicalQueryString: encode names and values, sort by name (then value, for
  // repeated names), "name=" for a parameter without a value.
  std::vector<std::pair<std::string, std::string>> params;
  std::size_t start = 0;
  while (start <= raw_query.size()) {
    std::size_t end = raw_query.find('&', start);
    if (end == std::string_view::npos) {
      end = raw_query.size();
    }
    const std::string_view item = raw_query.substr(start, end - start);
    if (!item.empty()) {
      const std::size_t eq = item.find('=');
      const std::string_view name = item.substr(0, eq);
      const std::string_view value =
          eq == std::string_view::npos ? std::string_view{} : item.substr(eq + 1);
      params.emplace_back(uri_encode(percent_decode(name)), uri_encode(percent_decode(value)));
    }
    start = end + 1;
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) {
      out.push_back('&');
    }
    out.append(name);
    out.push_back('=');
    out.append(value);
  }
  return out;
}

std::string format_amz_date(std::chrono::sys_seconds time) {
  const auto day = std::chrono::floor<std::chrono::days>(time);
  const std::chrono::year_month_day ymd{day};
  const std::chrono::hh_mm_ss hms{time - day};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d%02u%02uT%02d%02d%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

std::optional<std::chrono::sys_seconds> parse_amz_date(std::string_view text) {
  if (text.size() != 16 || text[8] != 'T' || text[15] != 'Z') {
    return std::nullopt;
  }
  auto number = [&](std::size_t at, std::size_t len) -> int {
    int v = 0;
    for (std::size_t i = at; i < at + len; ++i) {
      if (text[i] < '0' || text[i] > '9') {
        return -1;
      }
      v = v * 10 + (text[i] - '0');
    }
    return v;
  };
  const int y = number(0, 4);
  const int mo = number(4, 2);
  const int d = number(6, 2);
  const int h = number(9, 2);
  const int mi = number(11, 2);
  const int s = number(13, 2);
  if (y < 0 || mo < 0 || d < 0 || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59) {
    return std::nullopt;
  }
  const std::chrono::year_month_day ymd{std::chrono::year{y},
                                        std::chrono::month{static_cast<unsigned>(mo)},
                                        std::chrono::day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) {
    return std::nullopt;
  }
  return std::chrono::sys_days{ymd} + std::chrono::hours{h} + std::chrono::minutes{mi} +
         std::chrono::seconds{s};
}

std::string sha256_hex(std::string_view bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr) != 1) {
    openssl_failure("EVP_Digest(SHA-256)");
  }
  return to_hex(std::string_view(reinterpret_cast<const char*>(md), len));
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  std::unique_ptr<EVP_MAC_CTX, EvpMacCtxFree> ctx(EVP_MAC_CTX_new(hmac_algorithm()));
  if (!ctx) {
    openssl_failure("EVP_MAC_CTX_new");
  }
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_construct_end()};
  unsigned char out[EVP_MAX_MD_SIZE];
  std::size_t out_len = 0;
  if (EVP_MAC_init(ctx.get(), reinterpret_cast<const unsigned char*>(key.data()), key.size(),
                   params) != 1 ||
      EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(data.data()), data.size()) !=
          1 ||
      EVP_MAC_final(ctx.get(), out, &out_len, sizeof out) != 1) {
    openssl_failure("HMAC-SHA256");
  }
  return std::string(reinterpret_cast<const char*>(out), out_len);
}

Result<SigV4Result> sign_v4(const SigV4Request& request, const SigV4Credentials& credentials,
                            const SigV4Options& options, std::chrono::sys_seconds now) {
  if (credentials.access_key_id.empty() || credentials.secret_access_key.empty()) {
    return signing_error("empty access key id or secret access key");
  }
  if (options.region.empty() || options.service.empty()) {
    return signing_error("empty region or service");
  }
  if (request.method.empty()) {
    return signing_error("empty method");
  }
  if (!request.raw_path.empty() && request.raw_path.front() != '/') {
    return signing_error("path does not start with '/'");
  }

  SigV4Result r;
  r.amz_date = format_amz_date(now);
  const std::string date = r.amz_date.substr(0, 8);
  r.credential_scope =
      date + "/" + options.region + "/" + options.service + "/" + std::string(kTerminator);
  r.payload_hash = options.payload_hash ? *options.payload_hash : sha256_hex(request.body);
  const bool add_token = credentials.session_token.has_value();

  // Signer-owned headers from the input are dropped and re-made below.
  auto owned = [&](const std::string& lower) {
    return lower == "authorization" || lower == "x-amz-date" ||
           (options.add_content_sha256_header && lower == "x-amz-content-sha256") ||
           (add_token && lower == "x-amz-security-token");
  };
  std::vector<CanonicalHeader> headers;
  headers.reserve(request.headers.size() + 3);
  bool has_host = false;
  for (const auto& h : request.headers) {
    std::string lower = to_lower(h.name);
    if (lower == "host" || lower == ":authority") {
      has_host = true;
    }
    if (owned(lower) || std::find(options.unsigned_headers.begin(), options.unsigned_headers.end(),
                                  lower) != options.unsigned_headers.end()) {
      continue;
    }
    headers.push_back({std::move(lower), trim_all(h.value)});
  }
  if (!has_host) {
    return signing_error("no host or :authority header");
  }
  r.headers_to_add.push_back({"x-amz-date", r.amz_date});
  if (options.add_content_sha256_header) {
    r.headers_to_add.push_back({"x-amz-content-sha256", r.payload_hash});
  }
  if (add_token) {
    r.headers_to_add.push_back({"x-amz-security-token", *credentials.session_token});
  }
  for (const auto& h : r.headers_to_add) {
    headers.push_back({h.name, trim_all(h.value)});
  }
  // Sorted by lower-case name (byte order); repeated names keep their wire order and are
  // joined with ',' (Step 1, CanonicalHeaders).
  std::stable_sort(
      headers.begin(), headers.end(),
      [](const CanonicalHeader& a, const CanonicalHeader& b) { return a.name < b.name; });
  std::string canonical_headers;
  for (std::size_t i = 0; i < headers.size(); ++i) {
    if (i > 0 && headers[i].name == headers[i - 1].name) {
      canonical_headers.push_back(',');
      canonical_headers.append(headers[i].value);
      continue;
    }
    if (i > 0) {
      canonical_headers.push_back('\n');
      r.signed_headers.push_back(';');
    }
    canonical_headers.append(headers[i].name);
    canonical_headers.push_back(':');
    canonical_headers.append(headers[i].value);
    r.signed_headers.append(headers[i].name);
  }
  canonical_headers.push_back('\n');

  // Step 1: the canonical request.
  r.canonical_request = request.method + "\n" +
                        canonical_uri(request.raw_path, options.normalize_path) + "\n" +
                        canonical_query(request.query) + "\n" + canonical_headers + "\n" +
                        r.signed_headers + "\n" + r.payload_hash;
  // Steps 2 and 3: hash it into the string to sign.
  r.string_to_sign = std::string(kAlgorithm) + "\n" + r.amz_date + "\n" + r.credential_scope +
                     "\n" + sha256_hex(r.canonical_request);
  // Step 4: derive the signing key and sign.
  const std::string k_date = hmac_sha256("AWS4" + credentials.secret_access_key, date);
  const std::string k_region = hmac_sha256(k_date, options.region);
  const std::string k_service = hmac_sha256(k_region, options.service);
  const std::string k_signing = hmac_sha256(k_service, kTerminator);
  r.signature = to_hex(hmac_sha256(k_signing, r.string_to_sign));
  r.authorization = std::string(kAlgorithm) + " Credential=" + credentials.access_key_id + "/" +
                    r.credential_scope + ", SignedHeaders=" + r.signed_headers +
                    ", Signature=" + r.signature;
  r.headers_to_add.push_back({"authorization", r.authorization});
  return r;
}

}  // namespace sy::auth
