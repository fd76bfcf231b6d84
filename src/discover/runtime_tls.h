// Runtimes whose TLS is written in their own language (Java's JSSE in the JVM) rather than
// in a C library: no uprobe on a shared library sees its plaintext, and no --lib can help.
// A process that maps one is said to run it, so that silence is not taken for "no traffic".
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace tlstap {

struct OwnTlsRuntime {
  std::string runtime;   // "a JVM"
  std::string evidence;  // the mapped file that showed it: "libjvm.so"
  std::string tls;       // "its TLS (JSSE) is Java code"
};

// The first runtime of the list that one of `mapped_paths` (a process's mapped files) shows.
std::optional<OwnTlsRuntime> find_own_tls_runtime(const std::vector<std::string>& mapped_paths);

// "runs a JVM (it maps libjvm.so): its TLS (JSSE) is Java code, which tlstap does not
// capture". Without the process: the caller puts it in front.
std::string describe_own_tls_runtime(const OwnTlsRuntime& runtime);

}  // namespace tlstap
