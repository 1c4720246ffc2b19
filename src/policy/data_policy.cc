#include "policy/data_policy.h"

#include <algorithm>

namespace sy::policy {

namespace {

bool listed(const std::vector<std::string>& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

std::string join(const std::vector<std::string>& values) {
  std::string out;
  for (const auto& v : values) {
    if (!out.empty()) {
      out += ", ";
    }
    out += v;
  }
  return out;
}

}  // namespace

std::optional<std::string> policy_refusal(const config::DataPolicy& policy,
                                          const config::ProviderConfig& provider) {
  const std::string who = "provider " + provider.name;
  if (!policy.providers.empty() && !listed(policy.providers, provider.name)) {
    return who + " is not in the allowed providers (" + join(policy.providers) + ")";
  }
  if (listed(policy.deny_providers, provider.name)) {
    return who + " is denied";
  }
  for (const auto& [attribute, values] : policy.allow) {
    const auto it = provider.attributes.find(attribute);
    if (it == provider.attributes.end()) {
      return "attribute " + attribute + " of " + who + " is not set (allowed: " + join(values) +
             ")";
    }
    if (!listed(values, it->second)) {
      return "attribute " + attribute + " of " + who + " is \"" + it->second +
             "\", not one of: " + join(values);
    }
  }
  for (const auto& [attribute, values] : policy.deny) {
    const auto it = provider.attributes.find(attribute);
    if (it != provider.attributes.end() && listed(values, it->second)) {
      return "attribute " + attribute + " of " + who + " is \"" + it->second + "\", which is denied";
    }
  }
  return std::nullopt;
}

}  // namespace sy::policy
