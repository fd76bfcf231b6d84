#include "stacks/nss.h"

namespace tlstap {

// The functions are NSPR's (libnspr4.so), not NSS's (libssl3.so, libnss3.so): PR_Write(fd, ...)
// only jumps to fd->methods->write, which for an SSL socket is NSS's ssl_Write. NSS reaches the
// plain TCP socket below it through that socket's methods directly, never through these
// functions (Debian's libssl3.so does not even import them), so NSS's own TLS records never
// pass here. Every other NSPR descriptor does, though (files, pipes, plain sockets): a call is
// reported only if TLS records moved inside it or its descriptor is already known for TLS, and
// never if it handed its own buffer to a socket (bpf/conn.bpf.h).
const TlsStack& nss_stack() {
  static const TlsStack stack{
      .name = "nss",
      .library_prefixes = {"libnspr4.so"},
      .functions =
          {
              // PRInt32 PR_Read(PRFileDesc*, void* buf, PRInt32 amount), PR_Write alike
              {"PR_Read", Direction::read},
              {"PR_Write", Direction::write},
              // PRInt32 PR_Recv(PRFileDesc*, void* buf, PRInt32 amount, PRIntn flags,
              //                 PRIntervalTime timeout), PR_Send alike
              {"PR_Recv", Direction::read},
              {"PR_Send", Direction::write},
              // PRInt32 PR_Writev(PRFileDesc*, const PRIOVec* iov, PRInt32 iov_size,
              //                   PRIntervalTime timeout): NSS's selfserv answers with it, and
              //                   NSPR's PR_TransmitFile/PR_SendFile emulation on SSL sockets
              //                   sends the headers with it.
              {"PR_Writev", Direction::write, CallShape::pr_io_vector},
          },
      .only_sessions_seen_doing_tls = true,
  };
  return stack;
}

}  // namespace tlstap
