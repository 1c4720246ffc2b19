#pragma once
// Token usage as a provider reported it. "Not reported" (nullopt) is not zero.

#include <cstdint>
#include <optional>

namespace sy::ir {

struct Usage {
  std::optional<std::int64_t> input_tokens;
  std::optional<std::int64_t> output_tokens;
  std::optional<std::int64_t> cached_input_tokens;
  std::optional<std::int64_t> cache_write_tokens;
  std::optional<std::int64_t> reasoning_tokens;

  bool any() const {
    return input_tokens || output_tokens || cached_input_tokens || cache_write_tokens ||
           reasoning_tokens;
  }
  friend bool operator==(const Usage&, const Usage&) = default;
};

}  // namespace sy::ir
