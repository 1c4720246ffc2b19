#pragma once
// AWS Signature Version 4 (header-based signing), pure: the time is injected, nothing is read
// from the clock or the environment. Section names refer to the AWS IAM User Guide, "Create a
// signed AWS API request" (Step 1 canonical request, Step 2 hash, Step 3 string to sign,
// Step 4 signature) and "Elements of an AWS API request signature".
//
// The caller signs the request exactly as it will be sent: the wire path (already
// percent-encoded, e.g. "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse"), the wire
// query string, the headers it will send (including host or, over HTTP/2, :authority) and the
// exact body bytes. The result says which headers to add.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace sy::auth {

struct HttpHeader {
  std::string name;
  std::string value;
  friend bool operator==(const HttpHeader&, const HttpHeader&) = default;
};

struct SigV4Request {
  std::string method;               // "POST"
  std::string raw_path;             // as sent on the wire, percent-encoded; no '?'
  std::string query;                // as sent on the wire, without the '?'; may be empty
  std::vector<HttpHeader> headers;  // any case, repeated names allowed, in wire order
  std::string_view body;            // the exact body bytes; must outlive the sign_v4 call
};

struct SigV4Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::optional<std::string> session_token;  // temporary credentials (STS)
};

struct SigV4Options {
  std::string region;   // "us-east-1"
  std::string service;  // "bedrock" (the signing name, not the endpoint prefix)
  // Remove "." / ".." segments and empty segments before encoding (the normalize-path cases
  // of the test suite). Off by default: a path is signed as sent.
  bool normalize_path = false;
  // Add and sign x-amz-content-sha256 (the Bedrock JS SDK does; S3 requires it).
  bool add_content_sha256_header = false;
  // Use this instead of hex(SHA-256(body)), e.g. "UNSIGNED-PAYLOAD".
  std::optional<std::string> payload_hash;
  // Lower-case names never signed, because intermediaries may change them (hop-by-hop and
  // tracing headers). The AWS SDKs leave these out too (user-agent is not signed; the SDK signs
  // x-amz-user-agent instead).
  std::vector<std::string> unsigned_headers = {
      "authorization", "connection",        "expect",  "keep-alive", "proxy-authorization", "te",
      "trailer",       "transfer-encoding", "upgrade", "user-agent", "x-amzn-trace-id"};
};

struct SigV4Result {
  std::string amz_date;           // "20150830T123600Z"
  std::string credential_scope;   // "20150830/us-east-1/service/aws4_request"
  std::string payload_hash;       // hex SHA-256 of the body (or the override)
  std::string canonical_request;  // Step 1
  std::string signed_headers;     // "host;x-amz-date"
  std::string string_to_sign;     // Step 3
  std::string signature;          // Step 4, lower-case hex
  std::string authorization;      // the Authorization header value
  // Headers to set on the request (replacing any of the same name), lower-case names, in this
  // order: x-amz-date, x-amz-content-sha256 (if asked), x-amz-security-token (if any),
  // authorization.
  std::vector<HttpHeader> headers_to_add;
};

// Signs `request`. Headers the signer owns (authorization, x-amz-date, and x-amz-content-sha256
// / x-amz-security-token when it adds them) are dropped from the input and re-made. Fails when
// credentials, region or service are empty, the path does not start with '/', or no host or
// :authority header is present.
Result<SigV4Result> sign_v4(const SigV4Request& request, const SigV4Credentials& credentials,
                            const SigV4Options& options, std::chrono::sys_seconds now);

// The pieces, exposed for tests and for a verifying fake upstream.

// Canonical URI: each byte of the wire path that is not unreserved (A-Z a-z 0-9 - . _ ~) or '/'
// is percent-encoded again, so "%3A" becomes "%253A" (non-S3 services double-encode).
std::string canonical_uri(std::string_view raw_path, bool normalize_path);
// Canonical query string: parameters decoded, re-encoded with the SigV4 rules, sorted by
// encoded name then encoded value, "name=value" joined with '&' (a bare "name" gets "name=").
std::string canonical_query(std::string_view raw_query);
// URI-encodes every byte except the unreserved set (upper-case hex), also encoding '/'.
std::string uri_encode(std::string_view bytes);
// "YYYYMMDDTHHMMSSZ" in UTC.
std::string format_amz_date(std::chrono::sys_seconds time);
// Parses "YYYYMMDDTHHMMSSZ"; nullopt if malformed.
std::optional<std::chrono::sys_seconds> parse_amz_date(std::string_view text);
// Lower-case hex SHA-256.
std::string sha256_hex(std::string_view bytes);
// Raw 32-byte HMAC-SHA-256.
std::string hmac_sha256(std::string_view key, std::string_view data);

}  // namespace sy::auth
