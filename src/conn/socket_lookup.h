// What /proc says about one process's sockets: which local TCP ports listen (to tell a
// server's accepted connection from a client's), and the path of a Unix socket. Read through
// /proc/PID/net, so a process in another network namespace (a container) is seen right.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

namespace tlstap {

// Whether `pid`'s network namespace has a TCP (v4 or v6) socket listening on `port`;
// nullopt when that cannot be known (the process is gone).
std::optional<bool> is_listening_tcp_port(pid_t pid, uint16_t port);

// The inode of the socket behind `fd` of `pid` ("socket:[N]"), if it is one.
std::optional<uint64_t> socket_inode(pid_t pid, int fd);

// The bound path of a Unix socket, from /proc/PID/net/unix ("" when unbound).
std::optional<std::string> unix_socket_path(pid_t pid, uint64_t inode);

// The inode of a connected Unix socket's peer, asked of the kernel with sock_diag (in
// tlstap's own network namespace).
std::optional<uint64_t> unix_peer_inode(uint64_t inode);

}  // namespace tlstap
