#include "conn/socket_lookup.h"

#include <unistd.h>

#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace tlstap {

std::optional<bool> is_listening_tcp_port(pid_t pid, uint16_t port) {
  constexpr std::string_view kListen = "0A";
  for (const char* table : {"tcp", "tcp6"}) {
    std::ifstream in(fmt::format("/proc/{}/net/{}", pid, table));
    if (!in) return std::nullopt;
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      // "  0: 0100007F:1F90 00000000:0000 0A ..."
      std::istringstream fields(line);
      std::string slot, local, remote, state;
      fields >> slot >> local >> remote >> state;
      size_t colon = local.rfind(':');
      if (state != kListen || colon == std::string::npos) continue;
      if (std::stoul(local.substr(colon + 1), nullptr, 16) == port) return true;
    }
  }
  return false;
}

std::optional<uint64_t> socket_inode(pid_t pid, int fd) {
  char target[64];
  std::string link = fmt::format("/proc/{}/fd/{}", pid, fd);
  ssize_t n = readlink(link.c_str(), target, sizeof(target) - 1);
  if (n <= 0) return std::nullopt;
  std::string_view text(target, static_cast<size_t>(n));
  constexpr std::string_view kPrefix = "socket:[";
  if (!text.starts_with(kPrefix) || !text.ends_with(']')) return std::nullopt;
  text.remove_prefix(kPrefix.size());
  text.remove_suffix(1);
  return std::stoull(std::string(text));
}

std::optional<std::string> unix_socket_path(pid_t pid, uint64_t inode) {
  std::ifstream in(fmt::format("/proc/{}/net/unix", pid));
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    // "Num RefCount Protocol Flags Type St Inode Path"
    std::istringstream fields(line);
    std::string num, refcount, protocol, flags, type, state, path;
    uint64_t node = 0;
    fields >> num >> refcount >> protocol >> flags >> type >> state >> node;
    if (node != inode) continue;
    std::getline(fields >> std::ws, path);
    // An abstract socket's name is already shown with a leading '@' by the kernel.
    return path;
  }
  return std::nullopt;
}

}  // namespace tlstap
