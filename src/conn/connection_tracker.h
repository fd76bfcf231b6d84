// Turns BPF's per-call connection facts (fd, family, addresses) into stable connections:
// ids that survive fd reuse, roles, Unix socket paths, byte counts, and close records when
// the fd is closed or the process exits. Per-connection state is freed at close.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "conn/connection.h"
#include "conn/listening_ports.h"
#include "output/record.h"
#include "tlstap/abi.h"

namespace tlstap {

class ConnectionTracker {
 public:
  // `listening` decides the role of connections older than tlstap.
  explicit ConnectionTracker(ListeningPorts listening = {}) : listening_(std::move(listening)) {}

  // The connection of a call; never null. `ssl` keys calls whose fd is not known;
  // `start_time_ns` is the process's start (boot-time clock), part of the connection's id.
  Connection* resolve(uint32_t pid, uint64_t start_time_ns, uint64_t ssl,
                      const tlstap_conn_info& info);
  // Counts a record's bytes (for close records of connections whose process just exits).
  void count(Connection& connection, Direction direction, uint64_t pos, uint64_t len);

  void on_close(const tlstap_close_event& event, uint64_t ts_ns, RecordSink& sink);
  // Paths of a Unix socket connection, read by BPF while it was alive.
  void on_unix_names(const tlstap_unix_names_event& event);
  void on_process_exit(uint32_t pid, uint64_t ts_ns, RecordSink& sink);

  size_t open_connections() const { return connections_.size(); }

 private:
  // (pid, fd) when the fd is known, else (pid, SSL* with the top bit set).
  using Key = std::pair<uint32_t, uint64_t>;
  static Key key_for(uint32_t pid, uint64_t ssl, int fd);
  void fill_addresses(uint32_t pid, const tlstap_conn_info& info, Connection& connection);
  void emit_close(uint32_t pid, const Connection& connection, uint64_t ts_ns, RecordSink& sink);

  std::map<Key, Connection> connections_;
  std::map<Key, uint32_t> generations_;  // bumped at each close: a reused fd is a new id
  ListeningPorts listening_;
  std::map<Key, std::pair<std::string, std::string>> unix_names_;  // local, peer
};

}  // namespace tlstap
