#include "conn/socket_lookup.h"

#include <set>

#include "conn/listening_ports.h"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace tlstap {

std::optional<bool> is_listening_tcp_port(pid_t pid, uint16_t port) {
  std::optional<std::set<uint16_t>> ports = ListeningPorts::of_process(pid);
  if (!ports) return std::nullopt;
  return ports->count(port) != 0;
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

std::optional<uint64_t> unix_peer_inode(uint64_t inode) {
  int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0) return std::nullopt;
  struct {
    nlmsghdr header;
    unix_diag_req request;
  } query{};
  query.header.nlmsg_len = sizeof(query);
  query.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  query.header.nlmsg_flags = NLM_F_REQUEST;
  query.request.sdiag_family = AF_UNIX;
  query.request.udiag_states = ~0u;
  query.request.udiag_ino = static_cast<uint32_t>(inode);
  query.request.udiag_show = UDIAG_SHOW_PEER;
  query.request.udiag_cookie[0] = query.request.udiag_cookie[1] = ~0u;  // no cookie
  std::optional<uint64_t> peer;
  alignas(nlmsghdr) char reply[8192];
  if (send(fd, &query, sizeof(query), 0) == static_cast<ssize_t>(sizeof(query))) {
    ssize_t n = recv(fd, reply, sizeof(reply), 0);
    auto* header = reinterpret_cast<nlmsghdr*>(reply);
    if (n > 0 && NLMSG_OK(header, static_cast<unsigned>(n)) &&
        header->nlmsg_type == SOCK_DIAG_BY_FAMILY) {
      auto* message = static_cast<unix_diag_msg*>(NLMSG_DATA(header));
      int attributes_len = static_cast<int>(header->nlmsg_len - NLMSG_LENGTH(sizeof(*message)));
      for (auto* attribute = reinterpret_cast<rtattr*>(message + 1);
           RTA_OK(attribute, attributes_len); attribute = RTA_NEXT(attribute, attributes_len)) {
        if (attribute->rta_type == UNIX_DIAG_PEER && RTA_PAYLOAD(attribute) >= sizeof(uint32_t)) {
          uint32_t value;
          std::memcpy(&value, RTA_DATA(attribute), sizeof(value));
          peer = value;
        }
      }
    }
  }
  close(fd);
  return peer;
}

}  // namespace tlstap
