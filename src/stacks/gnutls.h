// GnuTLS (libgnutls.so.30: wget, gnutls-cli/-serv, libcurl-gnutls and so git, exim, ...).
#pragma once

#include "stacks/tls_stack.h"

namespace tlstap {
const TlsStack& gnutls_stack();
}
