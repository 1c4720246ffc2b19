#pragma once
// Loading and validating the YAML configuration with path-precise messages.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/schema.h"

namespace sy::config {

// Reads an environment variable; injectable for tests.
using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;
EnvLookup process_env();

struct ConfigIssue {
  std::string path;     // e.g. "routes[2].target"; "" for the document itself
  std::string message;  // e.g. "unknown provider \"opnai\""
  std::string text() const { return path.empty() ? message : path + ": " + message; }
};

struct LoadResult {
  std::optional<Config> config;       // set when errors is empty
  std::vector<ConfigIssue> errors;    // every problem found, not just the first
  std::vector<ConfigIssue> warnings;  // e.g. a provider disabled because its key is unset
};

LoadResult load_config_string(std::string_view yaml, const EnvLookup& env);
LoadResult load_config_file(const std::string& path, const EnvLookup& env);

}  // namespace sy::config
