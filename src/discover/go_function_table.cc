#include "discover/go_function_table.h"

#include <algorithm>
#include <vector>

#include <fmt/format.h>

#include "discover/elf_file.h"
#include "discover/elf_image.h"

namespace tlstap {
namespace {

// moduledata (runtime/symtab.go) starts, since Go 1.16 and still in 1.27, with pcHeader,
// six slices (funcnametab, cutab, filetab, pctab, pclntable, ftab), findfunctab, minpc,
// maxpc, text: pointer-sized words, 3 per slice.
constexpr uint64_t kModuleFuncnametabWord = 1;
constexpr uint64_t kModuleMinpcWord = 20;
constexpr uint64_t kModuleTextWord = 22;
// A file with more plausible table headers (or pointers to the table) than this is not
// read further: each costs a full decode, and a Go program has one table.
constexpr int kMaxCandidates = 16;

bool executable(const ElfImage& image, uint64_t address) {
  const LoadSegment* segment = image.segment_of(address);
  return segment && segment->executable;
}

// Cheap checks before a full decode of a scanned candidate: the header's table offsets are
// inside the bytes and in the order the linker writes the tables.
bool plausible_offsets(std::span<const uint8_t> table, const GoPclntabHeader& header) {
  unsigned first, last;
  switch (header.format) {
    case GoPclntabFormat::kGo12: return true;
    case GoPclntabFormat::kGo116: first = 2, last = 6; break;
    default: first = 3, last = 7; break;
  }
  uint64_t word = header.pointer_size;
  if (table.size() < 8 + (last + 1) * word) return false;
  uint64_t previous = 0;
  for (unsigned i = first; i <= last; i++) {
    uint64_t offset =
        read_unsigned(table.data() + 8 + i * word, static_cast<unsigned>(word), header.big_endian);
    if (offset < previous || offset >= table.size()) return false;
    previous = offset;
  }
  return true;
}

// moduledata.text, if `module` is a moduledata whose pcHeader is the table at `table` and
// whose minpc agrees with the table's first entry.
std::optional<uint64_t> moduledata_text(const ElfImage& image, uint64_t module, uint64_t table,
                                        std::span<const uint8_t> table_bytes,
                                        const GoPclntab& pclntab) {
  uint64_t word = image.pointer_size();
  if (image.read_pointer(module) != table) return std::nullopt;
  // funcnametab's data pointer is the table plus the header's funcname offset.
  unsigned funcname_word = pclntab.header().format == GoPclntabFormat::kGo116 ? 2 : 3;
  uint64_t funcname_offset =
      read_unsigned(table_bytes.data() + 8 + funcname_word * word, static_cast<unsigned>(word),
                    pclntab.header().big_endian);
  if (image.read_pointer(module + kModuleFuncnametabWord * word) != table + funcname_offset) {
    return std::nullopt;
  }
  std::optional<uint64_t> minpc = image.read_pointer(module + kModuleMinpcWord * word);
  std::optional<uint64_t> text = image.read_pointer(module + kModuleTextWord * word);
  if (!minpc || !text || *minpc != *text + pclntab.first_entry_field()) return std::nullopt;
  return text;
}

// Where moduledata may be: given by a symbol or section, or any word holding the table's
// address (in the file's bytes, or set by a RELATIVE relocation).
std::vector<uint64_t> moduledata_candidates(const ElfImage& image, const GoTableHints& hints,
                                            uint64_t table) {
  std::vector<uint64_t> candidates;
  if (hints.runtime_firstmoduledata) candidates.push_back(*hints.runtime_firstmoduledata);
  if (hints.module_section) candidates.push_back(*hints.module_section);
  for (uint64_t address : image.relocated_words_with(table)) {
    if (candidates.size() >= kMaxCandidates) return candidates;
    candidates.push_back(address);
  }
  unsigned word = image.pointer_size();
  for (const LoadSegment& segment : image.segments()) {
    if (segment.executable) continue;
    auto bytes = reinterpret_cast<const uint8_t*>(image.file().data()) + segment.file_offset;
    uint64_t start = (word - segment.vaddr % word) % word;
    for (uint64_t at = start; at + word <= segment.file_size; at += word) {
      if (read_unsigned(bytes + at, word, image.big_endian()) != table) continue;
      if (candidates.size() >= kMaxCandidates) return candidates;
      candidates.push_back(segment.vaddr + at);
    }
  }
  return candidates;
}

struct TextStart {
  uint64_t address;
  std::string from;
};

std::optional<TextStart> resolve_text_start(const ElfImage& image, const GoTableHints& hints,
                                            uint64_t table, std::span<const uint8_t> table_bytes,
                                            const GoPclntab& pclntab) {
  // A text start is only believed if the first function then starts in executable code.
  auto usable = [&](uint64_t text) {
    return text != 0 && executable(image, text + pclntab.first_entry_field());
  };
  if (hints.runtime_text && usable(*hints.runtime_text)) {
    return TextStart{*hints.runtime_text, "symbol runtime.text"};
  }
  std::optional<uint64_t> header_word =
      image.read_pointer(table + pclntab.header().text_start_word);
  if (header_word && usable(*header_word)) return TextStart{*header_word, "pclntab header"};
  for (uint64_t module : moduledata_candidates(image, hints, table)) {
    std::optional<uint64_t> text = moduledata_text(image, module, table, table_bytes, pclntab);
    if (text && usable(*text)) {
      return TextStart{*text, fmt::format("moduledata at {:#x}", module)};
    }
  }
  return std::nullopt;
}

// Decodes the table at `address` (its bytes limited to `limit` if non-zero) and finds its
// text start: the whole answer, or why not.
Result<GoFunctionTable> try_table(const ElfImage& image, const GoTableHints& hints,
                                  uint64_t address, uint64_t limit, std::string found_by) {
  std::span<const uint8_t> bytes = image.bytes_from(address);
  if (limit != 0 && limit < bytes.size()) bytes = bytes.first(static_cast<size_t>(limit));
  Result<GoPclntab> unbased = GoPclntab::parse(bytes, 0);
  if (!unbased) return unbased.error();
  uint64_t text_start = 0;
  std::string text_start_from = "absolute addresses (table before Go 1.18)";
  if (unbased->header().text_start_word != 0) {
    std::optional<TextStart> text = resolve_text_start(image, hints, address, bytes, *unbased);
    if (!text) {
      return Error{
          "Go function table found, but not the address its entries count from "
          "(no runtime.text symbol, textStart or moduledata)"};
    }
    text_start = text->address;
    text_start_from = text->from;
  }
  Result<GoPclntab> pclntab = GoPclntab::parse(bytes, text_start);
  if (!pclntab) return pclntab.error();
  // Entries must land in code: a table that decodes but points elsewhere is not this
  // program's (or is relocated in a way tlstap does not read).
  GoFunction first = pclntab->function(0);
  if (!executable(image, first.entry)) {
    return Error{
        fmt::format("Go function table's first function ({:#x}) is not in code", first.entry)};
  }
  return GoFunctionTable{*pclntab, address, text_start, std::move(found_by),
                         std::move(text_start_from)};
}

}  // namespace

GoTableHints read_go_table_hints(const ElfFile& elf) {
  GoTableHints hints;
  for (std::string_view name : {".gopclntab", ".data.rel.ro.gopclntab"}) {
    if (std::optional<ElfSection> section = elf.section(name); section && section->address) {
      hints.pclntab_section = section->address;
      hints.pclntab_section_size = section->size;
      hints.pclntab_section_name = name;
      break;
    }
  }
  if (std::optional<ElfSection> section = elf.section(".go.module"); section && section->address) {
    hints.module_section = section->address;
  }
  elf.for_each_symbol([&](std::string_view name, const GElf_Sym& symbol) {
    if (symbol.st_shndx == SHN_UNDEF || symbol.st_value == 0) return;
    if (name == "runtime.pclntab") hints.runtime_pclntab = symbol.st_value;
    if (name == "runtime.text") hints.runtime_text = symbol.st_value;
    if (name == "runtime.firstmoduledata") hints.runtime_firstmoduledata = symbol.st_value;
  });
  return hints;
}

Result<GoFunctionTable> locate_go_function_table(const ElfImage& image, const GoTableHints& hints) {
  std::optional<Error> first_error;
  auto attempt = [&](uint64_t address, uint64_t limit,
                     std::string found_by) -> std::optional<GoFunctionTable> {
    Result<GoFunctionTable> table = try_table(image, hints, address, limit, std::move(found_by));
    if (table) return std::move(*table);
    if (!first_error) first_error = table.error();
    return std::nullopt;
  };
  if (hints.pclntab_section) {
    if (auto table = attempt(*hints.pclntab_section, hints.pclntab_section_size,
                             "section " + hints.pclntab_section_name)) {
      return std::move(*table);
    }
  }
  if (hints.runtime_pclntab) {
    if (auto table = attempt(*hints.runtime_pclntab, 0, "symbol runtime.pclntab")) {
      return std::move(*table);
    }
  }
  if (hints.module_section) {
    std::optional<uint64_t> pointer = image.read_pointer(*hints.module_section);
    if (pointer) {
      if (auto table = attempt(*pointer, 0, "section .go.module")) return std::move(*table);
    }
  }
  // The scan: a header sits at a pointer-aligned address; the magic's bytes narrow the
  // candidates, plausible_offsets and the full decode decide.
  int tried = 0;
  for (const LoadSegment& segment : image.segments()) {
    std::span<const uint8_t> bytes = image.bytes_from(segment.vaddr);
    uint64_t start = (4 - segment.vaddr % 4) % 4;
    for (uint64_t at = start; at + 16 <= bytes.size(); at += 4) {
      const uint8_t* p = bytes.data() + at;
      bool little = p[1] == 0xff && p[2] == 0xff && p[3] == 0xff;
      bool big = p[0] == 0xff && p[1] == 0xff && p[2] == 0xff;
      if (!(little || big) || p[4] != 0 || p[5] != 0) continue;
      std::optional<GoPclntabHeader> header = GoPclntab::read_header(bytes.subspan(at));
      if (!header || (segment.vaddr + at) % header->pointer_size != 0) continue;
      if (!plausible_offsets(bytes.subspan(at), *header)) continue;
      if (++tried > kMaxCandidates) break;
      if (auto table = attempt(segment.vaddr + at, 0, "scan")) return std::move(*table);
    }
    if (tried > kMaxCandidates) break;
  }
  if (first_error) return *first_error;
  return Error{"no Go function table (pclntab) in the file"};
}

}  // namespace tlstap
