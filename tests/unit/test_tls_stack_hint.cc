#include "discover/tls_stack_hint.h"

#include <unistd.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "test_support.h"

namespace tlstap {
namespace {

// Named here so that the test binary itself has crypto/tls's name in it without being Go.
constexpr const char* kGoTlsFunction = "crypto/tls.(*Conn).Write";

std::vector<TlsStackSign> signs_of(const std::string& path) {
  Result<std::vector<TlsStackSign>> signs = recognise_tls_stacks(path);
  EXPECT_TRUE(signs) << signs.error().message;
  return signs ? *signs : std::vector<TlsStackSign>{};
}

void expect_sign(const TlsStackSign& sign, const std::string& stack, const std::string& evidence,
                 bool captured = false) {
  EXPECT_EQ(sign.stack, stack);
  EXPECT_EQ(sign.evidence, evidence);
  EXPECT_EQ(sign.captured, captured);
}

TEST(RecogniseTlsStacks, GnuTlsByTheLibraryTheFileNeeds) {
  // The file also refers to gnutls_record_send, undefined: the library is the evidence, and
  // tlstap captures it there.
  std::vector<TlsStackSign> signs = signs_of(TLSTAP_FIXTURE_USES_GNUTLS);
  ASSERT_EQ(signs.size(), 1u);
  expect_sign(signs[0], "GnuTLS", "libgnutls.so.30", true);
}

TEST(RecogniseTlsStacks, CapturedStacksFunctionsAreTargetsNotHints) {
  // The fixture defines an NSS, a wolfSSL and an mbedTLS function: captured stacks are
  // recognised by their libraries only (a file defining their functions is a target).
  EXPECT_TRUE(signs_of(TLSTAP_FIXTURE_OTHER_STACKS).empty());
}

TEST(RecogniseTlsStacks, GoProgramWithCryptoTls) {
  std::vector<TlsStackSign> signs = signs_of(TLSTAP_FIXTURE_GO_TLS);
  ASSERT_EQ(signs.size(), 1u);
  expect_sign(signs[0], "Go crypto/tls", kGoTlsFunction);
}

TEST(RecogniseTlsStacks, GoProgramWithoutCryptoTlsHasNoTls) {
  EXPECT_TRUE(signs_of(TLSTAP_FIXTURE_GO_PLAIN).empty());
}

TEST(RecogniseTlsStacks, CryptoTlsNamedInAFileThatIsNotGoIsNotGo) {
  ASSERT_NE(test::read_file("/proc/self/exe").find(kGoTlsFunction), std::string::npos);
  EXPECT_TRUE(signs_of("/proc/self/exe").empty());
}

TEST(RecogniseTlsStacks, LibraryLinkedAgainstNothing) {
  EXPECT_TRUE(signs_of(TLSTAP_FIXTURE_NO_TLS).empty());
  // The OpenSSL and GnuTLS fixtures' own functions are a target, not a hint.
  EXPECT_TRUE(signs_of(TLSTAP_FIXTURE_SSL).empty());
  EXPECT_TRUE(signs_of(TLSTAP_FIXTURE_GNUTLS).empty());
}

TEST(RecogniseTlsStacks, UnreadableAndNonElfFilesAreErrorsNamingThem) {
  test::TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string text = dir.file("notes.txt");
  test::write_file(text, "not ELF\n");
  for (const std::string& path : {std::string("/nonexistent/libgnutls.so.30"), text}) {
    Result<std::vector<TlsStackSign>> signs = recognise_tls_stacks(path);
    ASSERT_FALSE(signs) << path;
    EXPECT_EQ(signs.error().message.rfind(path + ": ", 0), 0u) << signs.error().message;
  }
}

// The real programs of the machine; CI installs wget (scripts/install-deps.sh).
TEST(RecogniseTlsStacks, RealWgetUsesGnuTls) {
  if (access("/usr/bin/wget", R_OK) != 0) GTEST_SKIP() << "no /usr/bin/wget";
  std::vector<TlsStackSign> signs = signs_of("/usr/bin/wget");
  ASSERT_EQ(signs.size(), 1u);
  EXPECT_EQ(signs[0].stack, "GnuTLS");
  EXPECT_TRUE(signs[0].evidence.starts_with("libgnutls.so.")) << signs[0].evidence;
  EXPECT_TRUE(signs[0].captured);
}

TEST(RecogniseTlsStacks, RealOpensslCommandLoadsLibssl) {
  if (access("/usr/bin/openssl", R_OK) != 0) GTEST_SKIP() << "no /usr/bin/openssl";
  std::vector<TlsStackSign> signs = signs_of("/usr/bin/openssl");
  ASSERT_EQ(signs.size(), 1u);
  EXPECT_EQ(signs[0].stack, "OpenSSL");
  EXPECT_TRUE(signs[0].evidence.starts_with("libssl.so.")) << signs[0].evidence;
  EXPECT_TRUE(signs[0].captured);
}

// lighttpd's TLS module calls wolfSSL_read/wolfSSL_write in libwolfssl (CI installs
// lighttpd-mod-wolfssl for the wolfSSL e2e test).
TEST(RecogniseTlsStacks, RealLighttpdModuleLoadsLibwolfssl) {
  const char* module = "/usr/lib/lighttpd/mod_wolfssl.so";
  if (access(module, R_OK) != 0) GTEST_SKIP() << "no " << module;
  std::vector<TlsStackSign> signs = signs_of(module);
  ASSERT_EQ(signs.size(), 1u);
  EXPECT_EQ(signs[0].stack, "wolfSSL");
  EXPECT_TRUE(signs[0].evidence.starts_with("libwolfssl.so.")) << signs[0].evidence;
  EXPECT_TRUE(signs[0].captured);
}

TEST(RecogniseTlsStacks, RealProgramWithoutTls) {
  if (access("/bin/true", R_OK) != 0) GTEST_SKIP() << "no /bin/true";
  EXPECT_TRUE(signs_of("/bin/true").empty());
}

TEST(DescribeMissingTls, NoStack) {
  EXPECT_EQ(describe_missing_tls({}),
            "no TLS library found in it (tlstap captures OpenSSL, GnuTLS, NSS/NSPR, wolfSSL "
            "and mbedTLS)");
}

TEST(DescribeMissingTls, StacksNotCapturedYet) {
  const TlsStackSign wolfssl{"wolfSSL", "libwolfssl.so.35", false};
  const TlsStackSign nss{"NSS/NSPR", "libnss3.so", false};
  const TlsStackSign go{"Go crypto/tls", kGoTlsFunction, false};
  EXPECT_EQ(describe_missing_tls({wolfssl}),
            "uses wolfSSL (libwolfssl.so.35), which tlstap does not capture yet");
  EXPECT_EQ(describe_missing_tls({wolfssl, nss}),
            "uses wolfSSL (libwolfssl.so.35) and NSS/NSPR (libnss3.so), which tlstap does not "
            "capture yet");
  EXPECT_EQ(describe_missing_tls({wolfssl, nss, go}),
            "uses wolfSSL (libwolfssl.so.35), NSS/NSPR (libnss3.so) and Go crypto/tls "
            "(crypto/tls.(*Conn).Write), which tlstap does not capture yet");
}

TEST(DescribeMissingTls, OpenSslInALibraryTheFileLoads) {
  const TlsStackSign openssl{"OpenSSL", "libssl.so.3", true};
  const std::string alone = describe_missing_tls({openssl});
  EXPECT_EQ(alone,
            "has no TLS functions of its own: they are in libssl.so.3 (OpenSSL), which it loads; "
            "tlstap attaches to that library by itself, or name it with --lib");
  EXPECT_EQ(describe_missing_tls({openssl, {"Go crypto/tls", kGoTlsFunction, false}}),
            alone + "; it also uses Go crypto/tls (" + std::string(kGoTlsFunction) +
                "), which tlstap does not capture yet");
}

TEST(DescribeMissingTls, SeveralCapturedStacksInLibrariesTheFileLoads) {
  const TlsStackSign wolfssl{"wolfSSL", "libwolfssl.so.35", true};
  const TlsStackSign mbedtls{"mbedTLS", "libmbedtls.so.14", true};
  EXPECT_EQ(describe_missing_tls({wolfssl}),
            "has no TLS functions of its own: they are in libwolfssl.so.35 (wolfSSL), which it "
            "loads; tlstap attaches to that library by itself, or name it with --lib");
  EXPECT_EQ(describe_missing_tls({wolfssl, mbedtls}),
            "has no TLS functions of its own: they are in libwolfssl.so.35 (wolfSSL) and "
            "libmbedtls.so.14 (mbedTLS), which it loads; tlstap attaches to those libraries by "
            "itself, or name them with --lib");
}

}  // namespace
}  // namespace tlstap
