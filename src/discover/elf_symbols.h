// Finding functions in an ELF file (shared library or executable) with libelf.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace tlstap {

struct FunctionSymbol {
  std::string name;
  uint64_t address = 0;      // st_value: the virtual address in the ELF's own layout
  uint64_t file_offset = 0;  // where the first instruction is in the file (what uprobes take)
  uint64_t size = 0;
  // Where the function returns, for probes that cannot use uretprobes (Go): file offsets of
  // every RET. Empty for functions probed with uretprobes.
  std::vector<uint64_t> return_offsets;
};

// Looks up `wanted` defined functions in .symtab and .dynsym. A name found in neither is
// simply absent from the result (an old OpenSSL has no SSL_read_ex). Errors are for files
// that cannot be opened or are not ELF.
Result<std::vector<FunctionSymbol>> find_functions(const std::string& path,
                                                   std::span<const std::string_view> wanted);

}  // namespace tlstap
