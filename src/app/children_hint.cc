#include "app/children_hint.h"

#include <algorithm>

#include <fmt/format.h>

#include "common/plural.h"
#include "output/encoding.h"

namespace tlstap {

namespace {
constexpr size_t kNamedAtMost = 3;  // one line, however many workers there are

// A process names itself: its name never writes a line of its own on tlstap's stderr.
std::string safe(const std::string& comm) {
  std::string out;
  append_terminal_safe_field(out, comm);
  return out;
}
}  // namespace

std::string children_hint(pid_t pid, const std::string& comm,
                          const std::vector<ProcessEntry>& descendants) {
  const bool all_children =
      std::all_of(descendants.begin(), descendants.end(),
                  [pid](const ProcessEntry& entry) { return entry.ppid == pid; });
  std::string named;
  for (size_t i = 0; i < descendants.size() && i < kNamedAtMost; i++) {
    if (i > 0) named += ", ";
    named += fmt::format("{} {}", descendants[i].pid, safe(descendants[i].comm));
  }
  if (descendants.size() > kNamedAtMost) {
    named += fmt::format(", and {} more", descendants.size() - kNamedAtMost);
  }
  return fmt::format(
      "pid {} ({}) has {} ({}); -p traces only {}: add --children to trace its descendants too",
      pid, safe(comm),
      counted(descendants.size(), all_children ? "child process" : "descendant process",
              all_children ? "child processes" : "descendant processes"),
      named, pid);
}

}  // namespace tlstap
