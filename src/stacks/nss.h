// NSS (Mozilla's TLS library) through NSPR, the I/O layer it is built on: an NSS SSL socket is
// an NSPR file descriptor, and programs move its plaintext with NSPR's generic I/O functions.
#pragma once

#include "stacks/tls_stack.h"

namespace tlstap {
const TlsStack& nss_stack();
}
