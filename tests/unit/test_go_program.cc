// Reading real Go programs: tests/progs/go_tls_client built by CMake with the system's Go
// in several forms (see tests/unit/CMakeLists.txt). Every offset tlstap computes is checked
// against tools that share no code with it: `go tool nm` (addresses and sizes, from the
// unstripped twin of a stripped build), `readelf -lW` (segments: address -> file offset),
// GNU `objdump -d` (x86-64 RET instructions) and `go tool objdump` (arm64 RETs).
#include <gtest/gtest.h>

#include <stdio.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "discover/elf_file.h"
#include "discover/elf_image.h"
#include "discover/go_function_table.h"
#include "discover/go_program.h"
#include "test_support.h"

namespace tlstap {
namespace {

using test::read_file;
using test::TempDir;
using test::write_file;

#ifdef TLSTAP_GO_FIXTURE_DIR
constexpr const char* kGoFixtureDir = TLSTAP_GO_FIXTURE_DIR;
constexpr const char* kGo = TLSTAP_GO_EXECUTABLE;
#else
constexpr const char* kGoFixtureDir = nullptr;
constexpr const char* kGo = nullptr;
#endif

#define SKIP_WITHOUT_GO()                                                                    \
  if (!kGoFixtureDir) {                                                                      \
    GTEST_SKIP() << "go was not found at configure time: install golang-go "                 \
                    "(scripts/install-deps.sh) and reconfigure to test reading Go programs"; \
  }

std::string fixture(const std::string& name) { return std::string(kGoFixtureDir) + "/" + name; }

std::string run(const std::string& command) {
  std::string output;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return output;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) output.append(buffer, n);
  pclose(pipe);
  return output;
}

std::string go_command(const std::string& arguments) {
  std::string dir = kGoFixtureDir;
  return "GOCACHE=" + dir + "/cache GOPATH=" + dir + "/gopath GOTOOLCHAIN=local " + kGo + " " +
         arguments;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

struct NmSymbol {
  uint64_t address = 0;
  uint64_t size = 0;
};

// `go tool nm -size`: "  587e20       1957 T crypto/tls.(*Conn).Write", text symbols only.
std::map<std::string, NmSymbol> nm_text_symbols(const std::string& binary) {
  std::map<std::string, NmSymbol> symbols;
  for (const std::string& line : lines_of(run(go_command("tool nm -size " + binary)))) {
    std::istringstream fields(line);
    std::string address, size, type, name;
    if (!(fields >> address >> size >> type) || (type != "T" && type != "t")) continue;
    std::getline(fields >> std::ws, name);
    symbols.try_emplace(name, NmSymbol{std::stoull(address, nullptr, 16), std::stoull(size)});
  }
  return symbols;
}

struct Segment {
  uint64_t offset, vaddr, file_size;
};

// `readelf -lW`: "  LOAD 0x000000 0x0000000000400000 0x0000000000400000 0x1afdb0 ..."
std::vector<Segment> load_segments(const std::string& binary) {
  std::vector<Segment> segments;
  for (const std::string& line : lines_of(run("readelf -lW " + binary))) {
    std::istringstream fields(line);
    std::string type, offset, vaddr, paddr, file_size;
    if (!(fields >> type >> offset >> vaddr >> paddr >> file_size) || type != "LOAD") continue;
    segments.push_back({std::stoull(offset, nullptr, 16), std::stoull(vaddr, nullptr, 16),
                        std::stoull(file_size, nullptr, 16)});
  }
  return segments;
}

std::optional<uint64_t> offset_of(const std::vector<Segment>& segments, uint64_t address) {
  for (const Segment& s : segments) {
    if (address >= s.vaddr && address < s.vaddr + s.file_size) return address - s.vaddr + s.offset;
  }
  return std::nullopt;
}

// GNU objdump's RETs in [start, stop): "  5881f2:\tc3                   \tret".
std::vector<uint64_t> objdump_x86_returns(const std::string& binary, uint64_t start,
                                          uint64_t stop) {
  std::vector<uint64_t> returns;
  char range[96];
  snprintf(range, sizeof(range), "--start-address=0x%lx --stop-address=0x%lx",
           static_cast<unsigned long>(start), static_cast<unsigned long>(stop));
  for (const std::string& line : lines_of(run("objdump -d " + std::string(range) + " " + binary))) {
    size_t colon = line.find(":\t");
    size_t tab = line.find('\t', colon + 2);
    if (colon == std::string::npos || tab == std::string::npos) continue;
    std::istringstream mnemonic(line.substr(tab + 1));
    std::string word;
    bool is_return = false;
    while (mnemonic >> word) {
      if (word == "ret" || word == "retq") is_return = true;
      if (word != "repz" && word != "rep" && word != "bnd" && word != "notrack") break;
    }
    if (is_return) returns.push_back(std::stoull(line.substr(0, colon), nullptr, 16));
  }
  return returns;
}

// `go tool objdump -s REGEX`: "  conn.go:1179\t\t0x15b498\t\td65f03c0\t\tRET\t...".
std::vector<uint64_t> go_objdump_returns(const std::string& binary, const std::string& function) {
  std::string pattern = "^";
  for (char c : function) {
    if (std::strchr(".()*", c)) pattern += '\\';
    pattern += c;
  }
  pattern += "$";
  std::vector<uint64_t> returns;
  for (const std::string& line :
       lines_of(run(go_command("tool objdump -s '" + pattern + "' " + binary)))) {
    std::istringstream fields(line);
    std::string where, address, encoding, mnemonic;
    if (!(fields >> where >> address >> encoding >> mnemonic) || mnemonic != "RET") continue;
    returns.push_back(std::stoull(address, nullptr, 16));
  }
  return returns;
}

std::string toolchain_version() {
  // "go version go1.19.8 linux/amd64"
  std::istringstream fields(run(go_command("version")));
  std::string go, version, value;
  fields >> go >> version >> value;
  return value;
}

struct Form {
  std::string name;
  std::string symbols_from;  // the unstripped build of the same program (the same code)
  bool stripped;
  std::string arch;
};

const std::vector<Form> kForms = {
    {"normal", "normal", false, "amd64"},   {"stripped", "normal", true, "amd64"},
    {"pie", "pie", false, "amd64"},         {"pie_stripped", "pie", true, "amd64"},
    {"ext_pie", "ext_pie", false, "amd64"}, {"ext_pie_stripped", "ext_pie", true, "amd64"},
    {"arm64", "arm64", false, "arm64"},
};

class GoProgramForms : public ::testing::TestWithParam<Form> {};

// The program is recognised, and every offset equals what the independent tools say.
TEST_P(GoProgramForms, OffsetsEqualTheToolsOnes) {
  SKIP_WITHOUT_GO();
  const Form& form = GetParam();
  std::string binary = fixture(form.name);
  Result<GoProgram> program = inspect_go_program(binary);
  ASSERT_TRUE(program) << program.error().message;
  ASSERT_EQ(program->kind, GoProgramKind::kSupported) << program->reason;
  EXPECT_EQ(program->go_version, toolchain_version());
  EXPECT_EQ(program->go_arch, form.arch);
  EXPECT_TRUE(program->register_abi);
  ASSERT_EQ(program->functions.size(), 2u);

  std::map<std::string, NmSymbol> symbols = nm_text_symbols(fixture(form.symbols_from));
  std::vector<Segment> segments = load_segments(binary);
  std::string bytes = read_file(binary);
  for (size_t i = 0; i < 2; i++) {
    const GoProbeFunction& function = program->functions[i];
    SCOPED_TRACE(function.name);
    EXPECT_EQ(function.name, kGoTlsFunctions[i]);
    EXPECT_EQ(function.found_in, form.stripped ? "pclntab" : ".symtab");
    ASSERT_TRUE(symbols.contains(function.name));
    const NmSymbol& symbol = symbols[function.name];
    EXPECT_EQ(function.address, symbol.address);
    EXPECT_EQ(function.entry_offset, offset_of(segments, symbol.address));

    std::vector<uint64_t> oracle_addresses =
        form.arch == "amd64"
            ? objdump_x86_returns(binary, symbol.address, symbol.address + symbol.size)
            : go_objdump_returns(binary, function.name);
    ASSERT_FALSE(oracle_addresses.empty());
    std::vector<uint64_t> expected;
    for (uint64_t address : oracle_addresses) expected.push_back(*offset_of(segments, address));
    EXPECT_EQ(function.ret_offsets, expected);
    for (uint64_t offset : function.ret_offsets) {
      ASSERT_LT(offset + 4, bytes.size());
      if (form.arch == "amd64") {
        EXPECT_EQ(static_cast<uint8_t>(bytes[offset]), 0xc3);
      } else {
        EXPECT_EQ(bytes.substr(offset, 4), std::string("\xc0\x03\x5f\xd6", 4));
      }
    }
  }
}

// Without .symtab (forced), the function table gives the same entries and RETs.
TEST_P(GoProgramForms, FunctionTableAgreesWithSymbolTable) {
  SKIP_WITHOUT_GO();
  std::string binary = fixture(GetParam().name);
  Result<GoProgram> with_symtab = inspect_go_program(binary);
  Result<GoProgram> without = inspect_go_program(binary, kGoTlsFunctions, {.use_symtab = false});
  ASSERT_TRUE(with_symtab && without);
  ASSERT_EQ(with_symtab->functions.size(), 2u);
  ASSERT_EQ(without->functions.size(), 2u);
  for (size_t i = 0; i < 2; i++) {
    const GoProbeFunction& a = with_symtab->functions[i];
    const GoProbeFunction& b = without->functions[i];
    EXPECT_EQ(b.found_in, "pclntab");
    EXPECT_EQ(a.address, b.address);
    EXPECT_EQ(a.entry_offset, b.entry_offset);
    EXPECT_EQ(a.ret_offsets, b.ret_offsets);
    // The table's end is the next function's entry: at or past the symbol's end (padding).
    EXPECT_GE(b.end_address, a.end_address);
  }
}

INSTANTIATE_TEST_SUITE_P(Builds, GoProgramForms, ::testing::ValuesIn(kForms),
                         [](const auto& info) { return info.param.name; });

struct Located {
  std::optional<ElfFile> elf;  // the table views the file's mapping
  std::optional<GoFunctionTable> table;
  std::string error;
};

Located locate(const std::string& path) {
  Located located;
  Result<ElfFile> elf = ElfFile::open(path);
  if (!elf) return {std::nullopt, std::nullopt, elf.error().message};
  located.elf.emplace(std::move(*elf));
  Result<ElfImage> image = ElfImage::read(*located.elf);
  if (!image) return {std::nullopt, std::nullopt, image.error().message};
  Result<GoFunctionTable> table =
      locate_go_function_table(*image, read_go_table_hints(*located.elf));
  if (!table) {
    located.error = table.error().message;
  } else {
    located.table = std::move(*table);
  }
  return located;
}

// Every function of the table is where `go tool nm` says, in every build form.
TEST(GoFunctionTable, EveryFunctionEqualsNm) {
  SKIP_WITHOUT_GO();
  for (const Form& form : kForms) {
    SCOPED_TRACE(form.name);
    Located located = locate(fixture(form.name));
    ASSERT_TRUE(located.table) << located.error;
    // A name can be in the table twice: an assembly function's ABI0 body (which nm calls
    // NAME.abi0) and its ABIInternal wrapper. Each entry must be one of the name's symbols.
    std::multimap<std::string, NmSymbol> all;
    for (const std::string& line :
         lines_of(run(go_command("tool nm -size " + fixture(form.symbols_from))))) {
      std::istringstream fields(line);
      std::string address, size, type, name;
      if (!(fields >> address >> size >> type) || (type != "T" && type != "t")) continue;
      std::getline(fields >> std::ws, name);
      if (name.ends_with(".abi0")) name.resize(name.size() - 5);
      all.emplace(name, NmSymbol{std::stoull(address, nullptr, 16), std::stoull(size)});
    }
    const GoPclntab& pclntab = located.table->pclntab;
    size_t compared = 0;
    for (size_t i = 0; i < pclntab.size(); i++) {
      GoFunction function = pclntab.function(i);
      auto [first, last] = all.equal_range(std::string(function.name));
      if (first == last) continue;
      auto same = std::find_if(
          first, last, [&](const auto& symbol) { return symbol.second.address == function.entry; });
      ASSERT_NE(same, last) << function.name << " at " << function.entry;
      EXPECT_GE(function.end, same->second.address + same->second.size) << function.name;
      compared++;
    }
    EXPECT_GT(compared, 1000u);
    EXPECT_GT(compared, pclntab.size() * 9 / 10);
  }
}

// Where the table and its text start were found: by section name where the file has one,
// by a scan where not; an externally linked program's runtime.text is not .text's start.
TEST(GoFunctionTable, FoundWithoutSectionOrSymbols) {
  SKIP_WITHOUT_GO();
  Located normal = locate(fixture("stripped"));
  ASSERT_TRUE(normal.table) << normal.error;
  EXPECT_EQ(normal.table->found_by, "section .gopclntab");
  EXPECT_EQ(normal.table->text_start_from, "pclntab header");
  Located pie = locate(fixture("pie_stripped"));
  ASSERT_TRUE(pie.table) << pie.error;
  EXPECT_EQ(pie.table->found_by, "section .data.rel.ro.gopclntab");
  Located external = locate(fixture("ext_pie_stripped"));
  ASSERT_TRUE(external.table) << external.error;
  EXPECT_EQ(external.table->found_by, "scan");
  std::map<std::string, NmSymbol> symbols = nm_text_symbols(fixture("ext_pie"));
  Result<ElfFile> elf = ElfFile::open(fixture("ext_pie_stripped"));
  ASSERT_TRUE(elf);
  std::optional<ElfSection> text = elf->section(".text");
  ASSERT_TRUE(text);
  EXPECT_NE(external.table->text_start, text->address);  // C code comes first
  Located unstripped = locate(fixture("ext_pie"));
  ASSERT_TRUE(unstripped.table);
  EXPECT_EQ(unstripped.table->text_start_from, "symbol runtime.text");
  EXPECT_EQ(external.table->text_start, unstripped.table->text_start);
}

// Replaces every occurrence of `from` in `bytes` by `to` (same length); how many.
int replace_all(std::string& bytes, std::string_view from, std::string_view to) {
  int count = 0;
  for (size_t at = bytes.find(from); at != std::string::npos; at = bytes.find(from, at + 1)) {
    bytes.replace(at, to.size(), to);
    count++;
  }
  return count;
}

void expect_same_functions(const GoProgram& a, const GoProgram& b) {
  ASSERT_EQ(a.functions.size(), b.functions.size());
  for (size_t i = 0; i < a.functions.size(); i++) {
    EXPECT_EQ(a.functions[i].address, b.functions[i].address);
    EXPECT_EQ(a.functions[i].entry_offset, b.functions[i].entry_offset);
    EXPECT_EQ(a.functions[i].ret_offsets, b.functions[i].ret_offsets);
  }
}

// Go 1.26 stores 0 in the header's textStart word: the text start then comes from
// moduledata. Simulated by zeroing the word (and, in a PIE, turning the relocation that
// sets it into R_X86_64_NONE).
TEST(GoFunctionTable, TextStartFromModuledataWhenHeaderHasNone) {
  SKIP_WITHOUT_GO();
  TempDir dir;
  for (std::string name : {"stripped", "pie_stripped", "ext_pie_stripped"}) {
    SCOPED_TRACE(name);
    Located original = locate(fixture(name));
    ASSERT_TRUE(original.table) << original.error;
    std::string bytes = read_file(fixture(name));
    std::vector<Segment> segments = load_segments(fixture(name));
    uint64_t word = original.table->address + original.table->pclntab.header().text_start_word;
    uint64_t word_offset = *offset_of(segments, word);
    std::memset(bytes.data() + word_offset, 0, 8);
    std::string relocation(reinterpret_cast<const char*>(&word), 8);
    relocation += std::string("\x08\0\0\0\0\0\0\0", 8);  // r_info: R_X86_64_RELATIVE
    for (size_t at = bytes.find(relocation); at != std::string::npos;
         at = bytes.find(relocation, at + 1)) {
      bytes[at + 8] = 0;  // R_X86_64_NONE
    }
    std::string patched = dir.file(name);
    write_file(patched, bytes);
    Located located = locate(patched);
    ASSERT_TRUE(located.table) << located.error;
    EXPECT_EQ(located.table->text_start_from.rfind("moduledata at ", 0), 0u)
        << located.table->text_start_from;
    EXPECT_EQ(located.table->text_start, original.table->text_start);
    Result<GoProgram> before = inspect_go_program(fixture(name));
    Result<GoProgram> after = inspect_go_program(patched);
    ASSERT_TRUE(before && after);
    expect_same_functions(*before, *after);
  }
}

// A file whose section names do not say where the table is: found by the scan.
TEST(GoFunctionTable, ScanFindsTableWithoutSectionName) {
  SKIP_WITHOUT_GO();
  TempDir dir;
  for (std::string name : {"stripped", "pie_stripped"}) {
    SCOPED_TRACE(name);
    std::string bytes = read_file(fixture(name));
    ASSERT_GT(replace_all(bytes, ".gopclntab", ".xopclntab"), 0);
    std::string patched = dir.file(name);
    write_file(patched, bytes);
    Located located = locate(patched);
    ASSERT_TRUE(located.table) << located.error;
    EXPECT_EQ(located.table->found_by, "scan");
    Result<GoProgram> before = inspect_go_program(fixture(name));
    Result<GoProgram> after = inspect_go_program(patched);
    ASSERT_TRUE(before && after);
    expect_same_functions(*before, *after);
  }
}

// A Go before the register ABI is reported, not probed: its version is patched in the
// build info of a real program (amd64 needs 1.17, arm64 1.18).
TEST(GoProgram, StackAbiVersionsAreUnsupported) {
  SKIP_WITHOUT_GO();
  TempDir dir;
  std::string version = toolchain_version();  // "go1.19.8"
  ASSERT_EQ(version.rfind("go1.", 0), 0u);
  struct Case {
    std::string binary, old_version;
  };
  std::string tail = version.substr(6);  // ".8"
  for (const Case& c : {Case{"stripped", "go1.16" + tail}, Case{"arm64", "go1.17" + tail}}) {
    SCOPED_TRACE(c.binary);
    std::string bytes = read_file(fixture(c.binary));
    size_t blob = bytes.find("\xff Go buildinf:");
    ASSERT_NE(blob, std::string::npos);
    size_t at = bytes.find(version, blob);
    ASSERT_NE(at, std::string::npos);
    bytes.replace(at, c.old_version.size(), c.old_version);
    std::string patched = dir.file(c.binary);
    write_file(patched, bytes);
    Result<GoProgram> program = inspect_go_program(patched);
    ASSERT_TRUE(program) << program.error().message;
    EXPECT_EQ(program->kind, GoProgramKind::kUnsupported);
    EXPECT_EQ(program->go_version, c.old_version);
    EXPECT_FALSE(program->register_abi);
    EXPECT_TRUE(program->functions.empty());
    EXPECT_NE(program->reason.find("register ABI came with Go 1.17 on amd64"), std::string::npos)
        << program->reason;
  }
}

TEST(GoProgram, NotGoPrograms) {
  for (const char* path : {TLSTAP_FIXTURE_SSL, TLSTAP_FIXTURE_GO_TLS, "/proc/self/exe"}) {
    SCOPED_TRACE(path);
    Result<GoProgram> program = inspect_go_program(path);
    ASSERT_TRUE(program) << program.error().message;
    EXPECT_EQ(program->kind, GoProgramKind::kNotGo);
    EXPECT_NE(program->reason.find("not a Go program"), std::string::npos);
    EXPECT_TRUE(program->functions.empty());
  }
  Result<GoProgram> missing = inspect_go_program("/nonexistent/go-program");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("/nonexistent/go-program"), std::string::npos);
}

// A Go program without crypto/tls is a supported Go program with no functions to probe.
TEST(GoProgram, AbsentFunctionsAreLeftOut) {
  SKIP_WITHOUT_GO();
  constexpr std::string_view wanted[] = {"crypto/tls.(*Conn).Write", "main.doesNotExist"};
  for (std::string name : {"normal", "stripped"}) {
    Result<GoProgram> program = inspect_go_program(fixture(name), wanted);
    ASSERT_TRUE(program) << program.error().message;
    ASSERT_EQ(program->kind, GoProgramKind::kSupported);
    ASSERT_EQ(program->functions.size(), 1u);
    EXPECT_EQ(program->functions[0].name, wanted[0]);
  }
}

}  // namespace
}  // namespace tlstap
