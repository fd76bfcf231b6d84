#include "discover/runtime_tls.h"

#include <gtest/gtest.h>

namespace tlstap {
namespace {

TEST(OwnTlsRuntime, AJvmIsRecognisedByLibjvm) {
  std::optional<OwnTlsRuntime> found = find_own_tls_runtime(
      {"/usr/lib/jvm/java-17-openjdk-amd64/bin/java", "/usr/lib/x86_64-linux-gnu/libc.so.6",
       "/usr/lib/jvm/java-17-openjdk-amd64/lib/server/libjvm.so"});
  ASSERT_TRUE(found);
  EXPECT_EQ(found->evidence, "libjvm.so");
  EXPECT_EQ(describe_own_tls_runtime(*found),
            "runs a JVM (it maps libjvm.so): its TLS (JSSE) is Java code, which tlstap does not "
            "capture");
}

TEST(OwnTlsRuntime, OtherProcessesAreNotJvms) {
  EXPECT_FALSE(find_own_tls_runtime({}));
  // Node and Python use OpenSSL, which is captured; names merely containing libjvm are not it.
  EXPECT_FALSE(
      find_own_tls_runtime({"/usr/bin/node", "/usr/lib/x86_64-linux-gnu/libssl.so.3",
                            "/usr/bin/python3.11", "/opt/x/libjvm.so.bak", "/opt/x/notlibjvm.so"}));
}

}  // namespace
}  // namespace tlstap
