#include "policy/data_policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sy::policy {
namespace {

using testing::Eq;
using testing::Optional;

config::ProviderConfig provider(std::string name, std::map<std::string, std::string> attributes) {
  config::ProviderConfig p;
  p.name = std::move(name);
  p.attributes = std::move(attributes);
  return p;
}

TEST(DataPolicy, AnEmptyPolicyPermitsEveryProvider) {
  const config::DataPolicy policy;
  EXPECT_EQ(policy_refusal(policy, provider("openai", {})), std::nullopt);
  EXPECT_EQ(policy_refusal(policy, provider("azure-eu", {{"region", "eu"}})), std::nullopt);
}

TEST(DataPolicy, AllowedAttributeValuesAreRequired) {
  config::DataPolicy policy;
  policy.allow["region"] = {"eu", "ch"};
  EXPECT_EQ(policy_refusal(policy, provider("azure-eu", {{"region", "eu"}})), std::nullopt);
  EXPECT_EQ(policy_refusal(policy, provider("local", {{"region", "ch"}})), std::nullopt);
  EXPECT_THAT(policy_refusal(policy, provider("openai", {{"region", "us"}})),
              Optional(Eq("attribute region of provider openai is \"us\", not one of: eu, ch")));
  // A provider that does not declare the attribute is not known to satisfy it.
  EXPECT_THAT(policy_refusal(policy, provider("sim", {})),
              Optional(Eq("attribute region of provider sim is not set (allowed: eu, ch)")));
}

TEST(DataPolicy, DeniedAttributeValuesExclude) {
  config::DataPolicy policy;
  policy.deny["trains_on_data"] = {"true"};
  EXPECT_EQ(policy_refusal(policy, provider("a", {{"trains_on_data", "false"}})), std::nullopt);
  EXPECT_EQ(policy_refusal(policy, provider("b", {})), std::nullopt);
  EXPECT_THAT(policy_refusal(policy, provider("c", {{"trains_on_data", "true"}})),
              Optional(Eq("attribute trains_on_data of provider c is \"true\", which is denied")));
}

TEST(DataPolicy, ProviderAllowAndDenyLists) {
  config::DataPolicy policy;
  policy.providers = {"azure-eu", "local"};
  policy.deny_providers = {"local"};
  EXPECT_EQ(policy_refusal(policy, provider("azure-eu", {})), std::nullopt);
  EXPECT_THAT(policy_refusal(policy, provider("local", {})),
              Optional(Eq("provider local is denied")));
  EXPECT_THAT(policy_refusal(policy, provider("openai", {})),
              Optional(Eq("provider openai is not in the allowed providers (azure-eu, local)")));
}

TEST(DataPolicy, EveryRuleMustHold) {
  config::DataPolicy policy;
  policy.allow["region"] = {"eu"};
  policy.allow["retention"] = {"none"};
  EXPECT_EQ(policy_refusal(policy, provider("a", {{"region", "eu"}, {"retention", "none"}})),
            std::nullopt);
  EXPECT_NE(policy_refusal(policy, provider("b", {{"region", "eu"}, {"retention", "30d"}})),
            std::nullopt);
  EXPECT_NE(policy_refusal(policy, provider("c", {{"region", "us"}, {"retention", "none"}})),
            std::nullopt);
}

}  // namespace
}  // namespace sy::policy
