#include "discover/discovery.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>

#include <fmt/format.h>

#include "discover/proc_maps.h"

namespace tlstap {
namespace {

// The dynamic linker's default directories plus those in /etc/ld.so.conf.d.
std::vector<std::string> library_directories() {
  std::vector<std::string> dirs = {"/lib",
                                   "/lib64",
                                   "/usr/lib",
                                   "/usr/lib64",
                                   "/usr/local/lib",
                                   "/lib/x86_64-linux-gnu",
                                   "/usr/lib/x86_64-linux-gnu",
                                   "/lib/aarch64-linux-gnu",
                                   "/usr/lib/aarch64-linux-gnu"};
  std::error_code ec;
  for (const auto& conf : std::filesystem::directory_iterator("/etc/ld.so.conf.d", ec)) {
    if (conf.path().extension() != ".conf") continue;
    std::ifstream in(conf.path());
    std::string line;
    while (std::getline(in, line)) {
      if (line.starts_with('/')) dirs.push_back(line.substr(0, line.find_first_of(" \t#")));
    }
  }
  return dirs;
}

bool is_libssl_name(const std::string& name) { return name.starts_with("libssl.so"); }

}  // namespace

bool Discovery::consider(const std::string& open_path, const std::string& display_path,
                         std::string* why_not) {
  struct stat st;
  if (stat(open_path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    if (why_not) *why_not = fmt::format("{}: not a readable regular file", display_path);
    return false;
  }
  FileId id{st.st_dev, st.st_ino};
  {
    std::lock_guard lock(mutex_);
    auto known = examined_.find(id);
    if (known != examined_.end()) {
      if (!known->second && why_not) *why_not = fmt::format("{}: no TLS functions", display_path);
      return known->second;
    }
    examined_[id] = false;  // until proven otherwise; also stops concurrent re-examination
  }

  Result<std::vector<FunctionSymbol>> functions = find_functions(open_path, kOpenSslFunctions);
  if (!functions || functions->empty()) {
    if (why_not) {
      *why_not =
          functions ? fmt::format("{}: no TLS functions", display_path) : functions.error().message;
    }
    return false;
  }
  Target target{id, display_path, open_path, "openssl", std::move(*functions)};
  Status attached = attach_(target);
  if (!attached) {
    log_(fmt::format("cannot attach to {}: {}", display_path, attached.error().message));
    if (why_not) *why_not = attached.error().message;
    return false;
  }
  attached_count_++;
  std::lock_guard lock(mutex_);
  examined_[id] = true;
  targets_.push_back(std::move(target));
  return true;
}

void Discovery::scan_system_libraries() {
  for (const std::string& dir : library_directories()) {
    std::error_code ec;
    for (const auto& file : std::filesystem::directory_iterator(dir, ec)) {
      if (is_libssl_name(file.path().filename().string())) {
        // Many names (libssl.so, libssl.so.3, /lib vs /usr/lib) lead to one file: show the
        // file's own name.
        std::string real = std::filesystem::canonical(file.path(), ec).string();
        if (!ec) consider(real, real);
      }
    }
  }
}

void Discovery::scan_all_processes() {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.empty() && std::all_of(name.begin(), name.end(), ::isdigit)) {
      scan_process(static_cast<pid_t>(std::stol(name)));
    }
  }
}

bool Discovery::scan_process(pid_t pid) {
  std::vector<MapsEntry> mappings = executable_file_mappings(pid);
  bool uses_tls = false;
  for (const MapsEntry& mapping : mappings) {
    std::string open_path = path_seen_from_tracer(pid, mapping);
    struct stat st;
    // The file at the path may have been replaced since it was mapped: then the mapping
    // itself (map_files) is the way to the code the process really runs.
    if (stat(open_path.c_str(), &st) != 0 || st.st_ino != mapping.inode) {
      MapsEntry as_deleted = mapping;
      as_deleted.deleted = true;
      open_path = path_seen_from_tracer(pid, as_deleted);
    }
    if (consider(open_path, mapping.path)) uses_tls = true;
  }
  if (uses_tls && tls_process_) tls_process_(pid);
  return !mappings.empty() || std::filesystem::exists(fmt::format("/proc/{}", pid));
}

Status Discovery::add_file(const std::string& path) {
  std::string why_not;
  if (!consider(path, path, &why_not)) return Error{fmt::format("--lib {}: {}", path, why_not)};
  return Ok{};
}

std::vector<Target> Discovery::targets() const {
  std::lock_guard lock(mutex_);
  return targets_;
}

}  // namespace tlstap
