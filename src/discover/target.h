// A file tlstap attaches uprobes to: a TLS library or an executable with one linked in.
#pragma once

#include <sys/types.h>

#include <compare>
#include <string>
#include <string_view>
#include <vector>

#include "discover/elf_symbols.h"

namespace tlstap {

// Files are known by identity, not path: the same libssl seen through two paths (a
// container's /proc/PID/root, a symlink) is one target, and a copy at a new path is another.
struct FileId {
  dev_t device = 0;
  ino_t inode = 0;
  auto operator<=>(const FileId&) const = default;
};

struct Target {
  FileId id;
  std::string display_path;  // the path a user knows it by (as the process mapped it)
  std::string open_path;     // a path this tracer can open it through
  std::string library;       // the TLS stack's name (src/stacks/): "openssl", "gnutls", ...
  std::vector<FunctionSymbol> functions;
  std::string version;  // of the stack, when the file says (a Go program's "go1.19.8")
};

}  // namespace tlstap
