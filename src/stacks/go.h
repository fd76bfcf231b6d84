// Go's crypto/tls, compiled into every Go program (Go >= 1.17, amd64: the register ABI).
#pragma once

#include "stacks/tls_stack.h"

namespace tlstap {
const TlsStack& go_stack();
}
