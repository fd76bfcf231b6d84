#include "discover/proc_maps.h"

#include <charconv>
#include <fstream>
#include <set>
#include <utility>

#include <fmt/format.h>

namespace tlstap {
namespace {

// Splits off the next space-separated field; returns an empty view at the end of input.
std::string_view next_field(std::string_view& rest) {
  size_t begin = rest.find_first_not_of(' ');
  if (begin == std::string_view::npos) {
    rest = {};
    return {};
  }
  rest.remove_prefix(begin);
  size_t end = rest.find(' ');
  std::string_view field = rest.substr(0, end);
  rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
  return field;
}

template <typename Int>
bool parse_hex(std::string_view text, Int& out) {
  if (text.empty()) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out, 16);
  return ec == std::errc() && ptr == text.data() + text.size();
}

}  // namespace

std::optional<MapsEntry> parse_maps_line(std::string_view line) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  std::string_view rest = line;
  std::string_view range = next_field(rest);
  std::string_view perms = next_field(rest);
  std::string_view offset = next_field(rest);
  std::string_view device = next_field(rest);
  std::string_view inode = next_field(rest);
  if (inode.empty() || perms.size() < 4) return std::nullopt;

  MapsEntry entry;
  size_t dash = range.find('-');
  size_t colon = device.find(':');
  if (dash == std::string_view::npos || colon == std::string_view::npos) return std::nullopt;
  if (!parse_hex(range.substr(0, dash), entry.start) ||
      !parse_hex(range.substr(dash + 1), entry.end) || !parse_hex(offset, entry.file_offset) ||
      !parse_hex(device.substr(0, colon), entry.dev_major) ||
      !parse_hex(device.substr(colon + 1), entry.dev_minor)) {
    return std::nullopt;
  }
  auto [ptr, ec] = std::from_chars(inode.data(), inode.data() + inode.size(), entry.inode);
  if (ec != std::errc() || ptr != inode.data() + inode.size()) return std::nullopt;
  entry.executable = perms[2] == 'x';

  // The path is the rest of the line after the padding; it may itself contain spaces.
  size_t path_begin = rest.find_first_not_of(' ');
  if (path_begin != std::string_view::npos) {
    std::string_view path = rest.substr(path_begin);
    constexpr std::string_view kDeleted = " (deleted)";
    if (path.size() > kDeleted.size() && path.ends_with(kDeleted)) {
      path.remove_suffix(kDeleted.size());
      entry.deleted = true;
    }
    entry.path = std::string(path);
  }
  return entry;
}

std::vector<MapsEntry> executable_file_mappings(pid_t pid) {
  std::vector<MapsEntry> result;
  std::ifstream maps(fmt::format("/proc/{}/maps", pid));
  std::set<std::pair<uint64_t, uint64_t>> seen;  // (device, inode)
  std::string line;
  while (std::getline(maps, line)) {
    std::optional<MapsEntry> entry = parse_maps_line(line);
    if (!entry || !entry->executable || entry->inode == 0 || !entry->path.starts_with('/')) {
      continue;
    }
    uint64_t device = (uint64_t{entry->dev_major} << 32) | entry->dev_minor;
    if (seen.emplace(device, entry->inode).second) result.push_back(std::move(*entry));
  }
  return result;
}

std::string path_seen_from_tracer(pid_t pid, const MapsEntry& entry) {
  if (entry.deleted) {
    return fmt::format("/proc/{}/map_files/{:x}-{:x}", pid, entry.start, entry.end);
  }
  return fmt::format("/proc/{}/root{}", pid, entry.path);
}

}  // namespace tlstap
