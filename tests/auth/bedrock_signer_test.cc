// Tests for auth/bedrock_signer.cc (make_signer): which providers get a SigV4 signer, the AWS
// JS SDK's captured request reproduced byte for byte (fixtures/sdk-requests/bedrock), and a
// round trip: sign a request, then verify it the way AWS does, rebuilt here from sigv4's
// building blocks (canonical_uri, canonical_query, sha256_hex, hmac_sha256).

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "auth/api_key.h"
#include "auth/sigv4.h"

namespace sy::auth {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string lower(std::string s) {
  for (char& c : s) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return s;
}

// All values of header `name` (any case).
std::vector<std::string> values(const Headers& headers, std::string_view name) {
  std::vector<std::string> out;
  for (const auto& [n, v] : headers) {
    if (lower(n) == name) {
      out.push_back(v);
    }
  }
  return out;
}

config::ProviderConfig bedrock_provider() {
  config::ProviderConfig p;
  p.name = "aws";
  p.type = "bedrock";
  p.region = "us-east-1";
  p.aws_access_key_id = "AKIDEXAMPLE";
  p.aws_secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  return p;
}

std::chrono::system_clock::time_point at(std::string_view amz_date) {
  const auto t = parse_amz_date(amz_date);
  EXPECT_TRUE(t.has_value());
  return t.value_or(std::chrono::sys_seconds{});
}

std::string hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (const char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    out += kHex[c >> 4];
    out += kHex[c & 0x0F];
  }
  return out;
}

// What a server does with a signed request: rebuild the canonical request from what arrived
// (the raw path, the headers named in SignedHeaders, the body), derive the signing key from the
// secret and compare signatures. Returns an empty string when it verifies, else the reason.
std::string verify(std::string_view method, std::string_view host, std::string_view target,
                   const Headers& headers, std::string_view body, std::string_view secret,
                   std::string* canonical_request_out = nullptr) {
  const auto auth = values(headers, "authorization");
  if (auth.size() != 1) {
    return "need exactly one authorization header";
  }
  const std::string& a = auth[0];
  const std::string prefix = "AWS4-HMAC-SHA256 Credential=";
  if (a.rfind(prefix, 0) != 0) {
    return "bad algorithm";
  }
  const std::size_t sh = a.find(", SignedHeaders=");
  const std::size_t sg = a.find(", Signature=");
  if (sh == std::string::npos || sg == std::string::npos) {
    return "bad authorization layout";
  }
  const std::string credential = a.substr(prefix.size(), sh - prefix.size());
  const std::string signed_headers = a.substr(sh + 16, sg - sh - 16);
  const std::string signature = a.substr(sg + 12);
  const std::string scope = credential.substr(credential.find('/') + 1);  // date/region/svc/..
  std::vector<std::string> scope_parts;
  for (std::size_t i = 0, j; i <= scope.size(); i = j + 1) {
    j = scope.find('/', i);
    if (j == std::string::npos) {
      j = scope.size();
    }
    scope_parts.push_back(scope.substr(i, j - i));
  }
  if (scope_parts.size() != 4 || scope_parts[3] != "aws4_request") {
    return "bad credential scope";
  }
  const auto date = values(headers, "x-amz-date");
  if (date.size() != 1 || date[0].substr(0, 8) != scope_parts[0]) {
    return "x-amz-date missing or not the scope's date";
  }
  const auto payload = values(headers, "x-amz-content-sha256");
  const std::string payload_hash = sha256_hex(body);
  if (payload.size() == 1 && payload[0] != payload_hash) {
    return "x-amz-content-sha256 is not the body's hash";
  }

  const std::size_t q = target.find('?');
  std::string creq = std::string(method) + "\n" +
                     canonical_uri(target.substr(0, q), false) + "\n" +
                     canonical_query(q == std::string_view::npos ? "" : target.substr(q + 1)) +
                     "\n";
  std::vector<std::string> names;
  for (std::size_t i = 0, j; i <= signed_headers.size(); i = j + 1) {
    j = signed_headers.find(';', i);
    if (j == std::string::npos) {
      j = signed_headers.size();
    }
    names.push_back(signed_headers.substr(i, j - i));
  }
  if (!std::is_sorted(names.begin(), names.end())) {
    return "SignedHeaders not sorted";
  }
  for (const auto& name : names) {
    const auto v = name == "host" ? std::vector<std::string>{std::string(host)}
                                  : values(headers, name);
    if (v.size() != 1) {
      return "signed header " + name + " missing or repeated";
    }
    creq += name + ":" + v[0] + "\n";
  }
  creq += "\n" + signed_headers + "\n" + payload_hash;
  if (canonical_request_out != nullptr) {
    *canonical_request_out = creq;
  }
  const std::string sts =
      "AWS4-HMAC-SHA256\n" + date[0] + "\n" + scope + "\n" + sha256_hex(creq);
  std::string key = hmac_sha256("AWS4" + std::string(secret), scope_parts[0]);
  key = hmac_sha256(key, scope_parts[1]);
  key = hmac_sha256(key, scope_parts[2]);
  key = hmac_sha256(key, "aws4_request");
  if (hex(hmac_sha256(key, sts)) != signature) {
    return "signature mismatch";
  }
  return {};
}

