#include "core/ids.h"

#include <array>
#include <cstdint>
#include <random>

namespace sy {

bool is_sane_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) {
    return false;
  }
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) {
      return false;
    }
  }
  return true;
}

std::string generate_request_id() {
  // splitmix64 seeded once per thread from the OS: unique enough for correlation, cheap.
  thread_local std::uint64_t state = [] {
    std::random_device rd;
    return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  }();
  auto next = [] {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  };
  static constexpr std::array<char, 16> kHex = {'0', '1', '2', '3', '4', '5', '6', '7',
                                                '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};
  std::string out = "req_";
  out.reserve(4 + 24);
  std::uint64_t a = next();
  std::uint64_t b = next();
  for (int i = 0; i < 16; ++i) {
    out.push_back(kHex[(a >> (i * 4)) & 0xF]);
  }
  for (int i = 0; i < 8; ++i) {
    out.push_back(kHex[(b >> (i * 4)) & 0xF]);
  }
  return out;
}

}  // namespace sy
