#include "discover/runtime_tls.h"

#include <array>
#include <string_view>

#include <fmt/format.h>

namespace tlstap {
namespace {

struct RuntimeSign {
  std::string_view runtime;
  std::string_view library;  // a mapped file named exactly this
  std::string_view tls;
};

// Where others belong (a runtime whose TLS tlstap does not see, recognisable by a file it
// maps). Not Node.js or Python: their TLS is OpenSSL, which tlstap captures.
constexpr std::array<RuntimeSign, 1> kRuntimes = {{
    {"a JVM", "libjvm.so", "its TLS (JSSE) is Java code"},
}};

std::string_view base_name(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

}  // namespace

std::optional<OwnTlsRuntime> find_own_tls_runtime(const std::vector<std::string>& mapped_paths) {
  for (const RuntimeSign& sign : kRuntimes) {
    for (const std::string& path : mapped_paths) {
      if (base_name(path) == sign.library) {
        return OwnTlsRuntime{std::string(sign.runtime), std::string(sign.library),
                             std::string(sign.tls)};
      }
    }
  }
  return std::nullopt;
}

std::string describe_own_tls_runtime(const OwnTlsRuntime& runtime) {
  return fmt::format("runs {} (it maps {}): {}, which tlstap does not capture", runtime.runtime,
                     runtime.evidence, runtime.tls);
}

}  // namespace tlstap
