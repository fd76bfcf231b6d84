// One HPACK decoder (RFC 7541) for one direction of one HTTP/2 connection: an RAII owner of
// nghttp2's inflater. Header blocks are fed fragment by fragment (HEADERS, then any
// CONTINUATION frames) in the order the peer sent them, since each block changes the dynamic
// table the next one is decoded with.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

#include "protocols/http_exchange.h"

struct nghttp2_hd_inflater;

namespace tlstap::http2 {

class HpackInflater {
 public:
  HpackInflater();  // throws std::bad_alloc when nghttp2 cannot allocate
  HpackInflater(HpackInflater&&) noexcept = default;
  HpackInflater& operator=(HpackInflater&&) noexcept = default;

  // Decodes the next fragment of the current header block, appending the fields to `out`
  // (names as sent, lower case in HTTP/2) while their total size stays within `max_bytes`
  // (name + value + 32 per field, RFC 7541's accounting); fields beyond that are decoded
  // (the table must stay in step) but dropped, and `overflow` is set. `last` ends the block.
  // Returns false on a decoding error: from then on this decoder's state is unknown and it
  // refuses every block.
  bool decode(std::string_view fragment, bool last, http::Headers& out, size_t max_bytes,
              size_t& used_bytes, bool& overflow);

  // The SETTINGS_HEADER_TABLE_SIZE the decoding side announced, once the encoding side
  // acknowledged it (the encoder then signals the change inside the header blocks).
  // Between blocks only; false when it could not be applied (state unknown then).
  bool set_max_table_size(size_t bytes);

  bool failed() const { return failed_; }

 private:
  struct Free {
    void operator()(nghttp2_hd_inflater* inflater) const;
  };
  std::unique_ptr<nghttp2_hd_inflater, Free> inflater_;
  bool failed_ = false;
};

}  // namespace tlstap::http2
