#include "cli/least_privilege.h"

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

namespace tlstap {
namespace {

using CapabilitySet = uint64_t;

CapabilitySet bit(int capability) { return CapabilitySet{1} << capability; }

struct Capabilities {
  CapabilitySet effective = 0, permitted = 0, inheritable = 0;
};

Result<Capabilities> read_capabilities() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capget, &header, data) != 0) {
    return Error{fmt::format("cannot read capabilities: {}", std::strerror(errno))};
  }
  auto join = [](uint32_t low, uint32_t high) { return (CapabilitySet{high} << 32) | low; };
  return Capabilities{join(data[0].effective, data[1].effective),
                      join(data[0].permitted, data[1].permitted),
                      join(data[0].inheritable, data[1].inheritable)};
}

Status write_capabilities(const Capabilities& caps) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  for (int i = 0; i < 2; i++) {
    data[i].effective = static_cast<uint32_t>(caps.effective >> (32 * i));
    data[i].permitted = static_cast<uint32_t>(caps.permitted >> (32 * i));
    data[i].inheritable = static_cast<uint32_t>(caps.inheritable >> (32 * i));
  }
  if (syscall(SYS_capset, &header, data) != 0) {
    return Error{fmt::format("cannot drop capabilities: {}", std::strerror(errno))};
  }
  return Ok{};
}

int last_capability() {
  std::ifstream in("/proc/sys/kernel/cap_last_cap");
  int last = 0;
  if (in >> last && last > 0 && last < 64) return last;
  return 40;
}

size_t thread_count() {
  std::error_code ec;
  size_t count = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/task", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    count++;
  }
  return count;
}

}  // namespace

// Found by experiment (tests/e2e/test_least_privilege.py, Linux 6.18): a program of another
// user, readable only by that user, started after the drop, is attached to and captured with
// exactly these three; without any one of them it is not. CAP_PERFMON is not enough for a
// uprobe: the kernel's uprobe PMU (perf_uprobe_event_init) asks for CAP_SYS_ADMIN, which also
// covers /proc/PID/map_files (deleted or replaced files) and the BPF map reads and writes.
const std::vector<KeptCapability>& capabilities_kept_after_attach() {
  static const std::vector<KeptCapability> kept = {
      {CAP_SYS_ADMIN, "CAP_SYS_ADMIN",
       "perf_event_open of a uprobe (the kernel's uprobe PMU requires it, CAP_PERFMON is not "
       "enough): attaching to a program or library a process starts using later; also "
       "/proc/PID/map_files for files deleted or replaced while in use"},
      {CAP_SYS_PTRACE, "CAP_SYS_PTRACE",
       "reading /proc/PID/maps, /proc/PID/root and /proc/PID/fd of other users' and "
       "non-dumpable processes"},
      {CAP_DAC_READ_SEARCH, "CAP_DAC_READ_SEARCH",
       "reading a program or library only its owner may read, to find its TLS functions"},
  };
  return kept;
}

Status drop_capabilities_after_attach() {
  if (size_t threads = thread_count(); threads != 1) {
    return Error{fmt::format(
        "cannot drop capabilities: tlstap has {} threads and capabilities are per thread (a "
        "bug: the drop must come before any thread starts)",
        threads)};
  }
  Result<Capabilities> current = read_capabilities();
  if (!current) return current.error();
  CapabilitySet kept = 0;
  for (const KeptCapability& capability : capabilities_kept_after_attach()) {
    kept |= bit(capability.number);
  }

  // The bounding set limits what an execve could give back; changing it needs CAP_SETPCAP,
  // so it goes first. Without CAP_SETPCAP (tlstap given only CAP_BPF and CAP_PERFMON) it is
  // left: no_new_privs below already keeps an execve from adding anything.
  if (current->effective & bit(CAP_SETPCAP)) {
    for (int capability = 0; capability <= last_capability(); capability++) {
      if (kept & bit(capability)) continue;
      if (prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0 && errno != EINVAL) {
        return Error{fmt::format("cannot drop capability {} from the bounding set: {}", capability,
                                 std::strerror(errno))};
      }
    }
  }
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
    return Error{fmt::format("cannot clear the ambient capabilities: {}", std::strerror(errno))};
  }
  Capabilities reduced{current->permitted & kept, current->permitted & kept, 0};
  if (Status written = write_capabilities(reduced); !written) return written;
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    return Error{fmt::format("cannot set no_new_privs: {}", std::strerror(errno))};
  }
  return Ok{};
}

}  // namespace tlstap
