// Walks the HPACK representations (RFC 7541 section 6) of one direction's header blocks, one
// byte at a time across fragment and frame boundaries, and masks the values of the header
// names to redact: a raw value byte by byte ('*'), a Huffman-coded one symbol by symbol (each
// symbol becomes the mask symbol of the same code length, so the string keeps its byte length
// and its decoded length). It mirrors the dynamic table (names and sizes) to know which name an
// index refers to. Knows nothing of frames: Http2HeaderRedactor feeds it the fragment bytes.
#pragma once

#include <cstdint>
#include <string>

#include "redact/hpack_huffman.h"
#include "redact/hpack_table_mirror.h"
#include "redact/redact_names.h"
#include "redact/stream_redactor.h"

namespace tlstap::redact::hpack {

class HpackBlockRedactor {
 public:
  // A Huffman value longer than this is not held whole: its bytes are masked as they come
  // with 0xff (which no decoder accepts: the block fails to decode, never shows the secret).
  static constexpr uint64_t kHoldCap = 1 << 20;

  enum class ByteResult : uint8_t {
    decided,    // the byte is final (maybe masked in place)
    held,       // a byte of a Huffman value being masked: final only once the value ends
    held_last,  // the held value's last byte: held_value() is the masked string
    error,      // not valid HPACK (or beyond this walker's bounds): the direction is lost
  };

  HpackBlockRedactor(const RedactNames& names, RedactCounts& counts)
      : names_(names), counts_(counts) {}

  // One byte of a header block fragment; may rewrite it.
  ByteResult byte(char& b);
  // The header block ends (END_HEADERS); false when it ends inside a representation.
  bool end_block() const { return phase_ == Phase::representation; }
  // Bytes were lost: the dynamic table is unknown and any representation in progress gone.
  void forget();

  // The held value's bytes fed so far, its complete symbols masked.
  const std::string& held_value() const { return held_; }
  // The caller cannot wait for the rest of the held value: its bits after the last complete
  // symbol become ones, and its remaining bytes are masked with 0xff as they come.
  void cut_hold();

  const TableMirror& table() const { return table_; }

 private:
  enum class Phase : uint8_t {
    representation,  // the first byte of a representation
    integer,         // continuation bytes of a prefix integer
    string_length,   // the first byte of a string (H bit, length prefix)
    string,          // string bytes
  };
  enum class Kind : uint8_t { indexed, incremental, without_indexing, size_update };
  enum class Field : uint8_t { index, name_length, name, value_length, value };
  enum class ValueMode : uint8_t { shown, raw_mask, hold, ff_mask };

  // A prefix integer (RFC 7541 section 5.1) whose first byte was `b`, or the next byte of one.
  void start_integer(uint8_t b, unsigned prefix_bits);
  bool continue_integer(uint8_t b);  // false on overflow
  // The integer is complete: acts on it (an index, a string length, a size update).
  bool integer_done();
  bool start_string();
  ByteResult string_byte(char& b);
  bool string_done();
  void name_char(uint8_t c);
  void end_representation() { phase_ = Phase::representation; }
  void count_value_masked(uint64_t bytes);
  void write_mask_bits(uint64_t start_bit, unsigned length);
  // Re-codes the whole held value from its symbol count and bit count alone (see .cc).
  void write_canonical_mask();

  const RedactNames names_;  // a copy: the walker may outlive the caller's list
  RedactCounts& counts_;
  TableMirror table_;

  Phase phase_ = Phase::representation;
  Kind kind_ = Kind::indexed;
  Field field_ = Field::index;
  uint64_t integer_ = 0;
  unsigned shift_ = 0;
  bool integer_complete_ = false;

  NameInfo name_;
  std::string name_text_;  // the literal name, lowercase, up to names_.longest() + 1 chars
  bool huffman_ = false;
  uint64_t string_length_ = 0;
  uint64_t string_fed_ = 0;
  HuffmanDecoder decoder_;
  ValueMode mode_ = ValueMode::shown;
  std::string held_;
  bool value_counted_ = false;
};

}  // namespace tlstap::redact::hpack
