// Go's function table (the pclntab, section .gopclntab): every Go function's name, entry and
// end, which the linker keeps even in stripped programs because the runtime itself needs it
// (stack traces, garbage collection). This file only decodes the table's bytes; finding them
// in a program is go_function_table.h.
//
// Formats (debug/gosym's pclntab.go and runtime/symtab.go), all starting with a 4-byte magic,
// two zero bytes, the instruction size quantum (1, 2 or 4) and the pointer size (4 or 8),
// then pointer-sized header words:
//   Go 1.2-1.15   0xfffffffb  nfunc; the functab follows the header: {entry pc, func offset}
//                             pointer-sized pairs, then the end pc. Offsets count from the
//                             table's start.
//   Go 1.16-1.17  0xfffffffa  nfunc, nfiles, funcname, cu, filetab, pctab, pcln offsets;
//                             functab at the pcln offset, same pointer-sized pairs.
//   Go 1.18-1.19  0xfffffff0  nfunc, nfiles, textStart, funcname, cu, filetab, pctab, pcln
//   Go 1.20+      0xfffffff1  offsets; functab entries are two uint32s {entry offset from
//                             textStart, func offset}. From Go 1.26 on, textStart is always
//                             stored as 0 (the runtime takes moduledata.text instead).
// A func record (at func offset from the functab's start, or from the table's start before
// 1.16) begins with the entry (uint32 offset from 1.18, else a pointer) and the int32 name
// offset into the function name table. Both byte orders are read.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace tlstap {

enum class GoPclntabFormat { kGo12, kGo116, kGo118, kGo120 };

struct GoPclntabHeader {
  GoPclntabFormat format = GoPclntabFormat::kGo120;
  bool big_endian = false;
  uint8_t quantum = 1;
  uint8_t pointer_size = 8;
  uint64_t function_count = 0;
  // Where the textStart word is, from the table's start (1.18+ formats; 0 otherwise). The
  // word's value in the file may need relocation (PIE) or be 0 (Go 1.26+), so the caller
  // reads it through the image.
  uint64_t text_start_word = 0;
};

struct GoFunction {
  std::string_view name;  // views the table's bytes
  uint64_t entry = 0;
  uint64_t end = 0;  // the next function's entry: includes the padding after this one
};

class GoPclntab {
 public:
  // The header at the front of `table`, if it is one of the formats above.
  static std::optional<GoPclntabHeader> read_header(std::span<const uint8_t> table);
  // Decodes and checks every function record (names inside the table, entries in order,
  // records consistent with the functab). `text_start` is what 1.18+ entry offsets count
  // from (runtime.text); older formats store addresses and ignore it.
  static Result<GoPclntab> parse(std::span<const uint8_t> table, uint64_t text_start);

  const GoPclntabHeader& header() const { return header_; }
  size_t size() const { return static_cast<size_t>(header_.function_count); }
  GoFunction function(size_t index) const;
  // Every function with this name, in table order. A name is there more than once when an
  // assembly function has an ABI0 body and an ABIInternal wrapper (runtime.reflectcall).
  std::vector<GoFunction> find_all(std::string_view name) const;
  std::optional<GoFunction> find(std::string_view name) const;
  // The first function's entry as the functab stores it (an offset from textStart from
  // 1.18 on): moduledata.minpc equals textStart plus this, which locating code checks.
  uint64_t first_entry_field() const;

 private:
  GoPclntab(std::span<const uint8_t> table, GoPclntabHeader header, uint64_t text_start)
      : table_(table), header_(header), text_start_(text_start) {}
  // Decodes function `index` with every bounds check; nullopt if the table is malformed.
  std::optional<GoFunction> decode(size_t index) const;
  std::optional<uint64_t> functab_field(uint64_t index) const;  // 2*i: entry, 2*i+1: func
  std::optional<uint64_t> read(uint64_t offset, unsigned size) const;

  std::span<const uint8_t> table_;
  GoPclntabHeader header_;
  uint64_t text_start_ = 0;
  uint64_t functab_ = 0;      // offset of the functab in the table
  uint64_t funcdata_ = 0;     // what func offsets count from
  uint64_t funcnametab_ = 0;  // what name offsets count from
  unsigned functab_field_size_ = 4;
};

}  // namespace tlstap
