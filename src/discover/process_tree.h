// Parent/child relations of running processes, from /proc/PID/stat: what `-p PID --children`
// seeds the BPF pid filter with (BPF follows forks from then on), and what the hint for a
// `-p` process with children lists.
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tlstap {

struct ProcessEntry {
  pid_t pid = 0;
  pid_t ppid = 0;
  std::string comm;
  char state = '?';  // R, S, D, Z (exited, not yet reaped), ...
};

// One /proc/PID/stat line: "PID (COMM) STATE PPID ...". COMM may hold spaces and ')', so it
// ends at the last ')'. Nothing for a line that is not of that form.
std::optional<ProcessEntry> parse_proc_stat(std::string_view line);

// Every process (thread group) in `proc_root`; processes that exit while it is read are left
// out.
std::vector<ProcessEntry> read_process_table(const std::string& proc_root = "/proc");

// The descendants of `roots` in `table`: children before grandchildren, each level in pid
// order, each once, the roots themselves not included.
std::vector<ProcessEntry> descendants_of(const std::vector<ProcessEntry>& table,
                                         const std::vector<pid_t>& roots);

// Adds the descendants of `roots` to a pid filter that holds the roots already, while the
// kernel side adds every child a filtered process forks from then on. A child forked by a
// descendant before that descendant was added is found by the next look at /proc: the walk is
// repeated until it finds nothing new (or `max_rounds`). A process that exits between the
// look and its `add` (or is a zombie) is handed to `remove` (its exit, already past, removed
// nothing; its pid may be reused). Returns the processes added.
std::vector<ProcessEntry> add_descendants(const std::vector<pid_t>& roots,
                                          const std::function<bool(pid_t)>& add,
                                          const std::function<void(pid_t)>& remove,
                                          const std::string& proc_root = "/proc",
                                          int max_rounds = 8);

}  // namespace tlstap
