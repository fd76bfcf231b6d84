#include "stacks/gnutls.h"

namespace tlstap {

// Every function returns ssize_t: the bytes moved, or a negative GNUTLS_E_* code.
//
// Calls inside the library, and why each is reported once:
// - gnutls_record_send is `jmp gnutls_record_send2` (3.6.3 and later): a tail call, entered at
//   the same stack pointer with the same session and buffer, folded into the outer call.
// - gnutls_record_send_file (not probed: its buffer is a file) reads the file into memory and
//   sends it with gnutls_record_send: that inner call is the record.
// - gnutls_record_send_early_data (not probed) only queues; the handshake sends the queue with
//   gnutls_record_send, which is the record.
// - gnutls_record_uncork sends, with gnutls_record_send, what the writes made while the session
//   was corked queued, and which were reported when the application made them.
// Not probed: gnutls_record_recv_packet, whose plaintext is handed out later in a packet
// (gnutls_packet_get) rather than copied into a buffer of the caller.
const TlsStack& gnutls_stack() {
  static const TlsStack stack{
      .name = "gnutls",
      .library_prefixes = {"libgnutls.so"},
      .functions =
          {
              // ssize_t gnutls_record_send(gnutls_session_t, const void* data, size_t size)
              {"gnutls_record_send", Direction::write, CallShape::buffer_length, true},
              // (session, data, size, size_t pad, unsigned flags)
              {"gnutls_record_send2", Direction::write, CallShape::buffer_length, true},
              // (session, data, size, const gnutls_range_st* range)
              {"gnutls_record_send_range", Direction::write, CallShape::buffer_length, true},
              // ssize_t gnutls_record_recv(gnutls_session_t, void* data, size_t size)
              {"gnutls_record_recv", Direction::read, CallShape::buffer_length, true},
              // (session, data, size, unsigned char* seq): DTLS's form, also valid for TLS
              {"gnutls_record_recv_seq", Direction::read, CallShape::buffer_length, true},
              // (session, data, size): early data the handshake received, copied out
              {"gnutls_record_recv_early_data", Direction::read, CallShape::buffer_length, true},
              // int gnutls_record_uncork(gnutls_session_t, unsigned flags)
              {"gnutls_record_uncork", Direction::write, CallShape::flush_buffered},
          },
  };
  return stack;
}

}  // namespace tlstap
