#include "discover/elf_symbols.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include <fmt/format.h>

namespace tlstap {
namespace {

struct FileCloser {
  int fd;
  ~FileCloser() {
    if (fd >= 0) close(fd);
  }
};

struct ElfCloser {
  void operator()(Elf* elf) const { elf_end(elf); }
};

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
  if (elf_version(EV_CURRENT) == EV_NONE) return Error{"libelf initialisation failed"};
  FileCloser file{open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (file.fd < 0) return Error{fmt::format("cannot open {}: {}", path, std::strerror(errno))};
  std::unique_ptr<Elf, ElfCloser> elf(elf_begin(file.fd, ELF_C_READ_MMAP, nullptr));
  if (!elf || elf_kind(elf.get()) != ELF_K_ELF) {
    return Error{fmt::format("{} is not an ELF file", path)};
  }

  std::vector<FunctionSymbol> found;
  Elf_Scn* section = nullptr;
  while ((section = elf_nextscn(elf.get(), section)) != nullptr) {
    GElf_Shdr header;
    if (!gelf_getshdr(section, &header)) continue;
    if (header.sh_type != SHT_SYMTAB && header.sh_type != SHT_DYNSYM) continue;
    Elf_Data* data = elf_getdata(section, nullptr);
    if (!data || header.sh_entsize == 0) continue;
    size_t symbol_count = header.sh_size / header.sh_entsize;
    for (size_t i = 0; i < symbol_count; i++) {
      GElf_Sym symbol;
      if (!gelf_getsym(data, static_cast<int>(i), &symbol)) continue;
      if (GELF_ST_TYPE(symbol.st_info) != STT_FUNC || symbol.st_shndx == SHN_UNDEF ||
          symbol.st_value == 0) {
        continue;
      }
      const char* name = elf_strptr(elf.get(), header.sh_link, symbol.st_name);
      if (!name) continue;
      std::string_view name_view(name);
      if (std::find(wanted.begin(), wanted.end(), name_view) == wanted.end()) continue;
      bool already = std::any_of(found.begin(), found.end(),
                                 [&](const FunctionSymbol& f) { return f.name == name_view; });
      if (already) continue;  // the same function is usually in both tables
      FunctionSymbol function{std::string(name_view), symbol.st_value, 0, symbol.st_size};
      if (!address_to_file_offset(elf.get(), symbol.st_value, function.file_offset)) continue;
      found.push_back(std::move(function));
    }
  }
  return found;
}

}  // namespace tlstap
