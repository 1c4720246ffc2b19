#pragma once
// ${VAR} expansion in configuration scalars (see docs/configuration.md, "Environment variables").

#include <string>
#include <string_view>
#include <vector>

#include "config/load.h"

namespace sy::config {

struct Expansion {
  std::string value;                    // the scalar with every reference replaced
  std::vector<std::string> unset;       // referenced without a default and not set, in order
  std::vector<std::string> referenced;  // every variable named, in order (for messages only)
  std::string error;                    // a syntax problem ("unterminated \"${\""), else empty
};

// Replaces ${VAR} with the variable's value, ${VAR:-default} with the default when VAR is unset
// or empty, and $${ with a literal "${". An unset variable without a default expands to "" and
// is listed in `unset`; the caller decides whether that is an error or disables something.
Expansion expand_env(std::string_view text, const EnvLookup& env);

}  // namespace sy::config
