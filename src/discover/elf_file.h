// An ELF file opened with libelf, and the walks over it that more than one reader needs
// (finding functions to attach to, recognising which TLS stack a file uses).
#pragma once

#include <gelf.h>
#include <libelf.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace tlstap {

struct ElfSection {
  uint64_t address = 0;  // sh_addr: where it is loaded (0 if it is not)
  uint64_t size = 0;
};

class ElfFile {
 public:
  // Errors name the file: "PATH: No such file or directory", "PATH: not an ELF file".
  static Result<ElfFile> open(const std::string& path);
  ElfFile(ElfFile&& other) noexcept;
  ElfFile& operator=(ElfFile&&) = delete;
  ~ElfFile();

  Elf* get() const { return elf_; }

  // Every named symbol of .symtab and .dynsym, defined or not: a function is usually in both
  // tables, so a visitor that collects names deduplicates them itself.
  void for_each_symbol(const std::function<void(std::string_view, const GElf_Sym&)>& visit) const;
  // The DT_NEEDED entries of the dynamic section ("libc.so.6"); none for a static file.
  std::vector<std::string> needed_libraries() const;
  bool has_section(std::string_view name) const;
  // The first section with this name, if the file has section headers and one.
  std::optional<ElfSection> section(std::string_view name) const;
  // The whole file as libelf mapped it (empty if it could not).
  std::string_view bytes() const;

 private:
  ElfFile(int fd, Elf* elf) : fd_(fd), elf_(elf) {}
  int fd_;
  Elf* elf_;
};

}  // namespace tlstap
