#include "app/list_targets.h"

#include <algorithm>
#include <cstdio>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/say.h"
#include "discover/discovery.h"
#include "discover/process_tree.h"

namespace tlstap {

int list_targets(const Options& options) {
  Discovery discovery([](const Target&) -> Status { return Ok{}; },
                      [&](const std::string& line) { say("tlstap: {}\n", line); });
  for (const std::string& lib : options.libs) {
    if (Status added = discovery.add_file(lib); !added) {
      say("tlstap: {}\n", added.error().message);
      return 1;
    }
  }
  if (options.pids.empty()) {
    discovery.scan_system_libraries();
    discovery.scan_all_processes();
  } else {
    for (pid_t pid : options.pids) {
      if (!discovery.scan_process(pid)) {
        say("tlstap: no process with pid {}\n", pid);
        return 1;
      }
    }
    // What --children would trace: the running descendants may map more than their parent.
    if (options.children) {
      for (const ProcessEntry& descendant : descendants_of(read_process_table(), options.pids)) {
        discovery.scan_process(descendant.pid);
      }
    }
  }
  for (const Target& target : discovery.targets()) {
    fmt::print("{}{} {} (dev {} inode {})\n", target.library,
               target.version.empty() ? "" : " " + target.version, target.display_path,
               target.id.device, target.id.inode);
    size_t width = 0;  // names in a column, however long a stack's names are
    for (const FunctionSymbol& function : target.functions) {
      width = std::max(width, function.name.size());
    }
    for (const FunctionSymbol& function : target.functions) {
      fmt::print("  {:<{}} file offset {:#x}", function.name, width, function.file_offset);
      if (!function.return_offsets.empty()) {  // Go: probed at every RET, not by a uretprobe
        fmt::print(", returns at {:#x}", fmt::join(function.return_offsets, ", "));
      }
      fmt::print("\n");
    }
  }
  if (discovery.targets().empty()) {
    say("tlstap: no TLS library found (use --lib PATH to name one)\n");
    return 1;
  }
  return 0;
}

}  // namespace tlstap
