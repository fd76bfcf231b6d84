// What tlstap knows of one TLS stack: the library files that implement it, the functions whose
// buffers hold plaintext, and how the generic BPF probes read each one's arguments and result
// (bpf/tls_calls.bpf.h). Adding a stack is one descriptor file here, registered in
// registry.cc; a BPF file of its own only when the generic probes cannot read its calls.
#pragma once

#include <string_view>
#include <vector>

#include "output/record.h"

namespace tlstap {

enum class CallShape {
  // f(session, buffer, length, ...) returns the bytes moved (> 0), or <= 0 for nothing moved.
  buffer_length,
  // f(session, buffer, length, size_t* moved) returns 1 and stores the bytes moved (OpenSSL's
  // _ex forms).
  buffer_length_moved_out,
  // f(session, const PRIOVec* vector, int count, ...) returns the bytes moved, taken from the
  // vector's buffers in order (NSPR's PR_Writev; PRIOVec is {char* iov_base; int iov_len}, at
  // most 16 of them).
  pr_io_vector,
  // f(session, ...) sends what earlier calls on the session only queued (GnuTLS's
  // gnutls_record_uncork after gnutls_record_cork), through the stack's own write function:
  // never reported itself, and the writes of the same session inside it are not new plaintext.
  flush_buffered,
};

struct TlsFunction {
  std::string_view symbol;
  Direction direction;  // write: plaintext the process sends; read: what it receives
  CallShape shape = CallShape::buffer_length;
  bool returns_64bit = false;  // ssize_t; otherwise int, whose upper register half is undefined
};

struct TlsStack {
  std::string_view name;  // `lib` in records
  // File names (prefixes) of its shared library in the linker's directories: "libssl.so".
  std::vector<std::string_view> library_prefixes;
  std::vector<TlsFunction> functions;
  // The functions also serve what is not TLS (NSPR's PR_Write writes plain files and sockets
  // too): a call is reported only once its session is seen moving TLS records.
  bool only_sessions_seen_doing_tls = false;
  // Go: the functions are found in the program's own function table (src/discover/go_program)
  // and probed at their entry and at every RET (bpf/go_tls.bpf.h), never by ELF symbol alone.
  bool go_program = false;
  // Other stacks may export these names as aliases of their own functions (an OpenSSL
  // compatibility layer): where a file's function of this stack is the very code of another
  // stack's function, only the other stack's probes it: the call is reported once either way
  // (the second entry at the same stack pointer replaces the first's frame), but under
  // whichever probe the kernel happened to run last; the record must name the stack's own.
  bool names_borrowed_by_others = false;

  const TlsFunction* function(std::string_view symbol) const {
    for (const TlsFunction& f : functions) {
      if (f.symbol == symbol) return &f;
    }
    return nullptr;
  }
};

}  // namespace tlstap
