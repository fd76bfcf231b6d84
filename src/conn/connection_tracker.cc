#include "conn/connection_tracker.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "conn/socket_lookup.h"

namespace tlstap {

std::string_view role_name(Role role) {
  switch (role) {
    case Role::client: return "client";
    case Role::server: return "server";
    case Role::unknown: break;
  }
  return "unknown";
}

namespace {

std::string address_text(uint16_t family, const uint8_t* bytes) {
  // A dual-stack socket's IPv4 peer (::ffff:a.b.c.d) is shown as the IPv4 address it is.
  static constexpr uint8_t kV4Mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (family == AF_INET6 && std::equal(kV4Mapped, kV4Mapped + 12, bytes)) {
    family = AF_INET;
    bytes += 12;
  }
  char text[INET6_ADDRSTRLEN] = {};
  if (!inet_ntop(family, bytes, text, sizeof(text))) return {};
  return text;
}

}  // namespace

ConnectionTracker::Key ConnectionTracker::key_for(uint32_t pid, uint64_t ssl, int fd) {
  if (fd >= 0) return {pid, static_cast<uint64_t>(fd)};
  return {pid, ssl | (1ull << 63)};
}

namespace {

// /proc/PID/stat's start time is in clock ticks; the id uses the same unit, so a user can
// match it with ps.
uint64_t start_time_ticks(uint64_t start_time_ns) {
  static const uint64_t ns_per_tick = 1000000000ull / static_cast<uint64_t>(sysconf(_SC_CLK_TCK));
  return start_time_ns / ns_per_tick;
}

}  // namespace

void ConnectionTracker::fill_addresses(uint32_t pid, const tlstap_conn_info& info,
                                       Connection& connection) {
  if (info.family == AF_INET || info.family == AF_INET6) {
    connection.laddr = address_text(info.family, info.laddr);
    connection.raddr = address_text(info.family, info.raddr);
    connection.lport = info.lport;
    connection.rport = info.rport;
    // BPF saw the accept or connect for connections made while tracing; an older one is a
    // server's if its local port is listening.
    if (info.role != TLSTAP_ROLE_UNKNOWN) {
      connection.role = info.role == TLSTAP_ROLE_SERVER ? Role::server : Role::client;
    } else if (!(info.flags & TLSTAP_CONN_MIDSTREAM) || info.lport == 0) {
      // Made while tracing but its role not seen (the socket was already closed when its
      // first record came): not known, so not guessed.
    } else if (std::optional<bool> listened = listening_.listening(info.netns, info.lport)) {
      // Older than tlstap: accepted if its local port listened when tracing started.
      connection.role = *listened ? Role::server : Role::client;
    } else if (std::optional<bool> listening =
                   is_listening_tcp_port(static_cast<pid_t>(pid), info.lport)) {
      connection.role = *listening ? Role::server : Role::client;
    } else {
      // The process is gone. Its peer may be local (loopback, same namespace as tlstap):
      // a listener on the remote port says this end was the client.
      pid_t self = getpid();
      if (is_listening_tcp_port(self, info.lport).value_or(false)) {
        connection.role = Role::server;
      } else if (is_listening_tcp_port(self, info.rport).value_or(false)) {
        connection.role = Role::client;
      }
    }
  } else if (info.family == AF_UNIX && info.fd >= 0) {
    // An accepted Unix socket carries its listener's path as its own name; a connecting one
    // is unbound, and its peer (the accepted socket) carries the path.
    pid_t process = static_cast<pid_t>(pid);
    auto names = unix_names_.find({pid, static_cast<uint64_t>(info.fd)});
    if (names != unix_names_.end()) {
      connection.laddr = names->second.first;
      connection.raddr = names->second.second;
      connection.role = info.role == TLSTAP_ROLE_SERVER   ? Role::server
                        : info.role == TLSTAP_ROLE_CLIENT ? Role::client
                        : connection.laddr.empty()        ? Role::client
                                                          : Role::server;
      unix_names_.erase(names);
      return;
    }
    // Without BPF's names (an older kernel layout): ask /proc while the socket lives.
    std::optional<uint64_t> inode = socket_inode(process, info.fd);
    std::optional<std::string> path = inode ? unix_socket_path(process, *inode) : std::nullopt;
    if (path) connection.laddr = *path;
    if (std::optional<uint64_t> peer = inode ? unix_peer_inode(*inode) : std::nullopt) {
      connection.raddr = unix_socket_path(process, *peer).value_or("");
    }
    connection.role = info.role == TLSTAP_ROLE_SERVER   ? Role::server
                      : info.role == TLSTAP_ROLE_CLIENT ? Role::client
                      : !path                           ? Role::unknown
                      : path->empty()                   ? Role::client
                                                        : Role::server;
  }
}

Connection* ConnectionTracker::resolve(uint32_t pid, uint64_t start_time_ns, uint64_t ssl,
                                       const tlstap_conn_info& info) {
  Key key = key_for(pid, ssl, info.fd);
  auto [it, inserted] = connections_.try_emplace(key);
  Connection& connection = it->second;
  if (inserted) {
    uint64_t start = start_time_ticks(start_time_ns);
    connection.fd = info.fd;
    connection.id = info.fd >= 0
                        ? fmt::format("{}-{}-{}-{}", pid, start, info.fd, generations_[key])
                        : fmt::format("{}-{}-ssl{:x}-{}", pid, start, ssl, generations_[key]);
  }
  if (info.flags & TLSTAP_CONN_MIDSTREAM) connection.midstream = true;
  // Once, from the first record that knows the socket: BPF's facts about it do not change,
  // and for a connection older than tlstap the role takes reads of /proc.
  if (!connection.described && info.family != 0) {
    fill_addresses(pid, info, connection);
    connection.described = true;
  }
  return &connection;
}

void ConnectionTracker::count(Connection& connection, Direction direction, uint64_t pos,
                              uint64_t len) {
  uint64_t& bytes = connection.bytes[direction == Direction::write];
  bytes = std::max(bytes, pos + len);
}

void ConnectionTracker::emit_close(uint32_t pid, const Connection& connection, uint64_t ts_ns,
                                   RecordSink& sink) {
  CloseRecord record;
  record.ts_ns = ts_ns;
  record.pid = pid;
  record.connection = &connection;
  sink.close(record);
}

void ConnectionTracker::on_close(const tlstap_close_event& event, uint64_t ts_ns,
                                 RecordSink& sink) {
  uint32_t pid = event.header.pid;
  Key key = key_for(pid, event.ssl, event.conn.fd);
  // Creates the connection if none of its records was emitted (all filtered or lost): its
  // close is still said.
  Connection& connection = *resolve(pid, event.start_time_ns, event.ssl, event.conn);
  connection.bytes[0] = std::max<uint64_t>(connection.bytes[0], event.bytes[0]);
  connection.bytes[1] = std::max<uint64_t>(connection.bytes[1], event.bytes[1]);
  emit_close(pid, connection, ts_ns, sink);
  connections_.erase(key);
  generations_[key]++;
}

void ConnectionTracker::on_unix_names(const tlstap_unix_names_event& event) {
  if (event.fd < 0) return;
  auto text = [](const char* name) {
    return std::string(name, strnlen(name, TLSTAP_UNIX_PATH_LEN));
  };
  unix_names_[{event.header.pid, static_cast<uint64_t>(event.fd)}] = {text(event.local),
                                                                      text(event.peer)};
}

void ConnectionTracker::on_process_exit(uint32_t pid, uint64_t ts_ns, RecordSink& sink) {
  // Iterate by pid, not up to {pid + 1, 0}: that bound would wrap for the largest pid.
  auto it = connections_.lower_bound({pid, 0});
  while (it != connections_.end() && it->first.first == pid) {
    emit_close(pid, it->second, ts_ns, sink);
    it = connections_.erase(it);
  }
  auto generation = generations_.lower_bound({pid, 0});
  while (generation != generations_.end() && generation->first.first == pid) {
    generation = generations_.erase(generation);
  }
  auto names = unix_names_.lower_bound({pid, 0});
  while (names != unix_names_.end() && names->first.first == pid) names = unix_names_.erase(names);
}

}  // namespace tlstap
