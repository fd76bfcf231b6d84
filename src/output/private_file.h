// Creating the files tlstap writes plaintext into (-o, -w) safely. tlstap runs as root and
// users point it at /tmp: a file name there may be a symbolic link or a hard link planted by
// another user, aimed at /etc/shadow. So the last path component is never followed when it
// is a link, an existing file is never overwritten unless asked (--force), and then only a
// regular file with no other name is truncated. A new file is created 0600: the records are
// somebody's plaintext.
#pragma once

#include <string>

#include "common/result.h"

namespace tlstap {

enum class ExistingFile {
  refuse,    // an existing regular file is an error ("use --force")
  truncate,  // --force: an existing regular file is emptied and made 0600
};

// Opens `path` for writing and returns the descriptor (O_CLOEXEC; the caller closes it).
// Symbolic links are refused whatever `existing` says. An existing character device or FIFO
// (/dev/null, a named pipe a reader waits on) is opened as it is: writing to it overwrites
// nothing, and its mode is not changed. Errors name the file and what to do, without the
// "tlstap: " prefix.
Result<int> open_private_file(const std::string& path, ExistingFile existing);

}  // namespace tlstap
