#pragma once
// Walking a YAML tree with path-precise messages: the shared pieces of load.cc.
// Every reader reports into one Reader, so that a single pass collects every problem.

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/env.h"
#include "config/load.h"
#include "config/values.h"

namespace sy::config {

std::string join_path(const std::string& path, std::string_view key);  // "a" + "b" = "a.b"
std::string index_path(const std::string& path, std::size_t index);    // "a" + 2 = "a[2]"

// "a map", "a list", "a value", "nothing": for "expected a map, got a list".
std::string node_kind(const YAML::Node& node);

class Reader {
 public:
  explicit Reader(const EnvLookup& env) : env_(env) {}

  void error(std::string path, std::string message);
  void warning(std::string path, std::string message);
  std::vector<ConfigIssue> take_errors() { return std::move(errors_); }
  std::vector<ConfigIssue> take_warnings() { return std::move(warnings_); }
  bool has_errors() const { return !errors_.empty(); }

  // The scalar's text after ${VAR} expansion. Reports a non-scalar node, a syntax error in a
  // reference, or an unset variable (an error everywhere except where the caller handles it).
  std::optional<std::string> text(const YAML::Node& node, const std::string& path);
  // Like text(), but unset variables are left in the result for the caller to judge.
  std::optional<Expansion> expand(const YAML::Node& node, const std::string& path);

  // True for a list; null counts as an empty list. Otherwise reports "expected a list".
  bool is_list(const YAML::Node& node, const std::string& path);

 private:
  const EnvLookup& env_;
  std::vector<ConfigIssue> errors_;
  std::vector<ConfigIssue> warnings_;
};

// One YAML map whose keys are checked once: unknown keys (with a "did you mean"), duplicate
// keys and non-map nodes are reported on construction. A key whose value is null counts as
// absent, so `text:` with nothing after it keeps the default.
class MapReader {
 public:
  // An empty `allowed` accepts any key (maps of names, such as providers or headers).
  MapReader(Reader& reader, const YAML::Node& node, std::string path,
            std::vector<std::string_view> allowed);

  const std::vector<std::pair<std::string, YAML::Node>>& entries() const { return entries_; }
  std::optional<YAML::Node> get(std::string_view key) const;
  bool has(std::string_view key) const { return get(key).has_value(); }
  const std::string& path() const { return path_; }
  std::string path(std::string_view key) const { return join_path(path_, key); }

  // Each read_* leaves `out` unchanged when the key is absent or its value is invalid.
  void read_text(std::string_view key, std::string& out);
  void read_duration(std::string_view key, Duration& out, bool allow_zero);
  void read_bool(std::string_view key, bool& out);
  // A number in [0, max] (or [0, max) when !max_inclusive).
  void read_fraction(std::string_view key, double& out, double max, bool max_inclusive);
  std::optional<std::uint64_t> read_uint(std::string_view key, std::uint64_t min,
                                         std::uint64_t max);
  std::optional<std::uint64_t> read_size(std::string_view key, std::uint64_t min,
                                         std::uint64_t max);

  template <typename Int>
  void read_int(std::string_view key, Int& out, std::uint64_t min,
                std::uint64_t max = std::numeric_limits<Int>::max()) {
    if (const auto v = read_uint(key, min, max)) {
      out = static_cast<Int>(*v);
    }
  }
  template <typename Int>
  void read_bytes(std::string_view key, Int& out, std::uint64_t min,
                  std::uint64_t max = std::numeric_limits<Int>::max()) {
    if (const auto v = read_size(key, min, max)) {
      out = static_cast<Int>(*v);
    }
  }

 private:
  Reader& reader_;
  std::string path_;
  std::vector<std::pair<std::string, YAML::Node>> entries_;
};

}  // namespace sy::config
