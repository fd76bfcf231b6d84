#include "loader/tracer_bpf.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string_view>
#include <thread>

#include <fmt/format.h>

#include "stacks/registry.h"
#include "tlstap.skel.h"
#include "tlstap/abi.h"

namespace tlstap {
namespace {

bool g_libbpf_verbose = false;

int print_libbpf_log(enum libbpf_print_level level, const char* format, va_list args) {
  (void)level;  // even libbpf's warnings are noise for users unless they ask (-v)
  if (!g_libbpf_verbose) return 0;
  return vfprintf(stderr, format, args);
}

std::string errno_text(int error) { return std::strerror(error < 0 ? -error : error); }

// What the generic probes (bpf/tls_calls.bpf.h) need to know of a function, from its stack's
// descriptor: passed as the entry probe's bpf_cookie.
uint64_t probe_cookie(const TlsStack& stack, const TlsFunction& function) {
  uint64_t cookie = function_id(stack, function);
  if (function.direction == Direction::write) cookie |= TLSTAP_COOKIE_WRITE;
  if (function.shape == CallShape::buffer_length_moved_out) cookie |= TLSTAP_COOKIE_MOVED_OUT;
  if (function.shape == CallShape::pr_io_vector) cookie |= TLSTAP_COOKIE_PR_IO_VECTOR;
  if (function.shape == CallShape::flush_buffered) cookie |= TLSTAP_COOKIE_FLUSH;
  if (function.returns_64bit) cookie |= TLSTAP_COOKIE_RETURNS_64BIT;
  if (stack.only_sessions_seen_doing_tls) cookie |= TLSTAP_COOKIE_ONLY_TLS_SESSIONS;
  return cookie;
}

}  // namespace

// libbpf finds tracepoint ids under /sys/kernel/tracing; mount it if nobody has.
bool ensure_tracefs_mounted() {
  if (access("/sys/kernel/tracing/events", F_OK) == 0) return true;
  return mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, nullptr) == 0;
}

uint64_t ring_buffer_size_for(uint64_t requested_bytes) {
  uint64_t size = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  while (size < requested_bytes) size <<= 1;
  return size;
}

void TracerBpf::LinkDeleter::operator()(bpf_link* link) const { bpf_link__destroy(link); }

Result<std::unique_ptr<TracerBpf>> TracerBpf::load(const BpfConfig& config) {
  g_libbpf_verbose = config.verbose;
  libbpf_set_print(print_libbpf_log);

  tlstap_bpf* skeleton = tlstap_bpf__open();
  if (!skeleton) return Error{fmt::format("opening the BPF object failed: {}", errno_text(errno))};
  std::unique_ptr<TracerBpf> tracer(new TracerBpf(skeleton));

  auto* config_data = skeleton->rodata;
  config_data->max_capture_bytes = config.max_capture_bytes;
  config_data->self_tgid = static_cast<__u32>(config.self_pid);
  config_data->filter_by_pid = config.filter_by_pid;
  config_data->follow_children = config.follow_children;
  if (config.uid) {
    config_data->filter_by_uid = true;
    config_data->filter_uid = *config.uid;
  }
  if (config.comm) {
    config_data->filter_by_comm = true;
    std::strncpy(const_cast<char*>(config_data->filter_comm), config.comm->c_str(),
                 TLSTAP_COMM_LEN - 1);
  }
  if (config.ports.size() > TLSTAP_MAX_PORT_FILTERS) {
    return Error{fmt::format("at most {} --port filters", TLSTAP_MAX_PORT_FILTERS)};
  }
  config_data->port_filter_count = static_cast<__u32>(config.ports.size());
  for (size_t i = 0; i < config.ports.size(); i++) {
    const_cast<__u16*>(config_data->port_filters)[i] = config.ports[i];
  }
  const uint64_t ring_bytes = ring_buffer_size_for(config.ring_buffer_bytes);
  // The reader drains on a timer; BPF wakes it early when a quarter of the ring is used, and
  // with every event past half.
  config_data->ring_wakeup_bytes = ring_bytes / 4;
  config_data->ring_urgent_bytes = ring_bytes / 2;
  int err = bpf_map__set_max_entries(skeleton->maps.events, static_cast<__u32>(ring_bytes));
  if (err) return Error{fmt::format("sizing the ring buffer failed: {}", errno_text(err))};

  err = tlstap_bpf__load(skeleton);
  if (err) {
    return Error{fmt::format("loading the BPF programs failed: {}{}", errno_text(err),
                             config.verbose ? "" : " (run with -v for the verifier's log)")};
  }
  return tracer;
}

TracerBpf::~TracerBpf() {
  {
    std::lock_guard lock(links_mutex_);
    links_.clear();
  }
  tlstap_bpf__destroy(skeleton_);
}

