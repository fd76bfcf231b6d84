#include "cli/privileges.h"

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <vector>

#include <fmt/format.h>

namespace tlstap {
namespace {

// Not in every libc's headers yet (Linux 5.8).
constexpr int kCapPerfmon = 38;
constexpr int kCapBpf = 39;

}  // namespace

std::optional<std::string> missing_tracing_privileges() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capget, &header, data) != 0) {
    return std::string("cannot read this process's capabilities: run tlstap as root");
  }
  auto has = [&](int cap) { return (data[cap / 32].effective & (1u << (cap % 32))) != 0; };
  if (has(CAP_SYS_ADMIN)) return std::nullopt;
  std::vector<std::string> missing;
  if (!has(kCapBpf)) missing.emplace_back("CAP_BPF");
  if (!has(kCapPerfmon)) missing.emplace_back("CAP_PERFMON");
  if (missing.empty()) return std::nullopt;
  return fmt::format(
      "missing {} (needed to load BPF programs and attach uprobes): "
      "run tlstap as root, e.g. with sudo",
      fmt::join(missing, " and "));
}

}  // namespace tlstap
