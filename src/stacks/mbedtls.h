// mbedTLS (libmbedtls.so, or linked in statically).
#pragma once

#include "stacks/tls_stack.h"

namespace tlstap {
const TlsStack& mbedtls_stack();
}
