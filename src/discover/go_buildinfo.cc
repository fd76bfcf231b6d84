#include "discover/go_buildinfo.h"

#include <cstring>
#include <string_view>

#include "discover/elf_image.h"

namespace tlstap {
namespace {

constexpr std::string_view kMagic("\xff Go buildinf:", 14);
constexpr uint64_t kHeaderSize = 32;
constexpr uint64_t kAlign = 16;
constexpr uint8_t kFlagBigEndian = 1;
constexpr uint8_t kFlagInline = 2;
// debug/buildinfo refuses strings above 1 MiB through pointers; the same bound here keeps a
// hostile length from making a huge copy.
constexpr uint64_t kMaxString = 1 << 20;

// A uvarint-prefixed string at the front of `bytes`, which is advanced past it.
std::optional<std::string> take_inline_string(std::span<const uint8_t>& bytes) {
  uint64_t length = 0;
  size_t used = 0;
  for (unsigned shift = 0;; shift += 7) {
    if (used >= bytes.size() || shift > 63) return std::nullopt;
    uint8_t byte = bytes[used++];
    length |= uint64_t(byte & 0x7f) << shift;
    if (!(byte & 0x80)) break;
  }
  bytes = bytes.subspan(used);
  if (length > bytes.size() || length > kMaxString) return std::nullopt;
  std::string text(reinterpret_cast<const char*>(bytes.data()), static_cast<size_t>(length));
  bytes = bytes.subspan(static_cast<size_t>(length));
  return text;
}

// A Go string whose header {data, len} is at `header` (the pre-1.18 form).
std::optional<std::string> read_go_string(const ElfImage& image, uint64_t header) {
  std::optional<uint64_t> data = image.read_pointer(header);
  std::optional<uint64_t> length = image.read_pointer(header + image.pointer_size());
  if (!data || !length || *length > kMaxString) return std::nullopt;
  std::optional<std::span<const uint8_t>> bytes = image.bytes_at(*data, *length);
  if (!bytes) return std::nullopt;
  return std::string(reinterpret_cast<const char*>(bytes->data()), bytes->size());
}

// The module text is framed by two 16-byte sentinels (cmd/go's infoStart and infoEnd);
// what is not framed that way is not module info (debug/buildinfo drops it the same way).
std::string strip_modinfo_framing(const std::string& modinfo) {
  if (modinfo.size() >= 33 && modinfo[modinfo.size() - 17] == '\n') {
    return modinfo.substr(16, modinfo.size() - 32);
  }
  return "";
}

}  // namespace

std::optional<GoBuildInfo> decode_go_buildinfo(const ElfImage& image, uint64_t address) {
  std::optional<std::span<const uint8_t>> header = image.bytes_at(address, kHeaderSize);
  if (!header || std::memcmp(header->data(), kMagic.data(), kMagic.size()) != 0) {
    return std::nullopt;
  }
  uint8_t pointer_size = (*header)[14];
  uint8_t flags = (*header)[15];
  GoBuildInfo info;
  if (flags & kFlagInline) {
    std::span<const uint8_t> rest = image.bytes_from(address).subspan(kHeaderSize);
    std::optional<std::string> version = take_inline_string(rest);
    std::optional<std::string> modinfo = take_inline_string(rest);
    if (!version) return std::nullopt;
    info.version = *version;
    info.modinfo = modinfo ? strip_modinfo_framing(*modinfo) : "";
  } else {
    // The pointers are in the program's own pointer size and byte order, which must be the
    // image's: an image read with another word size would misread them.
    if (pointer_size != image.pointer_size() ||
        bool(flags & kFlagBigEndian) != image.big_endian()) {
      return std::nullopt;
    }
    std::optional<uint64_t> version_header = image.read_pointer(address + 16);
    std::optional<uint64_t> modinfo_header = image.read_pointer(address + 16 + pointer_size);
    if (!version_header || !modinfo_header) return std::nullopt;
    std::optional<std::string> version = read_go_string(image, *version_header);
    if (!version) return std::nullopt;
    info.version = *version;
    std::optional<std::string> modinfo = read_go_string(image, *modinfo_header);
    info.modinfo = modinfo ? strip_modinfo_framing(*modinfo) : "";
  }
  if (info.version.empty()) return std::nullopt;
  return info;
}

std::optional<GoBuildInfo> find_go_buildinfo(const ElfImage& image,
                                             std::optional<uint64_t> section_address) {
  if (section_address) {
    if (std::optional<GoBuildInfo> info = decode_go_buildinfo(image, *section_address)) {
      return info;
    }
  }
  // No section headers (or a section that does not decode): the linker puts the blob in
  // the data segment, 16-byte aligned; look through every writable segment.
  for (const LoadSegment& segment : image.segments()) {
    if (!segment.writable) continue;
    std::string_view bytes = image.file().substr(segment.file_offset, segment.file_size);
    for (size_t at = bytes.find(kMagic); at != std::string_view::npos;
         at = bytes.find(kMagic, at + 1)) {
      if ((segment.vaddr + at) % kAlign != 0) continue;
      if (std::optional<GoBuildInfo> info = decode_go_buildinfo(image, segment.vaddr + at)) {
        return info;
      }
    }
  }
  return std::nullopt;
}

}  // namespace tlstap
