// OpenSSL and every library that exports its API (BoringSSL, LibreSSL, statically linked
// copies, node's built-in OpenSSL).
#pragma once

#include "stacks/tls_stack.h"

namespace tlstap {
const TlsStack& openssl_stack();
}
