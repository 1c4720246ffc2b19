#include "config/reader.h"

#include <algorithm>

namespace sy::config {

std::string join_path(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string index_path(const std::string& path, std::size_t index) {
  return path + "[" + std::to_string(index) + "]";
}

std::string node_kind(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "a value";
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      break;
  }
  return "nothing";
}

void Reader::error(std::string path, std::string message) {
  errors_.push_back({std::move(path), std::move(message)});
}

void Reader::warning(std::string path, std::string message) {
  warnings_.push_back({std::move(path), std::move(message)});
}

std::optional<Expansion> Reader::expand(const YAML::Node& node, const std::string& path) {
  if (!node.IsScalar()) {
    error(path, "expected a single value, got " + node_kind(node));
    return std::nullopt;
  }
  Expansion e = expand_env(node.Scalar(), env_);
  if (!e.error.empty()) {
    error(path, e.error);
    return std::nullopt;
  }
  return e;
}

std::optional<std::string> Reader::text(const YAML::Node& node, const std::string& path) {
  std::optional<Expansion> e = expand(node, path);
  if (!e) {
    return std::nullopt;
  }
  if (!e->unset.empty()) {
    for (const std::string& name : e->unset) {
      error(path, "environment variable " + name + " is not set");
    }
    return std::nullopt;
  }
  return std::move(e->value);
}

bool Reader::is_list(const YAML::Node& node, const std::string& path) {
  if (node.IsSequence() || node.IsNull()) {
    return true;
  }
  error(path, "expected a list, got " + node_kind(node));
  return false;
}

MapReader::MapReader(Reader& reader, const YAML::Node& node, std::string path,
                     std::vector<std::string_view> allowed)
    : reader_(reader), path_(std::move(path)) {
  if (node.IsNull()) {
    return;
  }
  if (!node.IsMap()) {
    reader_.error(path_, "expected a map, got " + node_kind(node));
    return;
  }
  for (const auto& kv : node) {
    if (!kv.first.IsScalar()) {
      reader_.error(path_, "keys must be plain strings, got " + node_kind(kv.first));
      continue;
    }
    std::string key = kv.first.Scalar();
    const std::string key_path = join_path(path_, key);
    if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      const std::string suggestion = closest_key(key, allowed);
      reader_.error(key_path, suggestion.empty()
                                  ? "unknown key"
                                  : "unknown key (did you mean \"" + suggestion + "\"?)");
      continue;
    }
    const bool seen = std::any_of(entries_.begin(), entries_.end(),
                                  [&](const auto& entry) { return entry.first == key; });
    if (seen) {
      reader_.error(key_path, "duplicate key");
      continue;
    }
    entries_.emplace_back(std::move(key), kv.second);
  }
}

std::optional<YAML::Node> MapReader::get(std::string_view key) const {
  for (const auto& [name, value] : entries_) {
    if (name == key) {
      if (value.IsNull()) {
        return std::nullopt;
      }
      return value;
    }
  }
  return std::nullopt;
}

void MapReader::read_text(std::string_view key, std::string& out) {
  if (const auto node = get(key)) {
    if (auto v = reader_.text(*node, path(key))) {
      out = std::move(*v);
    }
  }
}

void MapReader::read_duration(std::string_view key, Duration& out, bool allow_zero) {
  const auto node = get(key);
  if (!node) {
    return;
  }
  const auto v = reader_.text(*node, path(key));
  if (!v) {
    return;
  }
  const Parsed<Duration> d = parse_duration(*v);
  if (!d.ok()) {
    reader_.error(path(key), d.error);
  } else if (!allow_zero && d.value.count() == 0) {
    reader_.error(path(key), "must be greater than 0");
  } else {
    out = d.value;
  }
}

void MapReader::read_bool(std::string_view key, bool& out) {
  const auto node = get(key);
  if (!node) {
    return;
  }
  if (const auto v = reader_.text(*node, path(key))) {
    const Parsed<bool> b = parse_bool(*v);
    if (b.ok()) {
      out = b.value;
    } else {
      reader_.error(path(key), b.error);
    }
  }
}

void MapReader::read_fraction(std::string_view key, double& out, double max, bool max_inclusive) {
  const auto node = get(key);
  if (!node) {
    return;
  }
  const auto v = reader_.text(*node, path(key));
  if (!v) {
    return;
  }
  const Parsed<double> n = parse_number(*v);
  if (!n.ok()) {
    reader_.error(path(key), n.error);
    return;
  }
  const bool in_range = n.value >= 0.0 && (max_inclusive ? n.value <= max : n.value < max);
  if (!in_range) {
    // max is 1 for every caller; print the interval as users write it.
    reader_.error(path(key),
                  std::string("must be in [0, 1") + (max_inclusive ? "]" : ")") + ", got " + *v);
    return;
  }
  out = n.value;
}

std::optional<std::uint64_t> MapReader::read_uint(std::string_view key, std::uint64_t min,
                                                  std::uint64_t max) {
  const auto node = get(key);
  if (!node) {
    return std::nullopt;
  }
  const auto v = reader_.text(*node, path(key));
  if (!v) {
    return std::nullopt;
  }
  const Parsed<std::uint64_t> n = parse_uint(*v);
  if (!n.ok() || n.value < min || n.value > max) {
    reader_.error(path(key), "must be an integer " + std::to_string(min) + ".." +
                                 std::to_string(max) + ", got \"" + *v + "\"");
    return std::nullopt;
  }
  return n.value;
}

std::optional<std::uint64_t> MapReader::read_size(std::string_view key, std::uint64_t min,
                                                  std::uint64_t max) {
  const auto node = get(key);
  if (!node) {
    return std::nullopt;
  }
  const auto v = reader_.text(*node, path(key));
  if (!v) {
    return std::nullopt;
  }
  const Parsed<std::uint64_t> n = parse_size(*v);
  if (!n.ok()) {
    reader_.error(path(key), n.error);
    return std::nullopt;
  }
  if (n.value < min || n.value > max) {
    reader_.error(path(key), "must be between " + std::to_string(min) + " and " +
                                 std::to_string(max) + " bytes, got \"" + *v + "\"");
    return std::nullopt;
  }
  return n.value;
}

}  // namespace sy::config
