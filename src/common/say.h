// Messages on stderr. A closed stderr (`tlstap 2>&1 | head -c1`) must not stop tlstap
// half-way through its shutdown: fmt::print throws when the write fails, these do not
// (a message nobody can read is dropped; the exit status still tells).
#pragma once

#include <cstdio>
#include <string_view>

#include <fmt/format.h>

namespace tlstap {

inline void say_line(std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
}

template <typename... Args>
void say(fmt::format_string<Args...> format, Args&&... args) {
  say_line(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace tlstap
