#include "discover/go_program.h"

#include <algorithm>
#include <map>
#include <optional>

#include <fmt/format.h>

#include "discover/elf_file.h"
#include "discover/elf_image.h"
#include "discover/go_buildinfo.h"
#include "discover/go_function_table.h"
#include "discover/go_version.h"
#include "discover/return_instructions.h"

namespace tlstap {
namespace {

struct SymbolRange {
  uint64_t address = 0;
  uint64_t size = 0;
};

// The wanted functions that .symtab defines with a size (a name defined at two addresses
// is kept twice and refused by the caller).
std::multimap<std::string, SymbolRange, std::less<>> symtab_functions(
    const ElfFile& elf, std::span<const std::string_view> wanted) {
  std::multimap<std::string, SymbolRange, std::less<>> found;
  elf.for_each_symbol([&](std::string_view name, const GElf_Sym& symbol) {
    if (GELF_ST_TYPE(symbol.st_info) != STT_FUNC || symbol.st_shndx == SHN_UNDEF ||
        symbol.st_value == 0 || symbol.st_size == 0) {
      return;
    }
    if (std::find(wanted.begin(), wanted.end(), name) == wanted.end()) return;
    auto [first, last] = found.equal_range(name);
    bool again = std::any_of(first, last, [&](const auto& f) {
      return f.second.address == symbol.st_value;  // the same symbol in .symtab and .dynsym
    });
    if (!again) found.emplace(std::string(name), SymbolRange{symbol.st_value, symbol.st_size});
  });
  return found;
}

// The entry and RET file offsets of the function at [entry, end).
Result<GoProbeFunction> probe_points(const ElfImage& image, std::string_view name, uint64_t entry,
                                     uint64_t end, std::string found_in) {
  const LoadSegment* segment = image.segment_of(entry);
  if (!segment || !segment->executable) {
    return Error{fmt::format("{} at {:#x} is not in the file's code", name, entry)};
  }
  std::optional<std::span<const uint8_t>> code;
  if (end > entry) code = image.bytes_at(entry, end - entry);
  if (!code) {
    return Error{fmt::format("{} ({:#x}-{:#x}) is not in the file", name, entry, end)};
  }
  Result<std::vector<uint64_t>> returns = find_return_instructions(image.machine(), *code, entry);
  if (!returns) return Error{fmt::format("{}: {}", name, returns.error().message)};
  GoProbeFunction function{std::string(name),         entry, end,
                           *image.file_offset(entry), {},    std::move(found_in)};
  for (uint64_t address : *returns) function.ret_offsets.push_back(*image.file_offset(address));
  return function;
}

std::string unsupported_abi_reason(const std::string& version, const std::string& arch) {
  return fmt::format(
      "{} on {} passes function arguments on the stack (Go's register ABI came with Go 1.17 "
      "on amd64 and Go 1.18 on arm64); tlstap reads Go crypto/tls only in register-ABI "
      "programs",
      version, arch);
}

}  // namespace

Result<GoProgram> inspect_go_program(const std::string& path,
                                     std::span<const std::string_view> wanted,
                                     const GoInspectOptions& options) {
  Result<ElfFile> elf = ElfFile::open(path);
  if (!elf) return elf.error();
  Result<ElfImage> image = ElfImage::read(*elf);
  if (!image) return Error{fmt::format("{}: {}", path, image.error().message)};

  GoProgram program;
  std::optional<ElfSection> buildinfo_section = elf->section(".go.buildinfo");
  std::optional<GoBuildInfo> buildinfo = find_go_buildinfo(
      *image,
      buildinfo_section ? std::optional<uint64_t>(buildinfo_section->address) : std::nullopt);
  GoTableHints hints = read_go_table_hints(*elf);
  // The table is decoded only when something needs it: to tell a Go program without build
  // info, or to find functions .symtab does not give.
  std::optional<Result<GoFunctionTable>> table;
  auto function_table = [&]() -> const Result<GoFunctionTable>& {
    if (!table) table = locate_go_function_table(*image, hints);
    return *table;
  };

  if (!buildinfo && !function_table()) {
    program.reason = "not a Go program (no Go build info, no Go function table)";
    return program;
  }
  program.kind = GoProgramKind::kUnsupported;
  program.go_arch = go_arch_name(image->machine());
  if (buildinfo) program.go_version = buildinfo->version;
  if (program.go_arch.empty() || image->pointer_size() != 8 || image->big_endian()) {
    program.reason = fmt::format(
        "a Go program for ELF machine {} ({}-bit): tlstap reads Go programs on amd64 and "
        "arm64 only",
        image->machine(), image->pointer_size() * 8);
    return program;
  }
  if (!buildinfo) {
    program.reason =
        "a Go program without build info (Go before 1.13, or removed): its Go version, and so "
        "how its functions take arguments, is unknown";
    return program;
  }
  std::optional<GoVersion> version = parse_go_version(buildinfo->version);
  if (!version) {
    program.reason = fmt::format("unrecognised Go version \"{}\"", buildinfo->version);
    return program;
  }
  program.register_abi = go_uses_register_abi(*version, program.go_arch, buildinfo->modinfo);
  if (!program.register_abi) {
    program.reason = unsupported_abi_reason(buildinfo->version, program.go_arch);
    return program;
  }

  program.kind = GoProgramKind::kSupported;
  auto from_symtab = options.use_symtab ? symtab_functions(*elf, wanted)
                                        : std::multimap<std::string, SymbolRange, std::less<>>{};
  // Go's .symtab lists every function: with it (runtime.text is always there), a function
  // it lacks is not in the program, and the table need not be decoded.
  bool symtab_complete = options.use_symtab && hints.runtime_text.has_value();
  for (std::string_view name : wanted) {
    Result<GoProbeFunction> function = Error{""};
    // Two bodies of one name (an assembly function and its ABI wrapper): which one the
    // program calls is not known here, so neither is guessed at.
    auto ambiguous = [&](size_t count) {
      return Error{fmt::format("{}: {} is defined {} times (an ABI wrapper?)", path, name, count)};
    };
    if (size_t count = from_symtab.count(name); count > 1) return ambiguous(count);
    if (auto symbol = from_symtab.find(name); symbol != from_symtab.end()) {
      function = probe_points(*image, name, symbol->second.address,
                              symbol->second.address + symbol->second.size, ".symtab");
    } else if (symtab_complete) {
      continue;
    } else {
      const Result<GoFunctionTable>& located = function_table();
      if (!located) return Error{fmt::format("{}: {}", path, located.error().message)};
      std::vector<GoFunction> found = located.value().pclntab.find_all(name);
      if (found.empty()) continue;
      if (found.size() > 1) return ambiguous(found.size());
      function = probe_points(*image, name, found[0].entry, found[0].end, "pclntab");
    }
    if (!function) return Error{fmt::format("{}: {}", path, function.error().message)};
    program.functions.push_back(std::move(*function));
  }
  return program;
}

}  // namespace tlstap
