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

// The largest dynamic table a decoder allows (SETTINGS_HEADER_TABLE_SIZE values above it are
// enforced as this): the memory bound of one decoder. An encoder that uses more makes the
// decoding fail, which marks the state unknown: safe, never a wrong header.
inline constexpr size_t kMaxTableBytes = 64 * 1024;

class HpackInflater {
 public:
  // A decoder in the state every connection starts with (dynamic table empty, 4096 bytes).
  HpackInflater();  // throws std::bad_alloc when nghttp2 cannot allocate

  // A decoder for ONE header block of a direction whose state is unknown: its dynamic table
  // starts empty, so a field that refers to an entry from before the block fails to decode
  // (an error, never a guess), while static-table references, literals, and references to
  // entries this block itself inserted (always the newest, whatever came before) decode
  // exactly as the real decoder would.
  static HpackInflater for_unknown_state();
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
