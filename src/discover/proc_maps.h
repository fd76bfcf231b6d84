// Reading /proc/PID/maps: which files a process has mapped executable.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tlstap {

struct MapsEntry {
  uint64_t start = 0;
  uint64_t end = 0;
  bool executable = false;
  uint64_t file_offset = 0;
  uint32_t dev_major = 0;
  uint32_t dev_minor = 0;
  uint64_t inode = 0;
  std::string path;  // as the process sees it, without a " (deleted)" suffix
  bool deleted = false;
};

// Parses one line of /proc/PID/maps; nullopt for a line that is not in the kernel's format.
std::optional<MapsEntry> parse_maps_line(std::string_view line);

// The file-backed executable mappings of `pid` (one entry per distinct file, first mapping).
// Empty if the process is gone or unreadable.
std::vector<MapsEntry> executable_file_mappings(pid_t pid);

// A path through which this tracer can open a file the process has mapped, even inside a
// container or chroot (/proc/PID/root/...), or when the file was deleted (map_files).
std::string path_seen_from_tracer(pid_t pid, const MapsEntry& entry);

}  // namespace tlstap
