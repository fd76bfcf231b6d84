// What a record says about the connection it travelled on.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tlstap {

enum class Role { unknown, client, server };

struct Connection {
  std::string id;     // unique for the life of the tracer: pid, process start, fd, generation
  int fd = -1;        // -1: never seen doing socket I/O inside an SSL call
  std::string laddr;  // IPv4/IPv6 text, or a Unix socket's path; empty when not known
  uint16_t lport = 0;
  std::string raddr;
  uint16_t rport = 0;
  Role role = Role::unknown;
  bool midstream = false;
  bool described = false;      // addresses and role filled in from BPF's facts (done once)      //
                               // tlstap did not see it begin: `pos` counts from its first record
  uint64_t bytes[2] = {0, 0};  // per Direction (read, write), as far as records showed
  std::string comm;            // of the process's latest record on it, for its close record
};

std::string_view role_name(Role role);

}  // namespace tlstap
