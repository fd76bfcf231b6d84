#include "app/list_targets.h"

#include <algorithm>
#include <cstdio>

#include <fmt/format.h>

#include "discover/discovery.h"

namespace tlstap {

int list_targets(const Options& options) {
  Discovery discovery([](const Target&) -> Status { return Ok{}; },
                      [&](const std::string& line) { fmt::print(stderr, "tlstap: {}\n", line); });
  for (const std::string& lib : options.libs) {
    if (Status added = discovery.add_file(lib); !added) {
      fmt::print(stderr, "tlstap: {}\n", added.error().message);
      return 1;
    }
  }
  if (options.pids.empty()) {
    discovery.scan_system_libraries();
    discovery.scan_all_processes();
  } else {
    for (pid_t pid : options.pids) {
      if (!discovery.scan_process(pid)) {
        fmt::print(stderr, "tlstap: no process with pid {}\n", pid);
        return 1;
      }
    }
  }
  for (const Target& target : discovery.targets()) {
    fmt::print("{} {} (dev {} inode {})\n", target.library, target.display_path, target.id.device,
               target.id.inode);
    size_t width = 0;  // offsets in one column: gnutls_record_recv_early_data is long
    for (const FunctionSymbol& function : target.functions) {
      width = std::max(width, function.name.size());
    }
    for (const FunctionSymbol& function : target.functions) {
      fmt::print("  {:<{}} file offset {:#x}\n", function.name, width, function.file_offset);
    }
  }
  if (discovery.targets().empty()) {
    fmt::print(stderr, "tlstap: no TLS library found (use --lib PATH to name one)\n");
    return 1;
  }
  return 0;
}

}  // namespace tlstap
