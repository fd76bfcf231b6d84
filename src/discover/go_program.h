// What tlstap knows of a Go program before probing its crypto/tls: whether the file is a
// Go program at all, its Go version, whether its functions take arguments in registers,
// and for each wanted function the file offsets a uprobe takes: the entry and every RET
// (Go cannot take uretprobes; see return_instructions.h). For `--list-targets` and for the
// Go probes' attach code.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace tlstap {

// crypto/tls's plaintext entry points: (*Conn).Write(b []byte) (int, error) and
// (*Conn).Read(b []byte) (int, error).
inline constexpr std::string_view kGoTlsFunctions[] = {"crypto/tls.(*Conn).Write",
                                                       "crypto/tls.(*Conn).Read"};

enum class GoProgramKind {
  kNotGo,        // no Go build info and no Go function table
  kUnsupported,  // a Go program tlstap must not probe: `reason` says why
  kSupported,
};

struct GoProbeFunction {
  std::string name;
  uint64_t address = 0;               // entry, in the file's own virtual addresses
  uint64_t end_address = 0;           // past the last byte searched for RETs
  uint64_t entry_offset = 0;          // file offset of the entry: what a uprobe takes
  std::vector<uint64_t> ret_offsets;  // file offsets of every RET, ascending
  std::string found_in;               // ".symtab" or "pclntab"
};

struct GoProgram {
  GoProgramKind kind = GoProgramKind::kNotGo;
  std::string reason;      // for kNotGo and kUnsupported, in words, without the path
  std::string go_version;  // "go1.19.8", when the build info says
  std::string go_arch;     // "amd64", "arm64"; empty for other machines
  bool register_abi = false;
  // kSupported only: those of the wanted functions the program has, in the order asked.
  std::vector<GoProbeFunction> functions;
};

struct GoInspectOptions {
  // Take functions from .symtab when it has them (exact sizes, no table decode). Tests turn
  // it off to check the pclntab path against the symbol table.
  bool use_symtab = true;
};

// Errors are for files that cannot be read, are not ELF, or are Go programs whose tables
// are broken (never a guess at an offset). Costs a scan of the file's segments when the
// file has neither build info nor a named function table (a file that is not Go).
Result<GoProgram> inspect_go_program(const std::string& path,
                                     std::span<const std::string_view> wanted = kGoTlsFunctions,
                                     const GoInspectOptions& options = {});

}  // namespace tlstap
