// Fuzzes parse_maps_line. Beyond not crashing: a parsed entry, printed back in the kernel's
// format, parses to the same entry.
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "discover/proc_maps.h"
#include "fuzz_check.h"

namespace {

std::string format_line(const tlstap::MapsEntry& e) {
  char head[160];
  snprintf(head, sizeof(head), "%" PRIx64 "-%" PRIx64 " %s %08" PRIx64 " %02x:%02x %" PRIu64,
           e.start, e.end, e.executable ? "r-xp" : "r--p", e.file_offset, e.dev_major, e.dev_minor,
           e.inode);
  std::string line = head;
  if (!e.path.empty()) {
    line.append(26, ' ');  // the kernel pads before the path
    line += e.path;
    if (e.deleted) line += " (deleted)";
  }
  return line;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view line(reinterpret_cast<const char*>(data), size);
  std::optional<tlstap::MapsEntry> entry = tlstap::parse_maps_line(line);
  if (!entry) return 0;

  if (entry->deleted) FUZZ_CHECK(line.find(" (deleted)") != std::string_view::npos);
  FUZZ_CHECK(entry->path.empty() || entry->path.front() != ' ');
  // A path that ends in a newline cannot be printed back unambiguously (the parser drops one
  // trailing newline); every other entry must round-trip.
  if (!entry->path.empty() && entry->path.back() == '\n') return 0;
  std::optional<tlstap::MapsEntry> again = tlstap::parse_maps_line(format_line(*entry));
  FUZZ_CHECK(again);
  FUZZ_CHECK(again->start == entry->start && again->end == entry->end);
  FUZZ_CHECK(again->executable == entry->executable);
  FUZZ_CHECK(again->file_offset == entry->file_offset);
  FUZZ_CHECK(again->dev_major == entry->dev_major && again->dev_minor == entry->dev_minor);
  FUZZ_CHECK(again->inode == entry->inode);
  FUZZ_CHECK(again->path == entry->path);
  FUZZ_CHECK(again->deleted == entry->deleted);
  return 0;
}
