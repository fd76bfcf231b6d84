#include "discover/elf_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace tlstap {

Result<ElfFile> ElfFile::open(const std::string& path) {
  if (elf_version(EV_CURRENT) == EV_NONE) return Error{"libelf initialisation failed"};
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error{fmt::format("{}: {}", path, std::strerror(errno))};
  Elf* elf = elf_begin(fd, ELF_C_READ_MMAP, nullptr);
  if (!elf || elf_kind(elf) != ELF_K_ELF) {
    if (elf) elf_end(elf);
    close(fd);
    return Error{fmt::format("{}: not an ELF file", path)};
  }
  return ElfFile(fd, elf);
}

ElfFile::ElfFile(ElfFile&& other) noexcept : fd_(other.fd_), elf_(other.elf_) {
  other.fd_ = -1;
  other.elf_ = nullptr;
}

ElfFile::~ElfFile() {
  if (elf_) elf_end(elf_);
  if (fd_ >= 0) close(fd_);
}

void ElfFile::for_each_symbol(
    const std::function<void(std::string_view, const GElf_Sym&)>& visit) const {
  Elf_Scn* section = nullptr;
  while ((section = elf_nextscn(elf_, section)) != nullptr) {
    GElf_Shdr header;
    if (!gelf_getshdr(section, &header)) continue;
    if (header.sh_type != SHT_SYMTAB && header.sh_type != SHT_DYNSYM) continue;
    Elf_Data* data = elf_getdata(section, nullptr);
    if (!data || header.sh_entsize == 0) continue;
    size_t symbol_count = header.sh_size / header.sh_entsize;
    for (size_t i = 0; i < symbol_count; i++) {
      GElf_Sym symbol;
      if (!gelf_getsym(data, static_cast<int>(i), &symbol)) continue;
      const char* name = elf_strptr(elf_, header.sh_link, symbol.st_name);
      if (name && *name) visit(name, symbol);
    }
  }
}

std::vector<std::string> ElfFile::needed_libraries() const {
  std::vector<std::string> needed;
  Elf_Scn* section = nullptr;
  while ((section = elf_nextscn(elf_, section)) != nullptr) {
    GElf_Shdr header;
    if (!gelf_getshdr(section, &header) || header.sh_type != SHT_DYNAMIC) continue;
    Elf_Data* data = elf_getdata(section, nullptr);
    if (!data || header.sh_entsize == 0) continue;
    size_t count = header.sh_size / header.sh_entsize;
    for (size_t i = 0; i < count; i++) {
      GElf_Dyn entry;
      if (!gelf_getdyn(data, static_cast<int>(i), &entry)) continue;
      if (entry.d_tag == DT_NULL) break;
      if (entry.d_tag != DT_NEEDED) continue;
      const char* name = elf_strptr(elf_, header.sh_link, entry.d_un.d_val);
      if (name && *name) needed.emplace_back(name);
    }
  }
  return needed;
}

bool ElfFile::has_section(std::string_view name) const { return section(name).has_value(); }

std::optional<ElfSection> ElfFile::section(std::string_view name) const {
  size_t names_index = 0;
  if (elf_getshdrstrndx(elf_, &names_index) != 0) return std::nullopt;
  Elf_Scn* section = nullptr;
  while ((section = elf_nextscn(elf_, section)) != nullptr) {
    GElf_Shdr header;
    if (!gelf_getshdr(section, &header)) continue;
    const char* section_name = elf_strptr(elf_, names_index, header.sh_name);
    if (section_name && name == section_name) return ElfSection{header.sh_addr, header.sh_size};
  }
  return std::nullopt;
}

std::string_view ElfFile::bytes() const {
  size_t size = 0;
  const char* image = elf_rawfile(elf_, &size);
  return image ? std::string_view(image, size) : std::string_view();
}

}  // namespace tlstap
