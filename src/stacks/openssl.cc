#include "stacks/openssl.h"

namespace tlstap {

const TlsStack& openssl_stack() {
  static const TlsStack stack{
      .name = "openssl",
      .library_prefixes = {"libssl.so"},
      .functions =
          {
              // int SSL_read(SSL*, void* buf, int num), SSL_write alike
              {"SSL_read", Direction::read},
              {"SSL_write", Direction::write},
              // int SSL_read_ex(SSL*, void* buf, size_t num, size_t* readbytes), _write_ex alike
              {"SSL_read_ex", Direction::read, CallShape::buffer_length_moved_out},
              {"SSL_write_ex", Direction::write, CallShape::buffer_length_moved_out},
          },
      // Another library's OpenSSL compatibility layer may export SSL_read as an alias of its
      // own function (wolfSSL's uses macros: Debian's libwolfssl has no SSL_read).
      .names_borrowed_by_others = true,
  };
  return stack;
}

}  // namespace tlstap
