#include "app/trace_session.h"

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "app/children_hint.h"
#include "app/session_outputs.h"
#include "capture/event_router.h"
#include "capture/reassembler.h"
#include "cli/child_command.h"
#include "cli/least_privilege.h"
#include "cli/privileges.h"
#include "common/plural.h"
#include "common/say.h"
#include "conn/connection_filter_sink.h"
#include "conn/connection_tracker.h"
#include "conn/listening_ports.h"
#include "discover/discovery.h"
#include "discover/discovery_worker.h"
#include "discover/process_tree.h"
#include "loader/ring_buffer.h"
#include "loader/tracer_bpf.h"
#include "output/counting_sink.h"

namespace tlstap {
namespace {

volatile sig_atomic_t g_stop_requested = 0;

void request_stop(int) { g_stop_requested = 1; }

void install_signal_handlers() {
  struct sigaction action {};
  action.sa_handler = request_stop;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: the ring-buffer wait returns at once
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a closed pipe is a write error we report, not a silent death
}

int fail(const std::string& message) {
  say("tlstap: {}\n", message);
  return 1;
}

constexpr uint64_t kIncompleteCallTimeoutNs = 1'000'000'000;
constexpr auto kHousekeepingInterval = std::chrono::milliseconds(100);
// BPF does not wake the reader for each event (that costs the traced thread an interrupt);
// the reader drains the ring this often, or sooner when BPF finds it a quarter full. While
// events flow it drains often (small batches stay in cache, records show up at once); when
// a drain found nothing it sleeps longer, so an idle tracer barely wakes.
constexpr auto kBusyDrainInterval = std::chrono::milliseconds(10);
constexpr auto kIdleDrainInterval = std::chrono::milliseconds(100);
constexpr auto kFinalDrainGrace = std::chrono::milliseconds(20);
// After Ctrl-C (or at the end), how long an output may take nothing before tlstap stops
// waiting for it: longer than a reader's pause, short enough for someone waiting at Ctrl-C.
constexpr auto kOutputStalledAfter = std::chrono::seconds(3);

// Turns BPF's cumulative loss counters into `lost` records as they grow.
class LossReporter {
 public:
  LossReporter(const TracerBpf& tracer, RecordSink& sink) : tracer_(tracer), sink_(sink) {}

  void report_new_losses() {
    LossTotals now = tracer_.read_losses();
    if (now.events > reported_.events || now.bytes > reported_.bytes) {
      sink_.lost({now.events - reported_.events, now.bytes - reported_.bytes});
    }
    reported_ = now;
  }
  uint64_t process_events_lost() const { return reported_.process_events; }

