// make_signer: AWS Signature Version 4 for Amazon Bedrock providers configured with AWS
// credentials (auth/sigv4.h does the arithmetic). References: AWS IAM User Guide, "Create a
// signed AWS API request" and "Elements of an AWS API request signature"; the Bedrock service
// signs as "bedrock" (the endpoint prefix is bedrock-runtime, the signing name is not).

#include <algorithm>
#include <cctype>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auth/api_key.h"
#include "auth/sigv4.h"

namespace sy::auth {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// Which request headers go into the signature. AWS requires host and x-amz-date and, when
// present, x-amz-security-token and the other x-amz-* headers; the AWS SDK also signs
// content-type and content-length (fixtures/sdk-requests/bedrock: SignedHeaders
// amz-sdk-invocation-id;amz-sdk-request;content-length;content-type;host;x-amz-content-sha256;
// x-amz-date;x-amz-user-agent). Only these are signed, and only when present: any other header
// (user-agent, accept, configured extras, hop-by-hop headers) may be set or changed by the
// transport after signing without breaking the signature.
bool signed_header(std::string_view lower_name) {
  return lower_name == "content-type" || lower_name == "content-length" ||
         lower_name == "content-md5" || starts_with(lower_name, "x-amz-") ||
         starts_with(lower_name, "amz-sdk-");
}

class BedrockSigV4Signer final : public Signer {
 public:
  BedrockSigV4Signer(SigV4Credentials credentials, std::string region)
      : credentials_(std::move(credentials)) {
    options_.region = std::move(region);
    options_.service = "bedrock";
    // Like the AWS SDK: send and sign x-amz-content-sha256 (the body hash), so the service
    // and any verifying proxy need not hash the body again to check the canonical request.
    options_.add_content_sha256_header = true;
  }

  // Appends the signature headers at the end of `headers` (after removing older copies of
  // them), so a caller can copy everything past the size it had before the call.
  void sign(std::string_view method, std::string_view host, std::string_view path,
            Headers& headers, std::string_view body,
            std::chrono::system_clock::time_point now) const override {
    SigV4Request request;
    request.method = std::string(method);
    // The wire path, percent-encoded as sent ("/model/...-v1%3A0/converse"); sign_v4 encodes it
    // once more for the canonical URI ("%253A"), as non-S3 services require.
    const std::size_t q = path.find('?');
    request.raw_path = std::string(path.substr(0, q));
    request.query = q == std::string_view::npos ? std::string() : std::string(path.substr(q + 1));
    request.body = body;
    request.headers.push_back({"host", std::string(host)});
    for (const auto& [name, value] : headers) {
      const std::string name_lower = lower(name);
      if (name_lower == "host" || !signed_header(name_lower)) {
        continue;
      }
      // A repeated name is taken as "the last one wins", as a transport that sets headers one
      // by one (Beast's set()) sends it: the caller may list content-type twice (its default
      // and the adapter's), and signing "a,b" for a header sent once as "b" fails with 403.
      auto same = std::find_if(request.headers.begin(), request.headers.end(),
                               [&](const HttpHeader& h) { return h.name == name_lower; });
      if (same != request.headers.end()) {
        same->value = value;
      } else {
        request.headers.push_back({name_lower, value});
      }
    }
    auto signed_request = sign_v4(request, credentials_, options_,
                                  std::chrono::floor<std::chrono::seconds>(now));
    if (!signed_request) {
      // Only a malformed path or empty host gets here (credentials and region were checked in
      // make_signer); the request goes unsigned and the service answers 403, which the adapter
      // maps to UpstreamAuth.
      return;
    }
    for (const HttpHeader& add : signed_request->headers_to_add) {
      headers.erase(std::remove_if(headers.begin(), headers.end(),
                                   [&](const auto& h) { return lower(h.first) == add.name; }),
                    headers.end());
      headers.emplace_back(add.name, add.value);
    }
  }

 private:
  SigV4Credentials credentials_;
  SigV4Options options_;
};

}  // namespace

std::shared_ptr<const Signer> make_signer(const config::ProviderConfig& provider) {
  // With api_key set a Bedrock API key is used instead (a static Bearer header, see
  // static_auth_headers). SigV4 needs the key pair and the region the credential scope names.
  if (provider.type != "bedrock" || !provider.api_key.empty() ||
      provider.aws_access_key_id.empty() || provider.aws_secret_access_key.empty() ||
      provider.region.empty()) {
    return nullptr;
  }
  SigV4Credentials credentials;
  credentials.access_key_id = provider.aws_access_key_id;
  credentials.secret_access_key = provider.aws_secret_access_key;
  if (!provider.aws_session_token.empty()) {
    credentials.session_token = provider.aws_session_token;
  }
  return std::make_shared<BedrockSigV4Signer>(std::move(credentials), provider.region);
}

}  // namespace sy::auth
