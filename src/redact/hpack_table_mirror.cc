#include "redact/hpack_table_mirror.h"

#include <algorithm>
#include <array>

namespace tlstap::redact::hpack {

namespace {

// RFC 7541 Appendix A: the names only (the redactor never needs a static value).
constexpr std::array<std::string_view, kStaticTableEntries> kStaticNames = {
    ":authority",
    ":method",
    ":method",
    ":path",
    ":path",
    ":scheme",
    ":scheme",
    ":status",
    ":status",
    ":status",
    ":status",
    ":status",
    ":status",
    ":status",
    "accept-charset",
    "accept-encoding",
    "accept-language",
    "accept-ranges",
    "accept",
    "access-control-allow-origin",
    "age",
    "allow",
    "authorization",
    "cache-control",
    "content-disposition",
    "content-encoding",
    "content-language",
    "content-length",
    "content-location",
    "content-range",
    "content-type",
    "cookie",
    "date",
    "etag",
    "expect",
    "expires",
    "from",
    "host",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-range",
    "if-unmodified-since",
    "last-modified",
    "link",
    "location",
    "max-forwards",
    "proxy-authenticate",
    "proxy-authorization",
    "range",
    "referer",
    "refresh",
    "retry-after",
    "server",
    "set-cookie",
    "strict-transport-security",
    "transfer-encoding",
    "user-agent",
    "vary",
    "via",
    "www-authenticate",
};

// RFC 7541 section 4.1: an entry's size is its name and value lengths plus 32.
constexpr uint64_t kEntryOverhead = 32;

}  // namespace

std::string_view static_table_name(uint64_t index) {
  return index >= 1 && index <= kStaticTableEntries ? kStaticNames[index - 1] : "";
}

std::optional<NameInfo> TableMirror::dynamic_name(uint64_t index) const {
  uint64_t at = index - kStaticTableEntries - 1;
  if (index > kStaticTableEntries && at < entries_.size()) return entries_[at].name;
  if (tail_unknown_) return NameInfo{};
  return std::nullopt;
}

void TableMirror::insert(const NameInfo& name, uint64_t value_length) {
  if (name.name_class == NameClass::unknown) {
    forget();
    return;
  }
  uint64_t size = name.name_length + value_length + kEntryOverhead;
  if (size > max_size_) {  // section 4.4: the table is emptied and the entry not added
    entries_.clear();
    size_ = 0;
    tail_unknown_ = false;
    return;
  }
  evict_to(max_size_ - size);
  entries_.push_front({name, size});
  size_ += size;
  // Past the mirror's own bound, the oldest entries are dropped from the mirror but may
  // still be in the peer's table: unknown from then on.
  while (size_ > kMirrorCap) {
    size_ -= entries_.back().size;
    entries_.pop_back();
    tail_unknown_ = true;
  }
}

void TableMirror::set_max_size(uint64_t max_size) {
  max_size_ = max_size;
  evict_to(max_size);
  if (max_size == 0) tail_unknown_ = false;
}

void TableMirror::forget() {
  entries_.clear();
  size_ = 0;
  tail_unknown_ = true;
}

// Evicts the oldest known entries until the known ones fit in `limit`. Unknown older entries
// are evicted first by the peer, so the known newest entries that fit are exactly those the
// peer keeps.
void TableMirror::evict_to(uint64_t limit) {
  while (size_ > limit) {
    size_ -= entries_.back().size;
    entries_.pop_back();
  }
}

}  // namespace tlstap::redact::hpack