TEST(BedrockSigner, OnlyBedrockWithAwsCredentialsGetsASigner) {
  EXPECT_NE(make_signer(bedrock_provider()), nullptr);

  config::ProviderConfig p = bedrock_provider();
  p.api_key = "ABSKexample-bedrock-api-key";  // a Bedrock API key: static Bearer header instead
  EXPECT_EQ(make_signer(p), nullptr);
  p = bedrock_provider();
  p.aws_secret_access_key.clear();
  EXPECT_EQ(make_signer(p), nullptr);
  p = bedrock_provider();
  p.aws_access_key_id.clear();
  EXPECT_EQ(make_signer(p), nullptr);
  p = bedrock_provider();
  p.region.clear();  // the credential scope needs it
  EXPECT_EQ(make_signer(p), nullptr);
  for (const char* type : {"openai", "anthropic", "gemini", "azure-openai", "simulator"}) {
    p = bedrock_provider();
    p.type = type;
    EXPECT_EQ(make_signer(p), nullptr) << type;
  }
}

// The JS SDK's HTTP/1.1 request: the same credentials, date, path, body and header set give
// the SDK's Authorization header byte for byte.
TEST(BedrockSigner, ReproducesTheSdkCapture) {
  const json::value capture = json::parse(
      read_file(fs::path(SY_FIXTURES_DIR) / "sdk-requests/bedrock/bedrock.converse.json"));
  const auto& request = capture.at("request");
  std::string host;
  std::string sdk_authorization;
  std::string sdk_payload_hash;
  std::string sdk_date;
  Headers headers;
  for (const auto& h : request.at("headers_in_order").as_array()) {
    const std::string name(h.at(0).as_string());
    const std::string value(h.at(1).as_string());
    if (name == "host") {
      host = value;  // passed separately, as the transport does
    } else if (name == "authorization") {
      sdk_authorization = value;
    } else {
      if (name == "x-amz-content-sha256") {
        sdk_payload_hash = value;
      } else if (name == "x-amz-date") {
        sdk_date = value;
      }
      headers.emplace_back(name, value);  // incl. user-agent and Connection (never signed)
    }
  }
  ASSERT_FALSE(sdk_authorization.empty());
  const std::string body(request.at("body_raw").as_string());
  const std::string path(request.at("raw_url").as_string());

  config::ProviderConfig p = bedrock_provider();
  p.aws_secret_access_key = capture.at("sigv4_check").at("secret_access_key_used").as_string();
  const auto signer = make_signer(p);
  ASSERT_NE(signer, nullptr);
  signer->sign("POST", host, path, headers, body, at(sdk_date));

  EXPECT_EQ(values(headers, "authorization"), std::vector<std::string>{sdk_authorization});
  EXPECT_EQ(values(headers, "x-amz-date"), std::vector<std::string>{sdk_date});
  EXPECT_EQ(values(headers, "x-amz-content-sha256"), std::vector<std::string>{sdk_payload_hash});
  EXPECT_EQ(values(headers, "user-agent").size(), 1u);  // untouched

  std::string creq;
  EXPECT_EQ(verify("POST", host, path, headers, body, p.aws_secret_access_key, &creq), "");
  EXPECT_EQ(creq, capture.at("sigv4_check").at("canonical_request").as_string());
}

// A request as the gateway sends it: the adapter's content-type plus headers the transport adds.
TEST(BedrockSigner, RoundTripVerifiesAndSignsOnlyStableHeaders) {
  const auto signer = make_signer(bedrock_provider());
  ASSERT_NE(signer, nullptr);
  const std::string path = "/model/us.amazon.nova-micro-v1%3A0/converse-stream";
  const std::string body = R"({"messages":[{"role":"user","content":[{"text":"hi"}]}]})";
  const std::string host = "bedrock-runtime.us-east-1.amazonaws.com";
  Headers headers = {{"content-type", "application/json"},
                     {"User-Agent", "switchyard/0.1"},
                     {"accept", "application/vnd.amazon.eventstream"},
                     {"x-custom", "configured extra"}};
  signer->sign("POST", host, path, headers, body, at("20261124T012553Z"));

  std::string creq;
  ASSERT_EQ(verify("POST", host, path, headers, body, bedrock_provider().aws_secret_access_key,
                   &creq),
            "");
  const std::string auth = values(headers, "authorization").at(0);
  EXPECT_NE(auth.find("Credential=AKIDEXAMPLE/20261124/us-east-1/bedrock/aws4_request, "
                      "SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date, "),
            std::string::npos)
      << auth;
  // fixtures/PITFALLS.md: the canonical URI encodes the wire path again.
  EXPECT_NE(creq.find("\n/model/us.amazon.nova-micro-v1%253A0/converse-stream\n"),
            std::string::npos)
      << creq;
  EXPECT_EQ(values(headers, "x-amz-security-token").size(), 0u);
  EXPECT_EQ(headers.size(), 4u + 3u);  // x-amz-date, x-amz-content-sha256, authorization

  // The verifier is not a rubber stamp: a changed body, path or signed header fails.
  const std::string secret = bedrock_provider().aws_secret_access_key;
  EXPECT_NE(verify("POST", host, path, headers, body + " ", secret), "");
  EXPECT_NE(verify("POST", host, "/model/us.amazon.nova-micro-v1:0/converse-stream", headers,
                   body, secret),
            "");
  EXPECT_NE(verify("POST", "other-host", path, headers, body, secret), "");
  // An unsigned header may change in transit.
  Headers changed = headers;
  changed[1].second = "another-agent";
  EXPECT_EQ(verify("POST", host, path, changed, body, secret), "");
}

