// Tests for auth/api_key: the static auth headers of each provider type.

#include "auth/api_key.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <utility>

namespace sy::auth {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;

config::ProviderConfig provider(std::string type, std::string api_key) {
  config::ProviderConfig p;
  p.name = "p";
  p.type = std::move(type);
  p.api_key = std::move(api_key);
  return p;
}

TEST(StaticAuthHeaders, OpenAiAndCompatibleSendBearer) {
  EXPECT_THAT(static_auth_headers(provider("openai", "sk-1")),
              ElementsAre(Pair("Authorization", "Bearer sk-1")));
  EXPECT_THAT(static_auth_headers(provider("openai-compatible", "k")),
              ElementsAre(Pair("Authorization", "Bearer k")));
}

TEST(StaticAuthHeaders, EmptyKeySendsNoAuthorization) {
  EXPECT_THAT(static_auth_headers(provider("openai-compatible", "")), IsEmpty());
  EXPECT_THAT(static_auth_headers(provider("openai", "")), IsEmpty());
  EXPECT_THAT(static_auth_headers(provider("azure-openai", "")), IsEmpty());
  EXPECT_THAT(static_auth_headers(provider("gemini", "")), IsEmpty());
}

TEST(StaticAuthHeaders, AzureUsesApiKeyHeader) {
  EXPECT_THAT(static_auth_headers(provider("azure-openai", "az-1")),
              ElementsAre(Pair("api-key", "az-1")));
}

TEST(StaticAuthHeaders, AnthropicSendsKeyAndVersion) {
  EXPECT_THAT(static_auth_headers(provider("anthropic", "sk-ant")),
              ElementsAre(Pair("x-api-key", "sk-ant"), Pair("anthropic-version", "2023-06-01")));
  config::ProviderConfig p = provider("anthropic", "sk-ant");
  p.anthropic_version = "2024-01-01";
  EXPECT_THAT(static_auth_headers(p),
              ElementsAre(Pair("x-api-key", "sk-ant"), Pair("anthropic-version", "2024-01-01")));
}

TEST(StaticAuthHeaders, GeminiUsesGoogApiKey) {
  EXPECT_THAT(static_auth_headers(provider("gemini", "AIza-1")),
              ElementsAre(Pair("x-goog-api-key", "AIza-1")));
}

TEST(StaticAuthHeaders, BedrockApiKeyIsBearerAndAwsCredentialsAreSignedInstead) {
  EXPECT_THAT(static_auth_headers(provider("bedrock", "ABSK-1")),
              ElementsAre(Pair("Authorization", "Bearer ABSK-1")));
  config::ProviderConfig sigv4 = provider("bedrock", "");
  sigv4.region = "us-east-1";
  sigv4.aws_access_key_id = "AKIDEXAMPLE";
  sigv4.aws_secret_access_key = "secret";
  sigv4.aws_session_token = "token";
  EXPECT_THAT(static_auth_headers(sigv4), IsEmpty());
}

TEST(StaticAuthHeaders, SimulatorAndUnknownTypesHaveNone) {
  EXPECT_THAT(static_auth_headers(provider("simulator", "")), IsEmpty());
  EXPECT_THAT(static_auth_headers(provider("simulator", "k")), IsEmpty());
  EXPECT_THAT(static_auth_headers(provider("something-else", "k")), IsEmpty());
}

TEST(StaticAuthHeaders, ExtraProviderHeadersAreNotAuthHeaders) {
  config::ProviderConfig p = provider("openai", "sk-1");
  p.headers = {{"OpenAI-Organization", "org-1"}};
  EXPECT_THAT(static_auth_headers(p), ElementsAre(Pair("Authorization", "Bearer sk-1")));
}

}  // namespace
}  // namespace sy::auth
