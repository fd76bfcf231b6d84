// Which TLS stack a file uses when it has no functions tlstap probes of its own, so that
// `--lib FILE` can say why there is nothing to attach to ("uses GnuTLS", "its TLS is in
// libwolfssl.so.35") rather than only that there is nothing.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"

namespace tlstap {

struct TlsStackSign {
  std::string stack;     // "GnuTLS", "NSS/NSPR", "wolfSSL", "mbedTLS", "Go crypto/tls", "OpenSSL"
  std::string evidence;  // what showed it: "libgnutls.so.30", "gnutls_record_send", ...
  // A stack tlstap captures (OpenSSL, GnuTLS, NSS, wolfSSL, mbedTLS), in a library the file loads:
  // tlstap attaches to that library, just not to this file.
  bool captured = false;
};

// Each stack the file shows signs of, once, in a fixed order. A stack is recognised by the
// libraries the file needs (DT_NEEDED), else by a function it defines (a static copy); Go by
// its sections or runtime.main, and then only if crypto/tls is linked in. Errors are for
// files that cannot be opened or are not ELF.
Result<std::vector<TlsStackSign>> recognise_tls_stacks(const std::string& path);

// The reason, in words, that a file with these signs has no functions tlstap attaches to.
// Without the file's name: the caller puts it in front.
std::string describe_missing_tls(const std::vector<TlsStackSign>& signs);

}  // namespace tlstap
