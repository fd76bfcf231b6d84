#include "discover/elf_image.h"

#include <elf.h>
#include <gelf.h>

#include <algorithm>

#include "discover/elf_file.h"

namespace tlstap {
namespace {

constexpr uint64_t kRelaEntrySize = 24;  // Elf64_Rela
constexpr uint64_t kDynEntrySize = 16;   // Elf64_Dyn

bool is_relative_type(uint16_t machine, uint32_t type) {
  return (machine == EM_X86_64 && type == R_X86_64_RELATIVE) ||
         (machine == EM_AARCH64 && type == R_AARCH64_RELATIVE);
}

// The RELATIVE entries of the DT_RELA table, found through PT_DYNAMIC rather than section
// headers (which a file need not keep). Only ELF64 RELA: the only layout of amd64 and
// arm64, the two architectures tlstap reads Go programs on.
std::vector<RelativeRelocation> read_relative_relocations(const ElfImage& image,
                                                          const LoadSegment& dynamic) {
  std::vector<RelativeRelocation> relocations;
  if (image.pointer_size() != 8) return relocations;
  std::string_view file = image.file();
  if (dynamic.file_offset > file.size()) return relocations;
  uint64_t size = std::min<uint64_t>(dynamic.file_size, file.size() - dynamic.file_offset);
  uint64_t rela = 0, rela_size = 0, rela_entry = kRelaEntrySize;
  auto bytes = reinterpret_cast<const uint8_t*>(file.data()) + dynamic.file_offset;
  for (uint64_t at = 0; at + kDynEntrySize <= size; at += kDynEntrySize) {
    uint64_t tag = read_unsigned(bytes + at, 8, image.big_endian());
    uint64_t value = read_unsigned(bytes + at + 8, 8, image.big_endian());
    if (tag == DT_NULL) break;
    if (tag == DT_RELA) rela = value;
    if (tag == DT_RELASZ) rela_size = value;
    if (tag == DT_RELAENT) rela_entry = value;
  }
  if (rela == 0 || rela_size == 0 || rela_entry < kRelaEntrySize) return relocations;
  std::span<const uint8_t> table = image.bytes_from(rela);
  uint64_t count = std::min<uint64_t>(rela_size, table.size()) / rela_entry;
  for (uint64_t i = 0; i < count; i++) {
    const uint8_t* entry = table.data() + i * rela_entry;
    uint64_t info = read_unsigned(entry + 8, 8, image.big_endian());
    if (!is_relative_type(image.machine(), static_cast<uint32_t>(info & 0xffffffff))) continue;
    relocations.push_back({read_unsigned(entry, 8, image.big_endian()),
                           read_unsigned(entry + 16, 8, image.big_endian())});
  }
  return relocations;
}

}  // namespace

uint64_t read_unsigned(const uint8_t* bytes, unsigned size, bool big_endian) {
  uint64_t value = 0;
  for (unsigned i = 0; i < size; i++) {
    unsigned shift = big_endian ? 8 * (size - 1 - i) : 8 * i;
    value |= uint64_t(bytes[i]) << shift;
  }
  return value;
}

ElfImage::ElfImage(std::string_view file, std::vector<LoadSegment> segments,
                   std::vector<RelativeRelocation> relocations, uint16_t machine,
                   uint8_t pointer_size, bool big_endian)
    : file_(file),
      relocations_(std::move(relocations)),
      machine_(machine),
      pointer_size_(pointer_size == 4 ? 4 : 8),
      big_endian_(big_endian) {
  for (LoadSegment segment : segments) {
    if (segment.file_offset >= file.size()) continue;
    segment.file_size = std::min(segment.file_size, file.size() - segment.file_offset);
    // A segment whose addresses would wrap cannot be looked up; keep it out.
    if (segment.vaddr + segment.file_size < segment.vaddr) continue;
    segments_.push_back(segment);
  }
  std::sort(relocations_.begin(), relocations_.end(),
            [](const auto& a, const auto& b) { return a.address < b.address; });
}

Result<ElfImage> ElfImage::read(const ElfFile& elf) {
  GElf_Ehdr header;
  if (!gelf_getehdr(elf.get(), &header)) return Error{"unreadable ELF header"};
  size_t count = 0;
  if (elf_getphdrnum(elf.get(), &count) != 0) return Error{"unreadable program headers"};
  std::vector<LoadSegment> segments;
  std::optional<LoadSegment> dynamic;
  for (size_t i = 0; i < count; i++) {
    GElf_Phdr phdr;
    if (!gelf_getphdr(elf.get(), static_cast<int>(i), &phdr)) continue;
    LoadSegment segment{phdr.p_vaddr, phdr.p_offset, phdr.p_filesz, (phdr.p_flags & PF_W) != 0,
                        (phdr.p_flags & PF_X) != 0};
    if (phdr.p_type == PT_LOAD) segments.push_back(segment);
    if (phdr.p_type == PT_DYNAMIC) dynamic = segment;
  }
  std::string_view file = elf.bytes();
  uint8_t pointer_size = header.e_ident[EI_CLASS] == ELFCLASS32 ? 4 : 8;
  bool big_endian = header.e_ident[EI_DATA] == ELFDATA2MSB;
  ElfImage image(file, std::move(segments), {}, header.e_machine, pointer_size, big_endian);
  if (dynamic) {
    image.relocations_ = read_relative_relocations(image, *dynamic);
    std::sort(image.relocations_.begin(), image.relocations_.end(),
              [](const auto& a, const auto& b) { return a.address < b.address; });
  }
  return image;
}

const LoadSegment* ElfImage::segment_of(uint64_t address) const {
  for (const LoadSegment& segment : segments_) {
    if (address >= segment.vaddr && address - segment.vaddr < segment.file_size) return &segment;
  }
  return nullptr;
}

std::optional<uint64_t> ElfImage::file_offset(uint64_t address) const {
  const LoadSegment* segment = segment_of(address);
  if (!segment) return std::nullopt;
  return address - segment->vaddr + segment->file_offset;
}

std::span<const uint8_t> ElfImage::bytes_from(uint64_t address) const {
  const LoadSegment* segment = segment_of(address);
  if (!segment) return {};
  uint64_t into = address - segment->vaddr;
  auto start = reinterpret_cast<const uint8_t*>(file_.data()) + segment->file_offset + into;
  return {start, static_cast<size_t>(segment->file_size - into)};
}

std::optional<std::span<const uint8_t>> ElfImage::bytes_at(uint64_t address, uint64_t size) const {
  std::span<const uint8_t> bytes = bytes_from(address);
  if (bytes.size() < size) return std::nullopt;
  return bytes.first(static_cast<size_t>(size));
}

std::optional<uint64_t> ElfImage::read_uint(uint64_t address, unsigned size) const {
  std::optional<std::span<const uint8_t>> bytes = bytes_at(address, size);
  if (!bytes) return std::nullopt;
  return read_unsigned(bytes->data(), size, big_endian_);
}

std::optional<uint64_t> ElfImage::read_pointer(uint64_t address) const {
  auto found = std::lower_bound(relocations_.begin(), relocations_.end(), address,
                                [](const auto& r, uint64_t a) { return r.address < a; });
  if (found != relocations_.end() && found->address == address) return found->addend;
  return read_uint(address, pointer_size_);
}

std::vector<uint64_t> ElfImage::relocated_words_with(uint64_t value) const {
  std::vector<uint64_t> addresses;
  for (const RelativeRelocation& relocation : relocations_) {
    if (relocation.addend == value) addresses.push_back(relocation.address);
  }
  return addresses;
}

}  // namespace tlstap
