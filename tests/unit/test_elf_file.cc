#include "discover/elf_file.h"

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "test_support.h"

namespace tlstap {
namespace {

TEST(ElfFile, NeededLibrariesAreTheDynamicSectionsEntries) {
  Result<ElfFile> uses_gnutls = ElfFile::open(TLSTAP_FIXTURE_USES_GNUTLS);
  ASSERT_TRUE(uses_gnutls) << uses_gnutls.error().message;
  std::vector<std::string> needed = uses_gnutls->needed_libraries();
  EXPECT_NE(std::find(needed.begin(), needed.end(), "libgnutls.so.30"), needed.end());

  Result<ElfFile> no_tls = ElfFile::open(TLSTAP_FIXTURE_NO_TLS);
  ASSERT_TRUE(no_tls) << no_tls.error().message;
  EXPECT_TRUE(no_tls->needed_libraries().empty());
}

TEST(ElfFile, SectionsByName) {
  Result<ElfFile> go = ElfFile::open(TLSTAP_FIXTURE_GO_TLS);
  ASSERT_TRUE(go) << go.error().message;
  EXPECT_TRUE(go->has_section(".go.buildinfo"));
  EXPECT_TRUE(go->has_section(".text"));
  EXPECT_FALSE(go->has_section(".gopclntab"));
  EXPECT_FALSE(go->has_section(".go"));  // whole names only
}

TEST(ElfFile, SymbolsDefinedAndUndefined) {
  Result<ElfFile> elf = ElfFile::open(TLSTAP_FIXTURE_USES_GNUTLS);
  ASSERT_TRUE(elf) << elf.error().message;
  std::set<std::string> defined, undefined;
  elf->for_each_symbol([&](std::string_view name, const GElf_Sym& symbol) {
    (symbol.st_shndx == SHN_UNDEF ? undefined : defined).emplace(name);
  });
  EXPECT_TRUE(defined.contains("send_greeting"));
  EXPECT_TRUE(undefined.contains("gnutls_record_send"));
  EXPECT_FALSE(defined.contains("gnutls_record_send"));
}

TEST(ElfFile, BytesAreTheWholeFile) {
  Result<ElfFile> elf = ElfFile::open(TLSTAP_FIXTURE_NO_TLS);
  ASSERT_TRUE(elf) << elf.error().message;
  EXPECT_EQ(elf->bytes(), test::read_file(TLSTAP_FIXTURE_NO_TLS));
}

TEST(ElfFile, ErrorsNameTheFileOnce) {
  Result<ElfFile> missing = ElfFile::open("/nonexistent/lib.so");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "/nonexistent/lib.so: No such file or directory");

  test::TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string text = dir.file("text.so");
  test::write_file(text, "not ELF\n");
  Result<ElfFile> not_elf = ElfFile::open(text);
  ASSERT_FALSE(not_elf);
  EXPECT_EQ(not_elf.error().message, text + ": not an ELF file");
}

}  // namespace
}  // namespace tlstap
