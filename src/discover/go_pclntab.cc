#include "discover/go_pclntab.h"

#include <cstring>

#include <fmt/format.h>

#include "discover/elf_image.h"

namespace tlstap {
namespace {

constexpr uint32_t kMagicGo12 = 0xfffffffb;
constexpr uint32_t kMagicGo116 = 0xfffffffa;
constexpr uint32_t kMagicGo118 = 0xfffffff0;
constexpr uint32_t kMagicGo120 = 0xfffffff1;

std::optional<GoPclntabFormat> format_of(uint32_t magic) {
  switch (magic) {
    case kMagicGo12: return GoPclntabFormat::kGo12;
    case kMagicGo116: return GoPclntabFormat::kGo116;
    case kMagicGo118: return GoPclntabFormat::kGo118;
    case kMagicGo120: return GoPclntabFormat::kGo120;
    default: return std::nullopt;
  }
}

bool entries_are_offsets(GoPclntabFormat format) { return format >= GoPclntabFormat::kGo118; }

}  // namespace

std::optional<GoPclntabHeader> GoPclntab::read_header(std::span<const uint8_t> table) {
  if (table.size() < 16 || table[4] != 0 || table[5] != 0) return std::nullopt;
  GoPclntabHeader header;
  header.quantum = table[6];
  header.pointer_size = table[7];
  if (header.quantum != 1 && header.quantum != 2 && header.quantum != 4) return std::nullopt;
  if (header.pointer_size != 4 && header.pointer_size != 8) return std::nullopt;
  std::optional<GoPclntabFormat> format =
      format_of(static_cast<uint32_t>(read_unsigned(table.data(), 4, false)));
  if (!format) {
    format = format_of(static_cast<uint32_t>(read_unsigned(table.data(), 4, true)));
    if (!format) return std::nullopt;
    header.big_endian = true;
  }
  header.format = *format;
  if (table.size() < 8u + header.pointer_size) return std::nullopt;
  header.function_count = read_unsigned(table.data() + 8, header.pointer_size, header.big_endian);
  if (entries_are_offsets(header.format)) header.text_start_word = 8 + 2 * header.pointer_size;
  return header;
}

Result<GoPclntab> GoPclntab::parse(std::span<const uint8_t> table, uint64_t text_start) {
  std::optional<GoPclntabHeader> header = read_header(table);
  if (!header) return Error{"not a Go function table (pclntab) header"};
  GoPclntab pclntab(table, *header, text_start);
  unsigned word = header->pointer_size;
  // The header words that say where the tables are, by format.
  auto header_word = [&](unsigned index) { return pclntab.read(8 + uint64_t(index) * word, word); };
  std::optional<uint64_t> funcnametab, pcln;
  switch (header->format) {
    case GoPclntabFormat::kGo12:
      pclntab.functab_ = 8 + word;
      pclntab.funcdata_ = 0;
      pclntab.funcnametab_ = 0;
      pclntab.functab_field_size_ = word;
      break;
    case GoPclntabFormat::kGo116:
      funcnametab = header_word(2);
      pcln = header_word(6);
      if (!funcnametab || !pcln) return Error{"Go function table header is cut short"};
      pclntab.functab_ = pclntab.funcdata_ = *pcln;
      pclntab.funcnametab_ = *funcnametab;
      pclntab.functab_field_size_ = word;
      break;
    case GoPclntabFormat::kGo118:
    case GoPclntabFormat::kGo120:
      funcnametab = header_word(3);
      pcln = header_word(7);
      if (!funcnametab || !pcln) return Error{"Go function table header is cut short"};
      pclntab.functab_ = pclntab.funcdata_ = *pcln;
      pclntab.funcnametab_ = *funcnametab;
      pclntab.functab_field_size_ = 4;
      break;
  }
  uint64_t count = header->function_count;
  // The functab (2 fields per function and the end) must fit: this also bounds the count.
  uint64_t fields = pclntab.functab_ > table.size()
                        ? 0
                        : (table.size() - pclntab.functab_) / pclntab.functab_field_size_;
  if (fields == 0 || count > (fields - 1) / 2) {
    return Error{
        fmt::format("Go function table: {} functions do not fit in {} bytes", count, table.size())};
  }
  if (count == 0) return Error{"Go function table has no functions"};
  uint64_t previous = 0;
  for (uint64_t i = 0; i <= count; i++) {
    uint64_t entry = *pclntab.functab_field(2 * i);  // in bounds: checked above
    if (entry < previous) return Error{fmt::format("Go function table: entry {} out of order", i)};
    previous = entry;
  }
  if (entries_are_offsets(header->format) && text_start + previous < text_start) {
    return Error{"Go function table: text start plus entry offsets overflow"};
  }
  for (uint64_t i = 0; i < count; i++) {
    if (!pclntab.decode(static_cast<size_t>(i))) {
      return Error{fmt::format("Go function table: function record {} is malformed", i)};
    }
  }
  return pclntab;
}

std::optional<uint64_t> GoPclntab::read(uint64_t offset, unsigned size) const {
  if (offset > table_.size() || table_.size() - offset < size) return std::nullopt;
  return read_unsigned(table_.data() + offset, size, header_.big_endian);
}

std::optional<uint64_t> GoPclntab::functab_field(uint64_t index) const {
  if (functab_ > table_.size() || index >= (table_.size() - functab_) / functab_field_size_) {
    return std::nullopt;
  }
  return read(functab_ + index * functab_field_size_, functab_field_size_);
}

std::optional<GoFunction> GoPclntab::decode(size_t index) const {
  std::optional<uint64_t> entry_field = functab_field(2 * uint64_t(index));
  std::optional<uint64_t> func_offset = functab_field(2 * uint64_t(index) + 1);
  std::optional<uint64_t> end_field = functab_field(2 * uint64_t(index) + 2);
  if (!entry_field || !func_offset || !end_field || *end_field < *entry_field) return std::nullopt;
  // The func record: its entry must agree with the functab's, then the name offset.
  uint64_t record = funcdata_ + *func_offset;
  if (record < funcdata_) return std::nullopt;
  bool offsets = entries_are_offsets(header_.format);
  unsigned entry_size = offsets ? 4 : header_.pointer_size;
  std::optional<uint64_t> record_entry = read(record, entry_size);
  std::optional<uint64_t> name_offset = read(record + entry_size, 4);
  if (!record_entry || !name_offset || *record_entry != *entry_field) return std::nullopt;
  if (*name_offset & 0x80000000u) return std::nullopt;  // int32: negative is no name
  uint64_t name_start = funcnametab_ + *name_offset;
  if (name_start >= table_.size()) return std::nullopt;
  const void* nul = std::memchr(table_.data() + name_start, 0, table_.size() - name_start);
  if (!nul) return std::nullopt;
  GoFunction function;
  function.name = std::string_view(reinterpret_cast<const char*>(table_.data() + name_start),
                                   static_cast<const uint8_t*>(nul) - table_.data() - name_start);
  uint64_t base = offsets ? text_start_ : 0;
  function.entry = base + *entry_field;
  function.end = base + *end_field;
  return function;
}

GoFunction GoPclntab::function(size_t index) const {
  std::optional<GoFunction> function = decode(index);
  return function ? *function : GoFunction{};
}

std::vector<GoFunction> GoPclntab::find_all(std::string_view name) const {
  std::vector<GoFunction> found;
  for (size_t i = 0; i < size(); i++) {
    std::optional<GoFunction> function = decode(i);
    if (function && function->name == name) found.push_back(*function);
  }
  return found;
}

std::optional<GoFunction> GoPclntab::find(std::string_view name) const {
  for (size_t i = 0; i < size(); i++) {
    std::optional<GoFunction> function = decode(i);
    if (function && function->name == name) return function;
  }
  return std::nullopt;
}

uint64_t GoPclntab::first_entry_field() const { return functab_field(0).value_or(0); }

}  // namespace tlstap
