// Discovery::add_file (--lib): what it attaches to and the one line it says when it cannot.
#include "discover/discovery.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "test_support.h"

namespace tlstap {
namespace {

size_t occurrences(const std::string& text, const std::string& part) {
  size_t count = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) {
    count++;
  }
  return count;
}

// A Discovery whose attach step succeeds (or fails with `attach_error`) and keeps its log.
struct TestDiscovery {
  explicit TestDiscovery(std::string attach_error = "")
      : discovery(
            [attach_error](const Target&) -> Status {
              if (attach_error.empty()) return Ok{};
              return Error{attach_error};
            },
            [this](const std::string& line) { log.push_back(line); }) {}
  std::vector<std::string> log;
  Discovery discovery;
};

std::string add_file_error(Discovery& discovery, const std::string& path) {
  Status added = discovery.add_file(path);
  EXPECT_FALSE(added) << path;
  return added ? "" : added.error().message;
}

TEST(DiscoveryAddFile, OpenSslFunctionsAreATarget) {
  TestDiscovery test;
  ASSERT_TRUE(test.discovery.add_file(TLSTAP_FIXTURE_SSL));
  ASSERT_EQ(test.discovery.targets().size(), 1u);
  EXPECT_EQ(test.discovery.targets()[0].display_path, TLSTAP_FIXTURE_SSL);
  EXPECT_EQ(test.discovery.targets()[0].functions.size(), 4u);
}

std::vector<std::string> names(const Target& target) {
  std::vector<std::string> result;
  for (const FunctionSymbol& function : target.functions) result.push_back(function.name);
  return result;
}

TEST(DiscoveryAddFile, OneTargetPerStackInAFile) {
  // A static binary with wolfSSL and mbedTLS in it (and an NSS function tlstap leaves alone).
  TestDiscovery test;
  ASSERT_TRUE(test.discovery.add_file(TLSTAP_FIXTURE_OTHER_STACKS));
  std::vector<Target> targets = test.discovery.targets();
  ASSERT_EQ(targets.size(), 2u);
  EXPECT_EQ(targets[0].library, "wolfssl");
  EXPECT_EQ(names(targets[0]), std::vector<std::string>{"wolfSSL_write"});
  EXPECT_EQ(targets[1].library, "mbedtls");
  EXPECT_EQ(names(targets[1]), std::vector<std::string>{"mbedtls_ssl_write"});
  EXPECT_EQ(test.discovery.attached_count(), 2u);
}

TEST(DiscoveryAddFile, CodeUnderTwoStacksNamesIsProbedOnceByItsOwnStack) {
  // SSL_write and SSL_read are aliases of wolfSSL_write and wolfSSL_read: probed once, as
  // wolfSSL's, so that a call's record says lib wolfssl. SSL_read_ex is code of its own.
  TestDiscovery test;
  ASSERT_TRUE(test.discovery.add_file(TLSTAP_FIXTURE_WOLFSSL_COMPAT));
  std::vector<Target> targets = test.discovery.targets();
  ASSERT_EQ(targets.size(), 2u);
  EXPECT_EQ(targets[0].library, "openssl");
  EXPECT_EQ(names(targets[0]), std::vector<std::string>{"SSL_read_ex"});
  EXPECT_EQ(targets[1].library, "wolfssl");
  EXPECT_EQ(names(targets[1]), (std::vector<std::string>{"wolfSSL_read", "wolfSSL_write"}));
}

TEST(DiscoveryAddFile, GnuTlsFunctionsAreATarget) {
  TestDiscovery test;
  ASSERT_TRUE(test.discovery.add_file(TLSTAP_FIXTURE_GNUTLS));
  ASSERT_EQ(test.discovery.targets().size(), 1u);
  const Target target = test.discovery.targets()[0];  // targets() is a copy
  EXPECT_EQ(target.library, "gnutls");
  ASSERT_EQ(target.functions.size(), 1u);
  EXPECT_EQ(target.functions[0].name, "gnutls_record_send");
}

TEST(DiscoveryAddFile, SaysWhichStackAFileUsesNamingItOnce) {
  TestDiscovery test;
  const std::string path = TLSTAP_FIXTURE_USES_GNUTLS;
  EXPECT_EQ(add_file_error(test.discovery, path),
            "--lib " + path +
                ": has no TLS functions of its own: they are in libgnutls.so.30 (GnuTLS), which "
                "it loads; tlstap attaches to that library by itself, or name it with --lib");
  EXPECT_TRUE(test.log.empty());
  EXPECT_EQ(test.discovery.attached_count(), 0u);
}

TEST(DiscoveryAddFile, NoTlsLibrary) {
  TestDiscovery test;
  const std::string path = TLSTAP_FIXTURE_NO_TLS;
  std::string error = add_file_error(test.discovery, path);
  EXPECT_EQ(error, "--lib " + path +
                       ": no TLS library found in it (tlstap captures OpenSSL, GnuTLS, "
                       "NSS/NSPR, wolfSSL and mbedTLS)");
  EXPECT_EQ(occurrences(error, path), 1u);
}

TEST(DiscoveryAddFile, AFileExaminedBeforeIsExplainedWhenNamed) {
  // `tlstap --lib FILE -- FILE`: the command's executable was looked at silently first.
  TestDiscovery test;
  const std::string path = TLSTAP_FIXTURE_GO_TLS;
  test.discovery.add_file_if_tls(path);
  EXPECT_TRUE(test.log.empty());
  EXPECT_EQ(add_file_error(test.discovery, path),
            "--lib " + path +
                ": uses Go crypto/tls (crypto/tls.(*Conn).Write), which tlstap does not capture "
                "yet");
}

TEST(DiscoveryAddFile, FilesThatCannotBeRead) {
  TestDiscovery test;
  test::TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string text = dir.file("notes.so");
  test::write_file(text, "not ELF\n");
  EXPECT_EQ(add_file_error(test.discovery, "/nonexistent/libssl.so.3"),
            "--lib /nonexistent/libssl.so.3: No such file or directory");
  EXPECT_EQ(add_file_error(test.discovery, dir.path()),
            "--lib " + dir.path() + ": not a regular file");
  EXPECT_EQ(add_file_error(test.discovery, text), "--lib " + text + ": not an ELF file");
}

TEST(DiscoveryAddFile, AttachFailureIsSaidOnce) {
  TestDiscovery named("uprobe on SSL_read at 0x1234: Invalid argument");
  const std::string path = TLSTAP_FIXTURE_SSL;
  EXPECT_EQ(add_file_error(named.discovery, path),
            "--lib " + path + ": uprobe on SSL_read at 0x1234: Invalid argument");
  EXPECT_TRUE(named.log.empty()) << "said by the caller, not logged as well";

  // Not named by the user (the command's executable): logged, since no one else says it.
  TestDiscovery unnamed("uprobe on SSL_read at 0x1234: Invalid argument");
  unnamed.discovery.add_file_if_tls(path);
  ASSERT_EQ(unnamed.log.size(), 1u);
  EXPECT_EQ(unnamed.log[0], "cannot attach to " + path +
                                " (openssl): uprobe on SSL_read at 0x1234: Invalid argument");
}

}  // namespace
}  // namespace tlstap
