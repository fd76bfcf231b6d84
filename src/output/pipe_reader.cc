#include "output/pipe_reader.h"

#include <poll.h>

namespace tlstap {

bool pipe_reader_gone(int fd) {
  pollfd entry{fd, 0, 0};  // POLLERR and POLLHUP are reported whatever is asked for
  if (poll(&entry, 1, 0) != 1) return false;
  // A pipe's write end has POLLERR when it has no readers; a socket or tty that hung up has
  // POLLHUP, which is left to the write that fails (it may be a half-close).
  return (entry.revents & POLLERR) != 0;
}

}  // namespace tlstap
