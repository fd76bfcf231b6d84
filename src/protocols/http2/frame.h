// HTTP/2 framing (RFC 9113 section 4 and 6): the 9-byte frame header, the frame types and
// flags tlstap reads, and the checks that tell a well-formed frame from bytes that are not
// HTTP/2. Pure functions on bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace tlstap::http2 {

// The client connection preface (RFC 9113 section 3.4), sent before the client's SETTINGS.
inline constexpr std::string_view kClientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
inline constexpr size_t kFrameHeaderSize = 9;
inline constexpr uint32_t kDefaultMaxFrameSize = 16384;
inline constexpr uint32_t kLargestMaxFrameSize = (1u << 24) - 1;

enum class FrameType : uint8_t {
  data = 0x0,
  headers = 0x1,
  priority = 0x2,
  rst_stream = 0x3,
  settings = 0x4,
  push_promise = 0x5,
  ping = 0x6,
  goaway = 0x7,
  window_update = 0x8,
  continuation = 0x9,
};

namespace flag {
inline constexpr uint8_t end_stream = 0x1;   // DATA, HEADERS
inline constexpr uint8_t ack = 0x1;          // SETTINGS, PING
inline constexpr uint8_t end_headers = 0x4;  // HEADERS, PUSH_PROMISE, CONTINUATION
inline constexpr uint8_t padded = 0x8;       // DATA, HEADERS, PUSH_PROMISE
inline constexpr uint8_t priority = 0x20;    // HEADERS
}  // namespace flag

namespace setting {
inline constexpr uint16_t header_table_size = 0x1;
inline constexpr uint16_t max_frame_size = 0x5;
}  // namespace setting

struct FrameHeader {
  uint32_t length = 0;  // payload bytes (24 bits)
  uint8_t type = 0;     // FrameType, or an extension type (ignored, as RFC 9113 says)
  uint8_t flags = 0;
  uint32_t stream = 0;  // 31 bits, the reserved bit cleared
};

// `bytes` holds at least kFrameHeaderSize bytes.
FrameHeader parse_frame_header(std::string_view bytes);

// Whether a frame with this header could be sent by a conforming peer whose receiver allows
// frames of up to `max_frame_size` payload bytes: stream 0 exactly for the connection frames,
// the fixed lengths of PRIORITY, RST_STREAM, PING, WINDOW_UPDATE and SETTINGS. A frame that
// fails this is the connection error a real peer would close on: tlstap stops parsing.
bool plausible(const FrameHeader& header, uint32_t max_frame_size);

// The part of a HEADERS or PUSH_PROMISE payload that is header block fragment, without the
// pad length, padding, priority fields or promised stream id; nullopt when the padding does
// not fit (a protocol error).
std::optional<std::string_view> header_block_fragment(const FrameHeader& header,
                                                      std::string_view payload);

// The promised stream id of a PUSH_PROMISE payload (nullopt when too short).
std::optional<uint32_t> promised_stream(const FrameHeader& header, std::string_view payload);

// Whether `bytes` (one record, as a peer wrote it) is exactly a sequence of plausible whole
// frames, the first not a CONTINUATION and each CONTINUATION right after the frame it
// continues: the proof tlstap asks for before it parses a direction again after losing track
// of where frames start. Random or mid-frame bytes almost never pass: the lengths must chain
// to the record's last byte.
bool is_whole_frames(std::string_view bytes, uint32_t max_frame_size);

uint32_t read_u32(std::string_view bytes);  // big-endian, 4 bytes
uint16_t read_u16(std::string_view bytes);  // big-endian, 2 bytes

}  // namespace tlstap::http2
