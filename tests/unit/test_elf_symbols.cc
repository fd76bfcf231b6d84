#include "discover/elf_symbols.h"

#include <dlfcn.h>
#include <link.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "test_support.h"

// A function of the test executable itself: found through .symtab (it is not exported).
extern "C" __attribute__((noinline, used)) int tlstap_test_local_function(int x) {
  return x * 7 + 3;
}

namespace tlstap {
namespace {

constexpr std::array<std::string_view, 4> kSslFunctions = {"SSL_read", "SSL_write", "SSL_read_ex",
                                                           "SSL_write_ex"};

std::string file_bytes(const std::string& path, uint64_t offset, size_t size) {
  std::ifstream in(path, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(offset));
  std::string bytes(size, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  bytes.resize(static_cast<size_t>(in.gcount()));
  return bytes;
}

std::string memory_bytes(const void* address, size_t size) {
  return std::string(static_cast<const char*>(address), size);
}

const FunctionSymbol* find_named(const std::vector<FunctionSymbol>& functions,
                                 std::string_view name) {
  auto it = std::find_if(functions.begin(), functions.end(),
                         [&](const FunctionSymbol& f) { return f.name == name; });
  return it == functions.end() ? nullptr : &*it;
}

class DlHandle {
 public:
  explicit DlHandle(const char* path) : handle_(dlopen(path, RTLD_NOW | RTLD_LOCAL)) {}
  ~DlHandle() {
    if (handle_) dlclose(handle_);
  }
  void* get() const { return handle_; }

 private:
  void* handle_;
};

TEST(FindFunctions, AllFourFunctionsMatchTheLoadedCode) {
  const std::string path = TLSTAP_FIXTURE_SSL;
  auto functions = find_functions(path, kSslFunctions);
  ASSERT_TRUE(functions) << functions.error().message;
  ASSERT_EQ(functions->size(), 4u);

  DlHandle library(path.c_str());
  ASSERT_NE(library.get(), nullptr) << dlerror();

  std::vector<std::string> bodies;
  for (std::string_view name : kSslFunctions) {
    SCOPED_TRACE(std::string(name));
    const FunctionSymbol* symbol = find_named(*functions, name);
    ASSERT_NE(symbol, nullptr);
    void* loaded = dlsym(library.get(), std::string(name).c_str());
    ASSERT_NE(loaded, nullptr) << dlerror();

    // The symbol's address is the loaded address minus the library's load base.
    Dl_info info{};
    ASSERT_NE(dladdr(loaded, &info), 0);
    EXPECT_EQ(info.dli_saddr, loaded);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(loaded) - reinterpret_cast<uintptr_t>(info.dli_fbase),
              symbol->address);

    // The bytes at the file offset (what a uprobe is placed on) are the function's code.
    ASSERT_GT(symbol->size, 0u);
    size_t compare = std::min<size_t>(symbol->size, 64);
    ASSERT_GE(compare, 16u) << "fixture function unexpectedly small";
    std::string in_file = file_bytes(path, symbol->file_offset, compare);
    std::string in_memory = memory_bytes(loaded, compare);
    EXPECT_EQ(in_file, in_memory) << "file_offset " << symbol->file_offset;
    bodies.push_back(in_memory);
  }
  // The comparison above only means something if the functions differ.
  for (size_t i = 0; i < bodies.size(); i++) {
    for (size_t k = i + 1; k < bodies.size(); k++) EXPECT_NE(bodies[i], bodies[k]);
  }
  // Distinct functions, distinct offsets.
  for (size_t i = 0; i < functions->size(); i++) {
    for (size_t k = i + 1; k < functions->size(); k++) {
      EXPECT_NE((*functions)[i].file_offset, (*functions)[k].file_offset);
    }
  }
}

TEST(FindFunctions, UnwantedNamesAreNotReturned) {
  const std::array<std::string_view, 1> wanted = {"SSL_write"};
  auto functions = find_functions(TLSTAP_FIXTURE_SSL, wanted);
  ASSERT_TRUE(functions) << functions.error().message;
  ASSERT_EQ(functions->size(), 1u);
  EXPECT_EQ(functions->front().name, "SSL_write");

  auto none = find_functions(TLSTAP_FIXTURE_SSL, std::span<const std::string_view>{});
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

TEST(FindFunctions, OnlySomeNamesPresent) {
  const std::string path = TLSTAP_FIXTURE_SSL_PARTIAL;
  auto functions = find_functions(path, kSslFunctions);
  ASSERT_TRUE(functions) << functions.error().message;
  ASSERT_EQ(functions->size(), 2u);
  EXPECT_NE(find_named(*functions, "SSL_read"), nullptr);
  EXPECT_NE(find_named(*functions, "SSL_write"), nullptr);
  // SSL_read_ex is a data object in this fixture, not a function.
  EXPECT_EQ(find_named(*functions, "SSL_read_ex"), nullptr);
  EXPECT_EQ(find_named(*functions, "SSL_write_ex"), nullptr);

  DlHandle library(path.c_str());
  ASSERT_NE(library.get(), nullptr) << dlerror();
  for (const FunctionSymbol& symbol : *functions) {
    void* loaded = dlsym(library.get(), symbol.name.c_str());
    ASSERT_NE(loaded, nullptr);
    size_t compare = std::min<size_t>(symbol.size, 32);
    ASSERT_GT(compare, 0u);
    EXPECT_EQ(file_bytes(path, symbol.file_offset, compare), memory_bytes(loaded, compare))
        << symbol.name;
  }
}

int find_executable_bias(dl_phdr_info* info, size_t, void* data) {
  // The first object iterated is the main program.
  *static_cast<uintptr_t*>(data) = info->dlpi_addr;
  return 1;
}

TEST(FindFunctions, LocalSymbolOfAnExecutableViaSymtab) {
  const std::array<std::string_view, 1> wanted = {"tlstap_test_local_function"};
  auto functions = find_functions("/proc/self/exe", wanted);
  ASSERT_TRUE(functions) << functions.error().message;
  ASSERT_EQ(functions->size(), 1u) << "is the test binary stripped?";
  const FunctionSymbol& symbol = functions->front();

  uintptr_t bias = 0;
  dl_iterate_phdr(find_executable_bias, &bias);
  auto loaded = reinterpret_cast<uintptr_t>(&tlstap_test_local_function);
  EXPECT_EQ(loaded - bias, symbol.address);
  size_t compare = std::min<size_t>(symbol.size, 16);
  ASSERT_GT(compare, 0u);
  EXPECT_EQ(file_bytes("/proc/self/exe", symbol.file_offset, compare),
            memory_bytes(reinterpret_cast<const void*>(loaded), compare));
}

TEST(FindFunctions, MissingFileIsAnError) {
  auto functions = find_functions("/nonexistent/libssl.so.3", kSslFunctions);
  ASSERT_FALSE(functions);
  EXPECT_NE(functions.error().message.find("/nonexistent/libssl.so.3"), std::string::npos)
      << functions.error().message;
}

TEST(FindFunctions, NonElfFilesAreErrors) {
  test::TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string text = dir.file("not-elf.so");
  test::write_file(text, "this is not an ELF file, just some text\n");
  const std::string empty = dir.file("empty.so");
  test::write_file(empty, "");
  const std::string fake_magic = dir.file("fake-magic.so");
  test::write_file(fake_magic, std::string("\x7f"
                                           "ELF",
                                           4));  // magic, nothing more

  for (const std::string& path : {text, empty, fake_magic, dir.path()}) {
    SCOPED_TRACE(path);
    auto functions = find_functions(path, kSslFunctions);
    EXPECT_FALSE(functions);
  }
}

TEST(FindFunctions, TruncatedElfNeverCrashes) {
  // Every prefix of the fixture: an error or a (possibly shorter) result, never a crash, and
  // whatever is found still points at the right bytes of the complete file.
  const std::string full = test::read_file(TLSTAP_FIXTURE_SSL);
  ASSERT_GT(full.size(), 1000u);
  auto reference = find_functions(TLSTAP_FIXTURE_SSL, kSslFunctions);
  ASSERT_TRUE(reference);
  test::TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string path = dir.file("truncated.so");
  for (size_t size : {size_t{16}, size_t{64}, size_t{200}, full.size() / 4, full.size() / 2,
                      full.size() - 100, full.size() - 1}) {
    SCOPED_TRACE(size);
    test::write_file(path, std::string_view(full).substr(0, size));
    auto functions = find_functions(path, kSslFunctions);
    if (!functions) continue;
    for (const FunctionSymbol& symbol : *functions) {
      const FunctionSymbol* good = find_named(*reference, symbol.name);
      ASSERT_NE(good, nullptr);
      EXPECT_EQ(symbol.file_offset, good->file_offset);
    }
  }
}

}  // namespace
}  // namespace tlstap
