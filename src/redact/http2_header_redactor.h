// The StreamRedactor for one direction of an HTTP/2 connection: walks the frames (RFC 9113),
// hands the header block fragments of HEADERS, PUSH_PROMISE and CONTINUATION frames to an
// HPACK walker that masks the values of the names to redact, and shows every other byte as
// it is. A Huffman-coded value is held until its last byte (it is masked symbol by symbol)
// and handed back through `patch`. After lost bytes the frames cannot be placed: every byte
// is masked (zeroed) until a record that is exactly whole frames begins, and the dynamic
// table stays unknown (values of names that refer to it are masked) until emptied.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "redact/hpack_block_redactor.h"
#include "redact/redact_names.h"
#include "redact/stream_redactor.h"

namespace tlstap::redact {

class Http2HeaderRedactor final : public StreamRedactor {
 public:
  // More stream bytes than this held for one Huffman value (the value plus the CONTINUATION
  // frame headers inside it) is not HTTP/2 worth waiting for: the direction counts as lost.
  static constexpr size_t kHeldStreamCap = 2 * hpack::HpackBlockRedactor::kHoldCap;

  // `starts_at_beginning`: fed from the direction's first byte (the client preface, if any, is
  // skipped); otherwise joined midstream, as after a gap.
  Http2HeaderRedactor(const RedactNames& names, bool starts_at_beginning);

  void feed(uint64_t pos, std::span<char> bytes, const Patch& patch) override;
  void gap() override;
  void flush(const Patch& patch) override;
  uint64_t decided_until() const override {
    return holding_ || cut_pending_ ? hold_start_ : fed_end_;
  }
  const RedactCounts& counts() const override { return counts_; }

 private:
  enum class State : uint8_t {
    preface,        // maybe the client preface, at offset 0
    frame_header,   // the 9-byte frame header
    pad_length,     // HEADERS or PUSH_PROMISE with PADDED: the pad length byte
    fixed_fields,   // HEADERS' priority fields, PUSH_PROMISE's promised stream id
    fragment,       // header block fragment bytes, walked by the HPACK walker
    padding,        // padding after a fragment
    other_payload,  // the payload of any other frame: shown as it is
    lost,           // frame boundaries unknown: bytes masked until a whole-frames record
  };

  // Processes bytes from span index `i`; returns how many it consumed.
  size_t step(size_t i);
  void start_frame();
  void start_fragment();
  void end_fragment();
  void lose();
  // Holding a Huffman value: the stream bytes since its start, and which of them are the
  // string's (the others are CONTINUATION frame headers and HEADERS padding inside it).
  void hold_byte(size_t i, bool string_byte);
  // The held value is decided (`masked`: its string bytes): writes them back, in place for
  // the current feed's bytes and through `patch` for earlier ones.
  void release_hold(const std::string& masked, const Patch& patch);

  hpack::HpackBlockRedactor hpack_;
  RedactCounts counts_;

  State state_ = State::preface;
  bool started_ = false;
  uint64_t fed_end_ = 0;
  size_t preface_matched_ = 0;
  char header_[9] = {};
  size_t header_size_ = 0;
  uint32_t remaining_ = 0;  // bytes left in the current state's part of the payload
  uint32_t fragment_length_ = 0;
  uint8_t pad_ = 0;
  uint32_t fixed_ = 0;
  bool end_headers_ = false;
  bool expect_continuation_ = false;
  uint32_t block_stream_ = 0;

  // The current feed (valid inside feed only).
  uint64_t feed_pos_ = 0;
  std::span<char> span_;
  const Patch* patch_ = nullptr;
  bool fragment_step_ = false;

  bool holding_ = false;
  uint64_t hold_start_ = 0;
  std::string held_stream_;
  std::vector<std::pair<size_t, size_t>> held_segments_;  // (offset in held_stream_, length)
  // A hold cut short by gap(), to be handed back at the next feed or flush.
  bool cut_pending_ = false;
  std::string cut_value_;
};

}  // namespace tlstap::redact
