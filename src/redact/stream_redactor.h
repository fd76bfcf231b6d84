// Masks secret header values in one direction of one connection's plaintext, as it streams
// by, so that every output built from the bytes (records, the --http view, pcapng) shows them
// masked. Masking never changes a length: `len` and `pos` stay true, and an HTTP/2 header
// block masked here still decodes, to the same header list with the values masked (so the
// HPACK dynamic table keeps the sizes the sender's encoder assumed).
//
// The stream is fed in order. A byte is decided (shown as it is, or masked) when fed, except
// where the masking of a value depends on bytes not seen yet (an HTTP/2 Huffman-coded value
// is rewritten symbol by symbol, which needs the whole string): then `decided_until()` stays
// before it, and once decided the bytes are handed back through `patch`. The caller holds the
// output of undecided bytes until then.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string_view>

namespace tlstap::redact {

struct RedactCounts {
  uint64_t values_masked = 0;  // header values (or parts of one, per record) masked
  uint64_t bytes_masked = 0;   // bytes changed or blanked
  // Bytes masked whole because, after a loss, the stream could not be parsed at that point
  // (an HTTP/2 stream before its frames are found again; an HTTP/1 line's unknown start).
  uint64_t bytes_masked_unparsed = 0;
};

class StreamRedactor {
 public:
  // Rewrites bytes fed earlier (stream offset `pos`) once their masking is decided.
  using Patch = std::function<void(uint64_t pos, std::string_view masked)>;

  virtual ~StreamRedactor() = default;

  // The stream's next bytes, at stream offset `pos` (the offset after the previous feed, or
  // a later one after a `gap`). Masks what it can decide in place.
  virtual void feed(uint64_t pos, std::span<char> bytes, const Patch& patch) = 0;
  // Bytes were lost before the next feed (or the stream was joined midstream): what follows
  // cannot be placed until the parser finds its footing again; until then it is masked.
  virtual void gap() = 0;
  // The stream ends (close, exit) or the caller cannot wait: undecided bytes are masked as
  // they are, through `patch`, and count as decided.
  virtual void flush(const Patch& patch) = 0;
  // Stream offset up to which every byte fed is decided (fed bytes from here on may still be
  // patched).
  virtual uint64_t decided_until() const = 0;

  virtual const RedactCounts& counts() const = 0;
};

}  // namespace tlstap::redact
