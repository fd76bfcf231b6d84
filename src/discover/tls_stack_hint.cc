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
  // "libgnutls.so" matches .so.30; the first one the file needs is the evidence.
  std::span<const std::string_view> library_prefixes;
  std::span<const std::string_view> functions;
  // For a stack tlstap captures: the library it attaches to, as said to the user. A file that
  // loads one of the stack's libraries is then captured through that library.
  std::string_view captured_in;
};

constexpr std::string_view kOpenSslLibraries[] = {"libssl.so"};
constexpr std::string_view kGnuTlsLibraries[] = {"libgnutls.so"};
constexpr std::string_view kGnuTlsFunctions[] = {"gnutls_record_send"};
// NSPR's library first: the functions tlstap probes are there.
constexpr std::string_view kNssLibraries[] = {"libnspr4.so", "libssl3.so", "libnss3.so"};
constexpr std::string_view kNssFunctions[] = {"SSL_ImportFD", "PR_Write"};
constexpr std::string_view kWolfSslLibraries[] = {"libwolfssl.so"};
constexpr std::string_view kWolfSslFunctions[] = {"wolfSSL_write"};
constexpr std::string_view kMbedTlsLibraries[] = {"libmbedtls.so"};
constexpr std::string_view kMbedTlsFunctions[] = {"mbedtls_ssl_write"};

// OpenSSL is only recognised through its library: a file defining SSL_read itself is a
// target, not a hint. Likewise a file defining PR_Write; one with NSS's SSL_ImportFD linked in
// but no PR_Write (NSPR's I/O functions) is not captured.
const std::array<StackSigns, 5> kStacks = {{
    {"OpenSSL", kOpenSslLibraries, {}, "libssl"},
    {"GnuTLS", kGnuTlsLibraries, kGnuTlsFunctions, {}},
    {"NSS/NSPR", kNssLibraries, kNssFunctions, "libnspr4"},
    {"wolfSSL", kWolfSslLibraries, kWolfSslFunctions, {}},
    {"mbedTLS", kMbedTlsLibraries, kMbedTlsFunctions, {}},
}};

std::string_view captured_in(std::string_view stack) {
  for (const StackSigns& signs : kStacks) {
    if (signs.stack == stack) return signs.captured_in;
  }
  return {};
}

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

// "A, B and C", each item as `format` makes it of a sign.
template <typename Format>
std::string join_signs(const std::vector<const TlsStackSign*>& signs, Format format) {
  std::string text;
  for (size_t i = 0; i < signs.size(); i++) {
    if (i > 0) text += i + 1 == signs.size() ? " and " : ", ";
    text += format(*signs[i]);
  }
  return text;
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
    auto library = needed.end();
    for (std::string_view prefix : stack.library_prefixes) {
      library = std::find_if(needed.begin(), needed.end(),
                             [&](const std::string& lib) { return lib.starts_with(prefix); });
      if (library != needed.end()) break;
    }
    if (library != needed.end()) {
      signs.push_back({std::string(stack.stack), *library, !stack.captured_in.empty()});
      continue;
    }
    for (std::string_view function : stack.functions) {
      if (defined.contains(function)) {
        signs.push_back({std::string(stack.stack), std::string(function), false});
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
  std::vector<const TlsStackSign*> captured, uncaptured;
  for (const TlsStackSign& sign : signs) (sign.captured ? captured : uncaptured).push_back(&sign);
  if (captured.empty() && uncaptured.empty()) {
    return "no TLS library found in it (tlstap captures OpenSSL: SSL_read/SSL_write and their "
           "_ex forms; NSS: NSPR's PR_Read/PR_Write/PR_Recv/PR_Send/PR_Writev on its SSL "
           "sockets)";
  }
  std::string text;
  if (!captured.empty()) {
    text = fmt::format(
        "has no TLS functions of its own: they are in {}, which it loads; tlstap attaches to {} "
        "by itself, or name that library with --lib",
        join_signs(captured,
                   [](const TlsStackSign& sign) {
                     return fmt::format("{} ({})", sign.evidence, sign.stack);
                   }),
        join_signs(captured, [](const TlsStackSign& sign) {
          return fmt::format("the system's {}", captured_in(sign.stack));
        }));
  }
  if (!uncaptured.empty()) {
    text += fmt::format("{}uses {}, which tlstap does not capture yet",
                        captured.empty() ? "" : "; it also ",
                        join_signs(uncaptured, [](const TlsStackSign& sign) {
                          return fmt::format("{} ({})", sign.stack, sign.evidence);
                        }));
  }
  return text;
}

}  // namespace tlstap
