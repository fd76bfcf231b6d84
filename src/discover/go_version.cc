#include "discover/go_version.h"

#include <elf.h>

#include <charconv>

namespace tlstap {
namespace {

// Parses leading decimal digits of `text` into `value`; false if there are none.
bool take_number(std::string_view& text, int& value) {
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || value < 0) return false;
  text.remove_prefix(static_cast<size_t>(end - text.data()));
  return true;
}

}  // namespace

std::optional<GoVersion> parse_go_version(std::string_view text) {
  // "devel go1.23-..." and plain "go1.19.8" alike: the version starts at the first "go"
  // followed by a digit.
  for (size_t at = text.find("go"); at != std::string_view::npos; at = text.find("go", at + 1)) {
    std::string_view rest = text.substr(at + 2);
    GoVersion version;
    if (!take_number(rest, version.major)) continue;
    if (rest.empty() || rest.front() != '.') continue;
    rest.remove_prefix(1);
    if (!take_number(rest, version.minor)) continue;
    if (!rest.empty() && rest.front() == '.') {
      rest.remove_prefix(1);
      if (!take_number(rest, version.patch)) version.patch = 0;
    }
    return version;
  }
  return std::nullopt;
}

std::string go_arch_name(uint16_t elf_machine) {
  switch (elf_machine) {
    case EM_X86_64: return "amd64";
    case EM_AARCH64: return "arm64";
    default: return "";
  }
}

bool go_uses_register_abi(const GoVersion& version, std::string_view go_arch,
                          std::string_view modinfo) {
  int first_minor = go_arch == "amd64" ? 17 : go_arch == "arm64" ? 18 : -1;
  if (first_minor < 0) return false;
  if (version.major < 1 || (version.major == 1 && version.minor < first_minor)) return false;
  // Build settings are lines "build\tGOEXPERIMENT=a,b"; only noregabi matters here.
  for (size_t at = modinfo.find("GOEXPERIMENT="); at != std::string_view::npos;
       at = modinfo.find("GOEXPERIMENT=", at + 1)) {
    std::string_view value = modinfo.substr(at + 13);
    value = value.substr(0, value.find('\n'));
    if (value.find("noregabi") != std::string_view::npos) return false;
  }
  return true;
}

}  // namespace tlstap
