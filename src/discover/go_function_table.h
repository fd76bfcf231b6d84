// Finding a Go program's function table (pclntab) in its ELF file, and the address its
// entry offsets count from, without relying on what stripping or external linking removes:
//   the table: the .gopclntab section (.data.rel.ro.gopclntab in PIE builds), else the
//     runtime.pclntab symbol, else the pointer at the start of the .go.module section
//     (moduledata, Go 1.26+), else a scan of the file's segments for a header whose whole
//     table decodes (stripped externally linked PIEs keep no section naming it);
//   the text start (1.18+ tables): the runtime.text symbol, else the header's textStart
//     word as the loader would relocate it (Go 1.18-1.25), else moduledata.text, moduledata
//     found by the symbol runtime.firstmoduledata, the .go.module section, or a word that
//     points to the table. The .text section's address is never taken: with external
//     linking (cgo) C code comes first and runtime.text is later.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/result.h"
#include "discover/go_pclntab.h"

namespace tlstap {

class ElfFile;
class ElfImage;

// What the file's section headers and symbol table say, when it has them.
struct GoTableHints {
  std::optional<uint64_t> pclntab_section;  // address
  uint64_t pclntab_section_size = 0;
  std::string pclntab_section_name;
  std::optional<uint64_t> module_section;  // .go.module (Go 1.26+)
  std::optional<uint64_t> runtime_pclntab;
  std::optional<uint64_t> runtime_text;
  std::optional<uint64_t> runtime_firstmoduledata;
};

GoTableHints read_go_table_hints(const ElfFile& elf);

struct GoFunctionTable {
  GoPclntab pclntab;
  uint64_t address = 0;     // of the table's header
  uint64_t text_start = 0;  // 0 for pre-1.18 tables (they store addresses)
  std::string found_by;     // "section .gopclntab", "symbol runtime.pclntab", "scan", ...
  std::string text_start_from;
};

Result<GoFunctionTable> locate_go_function_table(const ElfImage& image, const GoTableHints& hints);

}  // namespace tlstap
