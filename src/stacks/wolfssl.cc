#include "stacks/wolfssl.h"

namespace tlstap {

// Not probed, on purpose:
// - wolfSSL_peek leaves the bytes in wolfSSL's buffer: the wolfSSL_read that follows reports
//   them; probing both would report them twice.
// - wolfSSL_writev(ssl, iov, iovcnt) copies the vectors into one buffer and calls
//   wolfSSL_write with it: reported as that wolfSSL_write.
// - wolfSSL_mcast_read (DTLS multicast: the buffer is the third argument) and
//   wolfSSL_read_early_data/wolfSSL_write_early_data (not built into Debian 12's 5.5.4).
const TlsStack& wolfssl_stack() {
  static const TlsStack stack{
      .name = "wolfssl",
      .library_prefixes = {"libwolfssl.so"},
      .functions =
          {
              // int wolfSSL_read(WOLFSSL*, void* data, int sz): bytes read, 0 when the peer
              // closed, < 0 on error. wolfSSL_write alike.
              {"wolfSSL_read", Direction::read},
              {"wolfSSL_write", Direction::write},
              // int wolfSSL_recv(WOLFSSL*, void* data, int sz, int flags): sets the socket
              // flags and calls wolfSSL_read with the same buffer, which is folded into it
              // (bpf/calls.bpf.h): one record, func wolfSSL_recv. wolfSSL_send alike.
              {"wolfSSL_recv", Direction::read},
              {"wolfSSL_send", Direction::write},
              // int wolfSSL_read_ex(WOLFSSL*, void* data, size_t sz, size_t* rd): 1 and the
              // count in *rd, like OpenSSL's (wolfSSL 5.7 and later; not in Debian 12's 5.5.4).
              {"wolfSSL_read_ex", Direction::read, CallShape::buffer_length_moved_out},
              {"wolfSSL_write_ex", Direction::write, CallShape::buffer_length_moved_out},
          },
  };
  return stack;
}

}  // namespace tlstap