Status TracerBpf::attach_kernel_hooks(std::vector<std::string>* warnings) {
  auto& p = skeleton_->progs;
  // BTF tracepoints need no tracefs: following children and exits cannot do without them.
  for (bpf_program* program : {p.on_fork, p.on_exec, p.on_exit}) {
    bpf_link* link = bpf_program__attach(program);
    if (!link) {
      return Error{
          fmt::format("attaching {} failed: {}", bpf_program__name(program), errno_text(errno))};
    }
    std::lock_guard lock(links_mutex_);
    links_.emplace_back(link);
  }
  struct OptionalGroup {
    std::vector<bpf_program*> programs;
    const char* loss;  // what the user loses without them
  };
  const OptionalGroup groups[] = {
      {{p.on_mmap},
       "a library loaded at a new path by a running process is found only when it execs"},
      {{p.on_read, p.on_write, p.on_readv, p.on_writev, p.on_recvfrom, p.on_sendto, p.on_recvmsg,
        p.on_sendmsg, p.on_close, p.on_sock_send, p.on_sock_recv, p.on_sock_state, p.on_connect,
        p.on_accept, p.on_accept4},
       "records carry no connection (fd, addresses) and no close records are made"},
  };
  for (const OptionalGroup& group : groups) {
    std::vector<Link> attached;
    for (bpf_program* program : group.programs) {
      bpf_link* link = bpf_program__attach(program);
      // Syscall tracepoints are found through tracefs, which is not always mounted.
      if (!link && ensure_tracefs_mounted()) link = bpf_program__attach(program);
      if (!link) {
        warnings->push_back(fmt::format("cannot attach {} ({}): {}", bpf_program__name(program),
                                        errno_text(errno), group.loss));
        attached.clear();
        break;
      }
      attached.emplace_back(link);
    }
    std::lock_guard lock(links_mutex_);
    for (Link& link : attached) links_.push_back(std::move(link));
  }
  return Ok{};
}

Status TracerBpf::attach_target(const Target& target) {
  const TlsStack* stack = find_stack(target.library);
  if (!stack) return Error{fmt::format("no TLS stack named {}", target.library)};
  std::vector<Link> attached;
  auto attach = [&](bpf_program* program, uint64_t offset, uint64_t cookie, bool is_return,
                    const std::string& name) -> Status {
    LIBBPF_OPTS(bpf_uprobe_opts, options, .bpf_cookie = cookie, .retprobe = is_return);
    bpf_link* link =
        bpf_program__attach_uprobe_opts(program, -1, target.open_path.c_str(), offset, &options);
    if (!link) {
      return Error{fmt::format("uprobe on {} at {:#x}: {}", name, offset, errno_text(errno))};
    }
    attached.emplace_back(link);
    return Ok{};
  };
  auto& progs = skeleton_->progs;
  for (const FunctionSymbol& symbol : target.functions) {
    const TlsFunction* function = stack->function(symbol.name);
    if (!function) continue;
    const uint64_t cookie = probe_cookie(*stack, *function);
    // Returns first: a call that enters between the attaches then has no frame and is
    // ignored, instead of leaving a frame that no return would consume.
    if (stack->go_program) {
      // Go: a plain uprobe on every RET, never a uretprobe (bpf/go_tls.bpf.h).
      for (uint64_t ret : symbol.return_offsets) {
        if (Status ok = attach(progs.go_tls_return, ret, cookie, false, symbol.name); !ok)
          return ok;
      }
      if (Status ok = attach(progs.go_tls_enter, symbol.file_offset, cookie, false, symbol.name);
          !ok) {
        return ok;
      }
      continue;
    }
    for (bool is_return : {true, false}) {
      bpf_program* program = is_return ? progs.tls_call_return : progs.tls_call_enter;
      if (Status ok = attach(program, symbol.file_offset, cookie, is_return, symbol.name); !ok) {
        return ok;
      }
    }
  }
  if (attached.empty()) return Error{"none of its functions could be probed"};
  std::lock_guard lock(links_mutex_);
  if (detached_) return Error{"tracing has stopped"};  // `attached` is detached on return
  for (Link& link : attached) links_.push_back(std::move(link));
  return Ok{};
}

void TracerBpf::detach_all() {
  std::vector<Link> links;
  {
    std::lock_guard lock(links_mutex_);
    detached_ = true;
    links.swap(links_);
  }
  // Removing a uprobe waits for the kernel's grace period (0.1-0.3 s on a busy machine): one
  // after the other, the ~80 probes of a machine-wide trace took 7-20 s to go at exit. From
  // several threads the waits overlap.
  constexpr size_t kDetachThreads = 32;
  std::vector<std::thread> threads;
  const size_t count = std::min(kDetachThreads, links.size());
  for (size_t t = 0; t < count; t++) {
    threads.emplace_back([&links, t, count] {
      for (size_t i = t; i < links.size(); i += count) links[i].reset();
    });
  }
  for (std::thread& thread : threads) thread.join();
}

