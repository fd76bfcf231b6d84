#include "stacks/mbedtls.h"

namespace tlstap {

const TlsStack& mbedtls_stack() {
  static const TlsStack stack{
      .name = "mbedtls",
      .library_prefixes = {"libmbedtls.so"},
      .functions =
          {
              // int mbedtls_ssl_read(mbedtls_ssl_context*, unsigned char* buf, size_t len):
              // bytes read (at most one record's), 0 when the peer closed, a negative
              // MBEDTLS_ERR_ on error or when it would block.
              {"mbedtls_ssl_read", Direction::read},
              // int mbedtls_ssl_write(mbedtls_ssl_context*, const unsigned char* buf,
              // size_t len): bytes written (at most one record's: callers loop), or a
              // negative MBEDTLS_ERR_.
              {"mbedtls_ssl_write", Direction::write},
          },
  };
  return stack;
}

}  // namespace tlstap
