// "1 target", "2 targets": counts in messages read as English.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace tlstap {

// `count` and the noun, singular for exactly one. `plural` defaults to the singular plus "s".
inline std::string counted(uint64_t count, std::string_view singular,
                           std::string_view plural = {}) {
  if (count == 1) return fmt::format("1 {}", singular);
  if (plural.empty()) return fmt::format("{} {}s", count, singular);
  return fmt::format("{} {}", count, plural);
}

}  // namespace tlstap
