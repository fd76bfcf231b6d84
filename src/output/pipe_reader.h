// Whether the reader of a pipe we write to has gone (`tlstap | head` after head exited), found
// without writing: while no records flow, no write fails with EPIPE to tell.
#pragma once

namespace tlstap {

// True only for a pipe (or FIFO) whose read end every reader has closed: the kernel reports
// POLLERR on the write end then. Files, terminals and sockets are never "gone" here.
bool pipe_reader_gone(int fd);

}  // namespace tlstap
