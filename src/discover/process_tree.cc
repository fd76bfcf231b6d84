#include "discover/process_tree.h"

#include <dirent.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <set>

namespace tlstap {

std::optional<ProcessEntry> parse_proc_stat(std::string_view line) {
  size_t open = line.find(" (");
  size_t close = line.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
    return std::nullopt;
  }
  ProcessEntry entry;
  std::string_view pid_text = line.substr(0, open);
  auto [pid_end, pid_error] =
      std::from_chars(pid_text.data(), pid_text.data() + pid_text.size(), entry.pid);
  if (pid_error != std::errc() || pid_end != pid_text.data() + pid_text.size() || entry.pid <= 0) {
    return std::nullopt;
  }
  entry.comm = std::string(line.substr(open + 2, close - open - 2));
  // After the comm: " STATE PPID ..."
  std::string_view rest = line.substr(close + 1);
  if (rest.size() < 4 || rest[0] != ' ' || rest[2] != ' ') return std::nullopt;
  entry.state = rest[1];
  rest.remove_prefix(3);
  auto [ppid_end, ppid_error] = std::from_chars(rest.data(), rest.data() + rest.size(), entry.ppid);
  if (ppid_error != std::errc() || entry.ppid < 0 ||
      (ppid_end != rest.data() + rest.size() && *ppid_end != ' ')) {
    return std::nullopt;
  }
  return entry;
}

namespace {

// The whole file, not a line: a process may put a newline in its own name (PR_SET_NAME).
std::optional<ProcessEntry> read_proc_stat(const std::string& proc_root, std::string_view pid) {
  std::ifstream file(proc_root + "/" + std::string(pid) + "/stat");
  if (!file) return std::nullopt;
  std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  return parse_proc_stat(text);
}

}  // namespace

std::vector<ProcessEntry> read_process_table(const std::string& proc_root) {
  std::vector<ProcessEntry> table;
  std::unique_ptr<DIR, int (*)(DIR*)> dir(opendir(proc_root.c_str()), closedir);
  if (!dir) return table;
  while (const dirent* item = readdir(dir.get())) {
    std::string_view name = item->d_name;
    if (name.empty() || name.find_first_not_of("0123456789") != std::string_view::npos) continue;
    // Nothing when it exited meanwhile.
    if (std::optional<ProcessEntry> entry = read_proc_stat(proc_root, name)) {
      table.push_back(*entry);
    }
  }
  // In pid order, not directory order: lists and hints come out the same from run to run.
  std::sort(table.begin(), table.end(),
            [](const ProcessEntry& a, const ProcessEntry& b) { return a.pid < b.pid; });
  return table;
}

std::vector<ProcessEntry> descendants_of(const std::vector<ProcessEntry>& table,
                                         const std::vector<pid_t>& roots) {
  std::multimap<pid_t, const ProcessEntry*> children_of;
  for (const ProcessEntry& entry : table) children_of.emplace(entry.ppid, &entry);
  std::set<pid_t> seen(roots.begin(), roots.end());
  std::vector<pid_t> level(seen.begin(), seen.end());
  std::vector<ProcessEntry> descendants;
  // Level by level; `seen` guards against a pid that names itself (or a root) as its parent.
  while (!level.empty()) {
    std::vector<const ProcessEntry*> found;
    for (pid_t parent : level) {
      auto [begin, end] = children_of.equal_range(parent);
      for (auto it = begin; it != end; ++it) {
        if (seen.insert(it->second->pid).second) found.push_back(it->second);
      }
    }
    // Each level in pid order, whatever the table's order.
    std::sort(found.begin(), found.end(),
              [](const ProcessEntry* a, const ProcessEntry* b) { return a->pid < b->pid; });
    level.clear();
    for (const ProcessEntry* entry : found) {
      descendants.push_back(*entry);
      level.push_back(entry->pid);
    }
  }
  return descendants;
}

std::vector<ProcessEntry> add_descendants(const std::vector<pid_t>& roots,
                                          const std::function<bool(pid_t)>& add,
                                          const std::function<void(pid_t)>& remove,
                                          const std::string& proc_root, int max_rounds) {
  std::set<pid_t> known(roots.begin(), roots.end());
  std::vector<ProcessEntry> added;
  for (int round = 0; round < max_rounds; round++) {
    bool found_new = false;
    for (const ProcessEntry& entry : descendants_of(read_process_table(proc_root), roots)) {
      if (!known.insert(entry.pid).second) continue;
      found_new = true;
      if (!add(entry.pid)) continue;
      std::optional<ProcessEntry> now = read_proc_stat(proc_root, std::to_string(entry.pid));
      if (!now || now->state == 'Z' || now->state == 'X') {
        remove(entry.pid);
        continue;
      }
      added.push_back(entry);
    }
    if (!found_new) break;
  }
  return added;
}

}  // namespace tlstap
