#include "config/env.h"

#include <algorithm>

namespace sy::config {
namespace {

bool is_name_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }

bool is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }

bool is_valid_name(std::string_view name) {
  if (name.empty() || !is_name_start(name.front())) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), is_name_char);
}

void add_unique(std::vector<std::string>& list, std::string_view name) {
  if (std::find(list.begin(), list.end(), name) == list.end()) {
    list.emplace_back(name);
  }
}

}  // namespace

Expansion expand_env(std::string_view text, const EnvLookup& env) {
  Expansion out;
  out.value.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    if (text.compare(i, 3, "$${") == 0) {
      out.value += "${";
      i += 3;
      continue;
    }
    if (text.compare(i, 2, "${") != 0) {
      out.value += text[i];
      ++i;
      continue;
    }
    const std::size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      out.error = "unterminated \"${\" (write \"$${\" for a literal \"${\")";
      return out;
    }
    const std::string_view inner = text.substr(i + 2, close - i - 2);
    const std::size_t sep = inner.find(":-");
    const std::string_view name = inner.substr(0, sep);
    if (!is_valid_name(name)) {
      // The name is shown as written: it is part of the file, not of the environment.
      out.error = "invalid variable name \"" + std::string(name) +
                  "\" in \"${...}\" (use letters, digits and '_')";
      return out;
    }
    add_unique(out.referenced, name);
    const std::optional<std::string> found = env ? env(name) : std::nullopt;
    if (sep != std::string_view::npos) {
      if (found && !found->empty()) {
        out.value += *found;
      } else {
        out.value += inner.substr(sep + 2);
      }
    } else if (found) {
      out.value += *found;
    } else {
      add_unique(out.unset, name);
    }
    i = close + 1;
  }
  return out;
}

}  // namespace sy::config
