// Finds the targets to attach to: system libssl copies, everything running processes have
// mapped, and files named by hand. Each file is examined once (keyed by FileId).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "discover/proc_maps.h"
#include "discover/target.h"

namespace tlstap {

class Discovery {
 public:
  // Called once for every new target; its failure is reported, never fatal to discovery.
  using AttachFn = std::function<Status(const Target&)>;
  using LogFn = std::function<void(const std::string&)>;

  Discovery(AttachFn attach, LogFn log) : attach_(std::move(attach)), log_(std::move(log)) {}

  // Every libssl.so* in the dynamic linker's directories.
  void scan_system_libraries();
  // Every executable file mapped by every process in /proc.
  void scan_all_processes();
  // Every executable file mapped by one process. False if the process does not exist.
  bool scan_process(pid_t pid);
  // A file named by the user (--lib); an error if it is unreadable or has no TLS functions,
  // saying which TLS stack it uses instead when one is recognised.
  Status add_file(const std::string& path);
  // A file that may or may not have TLS functions (the executable of `-- COMMAND`): attached
  // if it has them; a failure to attach is logged.
  void add_file_if_tls(const std::string& path);

  // Told of every scanned process that maps a TLS target, with when (CLOCK_MONOTONIC) the
  // last of those targets was attached. BPF then follows its threads' socket I/O outside TLS
  // calls (to notice a call that was in flight at attach), and marks midstream its
  // connections established before that time: a process that mapped a new library or
  // executable may have made TLS calls before tlstap attached to it.
  using TlsProcessFn = std::function<void(pid_t, uint64_t probes_attached_ns)>;
  void on_tls_process(TlsProcessFn hook) { tls_process_ = std::move(hook); }

  size_t attached_count() const { return attached_count_.load(); }
  // Processes seen to run a runtime whose TLS is its own code (runtime_tls.h), each said once
  // when found: what was said, without the process.
  std::optional<std::string> own_tls_runtime(pid_t pid) const;
  // The process exited: a new process given its pid is said anew.
  void process_exited(pid_t pid);

  // From now on, a file first found mapped by a running process is one that process (and
  // maybe others) used before tlstap could attach to it: such files are kept to be said.
  void initial_scan_done() { initial_scan_done_ = true; }
  // Files attached only after a process had mapped them (display paths): TLS calls made
  // before the attach were not seen.
  std::vector<std::string> attached_late() const;
  std::vector<Target> targets() const;

 private:
  // Examines the file once; attaches it if it provides TLS functions. With `why_not`, says
  // why not ("PATH: reason") instead of logging it.
  // `mapped_by_process`: found in a running process's maps (it may have used the file already).
  bool consider(const std::string& open_path, const std::string& display_path,
                std::string* why_not = nullptr, bool mapped_by_process = false);
  // Says, once per process, that it runs a runtime whose TLS tlstap cannot see.
  void note_own_tls_runtime(pid_t pid, const std::vector<MapsEntry>& mappings);
  static std::string why_not_attached(const Result<std::vector<FunctionSymbol>>& functions,
                                      const std::string& open_path,
                                      const std::string& display_path);

  AttachFn attach_;
  LogFn log_;
  TlsProcessFn tls_process_;
  mutable std::mutex mutex_;
  std::map<FileId, bool> examined_;         // true: a target
  std::map<FileId, uint64_t> attached_at_;  // CLOCK_MONOTONIC when its probes were attached
  std::atomic<bool> initial_scan_done_{false};
  std::vector<std::string> attached_late_;
  std::map<pid_t, std::string> own_tls_runtimes_;
  std::vector<Target> targets_;
  std::atomic<size_t> attached_count_{0};
};

}  // namespace tlstap
