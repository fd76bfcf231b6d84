// --redact / --redact-header: the header names whose values tlstap masks in every output.
// Names are kept lowercase (HTTP/2 sends them lowercase; HTTP/1 compares without case).
#pragma once

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>
#include <vector>

namespace tlstap::redact {

// RFC 9110 token characters: what a field name is made of.
inline bool is_field_name_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

inline bool is_field_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), is_field_name_char);
}

class RedactNames {
 public:
  // The names --redact masks without being told.
  static constexpr std::string_view kDefaults[] = {"authorization", "cookie", "set-cookie",
                                                   "proxy-authorization"};

  static RedactNames defaults_and(const std::vector<std::string>& extra) {
    RedactNames names;
    for (std::string_view name : kDefaults) names.add(name);
    for (const std::string& name : extra) names.add(name);
    return names;
  }

  void add(std::string_view name) {
    std::string lower = lowercase(name);
    if (!lower.empty() && !contains(lower)) names_.push_back(std::move(lower));
    longest_ = std::max(longest_, names_.empty() ? size_t{0} : names_.back().size());
  }
  // `name` compared without case.
  bool contains(std::string_view name) const {
    return std::any_of(names_.begin(), names_.end(), [&](const std::string& candidate) {
      return candidate.size() == name.size() &&
             std::equal(candidate.begin(), candidate.end(), name.begin(), [](char a, char b) {
               return a == std::tolower(static_cast<unsigned char>(b));
             });
    });
  }
  bool empty() const { return names_.empty(); }
  size_t longest() const { return longest_; }
  const std::vector<std::string>& names() const { return names_; }

  static std::string lowercase(std::string_view name) {
    std::string lower(name);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return lower;
  }

 private:
  std::vector<std::string> names_;
  size_t longest_ = 0;
};

}  // namespace tlstap::redact