namespace {

// The background detacher's name (wait_for_background_detaches looks for it).
constexpr char kDetachComm[] = "tlstap-detach";

bool background_detach_running() {
  DIR* proc = opendir("/proc");
  if (!proc) return false;
  bool running = false;
  while (dirent* entry = readdir(proc)) {
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    std::string path = fmt::format("/proc/{}/stat", entry->d_name);
    FILE* f = std::fopen(path.c_str(), "r");
    if (!f) continue;
    char buffer[256] = {};
    size_t n = std::fread(buffer, 1, sizeof(buffer) - 1, f);
    std::fclose(f);
    std::string_view stat(buffer, n);
    size_t open = stat.find('('), close = stat.rfind(')');
    if (open == std::string_view::npos || close == std::string_view::npos || close + 2 >= n)
      continue;
    // A zombie is done: it only waits for a parent to reap it.
    if (stat.substr(open + 1, close - open - 1) == kDetachComm && stat[close + 2] != 'Z') {
      running = true;
      break;
    }
  }
  closedir(proc);
  return running;
}

}  // namespace

std::chrono::milliseconds TracerBpf::wait_for_background_detaches(
    std::chrono::milliseconds timeout) {
  const auto start = std::chrono::steady_clock::now();
  while (background_detach_running() && std::chrono::steady_clock::now() < start + timeout) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               start);
}

void TracerBpf::stop_tracing() { skeleton_->bss->tracing_stopped = true; }

void TracerBpf::detach_all_in_background() {
  std::vector<int> fds;
  {
    std::lock_guard lock(links_mutex_);
    detached_ = true;
    for (const Link& link : links_) fds.push_back(bpf_link__fd(link.get()));
  }
  std::sort(fds.begin(), fds.end());
  // The child holds the last reference to each probe's file: closing tlstap's own copies is
  // then instant, and the slow removal happens in the child, after tlstap has exited. The
  // probes do nothing meanwhile (stop_tracing): a traced call costs one trap until then.
  pid_t child = fork();
  if (child < 0) {
    detach_all();
    return;
  }
  if (child == 0) {
    // Only async-signal-safe calls here (a fork of a threaded process). Away from the
    // terminal and from every file but the probes': a pipe tlstap wrote to sees its end now.
    prctl(PR_SET_NAME, kDetachComm);
    setsid();
    int null = open("/dev/null", O_RDWR);
    for (int fd = 0; fd < 3 && null >= 0; fd++) dup2(null, fd);
    int from = 3;
    for (int fd : fds) {
      if (fd > from) close_range(static_cast<unsigned>(from), static_cast<unsigned>(fd - 1), 0);
      from = fd + 1;
    }
    close_range(static_cast<unsigned>(from), ~0u, 0);
    for (int fd : fds) close(fd);
    _exit(0);
  }
  std::lock_guard lock(links_mutex_);
  links_.clear();
}

Status TracerBpf::trace_pid(pid_t pid) {
  __u32 key = static_cast<__u32>(pid);
  __u8 yes = 1;
  if (bpf_map__update_elem(skeleton_->maps.traced_pids, &key, sizeof(key), &yes, sizeof(yes),
                           BPF_ANY) != 0) {
    return Error{fmt::format("cannot add pid {} to the filter: {}", pid, errno_text(errno))};
  }
  return Ok{};
}

void TracerBpf::untrace_pid(pid_t pid) {
  __u32 key = static_cast<__u32>(pid);
  (void)bpf_map__delete_elem(skeleton_->maps.traced_pids, &key, sizeof(key), 0);
}

void TracerBpf::mark_tls_process(pid_t pid, uint64_t probes_attached_ns) {
  __u32 key = static_cast<__u32>(pid);
  __u64 value = probes_attached_ns;
  // Best effort: a full map only costs the in-flight-at-attach notice (and the midstream mark
  // of connections made before a late attach) for that process.
  (void)bpf_map__update_elem(skeleton_->maps.tls_processes, &key, sizeof(key), &value,
                             sizeof(value), BPF_ANY);
}

namespace {

size_t count_entries(const bpf_map* map, size_t key_size) {
  std::vector<char> key(key_size), next(key_size);
  size_t count = 0;
  const void* previous = nullptr;
  while (bpf_map__get_next_key(map, previous, next.data(), key_size) == 0) {
    count++;
    key.swap(next);
    previous = key.data();
  }
  return count;
}

}  // namespace

size_t TracerBpf::connection_state_entries() const {
  return count_entries(skeleton_->maps.ssl_states, bpf_map__key_size(skeleton_->maps.ssl_states)) +
         count_entries(skeleton_->maps.fd_ssl, bpf_map__key_size(skeleton_->maps.fd_ssl));
}

int TracerBpf::ring_buffer_map_fd() const { return bpf_map__fd(skeleton_->maps.events); }

LossTotals TracerBpf::read_losses() const {
  LossTotals totals;
  int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return totals;
  std::vector<tlstap_loss_counters> per_cpu(static_cast<size_t>(cpus));
  __u32 zero = 0;
  if (bpf_map__lookup_elem(skeleton_->maps.losses, &zero, sizeof(zero), per_cpu.data(),
                           per_cpu.size() * sizeof(tlstap_loss_counters), 0) != 0) {
    return totals;
  }
  for (const tlstap_loss_counters& counters : per_cpu) {
    totals.events += counters.events;
    totals.bytes += counters.bytes;
    totals.process_events += counters.process_events;
  }
  return totals;
}

}  // namespace tlstap
