#include "discover/elf_symbols.h"

#include <gelf.h>

#include <algorithm>

#include "discover/elf_file.h"

namespace tlstap {
namespace {

// Virtual address -> file offset through the loadable segment that contains it.
bool address_to_file_offset(Elf* elf, uint64_t address, uint64_t& offset) {
  size_t count = 0;
  if (elf_getphdrnum(elf, &count) != 0) return false;
  for (size_t i = 0; i < count; i++) {
    GElf_Phdr phdr;
    if (!gelf_getphdr(elf, static_cast<int>(i), &phdr) || phdr.p_type != PT_LOAD) continue;
    if (address >= phdr.p_vaddr && address < phdr.p_vaddr + phdr.p_filesz) {
      offset = address - phdr.p_vaddr + phdr.p_offset;
      return true;
    }
  }
  return false;
}

}  // namespace

Result<std::vector<FunctionSymbol>> find_functions(const std::string& path,
                                                   std::span<const std::string_view> wanted) {
  Result<ElfFile> elf = ElfFile::open(path);
  if (!elf) return elf.error();

  std::vector<FunctionSymbol> found;
  elf->for_each_symbol([&](std::string_view name, const GElf_Sym& symbol) {
    if (GELF_ST_TYPE(symbol.st_info) != STT_FUNC || symbol.st_shndx == SHN_UNDEF ||
        symbol.st_value == 0) {
      return;
    }
    if (std::find(wanted.begin(), wanted.end(), name) == wanted.end()) return;
    bool already = std::any_of(found.begin(), found.end(),
                               [&](const FunctionSymbol& f) { return f.name == name; });
    if (already) return;  // the same function is usually in both tables
    FunctionSymbol function{std::string(name), symbol.st_value, 0, symbol.st_size};
    if (!address_to_file_offset(elf->get(), symbol.st_value, function.file_offset)) return;
    found.push_back(std::move(function));
  });
  return found;
}

}  // namespace tlstap
