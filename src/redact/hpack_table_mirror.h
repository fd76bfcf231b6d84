// What the redactor needs of an HPACK decoder's header tables (RFC 7541 sections 2.3 and 4):
// for each entry only whether its name is one to redact and the name's length, and the
// entry sizes, so that it knows, as the peer's decoder does, which entry an index names.
// Values are not kept: the redactor never shows a value from the table, it only masks the
// value bytes it sees.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string_view>

namespace tlstap::redact::hpack {

// The static table's names (RFC 7541 Appendix A), index 1 to 61; "" outside.
std::string_view static_table_name(uint64_t index);
inline constexpr uint64_t kStaticTableEntries = 61;

// What an index names.
enum class NameClass : uint8_t {
  shown,     // a name whose values are shown
  redacted,  // a name whose values are masked
  unknown,   // the entry cannot be known (lost bytes): its values are masked
};

struct NameInfo {
  NameClass name_class = NameClass::unknown;
  uint64_t name_length = 0;  // decoded; meaningful unless unknown
};

class TableMirror {
 public:
  // The mirror keeps at most this many bytes of (RFC-accounted) entries, however large a
  // table the peers agreed on: older entries beyond it count as unknown (masked), never as
  // shown.
  static constexpr uint64_t kMirrorCap = 64 * 1024;
  static constexpr uint64_t kInitialMaxSize = 4096;

  // The name of dynamic-table entry `index` (62 = the newest); nullopt when the index is
  // past the end of a table whose entries are all known (a decoding error).
  std::optional<NameInfo> dynamic_name(uint64_t index) const;

  // An entry inserted with incremental indexing; an unknown name makes the whole table
  // unknown (the entry's size, and so the evictions, cannot be known).
  void insert(const NameInfo& name, uint64_t value_length);
  // A dynamic table size update; 0 empties the table, which makes it known again.
  void set_max_size(uint64_t max_size);
  // Bytes were lost: whatever the table holds is unknown until emptied.
  void forget();

  bool fully_known() const { return !tail_unknown_; }
  size_t known_entries() const { return entries_.size(); }

 private:
  struct Entry {
    NameInfo name;
    uint64_t size = 0;
  };
  void evict_to(uint64_t limit);

  std::deque<Entry> entries_;  // newest first
  uint64_t size_ = 0;          // of entries_
  uint64_t max_size_ = kInitialMaxSize;
  bool tail_unknown_ = false;  // entries older than entries_ may exist, unknown
};

}  // namespace tlstap::redact::hpack