// upstream/http_transport.cc lists its own content-type, then the adapter's (the same header),
// and sets them on the wire one by one: one content-type goes out, so one must be signed.
TEST(BedrockSigner, RepeatedHeaderIsSignedAsTheLastValue) {
  const auto signer = make_signer(bedrock_provider());
  ASSERT_NE(signer, nullptr);
  const std::string path = "/model/m/converse";
  Headers to_sign = {{"host", "h"},
                     {"content-type", "application/json"},
                     {"Content-Type", "application/json; charset=utf-8"}};
  const std::size_t before = to_sign.size();
  signer->sign("POST", "h", path, to_sign, "{}", at("20261124T012553Z"));
  // What goes on the wire: the last content-type and the signer's additions.
  Headers wire = {{"content-type", "application/json; charset=utf-8"}};
  wire.insert(wire.end(), to_sign.begin() + static_cast<std::ptrdiff_t>(before), to_sign.end());
  EXPECT_EQ(wire.size(), 4u);
  EXPECT_EQ(verify("POST", "h", path, wire, "{}", bedrock_provider().aws_secret_access_key), "");
}

TEST(BedrockSigner, SessionTokenIsSentAndSigned) {
  config::ProviderConfig p = bedrock_provider();
  p.aws_session_token = "FwoGZXIvYXdzEXAMPLETOKEN";
  p.region = "eu-central-1";
  const auto signer = make_signer(p);
  ASSERT_NE(signer, nullptr);
  Headers headers = {{"content-type", "application/json"}};
  const std::string path = "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse";
  signer->sign("POST", "127.0.0.1:8443", path, headers, "{}", at("20250101T000000Z"));
  EXPECT_EQ(values(headers, "x-amz-security-token"),
            std::vector<std::string>{"FwoGZXIvYXdzEXAMPLETOKEN"});
  const std::string auth = values(headers, "authorization").at(0);
  EXPECT_NE(auth.find("/20250101/eu-central-1/bedrock/aws4_request, SignedHeaders=content-type;"
                      "host;x-amz-content-sha256;x-amz-date;x-amz-security-token, "),
            std::string::npos)
      << auth;
  EXPECT_EQ(verify("POST", "127.0.0.1:8443", path, headers, "{}", p.aws_secret_access_key), "");
}

// A retry signs the same headers again: the signer's headers are replaced, not repeated.
TEST(BedrockSigner, ResigningReplacesTheSignatureHeaders) {
  const auto signer = make_signer(bedrock_provider());
  ASSERT_NE(signer, nullptr);
  const std::string path = "/model/m/converse";
  Headers headers = {{"content-type", "application/json"}};
  signer->sign("POST", "h", path, headers, "{}", at("20261124T012553Z"));
  const std::string first = values(headers, "authorization").at(0);
  signer->sign("POST", "h", path, headers, "{}",
               at("20261124T012553Z") + std::chrono::milliseconds(61'500));
  EXPECT_EQ(values(headers, "x-amz-date"), std::vector<std::string>{"20261124T012654Z"});
  EXPECT_EQ(values(headers, "authorization").size(), 1u);
  EXPECT_EQ(values(headers, "x-amz-content-sha256").size(), 1u);
  EXPECT_NE(values(headers, "authorization").at(0), first);
  EXPECT_EQ(verify("POST", "h", path, headers, "{}", bedrock_provider().aws_secret_access_key),
            "");
}

TEST(BedrockSigner, QueryStringIsSignedAsCanonicalQuery) {
  const auto signer = make_signer(bedrock_provider());
  ASSERT_NE(signer, nullptr);
  const std::string target = "/model/m/converse?b=2&a=x%3Ay";
  Headers headers;
  signer->sign("POST", "h", target, headers, "", at("20261124T012553Z"));
  std::string creq;
  EXPECT_EQ(verify("POST", "h", target, headers, "", bedrock_provider().aws_secret_access_key,
                   &creq),
            "");
  EXPECT_NE(creq.find("\n/model/m/converse\na=x%3Ay&b=2\n"), std::string::npos) << creq;
}

}  // namespace
}  // namespace sy::auth
