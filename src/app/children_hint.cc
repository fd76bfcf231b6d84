#include "app/children_hint.h"

#include <algorithm>

#include <fmt/format.h>

#include "common/plural.h"

namespace tlstap {

namespace {
constexpr size_t kNamedAtMost = 3;  // one line, however many workers there are
}

std::string children_hint(pid_t pid, const std::string& comm,
                          const std::vector<ProcessEntry>& descendants) {
  const bool all_children =
      std::all_of(descendants.begin(), descendants.end(),
                  [pid](const ProcessEntry& entry) { return entry.ppid == pid; });
  std::string named;
  for (size_t i = 0; i < descendants.size() && i < kNamedAtMost; i++) {
    if (i > 0) named += ", ";
    named += fmt::format("{} {}", descendants[i].pid, descendants[i].comm);
  }
  if (descendants.size() > kNamedAtMost) {
    named += fmt::format(", and {} more", descendants.size() - kNamedAtMost);
  }
  return fmt::format(
      "pid {} ({}) has {} ({}); -p traces only {}: add --children to trace its descendants too",
      pid, comm,
      counted(descendants.size(), all_children ? "child process" : "descendant process",
              all_children ? "child processes" : "descendant processes"),
      named, pid);
}

}  // namespace tlstap
