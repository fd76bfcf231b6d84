// What a Go toolchain version ("go1.19.8", as Go's build info records it) means for reading
// a Go program's crypto/tls calls: whether its functions take their arguments in registers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tlstap {

struct GoVersion {
  int major = 0;
  int minor = 0;
  int patch = 0;  // 0 for "go1.21", "go1.21rc2"
  auto operator<=>(const GoVersion&) const = default;
};

// "go1.19.8", "go1.21rc2", "go1.22.0 X:nocoverageredesign", "devel go1.23-4f8a0b3 ...";
// nullopt for anything without "go<major>.<minor>".
std::optional<GoVersion> parse_go_version(std::string_view text);

// Go's name of an ELF machine ("amd64", "arm64"), or empty for machines tlstap does not
// read Go programs on.
std::string go_arch_name(uint16_t elf_machine);

// Whether Go `version` on `go_arch` passes arguments and results in registers (the
// internal register ABI): Go 1.17 on amd64, Go 1.18 on arm64 (release notes of 1.17 and
// 1.18). `modinfo` is the build info's module text: a Go 1.18+ build records its
// GOEXPERIMENT there, and "noregabi" turned the register ABI off.
bool go_uses_register_abi(const GoVersion& version, std::string_view go_arch,
                          std::string_view modinfo);

}  // namespace tlstap
