#pragma once
// A tenant's data policy against one provider: may this tenant's requests go there? Decided
// from the provider's name and its `attributes` (region, retention, trains_on_data, ...), once
// per tenant and provider at start-up; the router then only considers permitted targets.
// Pure; see config::DataPolicy for the rules and docs/tenants.md for examples.

#include <optional>
#include <string>

#include "config/schema.h"

namespace sy::policy {

// nullopt when `provider` is permitted by `policy`; otherwise why not, for logs and the 403
// ("provider openai is denied", "attribute region of provider openai is \"us\", not one of: eu").
std::optional<std::string> policy_refusal(const config::DataPolicy& policy,
                                          const config::ProviderConfig& provider);

}  // namespace sy::policy