 private:
  const TracerBpf& tracer_;
  RecordSink& sink_;
  LossTotals reported_;
};

void print_summary(const TraceCounts& counts, size_t targets, uint64_t process_events_lost) {
  say("tlstap: {} write records ({} bytes), {} read records ({} bytes), {} truncated, "
      "{} closed; lost {} events ({} bytes); {} attached\n",
      counts.records[1], counts.bytes[1], counts.records[0], counts.bytes[0],
      counts.truncated_records, counted(counts.closed_connections, "connection"),
      counts.lost_events, counts.lost_bytes, counted(targets, "target"));
  if (counts.unseen_calls > 0) {
    say("tlstap: {} already in flight when tracing started returned unseen{} (their "
        "bytes are in no record; connections older than tlstap are marked midstream)\n",
        counts.unseen_calls == 1 ? "1 call" : fmt::format("{} calls", counts.unseen_calls),
        counts.unseen_bytes > 0 ? fmt::format(", {} bytes known of them", counts.unseen_bytes)
                                : std::string());
  }
  if (process_events_lost > 0) {
    say("tlstap: {} process notifications were dropped: libraries loaded then may have "
        "been attached late\n",
        process_events_lost);
  }
}

// For each -p process that has descendants, that -p leaves them out (children_hint.h).
void print_children_hints(const std::vector<pid_t>& pids) {
  if (pids.empty()) return;
  std::vector<ProcessEntry> table = read_process_table();
  for (pid_t pid : pids) {
    std::vector<ProcessEntry> descendants = descendants_of(table, {pid});
    if (descendants.empty()) continue;
    auto self = std::find_if(table.begin(), table.end(),
                             [pid](const ProcessEntry& entry) { return entry.pid == pid; });
    say("tlstap: {}\n", children_hint(pid, self == table.end() ? "?" : self->comm, descendants));
  }
}

}  // namespace

int run_trace_session(const Options& options) {
  // A COMMAND that cannot run is said first, as a shell says it, before anything is loaded
  // or spawned for it (not after "tracing ... for COMMAND").
  std::optional<std::string> executable;
  if (!options.command.empty()) {
    ExecutableLookup lookup = look_up_executable(options.command[0]);
    if (!lookup.path) {
      fail(lookup.message(options.command[0]));
      return lookup.exit_code();
    }
    executable = lookup.path;
  }
  if (std::optional<std::string> missing = missing_tracing_privileges()) return fail(*missing);
  for (pid_t pid : options.pids) {
    if (pid <= 0 || (kill(pid, 0) != 0 && errno == ESRCH)) {
      return fail(fmt::format("no process with pid {} (see ps or pgrep)", pid));
    }
  }
  // A pre-fork server's TLS is in its workers: said at once, not left to an empty trace.
  // Said even with -q: it explains records that would otherwise be missing unsaid.
  if (!options.children) print_children_hints(options.pids);

  BpfConfig config;
  config.max_capture_bytes = options.max_bytes;
  config.ring_buffer_bytes = options.buffer_bytes;
  config.self_pid = getpid();
  config.filter_by_pid = !options.pids.empty() || !options.command.empty();
  config.follow_children = !options.command.empty() || options.children;
  config.uid = options.uid;
  config.comm = options.comm;
  config.ports = options.ports;
  std::optional<std::string> host;
  if (options.host) {
    Result<std::string> canonical = HostFilterSink::canonical_address(*options.host);
    if (!canonical) return fail(canonical.error().message);
    host = *canonical;
  }
  config.verbose = options.verbose;
  // Before loading anything: a file that may not be written is said at once.
  Result<std::unique_ptr<SessionOutputs>> opened = SessionOutputs::open(options);
  if (!opened) return fail(opened.error().message);
  SessionOutputs& outputs = **opened;
  Result<std::unique_ptr<TracerBpf>> loaded = TracerBpf::load(config);
  if (!loaded) return fail(loaded.error().message);
  TracerBpf& tracer = **loaded;

  // The counts are taken before the outputs: the summary counts every data record captured,
  // shown (--http-only) or not.
  CountingSink counting(outputs.sink());
  // Filters after the reassembly and the memory-BIO binding, before the counts: what is
  // counted is what is shown.
  RecordSink* filtered = &counting;
  std::optional<HostFilterSink> host_filter;
  if (host) filtered = &host_filter.emplace(*filtered, *host);
  std::optional<PortFilterSink> port_filter;
  if (!options.ports.empty()) filtered = &port_filter.emplace(*filtered, options.ports);
  RecordSink& records = *filtered;
  WallClock wall_clock;
  // Before any event is read: the listeners of connections older than tlstap.
  ConnectionTracker connections(ListeningPorts::snapshot());
  Reassembler reassembler(records, wall_clock, &connections);
  LossReporter losses(tracer, records);

  auto log = [&](const std::string& line) { say("tlstap: {}\n", line); };
  Discovery discovery(
      [&](const Target& target) -> Status {
        Status attached = tracer.attach_target(target);
        if (attached && options.verbose) {
          std::string names;
          for (const FunctionSymbol& f : target.functions) names += " " + f.name;
          log(fmt::format("attached to {} ({}):{}", target.display_path, target.library, names));
        }
        return attached;
      },
      log);

  discovery.on_tls_process([&](pid_t pid, uint64_t probes_attached_ns) {
    tracer.mark_tls_process(pid, probes_attached_ns);
  });
  if (auto waited = TracerBpf::wait_for_background_detaches(std::chrono::seconds(30));
      options.verbose && waited.count() > 0) {
    log(
        fmt::format("waited {:.1f} s for an earlier tlstap's probes to be removed (the kernel "
                    "removes uprobes one at a time)",
                    std::chrono::duration<double>(waited).count()));
  }
  std::vector<std::string> hook_warnings;
  if (Status hooks = tracer.attach_kernel_hooks(&hook_warnings); !hooks) {
    return fail(hooks.error().message);
  }
  for (const std::string& warning : hook_warnings) log(warning);

  // Named files first: one that cannot be used is the only thing said, before COMMAND is
  // spawned or the system is scanned.
  for (const std::string& lib : options.libs) {
    if (Status added = discovery.add_file(lib); !added) return fail(added.error().message);
  }
  std::optional<ChildCommand> child;
  if (!options.pids.empty()) {
    for (pid_t pid : options.pids) {
      if (Status added = tracer.trace_pid(pid); !added) return fail(added.error().message);
      discovery.scan_process(pid);
    }
    if (options.children) {
      // BPF adds what the traced processes fork from now on (the hooks are attached); those
      // forked before are found in /proc. A descendant shares its parent's libraries until it
      // execs or maps others (then BPF tells the discovery worker), but it may have done so
      // before tlstap started: each is scanned.
      std::vector<ProcessEntry> descendants = add_descendants(
          options.pids,
          [&](pid_t pid) {
            Status added = tracer.trace_pid(pid);
            if (!added) log(added.error().message + ": that descendant is not traced");
            return static_cast<bool>(added);
          },
          [&](pid_t pid) { tracer.untrace_pid(pid); });
      for (const ProcessEntry& descendant : descendants) discovery.scan_process(descendant.pid);
      // A descendant forked later may run another program (a supervisor's service, a shell's
      // curl): the system's libssl is attached before it runs, as for `-- COMMAND`.
      discovery.scan_system_libraries();
      if (options.verbose) {
        log(fmt::format("--children: also tracing {} running now",
                        counted(descendants.size(), "descendant process", "descendant processes")));
      }
    }
  } else if (!options.command.empty()) {
    Result<ChildCommand> spawned = ChildCommand::spawn_paused(options.command);
    if (!spawned) return fail(spawned.error().message);
    child.emplace(std::move(*spawned));
    if (Status added = tracer.trace_pid(child->pid()); !added) return fail(added.error().message);
    // An executable with TLS linked in (node, static servers) is attached before it runs;
    // most commands have no TLS of their own.
    discovery.add_file_if_tls(*executable);
    discovery.scan_system_libraries();
  } else {
    discovery.scan_system_libraries();
    discovery.scan_all_processes();
  }
  if (discovery.attached_count() == 0 && options.command.empty()) {
    if (options.pids.empty()) {
      return fail(
          "found no TLS library to attach to (no libssl in the linker's directories or in any "
          "process); name one with --lib PATH");
    }
    // A JVM's TLS is Java code (said above for each): no --lib would help with it.
    const bool all_own_tls = std::all_of(options.pids.begin(), options.pids.end(), [&](pid_t pid) {
      return discovery.own_tls_runtime(pid).has_value();
    });
    return fail(all_own_tls
                    ? fmt::format("nothing to trace: {} TLS in {} runtime's own code (see above)",
                                  options.pids.size() == 1 ? "the traced process has its"
                                                           : "the traced processes have their",
                                  options.pids.size() == 1 ? "its" : "their")
                    : "the traced processes use no TLS library tlstap knows; name one with --lib "
                      "PATH");
  }

  // After COMMAND was forked (it keeps the priority it was given), before the discovery
  // thread starts (it inherits this one's).
  if (setpriority(PRIO_PROCESS, 0, options.nice) != 0 && (options.nice_given || options.verbose)) {
    // Without CAP_SYS_NICE the default cannot be applied either; tlstap still works.
    log(fmt::format("could not set the scheduling priority to {}: {}", options.nice,
                    std::strerror(errno)));
  }
  discovery.initial_scan_done();
  // Loaded and attached: from here on only what later attaches and discovery need. Before
  // the discovery and output threads start (they inherit the reduced set), after COMMAND was
  // forked (it runs with the privileges tlstap was given).
  if (Status dropped = drop_capabilities_after_attach(); !dropped) {
    return fail(dropped.error().message);
  }
  DiscoveryWorker worker(discovery);
  // Close records take their time from the kernel event, so that they sort after the
  // connection's last record however late user space handles them.
  EventRouter router(
      reassembler, {[&](pid_t pid, bool exec) { worker.process_changed(pid, exec); },
                    [&](pid_t pid, uint64_t monotonic_ns) {
                      worker.process_exited(pid);
                      reassembler.on_process_exit(static_cast<uint32_t>(pid));
                      connections.on_process_exit(static_cast<uint32_t>(pid),
                                                  wall_clock.from_monotonic(monotonic_ns), records);
                    },
                    [&](const tlstap_close_event& event) {
                      reassembler.on_close(event);
                      connections.on_close(event, wall_clock.from_monotonic(event.ts_ns), records);
                    },
                    [&](const tlstap_unix_names_event& event) { connections.on_unix_names(event); },
                    [&](const tlstap_ssl_bound_event& event) { reassembler.on_ssl_bound(event); }});
  Result<std::unique_ptr<RingBufferReader>> reader =
      RingBufferReader::open(tracer.ring_buffer_map_fd(), router);
  if (!reader) return fail(reader.error().message);

  install_signal_handlers();
  outputs.give_up_waiting_when(&g_stop_requested, kOutputStalledAfter);
  if (child) child->release();
  if (!options.quiet) {
    say("tlstap: tracing {}{}; Ctrl-C to stop\n", counted(discovery.attached_count(), "TLS target"),
        child ? fmt::format(" for {} (pid {})", options.command[0], child->pid()) : "");
  }

  using Clock = std::chrono::steady_clock;
  const Clock::time_point started = Clock::now();
  Clock::time_point next_housekeeping = started + kHousekeepingInterval;
  std::optional<int> child_status;
  std::optional<std::string> fatal;
  std::chrono::milliseconds drain_interval = kBusyDrainInterval;
  while (!g_stop_requested) {
    Result<size_t> polled = (*reader)->poll(static_cast<int>(drain_interval.count()));
    if (!polled) {
      fatal = polled.error().message;
      break;
    }
    drain_interval = *polled > 0 ? kBusyDrainInterval : kIdleDrainInterval;
    Clock::time_point now = Clock::now();
    if (now >= next_housekeeping) {
      losses.report_new_losses();
      reassembler.expire(clock_ns(CLOCK_MONOTONIC), kIncompleteCallTimeoutNs);
      next_housekeeping = now + kHousekeepingInterval;
    }
    // Records and packets show up within a drain interval, however few there are.
    if (!outputs.flush(log)) break;
    if (child && (child_status = child->poll_exit())) break;  // its records are in the ring
    if (options.duration_seconds &&
        now - started >= std::chrono::duration<double>(*options.duration_seconds)) {
      break;
    }
  }

  // Nothing new may enter the ring during the final drain: a call whose chunks were still
  // being written would otherwise be cut off and reported as truncated by a full ring.
  worker.stop();
  tracer.stop_tracing();
  for (int pass = 0; pass < 2; pass++) {
    // A probe that was running when it was detached may still be finishing a record; the
    // drain stops at a record not yet committed, so the second pass reads what it finished.
    if (pass > 0) std::this_thread::sleep_for(kFinalDrainGrace);
    if (Result<size_t> drained = (*reader)->drain(); !drained && !fatal) {
      fatal = drained.error().message;
    }
  }
  reassembler.finish_all();
  losses.report_new_losses();
  // A reader that stopped reading would hold tlstap here forever: once an output has taken
  // nothing for a while, what it holds is counted as not written and left behind.
  int exit_code = 0;
  if (!outputs.finish(wall_clock.from_monotonic(clock_ns(CLOCK_MONOTONIC)), kOutputStalledAfter)) {
    exit_code = 1;
  }
  if (fatal) exit_code = fail(*fatal);
  if (!options.quiet) {
    print_summary(counting.counts(), discovery.attached_count(), losses.process_events_lost());
    outputs.print_summaries();
    // Nothing at all from the -p processes: the likeliest reason is said again, under the
    // summary that shows it.
    const TraceCounts& counts = counting.counts();
    if (!options.children && counts.records[0] + counts.records[1] == 0) {
      print_children_hints(options.pids);
    }
  }
  // A file first found in a running process's maps was attached after that process could
  // use it: what it did before is missing. Said even with -q.
  if (std::vector<std::string> late = discovery.attached_late(); !late.empty()) {
    say("tlstap: {} attached only after a process had started using {} ({}): TLS calls "
        "made before that were not seen; --lib PATH attaches before a program runs\n",
        late.size() == 1 ? "1 file was" : fmt::format("{} files were", late.size()),
        late.size() == 1 ? "it" : "them", fmt::join(late, ", "));
  }
  // Events the reader could not use (a bug, a BPF/user-space mismatch, or chunks arriving after
  // their call was given up on) mean incomplete records: said even with -q.
  if (uint64_t bad = router.malformed_events() + reassembler.malformed_chunks(); bad > 0) {
    say("tlstap: {} events from BPF could not be used ({} malformed events; {} chunks "
        "that fit no call: malformed, or late parts of calls already written as "
        "incomplete after a stall of over 1 s)\n",
        bad, router.malformed_events(), reassembler.malformed_chunks());
  }
  if (options.verbose) {
    say("tlstap: {} connections still tracked; BPF connection state: {} entries\n",
        connections.open_connections(), tracer.connection_state_entries());
  }
  tracer.detach_all_in_background();
  if (child_status && exit_code == 0) return *child_status;
  if (child && !child_status && exit_code == 0) return 130;  // stopped before COMMAND ended
  return exit_code;
}

}  // namespace tlstap
