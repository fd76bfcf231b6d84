#include "discover/tls_stack_hint.h"

#include <algorithm>
#include <array>
#include <set>
#include <span>
#include <string_view>

#include <fmt/format.h>

#include "discover/elf_file.h"

namespace tlstap {
namespace {

struct StackSigns {
  std::string_view stack;
  std::span<const std::string_view> library_prefixes;  // "libgnutls.so" matches .so.30
  std::span<const std::string_view> functions;
  bool captured;
};

constexpr std::string_view kOpenSslLibraries[] = {"libssl.so"};
constexpr std::string_view kGnuTlsLibraries[] = {"libgnutls.so"};
constexpr std::string_view kNssLibraries[] = {"libnss3.so", "libssl3.so", "libnspr4.so"};
constexpr std::string_view kWolfSslLibraries[] = {"libwolfssl.so"};
constexpr std::string_view kMbedTlsLibraries[] = {"libmbedtls.so"};

// The stacks tlstap captures are only recognised through their libraries: a file defining
// SSL_read, gnutls_record_send, wolfSSL_write or NSPR's PR_Write itself is a target, not a
// hint.
const std::array<StackSigns, 5> kStacks = {{
    {"OpenSSL", kOpenSslLibraries, {}, true},
    {"GnuTLS", kGnuTlsLibraries, {}, true},
    {"NSS/NSPR", kNssLibraries, {}, true},
    {"wolfSSL", kWolfSslLibraries, {}, true},
    {"mbedTLS", kMbedTlsLibraries, {}, true},
}};

// Every Go binary has these; .gopclntab is folded into .data.rel.ro in PIE builds, and
// .symtab is gone when stripped, but .go.buildinfo stays.
constexpr std::string_view kGoSections[] = {".go.buildinfo", ".gopclntab"};
constexpr std::string_view kGoRuntimeMain = "runtime.main";
// A Go program uses TLS only if crypto/tls is linked in. Its function names are in the
// function name table the runtime itself needs (kept by strip), so the file's bytes name
// them even without a symbol table.
constexpr std::string_view kGoTlsFunction = "crypto/tls.(*Conn).Write";

bool is_go_program(const ElfFile& elf, const std::set<std::string, std::less<>>& defined) {
  return std::any_of(std::begin(kGoSections), std::end(kGoSections),
                     [&](std::string_view name) { return elf.has_section(name); }) ||
         defined.contains(kGoRuntimeMain);
}

// "a, b and c"
template <typename T, typename Format>
std::string join(const std::vector<T>& items, Format format) {
  std::string text;
  for (size_t i = 0; i < items.size(); i++) {
    if (i > 0) text += i + 1 == items.size() ? " and " : ", ";
    text += format(items[i]);
  }
  return text;
}

std::string captured_stacks() {
  std::vector<std::string_view> names;
  for (const StackSigns& stack : kStacks) {
    if (stack.captured) names.push_back(stack.stack);
  }
  return join(names, [](std::string_view name) { return std::string(name); });
}

}  // namespace

Result<std::vector<TlsStackSign>> recognise_tls_stacks(const std::string& path) {
  Result<ElfFile> elf = ElfFile::open(path);
  if (!elf) return elf.error();

  std::vector<std::string> needed = elf->needed_libraries();
  // Only the names that matter are kept: a large executable has a hundred thousand symbols.
  std::set<std::string, std::less<>> defined;
  elf->for_each_symbol([&](std::string_view name, const GElf_Sym& symbol) {
    if (symbol.st_shndx == SHN_UNDEF) return;  // wget refers to GnuTLS: DT_NEEDED says that
    bool wanted = name == kGoRuntimeMain;
    for (const StackSigns& stack : kStacks) {
      wanted = wanted || std::find(stack.functions.begin(), stack.functions.end(), name) !=
                             stack.functions.end();
    }
    if (wanted) defined.emplace(name);
  });

  std::vector<TlsStackSign> signs;
  for (const StackSigns& stack : kStacks) {
    auto library = std::find_if(needed.begin(), needed.end(), [&](const std::string& lib) {
      return std::any_of(stack.library_prefixes.begin(), stack.library_prefixes.end(),
                         [&](std::string_view prefix) { return lib.starts_with(prefix); });
    });
    if (library != needed.end()) {
      signs.push_back({std::string(stack.stack), *library, stack.captured});
      continue;
    }
    for (std::string_view function : stack.functions) {
      if (defined.contains(function)) {
        signs.push_back({std::string(stack.stack), std::string(function), stack.captured});
        break;
      }
    }
  }
  if (is_go_program(*elf, defined) && elf->bytes().find(kGoTlsFunction) != std::string::npos) {
    signs.push_back({"Go crypto/tls", std::string(kGoTlsFunction), false});
  }
  return signs;
}

std::string describe_missing_tls(const std::vector<TlsStackSign>& signs) {
  std::vector<const TlsStackSign*> captured;
  std::vector<const TlsStackSign*> uncaptured;
  for (const TlsStackSign& sign : signs) (sign.captured ? captured : uncaptured).push_back(&sign);
  if (captured.empty() && uncaptured.empty()) {
    return fmt::format("no TLS library found in it (tlstap captures {})", captured_stacks());
  }
  std::string text;
  if (!captured.empty()) {
    const bool one = captured.size() == 1;
    text = fmt::format(
        "has no TLS functions of its own: they are in {}, which it loads; tlstap attaches to {} "
        "by itself, or name {} with --lib",
        join(captured,
             [](const TlsStackSign* sign) {
               return fmt::format("{} ({})", sign->evidence, sign->stack);
             }),
        one ? "that library" : "those libraries", one ? "it" : "them");
  }
  if (!uncaptured.empty()) {
    text += fmt::format("{}uses {}, which tlstap does not capture yet",
                        captured.empty() ? "" : "; it also ",
                        join(uncaptured, [](const TlsStackSign* sign) {
                          return fmt::format("{} ({})", sign->stack, sign->evidence);
                        }));
  }
  return text;
}

}  // namespace tlstap
