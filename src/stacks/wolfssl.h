// wolfSSL (libwolfssl.so, or linked in statically), through its own API. Its OpenSSL
// compatibility layer maps SSL_read/SSL_write to these names with macros, so a program
// written for OpenSSL and built against wolfSSL calls them too.
#pragma once

#include "stacks/tls_stack.h"

namespace tlstap {
const TlsStack& wolfssl_stack();
}
