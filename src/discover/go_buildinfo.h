// Go's build info: the blob the Go linker puts in every program (section .go.buildinfo,
// Go 1.13 and later) with the toolchain version and the module/build settings text.
//
// Layout (cmd/link's buildinfo, read as debug/buildinfo does): 16-byte aligned, the 14-byte
// magic "\xff Go buildinf:", a pointer-size byte, a flags byte (1: big-endian, 2: strings
// inline), 16 more header bytes. Go 1.18 and later store the two strings inline after the
// 32-byte header, each prefixed by its length as a uvarint; older versions store two
// pointers at offset 16 to Go string headers {data pointer, length} elsewhere in the image.
// Both forms are read.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace tlstap {

class ElfImage;

struct GoBuildInfo {
  std::string version;  // "go1.19.8"
  std::string modinfo;  // module and build settings lines, framing removed; may be empty
};

// Decodes the blob starting at `address` (where the magic is). nullopt if it is not a
// well-formed build info blob.
std::optional<GoBuildInfo> decode_go_buildinfo(const ElfImage& image, uint64_t address);

// Finds and decodes the program's build info: at `section_address` (the .go.buildinfo
// section's address, when the file has section headers), else at the first 16-byte aligned
// magic in a writable segment that decodes.
std::optional<GoBuildInfo> find_go_buildinfo(const ElfImage& image,
                                             std::optional<uint64_t> section_address);

}  // namespace tlstap
