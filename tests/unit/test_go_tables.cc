// The Go readers on hand-made bytes (no Go toolchain needed): version strings, build info in
// its inline (Go 1.18+) and pointer (before 1.18) forms, function tables of each format,
// malformed tables, and return instructions in tricky encodings.
#include <elf.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "discover/elf_image.h"
#include "discover/go_buildinfo.h"
#include "discover/go_function_table.h"
#include "discover/go_pclntab.h"
#include "discover/go_version.h"
#include "discover/return_instructions.h"

namespace tlstap {
namespace {

std::span<const uint8_t> as_bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

void put(std::string& out, size_t at, uint64_t value, unsigned size, bool big_endian = false) {
  if (out.size() < at + size) out.resize(at + size, '\0');
  for (unsigned i = 0; i < size; i++) {
    unsigned shift = big_endian ? 8 * (size - 1 - i) : 8 * i;
    out[at + i] = static_cast<char>(value >> shift);
  }
}

// --- versions ------------------------------------------------------------------------------

TEST(GoVersion, Parses) {
  EXPECT_EQ(parse_go_version("go1.19.8"), (GoVersion{1, 19, 8}));
  EXPECT_EQ(parse_go_version("go1.21rc2"), (GoVersion{1, 21, 0}));
  EXPECT_EQ(parse_go_version("go1.22.0 X:nocoverageredesign"), (GoVersion{1, 22, 0}));
  EXPECT_EQ(parse_go_version("devel go1.23-4f8a0b3 Tue Jan 2 +0000"), (GoVersion{1, 23, 0}));
  EXPECT_EQ(parse_go_version("go1.9"), (GoVersion{1, 9, 0}));
  EXPECT_FALSE(parse_go_version(""));
  EXPECT_FALSE(parse_go_version("go"));
  EXPECT_FALSE(parse_go_version("gopher1"));
  EXPECT_FALSE(parse_go_version("go1."));
  EXPECT_FALSE(parse_go_version("go99999999999999999999.1"));
}

TEST(GoVersion, RegisterAbi) {
  EXPECT_FALSE(go_uses_register_abi({1, 16, 15}, "amd64", ""));
  EXPECT_TRUE(go_uses_register_abi({1, 17, 0}, "amd64", ""));
  EXPECT_FALSE(go_uses_register_abi({1, 17, 13}, "arm64", ""));
  EXPECT_TRUE(go_uses_register_abi({1, 18, 0}, "arm64", ""));
  EXPECT_TRUE(go_uses_register_abi({1, 26, 0}, "amd64", ""));
  EXPECT_FALSE(go_uses_register_abi({1, 21, 0}, "386", ""));
  EXPECT_FALSE(go_uses_register_abi({1, 18, 0}, "amd64",
                                    "path\tx\nbuild\tGOEXPERIMENT=fieldtrack,noregabi\n"));
  EXPECT_TRUE(go_uses_register_abi({1, 18, 0}, "amd64", "build\tGOEXPERIMENT=fieldtrack\n"));
  EXPECT_EQ(go_arch_name(EM_X86_64), "amd64");
  EXPECT_EQ(go_arch_name(EM_AARCH64), "arm64");
  EXPECT_EQ(go_arch_name(EM_386), "");
}

// --- build info ------------------------------------------------------------------------------

constexpr uint64_t kBase = 0x10000;

ElfImage image_of(const std::string& bytes, std::vector<RelativeRelocation> relocations = {}) {
  return ElfImage(bytes, {{kBase, 0, bytes.size(), true, false}}, std::move(relocations), EM_X86_64,
                  8, false);
}

std::string framed_modinfo(const std::string& text) {
  return std::string(16, 'S') + text + "\n" + std::string(16, 'E');
}

TEST(GoBuildInfo, InlineStrings) {
  std::string blob("\xff Go buildinf:", 14);
  blob += std::string("\x08\x02", 2) + std::string(16, '\0');
  blob += "\x08go1.19.8";
  std::string modinfo = framed_modinfo("path\tx\nbuild\tGOAMD64=v1");
  blob += static_cast<char>(modinfo.size());
  blob += modinfo;
  ElfImage image = image_of(blob);
  std::optional<GoBuildInfo> info = decode_go_buildinfo(image, kBase);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->version, "go1.19.8");
  EXPECT_EQ(info->modinfo, "path\tx\nbuild\tGOAMD64=v1\n");
  // Found by the scan of writable segments too (no section address).
  std::string padded = std::string(48, 'x') + blob;
  ElfImage scanned = image_of(padded);
  ASSERT_TRUE(find_go_buildinfo(scanned, std::nullopt));
  EXPECT_EQ(find_go_buildinfo(scanned, std::nullopt)->version, "go1.19.8");
}

// Before Go 1.18: two pointers to Go string headers {data, len}. In a PIE the pointers may
// be zero in the file and set by RELATIVE relocations.
TEST(GoBuildInfo, PointerStrings) {
  for (bool relocated : {false, true}) {
    SCOPED_TRACE(relocated);
    std::string bytes("\xff Go buildinf:", 14);
    bytes += std::string("\x08\x00", 2);
    bytes.resize(64, '\0');
    std::string modinfo = framed_modinfo("path\tcmd");
    // String headers at 64 and 80, their data at 96 and 112.
    std::vector<RelativeRelocation> relocations;
    auto pointer = [&](size_t at, uint64_t value) {
      put(bytes, at, relocated ? 0 : value, 8);
      if (relocated) relocations.push_back({kBase + at, value});
    };
    pointer(16, kBase + 64);
    pointer(24, kBase + 80);
    pointer(64, kBase + 96);
    put(bytes, 72, 9, 8);
    pointer(80, kBase + 112);
    put(bytes, 88, modinfo.size(), 8);
    bytes.resize(96, '\0');
    bytes += "go1.17.13";
    bytes.resize(112, '\0');
    bytes += modinfo;
    ElfImage image = image_of(bytes, relocations);
    std::optional<GoBuildInfo> info = decode_go_buildinfo(image, kBase);
    ASSERT_TRUE(info);
    EXPECT_EQ(info->version, "go1.17.13");
    EXPECT_EQ(info->modinfo, "path\tcmd\n");
  }
}

TEST(GoBuildInfo, MalformedIsRefused) {
  std::string header("\xff Go buildinf:", 14);
  // Inline, but the length runs past the end; an overlong varint; nothing after the header.
  for (std::string tail : {std::string("\x40go1.19", 7), std::string(12, '\xff'), std::string()}) {
    std::string blob = header + std::string("\x08\x02", 2) + std::string(16, '\0') + tail;
    ElfImage image = image_of(blob);
    EXPECT_FALSE(decode_go_buildinfo(image, kBase));
  }
  // Pointer form with pointers nowhere, and with a pointer size the image does not have.
  std::string blob = header + std::string("\x08\x00", 2) + std::string(16, '\x7f');
  EXPECT_FALSE(decode_go_buildinfo(image_of(blob), kBase));
  blob = header + std::string("\x04\x00", 2) + std::string(16, '\0');
  EXPECT_FALSE(decode_go_buildinfo(image_of(blob), kBase));
  // Too short for the header; wrong magic.
  EXPECT_FALSE(decode_go_buildinfo(image_of(header), kBase));
  EXPECT_FALSE(decode_go_buildinfo(image_of(std::string(32, '\xff')), kBase));
}

// --- function tables -------------------------------------------------------------------------

struct FakeFunction {
  std::string name;
  uint64_t entry;  // offset from text start (1.18+) or address
};

// A function table of `format` with these functions, ending at `end`.
std::string build_pclntab(GoPclntabFormat format, const std::vector<FakeFunction>& functions,
                          uint64_t end, uint64_t text_start_word = 0, bool big_endian = false) {
  const uint32_t magics[] = {0xfffffffb, 0xfffffffa, 0xfffffff0, 0xfffffff1};
  std::string t;
  put(t, 0, magics[static_cast<int>(format)], 4, big_endian);
  t += std::string("\0\0\x01\x08", 4);  // pad, pad, quantum 1, pointer size 8
  uint64_t n = functions.size();
  bool offsets = format >= GoPclntabFormat::kGo118;
  unsigned field = offsets ? 4 : 8;
  unsigned header_words = format == GoPclntabFormat::kGo12 ? 1 : offsets ? 8 : 7;
  uint64_t names = 8 + 8 * header_words;
  if (format == GoPclntabFormat::kGo12) names += (2 * n + 1) * 8 + 8;  // functab, fileoff
  std::vector<uint64_t> name_offsets;
  std::string name_bytes;
  for (const FakeFunction& f : functions) {
    name_offsets.push_back((format == GoPclntabFormat::kGo12 ? names : 0) + name_bytes.size());
    name_bytes += f.name + '\0';
  }
  t.resize(names, '\0');
  t += name_bytes;
  t.resize((t.size() + 7) & ~size_t(7), '\0');
  uint64_t pcln = format == GoPclntabFormat::kGo12 ? 16 : t.size();
  uint64_t functab_size = (2 * n + 1) * field;
  uint64_t records = format == GoPclntabFormat::kGo12 ? t.size() : pcln + functab_size;
  uint64_t funcdata = format == GoPclntabFormat::kGo12 ? 0 : pcln;
  put(t, 8, n, 8, big_endian);
  if (format != GoPclntabFormat::kGo12) {
    unsigned first = offsets ? 3 : 2;  // funcname, cu, filetab, pctab, pcln
    for (unsigned w = first; w < first + 4; w++) put(t, 8 + 8 * w, names, 8, big_endian);
    put(t, 8 + 8 * (first + 4), pcln, 8, big_endian);
    if (offsets) put(t, 8 + 8 * 2, text_start_word, 8, big_endian);
  }
  for (uint64_t i = 0; i < n; i++) {
    uint64_t record = records + i * 16;
    put(t, pcln + 2 * i * field, functions[i].entry, field, big_endian);
    put(t, pcln + (2 * i + 1) * field, record - funcdata, field, big_endian);
    put(t, record, functions[i].entry, field, big_endian);
    put(t, record + field, name_offsets[i], 4, big_endian);
  }
  put(t, pcln + 2 * n * field, end, field, big_endian);
  t.resize(std::max<size_t>(t.size(), records + n * 16 + 8), '\0');
  return t;
}

const std::vector<FakeFunction> kFunctions = {
    {"runtime.text", 0}, {"crypto/tls.(*Conn).Write", 0x40}, {"crypto/tls.(*Conn).Read", 0x90}};

TEST(GoPclntab, EachFormat) {
  for (auto format : {GoPclntabFormat::kGo12, GoPclntabFormat::kGo116, GoPclntabFormat::kGo118,
                      GoPclntabFormat::kGo120}) {
    for (bool big_endian : {false, true}) {
      SCOPED_TRACE(static_cast<int>(format) * 2 + big_endian);
      bool offsets = format >= GoPclntabFormat::kGo118;
      uint64_t base = offsets ? 0 : 0x401000;
      std::vector<FakeFunction> functions = kFunctions;
      for (FakeFunction& f : functions) f.entry += base;
      std::string table = build_pclntab(format, functions, base + 0x100, 0, big_endian);
      Result<GoPclntab> pclntab = GoPclntab::parse(as_bytes(table), offsets ? 0x401000 : 0);
      ASSERT_TRUE(pclntab) << pclntab.error().message;
      EXPECT_EQ(pclntab->header().format, format);
      EXPECT_EQ(pclntab->header().big_endian, big_endian);
      ASSERT_EQ(pclntab->size(), 3u);
      std::optional<GoFunction> write = pclntab->find("crypto/tls.(*Conn).Write");
      ASSERT_TRUE(write);
      EXPECT_EQ(write->entry, 0x401040u);
      EXPECT_EQ(write->end, 0x401090u);
      GoFunction last = pclntab->function(2);
      EXPECT_EQ(last.name, "crypto/tls.(*Conn).Read");
      EXPECT_EQ(last.end, 0x401100u);
      EXPECT_FALSE(pclntab->find("crypto/tls.(*Conn).Close"));
    }
  }
}

TEST(GoPclntab, MalformedTablesAreErrors) {
  std::string good = build_pclntab(GoPclntabFormat::kGo120, kFunctions, 0x100);
  ASSERT_TRUE(GoPclntab::parse(as_bytes(good), 0x401000));
  // Entries out of order.
  std::string bad =
      build_pclntab(GoPclntabFormat::kGo120, {{"a", 0x10}, {"b", 0x8}, {"c", 0x20}}, 0x30);
  EXPECT_FALSE(GoPclntab::parse(as_bytes(bad), 0x401000));
  // A function count the bytes cannot hold.
  bad = good;
  put(bad, 8, 0xffffffffffull, 8);
  EXPECT_FALSE(GoPclntab::parse(as_bytes(bad), 0x401000));
  // Cut short: the functab is no longer all there.
  EXPECT_FALSE(GoPclntab::parse(as_bytes(good).first(100), 0x401000));
  // A name without its NUL: the table ends inside the last name.
  std::string unterminated = build_pclntab(GoPclntabFormat::kGo12, {{"abc", 0x1000}}, 0x1010);
  size_t name = unterminated.find("abc");
  unterminated.resize(name + 3);
  EXPECT_FALSE(GoPclntab::parse(as_bytes(unterminated), 0));
  // A func record whose entry disagrees with the functab.
  bad = good;
  size_t record = bad.size() - 8 - 3 * 16;
  bad[record] = 0x7f;
  EXPECT_FALSE(GoPclntab::parse(as_bytes(bad), 0x401000));
  // Not a header at all: wrong magic, non-zero pad, bad quantum or pointer size.
  for (size_t at : {0, 4, 6, 7}) {
    bad = good;
    bad[at] = 3;
    EXPECT_FALSE(GoPclntab::parse(as_bytes(bad), 0x401000)) << at;
  }
  // Entries that overflow past the top of the address space.
  EXPECT_FALSE(GoPclntab::parse(as_bytes(good), ~0ull - 0x10));
}

// A table and code laid out in an image without section headers or symbols: the scan finds
// the table; the text start comes from the header word, or from moduledata when the word
// is 0 (Go 1.26+).
TEST(GoFunctionTable, ScanAndModuledata) {
  constexpr uint64_t kText = 0x401000, kRodata = 0x500000, kData = 0x600000;
  for (bool header_word : {true, false}) {
    SCOPED_TRACE(header_word);
    std::string code(0x100, '\xcc');
    std::string rodata(0x40, '\0');  // something before the table
    std::string table =
        build_pclntab(GoPclntabFormat::kGo120, kFunctions, 0x100, header_word ? kText : 0);
    rodata += table;
    std::string data(0x80, '\0');
    uint64_t module = kData + 0x10;
    put(data, 0x10, kRodata + 0x40, 8);                  // pcHeader
    put(data, 0x10 + 8, kRodata + 0x40 + 8 + 8 * 8, 8);  // funcnametab
    put(data, 0x10 + 20 * 8, kText, 8);                  // minpc
    put(data, 0x10 + 22 * 8, kText, 8);                  // text
    std::string file = code + rodata + data;
    ElfImage image(file,
                   {{kText, 0, code.size(), false, true},
                    {kRodata, code.size(), rodata.size(), false, false},
                    {kData, code.size() + rodata.size(), data.size(), true, false}},
                   {}, EM_X86_64, 8, false);
    Result<GoFunctionTable> located = locate_go_function_table(image, {});
    ASSERT_TRUE(located) << located.error().message;
    EXPECT_EQ(located->found_by, "scan");
    EXPECT_EQ(located->address, kRodata + 0x40);
    EXPECT_EQ(located->text_start, kText);
    EXPECT_EQ(located->text_start_from,
              header_word ? "pclntab header" : fmt::format("moduledata at {:#x}", module));
    std::optional<GoFunction> read = located->pclntab.find("crypto/tls.(*Conn).Read");
    ASSERT_TRUE(read);
    EXPECT_EQ(read->entry, kText + 0x90);
  }
}

// --- return instructions -------------------------------------------------------------------

TEST(ReturnInstructions, X86OnlyRealRets) {
  std::string code(
      "\xb8\xc3\xc3\xc3\xc3"          // mov eax, 0xc3c3c3c3: four 0xc3 bytes, no RET
      "\xc3"                          // ret
      "\x48\x8b\x05\xc3\x00\x00\x00"  // mov rax, [rip+0xc3]
      "\xc2\x08\x00"                  // ret 8
      "\xf3\xc3"                      // repz ret
      "\xcc\xcc\xcc",                 // int3 padding
      21);
  Result<std::vector<uint64_t>> returns =
      find_return_instructions(EM_X86_64, as_bytes(code), 0x1000);
  ASSERT_TRUE(returns) << returns.error().message;
  EXPECT_EQ(*returns, (std::vector<uint64_t>{0x1005, 0x100d, 0x1010}));
}

TEST(ReturnInstructions, X86UndecodableIsAnErrorUnlessPadding) {
  // 0x06 (push es) does not exist in 64-bit mode.
  std::string code("\xc3\x06\x90\x90", 4);
  EXPECT_FALSE(find_return_instructions(EM_X86_64, as_bytes(code), 0));
  // An incomplete instruction that is only padding ends the function.
  std::string padded("\xc3\x00", 2);
  Result<std::vector<uint64_t>> returns = find_return_instructions(EM_X86_64, as_bytes(padded), 0);
  ASSERT_TRUE(returns) << returns.error().message;
  EXPECT_EQ(*returns, std::vector<uint64_t>{0});
  EXPECT_TRUE(find_return_instructions(EM_X86_64, {}, 0));
  EXPECT_FALSE(find_return_instructions(EM_386, as_bytes(code), 0));
}

TEST(ReturnInstructions, Arm64) {
  std::string code(
      "\x1f\x20\x03\xd5"   // nop
      "\xc0\x03\x5f\xd6"   // ret
      "\x00\x00\x00\x00"   // zero padding (undecodable word: skipped)
      "\x20\x00\x5f\xd6"   // ret x1
      "\xc0\x03\x1f\xd6",  // br x30: a jump, not a return
      20);
  Result<std::vector<uint64_t>> returns =
      find_return_instructions(EM_AARCH64, as_bytes(code), 0x2000);
  ASSERT_TRUE(returns) << returns.error().message;
  EXPECT_EQ(*returns, (std::vector<uint64_t>{0x2004, 0x200c}));
}

}  // namespace
}  // namespace tlstap
