// An ELF file as the loader lays it out: which file bytes back which virtual addresses
// (PT_LOAD), and what a pointer-sized word holds once the loader has applied the file's
// RELATIVE relocations. Readers of Go's tables need both: a function's entry address becomes
// the file offset a uprobe takes, and a PIE's pointers (pcHeader.textStart, moduledata, old
// build info) may only be right after relocation.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace tlstap {

class ElfFile;

struct LoadSegment {
  uint64_t vaddr = 0;
  uint64_t file_offset = 0;
  uint64_t file_size = 0;  // clamped to the bytes the file really has
  bool writable = false;
  bool executable = false;
};

// A RELATIVE relocation: the loader stores load bias + addend at `address`.
struct RelativeRelocation {
  uint64_t address = 0;
  uint64_t addend = 0;
};

class ElfImage {
 public:
  // The image of an opened file; it views the file's mapping, so `elf` must outlive it.
  static Result<ElfImage> read(const ElfFile& elf);
  // An image made of given pieces (tests and fuzzers build one from raw bytes). Segments
  // outside `file` are clamped; relocations need not be sorted.
  ElfImage(std::string_view file, std::vector<LoadSegment> segments,
           std::vector<RelativeRelocation> relocations, uint16_t machine, uint8_t pointer_size,
           bool big_endian);

  uint16_t machine() const { return machine_; }  // EM_X86_64, EM_AARCH64, ...
  uint8_t pointer_size() const { return pointer_size_; }
  bool big_endian() const { return big_endian_; }
  const std::vector<LoadSegment>& segments() const { return segments_; }
  std::string_view file() const { return file_; }

  // The segment whose file bytes hold `address`, if any.
  const LoadSegment* segment_of(uint64_t address) const;
  std::optional<uint64_t> file_offset(uint64_t address) const;
  // The file bytes from `address` to the end of its segment's file bytes (empty if none).
  std::span<const uint8_t> bytes_from(uint64_t address) const;
  // Exactly `size` bytes at `address`, or nullopt if the file does not hold them all.
  std::optional<std::span<const uint8_t>> bytes_at(uint64_t address, uint64_t size) const;
  // Unsigned integers in the file's byte order.
  std::optional<uint64_t> read_uint(uint64_t address, unsigned size) const;
  // A pointer-sized word as it is after loading: a RELATIVE relocation's addend if one
  // targets it (the file's own bytes may be zero under RELA), else the file's bytes.
  std::optional<uint64_t> read_pointer(uint64_t address) const;
  // Addresses of the words that RELATIVE relocations set to `value` (sorted).
  std::vector<uint64_t> relocated_words_with(uint64_t value) const;

 private:
  std::string_view file_;
  std::vector<LoadSegment> segments_;
  std::vector<RelativeRelocation> relocations_;  // sorted by address
  uint16_t machine_ = 0;
  uint8_t pointer_size_ = 8;
  bool big_endian_ = false;
};

// Reads an unsigned integer of `size` bytes (1, 2, 4 or 8) from `bytes`.
uint64_t read_unsigned(const uint8_t* bytes, unsigned size, bool big_endian);

}  // namespace tlstap
