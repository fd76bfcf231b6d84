// The TCP ports that listen in each network namespace, read once when tracing starts. A
// connection older than tlstap has no role from BPF (it did not see the connection become
// established); whether its local port listened at start says whether it was accepted. Taken
// at start, while every such connection's process is alive, so the answer does not depend on
// the process still being there when its record is handled.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>

namespace tlstap {

class ListeningPorts {
 public:
  // Reads /proc/PID/net/tcp{,6} for one process of every network namespace.
  static ListeningPorts snapshot();
  // The TCP (v4 and v6) ports listening in `pid`'s network namespace now; nullopt when that
  // cannot be read (the process is gone).
  static std::optional<std::set<uint16_t>> of_process(int pid);

  // Whether `port` listened in namespace `netns` (its inode) at start; nullopt when tlstap did
  // not see that namespace.
  std::optional<bool> listening(uint32_t netns, uint16_t port) const;

  void add(uint32_t netns, uint16_t port) { ports_[netns].insert(port); }
  void add_namespace(uint32_t netns) { ports_[netns]; }

 private:
  std::map<uint32_t, std::set<uint16_t>> ports_;
};

}  // namespace tlstap
