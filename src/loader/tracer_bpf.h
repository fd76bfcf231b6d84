// The BPF side as one object: open, configure, load, attach, read. The only code (with
// ring_buffer.*) that touches the skeleton or libbpf; errors leave here as Result.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "discover/target.h"

struct tlstap_bpf;
struct bpf_link;

namespace tlstap {

struct BpfConfig {
  uint64_t max_capture_bytes = 1 << 20;
  uint64_t ring_buffer_bytes = 32 << 20;
  pid_t self_pid = 0;
  bool filter_by_pid = false;  // only pids added with trace_pid (and followed children)
  bool follow_children = false;
  std::optional<uid_t> uid;
  std::optional<std::string> comm;
  std::vector<uint16_t> ports;  // either end of the connection must match
  bool verbose = false;         // libbpf's own log on stderr
};

struct LossTotals {
  uint64_t events = 0;
  uint64_t bytes = 0;
  uint64_t process_events = 0;
};

class TracerBpf {
 public:
  static Result<std::unique_ptr<TracerBpf>> load(const BpfConfig& config);
  ~TracerBpf();
  TracerBpf(const TracerBpf&) = delete;
  TracerBpf& operator=(const TracerBpf&) = delete;

  // Kernel hooks: fork/exec/exit (required), mmap (new libraries) and the socket syscalls
  // and close (connection identity). An optional group that cannot attach is a warning
  // saying what the user loses, not an error.
  Status attach_kernel_hooks(std::vector<std::string>* warnings);
  // Entry and return uprobes on every function of the target, in every process. Safe to
  // call from the discovery thread while the main thread reads the ring buffer.
  Status attach_target(const Target& target);
  Status trace_pid(pid_t pid);
  // Takes a pid added by trace_pid out of the filter again (a process gone before it was added).
  void untrace_pid(pid_t pid);
  // A process that maps a TLS target (see Discovery::on_tls_process).
  void mark_tls_process(pid_t pid, uint64_t probes_attached_ns);

  // Calls that begin from now on are not traced: the probes stay but do nothing, so that a
  // final drain reads everything (calls already inside finish and are read).
  void stop_tracing();
  // Detaches every probe and kernel hook. Nothing can be attached after it.
  void detach_all();
  // Detaches every probe from a child process, so that tlstap can exit at once: the kernel
  // removes uprobes one grace period at a time (4-9 s for all of them). After stop_tracing.
  // Detaches here, synchronously, if no child can be started.
  void detach_all_in_background();
  // Waits (up to `timeout`) while an earlier tlstap's probes are being removed: until they
  // are, every uprobe attached here waits for them in the kernel, and a program started now
  // could run before its probes are in. Returns how long it waited.
  static std::chrono::milliseconds wait_for_background_detaches(std::chrono::milliseconds timeout);

  int ring_buffer_map_fd() const;
  // Entries in the per-connection maps (SSL* state, fd -> SSL*): bounded state is checkable.
  size_t connection_state_entries() const;
  LossTotals read_losses() const;

 private:
  explicit TracerBpf(tlstap_bpf* skeleton) : skeleton_(skeleton) {}

  struct LinkDeleter {
    void operator()(bpf_link* link) const;
  };
  using Link = std::unique_ptr<bpf_link, LinkDeleter>;

  tlstap_bpf* skeleton_;
  std::mutex links_mutex_;
  std::vector<Link> links_;
  bool detached_ = false;  // guarded by links_mutex_
};

// Rounds a requested ring buffer size to what the kernel accepts (a power of two pages).
uint64_t ring_buffer_size_for(uint64_t requested_bytes);

}  // namespace tlstap
