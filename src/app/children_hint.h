// The line said at start when a `-p` process has children and --children was not given: its
// TLS traffic is often in those children (pre-fork servers: nginx, postgres, apache), which
// `-p` alone does not trace.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "discover/process_tree.h"

namespace tlstap {

// "pid 812 (nginx) has 2 child processes (813 nginx, 814 nginx); -p traces only 812: add
// --children to trace its descendants too". `descendants` as from descendants_of (not empty);
// the first few are named. "child" when all are the process's own children, "descendant"
// otherwise.
std::string children_hint(pid_t pid, const std::string& comm,
                          const std::vector<ProcessEntry>& descendants);

}  // namespace tlstap
