#include "discover/discovery.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "discover/go_targets.h"
#include "discover/proc_maps.h"
#include "discover/runtime_tls.h"
#include "discover/tls_stack_hint.h"
#include "stacks/registry.h"

namespace tlstap {
namespace {

uint64_t clock_monotonic_ns() {  // the clock of bpf_ktime_get_ns
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

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

// A shared library of a TLS stack, by its file name (libssl.so.3, libgnutls.so.30, ...).
bool is_tls_library_name(const std::string& name) {
  for (const TlsStack* stack : tls_stacks()) {
    for (std::string_view prefix : stack->library_prefixes) {
      if (name.starts_with(prefix)) return true;
    }
  }
  return false;
}

// Every function of every stack, looked up in one pass over the file's symbols.
Result<std::vector<FunctionSymbol>> find_tls_functions(const std::string& path) {
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> all;
    for (const TlsStack* stack : tls_stacks()) {
      if (stack->go_program) continue;  // found in Go's own function table (go_targets.h)
      for (const TlsFunction& function : stack->functions) all.push_back(function.symbol);
    }
    return all;
  }();
  return find_functions(path, names);
}

// One target per stack whose functions the file defines (a static binary may carry two).
// Each piece of code is probed once, so that its records say one stack and one function (with
// two probes at one address, the one the kernel runs last names the call). Where names share
// code, a stack's own names go before names other stacks borrow (wolfSSL's wolfSSL_write
// before an SSL_write alias of it), then the descriptors' order decides.
std::vector<Target> targets_by_stack(const FileId& id, const std::string& display_path,
                                     const std::string& open_path,
                                     const std::vector<FunctionSymbol>& functions) {
  std::vector<Target> targets;
  for (const TlsStack* stack : tls_stacks()) {
    targets.push_back(Target{id, display_path, open_path, std::string(stack->name), {}});
  }
  std::set<uint64_t> probed_offsets;
  for (bool borrowed_names : {false, true}) {
    for (size_t i = 0; i < tls_stacks().size(); i++) {
      const TlsStack& stack = *tls_stacks()[i];
      if (stack.names_borrowed_by_others != borrowed_names) continue;
      for (const TlsFunction& function : stack.functions) {
        for (const FunctionSymbol& symbol : functions) {
          if (symbol.name != function.symbol) continue;
          if (probed_offsets.insert(symbol.file_offset).second) {
            targets[i].functions.push_back(symbol);
          }
        }
      }
    }
  }
  std::erase_if(targets, [](const Target& target) { return target.functions.empty(); });
  return targets;
}

}  // namespace

// Why a file is not attached to, after its name. Each reason is said once, and names the
// file once: the caller only puts "--lib " in front.
std::string Discovery::why_not_attached(const Result<std::vector<FunctionSymbol>>& functions,
                                        const std::string& open_path,
                                        const std::string& display_path) {
  if (!functions) return functions.error().message;  // "PATH: not an ELF file"
  if (functions.value().empty()) {
    // Worth a second look only for a file the user named: say which TLS it uses instead.
    Result<std::vector<TlsStackSign>> signs = recognise_tls_stacks(open_path);
    if (!signs) return signs.error().message;
    return fmt::format("{}: {}", display_path, describe_missing_tls(*signs));
  }
  return fmt::format("{}: attaching to it failed (said above)", display_path);
}

bool Discovery::consider(const std::string& open_path, const std::string& display_path,
                         std::string* why_not, bool mapped_by_process) {
  struct stat st;
  if (stat(open_path.c_str(), &st) != 0) {
    if (why_not) *why_not = fmt::format("{}: {}", display_path, std::strerror(errno));
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    if (why_not) *why_not = fmt::format("{}: not a regular file", display_path);
    return false;
  }
  FileId id{st.st_dev, st.st_ino};
  std::optional<bool> known;
  {
    std::lock_guard lock(mutex_);
    auto found = examined_.find(id);
    if (found != examined_.end()) known = found->second;
    examined_.emplace(id, false);  // until proven otherwise; also stops concurrent re-examination
  }
  if (known) {
    // Examined before without a question (the command's executable, a mapped file): the
    // reason is worked out now that one is asked.
    if (!*known && why_not) {
      GoLook go = look_for_go_target(id, display_path, open_path);
      *why_not = go.why_not
                     ? *go.why_not
                     : why_not_attached(find_tls_functions(open_path), open_path, display_path);
    }
    return *known;
  }

  Result<std::vector<FunctionSymbol>> functions = find_tls_functions(open_path);
  std::vector<Target> targets;
  GoLook go;
  if (functions) {
    targets = targets_by_stack(id, display_path, open_path, *functions);
    go = look_for_go_target(id, display_path, open_path);
    if (go.target) targets.push_back(std::move(*go.target));
  }
  if (targets.empty()) {
    // A Go program tlstap will not probe is said once, asked or not: its traffic is missing.
    if (why_not) {
      *why_not = go.why_not ? *go.why_not : why_not_attached(functions, open_path, display_path);
    } else if (go.why_not) {
      log_(*go.why_not);
    }
    return false;
  }
  bool any_attached = false;
  for (Target& target : targets) {
    Status attached = attach_(target);
    if (!attached) {
      // Said by the caller when it asked why, logged otherwise: once either way.
      if (why_not) {
        *why_not = fmt::format("{}: {}", display_path, attached.error().message);
      } else {
        log_(fmt::format("cannot attach to {} ({}): {}", display_path, target.library,
                         attached.error().message));
      }
      continue;
    }
    attached_count_++;
    any_attached = true;
    std::lock_guard lock(mutex_);
    examined_[id] = true;
    attached_at_[id] = clock_monotonic_ns();
    if (initial_scan_done_ && mapped_by_process) attached_late_.push_back(display_path);
    targets_.push_back(std::move(target));
  }
  return any_attached;
}

void Discovery::scan_system_libraries() {
  for (const std::string& dir : library_directories()) {
    std::error_code ec;
    for (const auto& file : std::filesystem::directory_iterator(dir, ec)) {
      if (is_tls_library_name(file.path().filename().string())) {
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
  uint64_t probes_attached_ns = 0;
  for (const MapsEntry& mapping : mappings) {
    std::string open_path = path_seen_from_tracer(pid, mapping);
    struct stat st;
    // The file at the path may have been replaced since it was mapped: then the mapping
    // itself (map_files) is the way to the code the process really runs.
    if (stat(open_path.c_str(), &st) != 0 || st.st_ino != mapping.inode) {
      MapsEntry as_deleted = mapping;
      as_deleted.deleted = true;
      open_path = path_seen_from_tracer(pid, as_deleted);
    } else {
      // The same file at the same path in tlstap's own mount namespace (no container): that
      // path outlives the process, /proc/PID/root does not, and a short-lived process may
      // exit while its probes are being attached.
      struct stat own;
      if (stat(mapping.path.c_str(), &own) == 0 && own.st_dev == st.st_dev &&
          own.st_ino == st.st_ino) {
        open_path = mapping.path;
      }
    }
    if (consider(open_path, mapping.path, nullptr, /*mapped_by_process=*/true)) {
      uses_tls = true;
      struct stat opened;
      if (stat(open_path.c_str(), &opened) != 0) continue;
      std::lock_guard lock(mutex_);
      auto attached = attached_at_.find(FileId{opened.st_dev, opened.st_ino});
      if (attached != attached_at_.end()) {
        probes_attached_ns = std::max(probes_attached_ns, attached->second);
      }
    }
  }
  if (uses_tls && tls_process_) tls_process_(pid, probes_attached_ns);
  note_own_tls_runtime(pid, mappings);
  return !mappings.empty() || std::filesystem::exists(fmt::format("/proc/{}", pid));
}

void Discovery::note_own_tls_runtime(pid_t pid, const std::vector<MapsEntry>& mappings) {
  std::vector<std::string> paths;
  for (const MapsEntry& mapping : mappings) paths.push_back(mapping.path);
  std::optional<OwnTlsRuntime> runtime = find_own_tls_runtime(paths);
  if (!runtime) return;
  std::string description = describe_own_tls_runtime(*runtime);
  {
    std::lock_guard lock(mutex_);
    if (!own_tls_runtimes_.emplace(pid, description).second) return;  // said already
  }
  std::string comm;
  std::ifstream comm_file(fmt::format("/proc/{}/comm", pid));
  std::getline(comm_file, comm);
  log_(fmt::format("process {}{} {}", pid, comm.empty() ? "" : fmt::format(" ({})", comm),
                   description));
}

std::optional<std::string> Discovery::own_tls_runtime(pid_t pid) const {
  std::lock_guard lock(mutex_);
  auto found = own_tls_runtimes_.find(pid);
  if (found == own_tls_runtimes_.end()) return std::nullopt;
  return found->second;
}

void Discovery::process_exited(pid_t pid) {
  std::lock_guard lock(mutex_);
  own_tls_runtimes_.erase(pid);
}

Status Discovery::add_file(const std::string& path) {
  std::string why_not;
  if (!consider(path, path, &why_not)) return Error{fmt::format("--lib {}", why_not)};
  return Ok{};
}

void Discovery::add_file_if_tls(const std::string& path) { consider(path, path); }

std::vector<std::string> Discovery::attached_late() const {
  std::lock_guard lock(mutex_);
  return attached_late_;
}

std::vector<Target> Discovery::targets() const {
  std::lock_guard lock(mutex_);
  return targets_;
}

}  // namespace tlstap
