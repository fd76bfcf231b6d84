#include "conn/listening_ports.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <fmt/format.h>

namespace tlstap {
namespace {

// Adds the listening ports of one /proc/PID/net/tcp or tcp6 table; false if unreadable.
bool read_listeners(const std::string& path, std::set<uint16_t>& ports) {
  constexpr std::string_view kListen = "0A";
  std::ifstream in(path);
  if (!in) return false;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    // "  0: 0100007F:1F90 00000000:0000 0A ..."
    std::istringstream fields(line);
    std::string slot, local, remote, state;
    fields >> slot >> local >> remote >> state;
    size_t colon = local.rfind(':');
    if (state != kListen || colon == std::string::npos) continue;
    unsigned long port = std::strtoul(local.c_str() + colon + 1, nullptr, 16);
    if (port <= 0xffff) ports.insert(static_cast<uint16_t>(port));
  }
  return true;
}

}  // namespace

ListeningPorts ListeningPorts::snapshot() {
  ListeningPorts result;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    struct stat st;
    if (stat(fmt::format("/proc/{}/ns/net", name).c_str(), &st) != 0) continue;
    uint32_t netns = static_cast<uint32_t>(st.st_ino);
    if (result.ports_.count(netns)) continue;  // one process per namespace is enough
    result.add_namespace(netns);
    if (std::optional<std::set<uint16_t>> ports = of_process(std::stoi(name))) {
      for (uint16_t port : *ports) result.add(netns, port);
    }
  }
  return result;
}

std::optional<std::set<uint16_t>> ListeningPorts::of_process(int pid) {
  std::set<uint16_t> ports;
  for (const char* table : {"tcp", "tcp6"}) {
    if (!read_listeners(fmt::format("/proc/{}/net/{}", pid, table), ports)) return std::nullopt;
  }
  return ports;
}

std::optional<bool> ListeningPorts::listening(uint32_t netns, uint16_t port) const {
  auto it = ports_.find(netns);
  if (it == ports_.end()) return std::nullopt;
  return it->second.count(port) != 0;
}

}  // namespace tlstap
